//! The lab's side of the control API: [`Core`] implements [`LabControl`] over the running
//! domains, DCs and clock.

use std::sync::Arc;
use std::time::Duration;

use runtime::Clock;

use crate::control::*;
use crate::dcs::DcRunner;
use crate::populate::BuiltDomain;

/// What the control API acts on.
pub struct Core {
    /// The lab clock.
    pub clock: Clock,
    /// The domains.
    pub domains: Vec<BuiltDomain>,
    /// Every DC's listeners.
    pub runners: Vec<Arc<DcRunner>>,
}

fn not_found(what: String) -> ControlError {
    ControlError {
        error: what,
        status: 404,
    }
}

impl Core {
    fn domain(&self, name: &str) -> Result<&BuiltDomain, ControlError> {
        self.domains
            .iter()
            .find(|b| b.spec.dns.eq_ignore_ascii_case(name))
            .ok_or_else(|| not_found(format!("no domain {name}")))
    }

    fn runner(&self, domain: &str, dc: &str) -> Result<&Arc<DcRunner>, ControlError> {
        self.domain(domain)?;
        self.runners
            .iter()
            .find(|r| r.domain.eq_ignore_ascii_case(domain) && r.dc.name.eq_ignore_ascii_case(dc))
            .ok_or_else(|| not_found(format!("no DC {dc} in {domain}")))
    }

    async fn status(&self, r: &DcRunner) -> DcStatus {
        DcStatus {
            domain: r.domain.clone(),
            name: r.dc.name.clone(),
            running: r.is_running().await,
            delays: *r.dc.delays.lock().expect("delays lock"),
        }
    }
}

impl LabControl for Core {
    fn clock(&self) -> ClockStatus {
        let now = self.clock.now();
        ClockStatus {
            now: now.rfc3339(),
            filetime: now.filetime(),
            scale: self.clock.scale(),
            offset_secs: self.clock.offset().as_secs(),
        }
    }

    fn advance_clock(&self, by: AdvanceClock) -> ClockStatus {
        self.clock.advance(Duration::from_secs(by.advance_secs));
        self.clock()
    }

    fn sdprop(&self, req: RunSdprop) -> Reply<'_, Result<Vec<SdpropRun>, ControlError>> {
        Box::pin(async move {
            let targets: Vec<&BuiltDomain> = match &req.domain {
                Some(d) => vec![self.domain(d)?],
                None => self.domains.iter().collect(),
            };
            let mut runs = Vec::new();
            for d in targets {
                let pdc = d.domain.dcs()[0].clone();
                let changed = fake_ad::ops::run_sdprop(&pdc)
                    .await
                    .map_err(|e| ControlError {
                        error: e.to_string(),
                        status: 500,
                    })?;
                runs.push(SdpropRun {
                    domain: d.spec.dns.clone(),
                    dc: pdc.name.clone(),
                    changed,
                });
            }
            Ok(runs)
        })
    }

    fn dc(
        &self,
        domain: String,
        name: String,
        action: DcAction,
    ) -> Reply<'_, Result<DcStatus, ControlError>> {
        Box::pin(async move {
            let r = self.runner(&domain, &name)?;
            match action {
                DcAction::Stop => r.stop().await,
                DcAction::Start => r.start().await.map_err(|(a, e)| ControlError {
                    error: format!("binding {a}: {e}"),
                    status: 500,
                })?,
                DcAction::Delay(d) => *r.dc.delays.lock().expect("delays lock") = d,
                DcAction::Show => {}
            }
            Ok(self.status(r).await)
        })
    }

    fn link(&self, req: LinkRequest) -> Reply<'_, Result<LinkStatus, ControlError>> {
        Box::pin(async move {
            let d = self.domain(&req.domain)?;
            for n in [&req.from, &req.to] {
                if d.domain.dc(n).is_none() {
                    return Err(not_found(format!("no DC {n} in {}", req.domain)));
                }
            }
            d.domain.set_link(&req.from, &req.to, req.cut);
            d.domain.set_link(&req.to, &req.from, req.cut);
            let pdc = d.domain.dcs()[0].clone();
            d.domain.save_repl(&pdc).await.map_err(|e| ControlError {
                error: e.to_string(),
                status: 500,
            })?;
            let cut = d
                .domain
                .repl
                .lock()
                .expect("repl lock")
                .cut
                .iter()
                .cloned()
                .collect();
            Ok(LinkStatus {
                domain: d.spec.dns.clone(),
                cut,
            })
        })
    }

    fn refusals(
        &self,
        domain: String,
        dc: String,
    ) -> Result<Vec<fake_ad::refusal::Refusal>, ControlError> {
        let r = self.runner(&domain, &dc)?;
        Ok(r.dc.refusals.all())
    }

    fn propagation(&self) -> Vec<PropagationStatus> {
        self.domains
            .iter()
            .map(|d| PropagationStatus {
                domain: d.spec.dns.clone(),
                settings: *d.domain.propagation.lock().expect("propagation lock"),
                jobs: d
                    .domain
                    .prop_jobs
                    .lock()
                    .expect("prop lock")
                    .iter()
                    .map(|j| PropagationJob {
                        dc: j.dc.clone(),
                        root: j.root_dn.clone(),
                        next_at: j.next_at.rfc3339(),
                        done: j.done,
                        changed: j.changed,
                        pending: j.pending.len(),
                    })
                    .collect(),
            })
            .collect()
    }

    fn set_propagation(&self, req: SetPropagation) -> Result<Vec<PropagationStatus>, ControlError> {
        req.settings.validate().map_err(|m| ControlError {
            error: m,
            status: 400,
        })?;
        let targets: Vec<&BuiltDomain> = match &req.domain {
            Some(d) => vec![self.domain(d)?],
            None => self.domains.iter().collect(),
        };
        for d in targets {
            *d.domain.propagation.lock().expect("propagation lock") = req.settings;
        }
        Ok(self.propagation())
    }

    fn gpo(&self, domain: String) -> Result<GpoStatus, ControlError> {
        let d = self.domain(&domain)?;
        let pdc = d.domain.dcs()[0].clone();
        let (version, settings) = fake_ad::gpo::read(&pdc).map_err(|e| ControlError {
            error: e.to_string(),
            status: 500,
        })?;
        let applied = d
            .domain
            .dcs()
            .iter()
            .map(|dc| (dc.name.clone(), d.domain.gpo_applied(&dc.name)))
            .collect();
        Ok(GpoStatus {
            domain: d.spec.dns.clone(),
            version,
            settings,
            applied,
        })
    }

    fn set_gpo(&self, req: SetGpo) -> Reply<'_, Result<GpoStatus, ControlError>> {
        Box::pin(async move {
            let d = self.domain(&req.domain)?;
            let changes: Vec<(String, String)> = req
                .set
                .iter()
                .map(|(k, v)| {
                    (
                        k.clone(),
                        v.as_str()
                            .map(str::to_string)
                            .unwrap_or_else(|| v.to_string()),
                    )
                })
                .collect();
            let pdc = d.domain.dcs()[0].clone();
            fake_ad::gpo::set(&pdc, &changes).await.map_err(|e| {
                let status = if matches!(e, fake_ad::gpo::GpoError::Directory(_)) {
                    500
                } else {
                    400
                };
                ControlError {
                    error: e.to_string(),
                    status,
                }
            })?;
            self.gpo(req.domain.clone())
        })
    }

    fn gpupdate(&self, req: Gpupdate) -> Reply<'_, Result<GpoStatus, ControlError>> {
        Box::pin(async move {
            let d = self.domain(&req.domain)?;
            let dcs = match &req.dc {
                Some(n) => vec![
                    d.domain
                        .dc(n)
                        .ok_or_else(|| not_found(format!("no DC {n} in {}", req.domain)))?,
                ],
                None => d.domain.dcs(),
            };
            for dc in dcs {
                if dc.stopped.load(std::sync::atomic::Ordering::Relaxed) {
                    return Err(ControlError {
                        error: format!("{} is stopped", dc.name),
                        status: 409,
                    });
                }
                fake_ad::gpo::apply(&dc, req.force)
                    .await
                    .map_err(|e| ControlError {
                        error: e.to_string(),
                        status: 500,
                    })?;
            }
            self.gpo(req.domain.clone())
        })
    }

    fn replication(&self, domain: String) -> Result<ReplicationStatus, ControlError> {
        let d = self.domain(&domain)?;
        let st = d.domain.repl.lock().expect("repl lock");
        Ok(ReplicationStatus {
            domain: d.spec.dns.clone(),
            in_flight: st
                .queue
                .iter()
                .map(|((t, _), del)| InFlight {
                    from: del.from.clone(),
                    to: del.to.clone(),
                    due: runtime::LabTime(*t).rfc3339(),
                    updates: del.updates.len(),
                })
                .collect(),
            cut: st.cut.iter().cloned().collect(),
        })
    }
}
