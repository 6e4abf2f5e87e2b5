//! The timeline: each step at its time, through the route a person or an admin command would
//! take (LDAP, HTTPS, the lab's control surface), recorded with what came back.

use std::time::Duration;

use runtime::LabTime;

use crate::control::{Gpupdate, RunSdprop, SetGpo};
use crate::report::record::Step as Ran;
use crate::scenario::timeline::{Action, SettingValue};
use crate::scenario::{SettingName, Source, Step};

use super::{Ctx, Event, done};

/// Plays every step of the timeline in order; returns what each did.
pub(crate) async fn play(ctx: &Ctx<'_>, end: LabTime) -> Vec<Ran> {
    let mut ran = Vec::new();
    for step in &ctx.scenario.timeline {
        let at = ctx.start.plus(step.at.get());
        if at > end {
            break;
        }
        let now = ctx.lab.clock.now();
        if at > now {
            ctx.lab
                .clock
                .sleep(Duration::from_nanos(at.0 - now.0))
                .await;
        }
        ctx.emit(Event::Begin {
            at: ctx.lab.clock.now(),
            narration: step.narration.clone(),
        });
        let r = one(ctx, step).await;
        ctx.emit(Event::Step(r.clone()));
        ran.push(r);
    }
    ran
}

/// Runs one step: `ok` when it did what it asked, or was refused as `refused` says.
async fn one(ctx: &Ctx<'_>, step: &Step) -> Ran {
    let at = ctx.lab.clock.now();
    let (action, result) = act(ctx, &step.action).await;
    let (ok, result) = match (&step.refused, result) {
        (None, Ok(r)) => (true, r),
        (None, Err(e)) => (false, format!("failed: {e}")),
        (Some(want), Err(e)) => (e.contains(want.as_str()), format!("refused: {e}")),
        (Some(want), Ok(r)) => (false, format!("accepted ({r}), expected refused: {want}")),
    };
    Ran {
        at,
        action,
        narration: step.narration.clone(),
        ok,
        result,
    }
}

/// The agent of a step (the file counts from 1).
fn agent<'l>(
    ctx: &'l Ctx<'_>,
    domain: &str,
    index: u32,
) -> Result<&'l crate::lab::AgentRun, String> {
    ctx.lab
        .agents
        .iter()
        .find(|a| a.domain.eq_ignore_ascii_case(domain) && a.index + 1 == index)
        .ok_or_else(|| format!("no agent{index} in {domain}"))
}

fn runner<'l>(
    ctx: &'l Ctx<'_>,
    domain: &str,
    dc: &str,
) -> Result<&'l crate::dcs::DcRunner, String> {
    ctx.lab
        .runners
        .iter()
        .find(|r| r.domain.eq_ignore_ascii_case(domain) && r.dc.name.eq_ignore_ascii_case(dc))
        .map(|r| &**r)
        .ok_or_else(|| format!("no {dc} in {domain}"))
}

/// Does `a`; returns its description and what came back.
async fn act(ctx: &Ctx<'_>, a: &Action) -> (String, Result<String, String>) {
    match a {
        Action::DcStop(d) => (
            format!("dc stop {}/{}", d.domain, d.dc),
            async {
                runner(ctx, &d.domain, &d.dc)?.stop().await;
                Ok("stopped".to_string())
            }
            .await,
        ),
        Action::DcStart(d) => (
            format!("dc start {}/{}", d.domain, d.dc),
            async {
                runner(ctx, &d.domain, &d.dc)?
                    .start()
                    .await
                    .map_err(|(addr, e)| format!("{addr}: {e}"))?;
                Ok("serving".to_string())
            }
            .await,
        ),
        Action::DcDelay(d) => (
            format!("dc delay {}/{}", d.domain, d.dc),
            (|| {
                let r = runner(ctx, &d.domain, &d.dc)?;
                let mut delays = r.dc.delays.lock().expect("delays lock");
                delays.all_ms = d.all_ms;
                delays.bind_ms = d.bind_ms;
                delays.search_ms = d.search_ms;
                delays.modify_ms = d.modify_ms;
                Ok(format!(
                    "all {} ms, bind {} ms, search {} ms, modify {} ms",
                    d.all_ms, d.bind_ms, d.search_ms, d.modify_ms
                ))
            })(),
        ),
        Action::AgentStart(r) | Action::AgentRestart(r) => (
            format!("agent start {}/agent{}", r.domain, r.index),
            async {
                let a = agent(ctx, &r.domain, r.index)?;
                a.start();
                if a.ready(Duration::from_secs(60)).await {
                    Ok(format!(
                        "registered as {}",
                        a.status()
                            .agent_id
                            .map(|i| i.to_string())
                            .unwrap_or_default()
                    ))
                } else {
                    Err("did not register and poll within 60 s".into())
                }
            }
            .await,
        ),
        Action::AgentCrash(r) => (
            format!("agent crash {}/agent{}", r.domain, r.index),
            async {
                agent(ctx, &r.domain, r.index)?.crash().await;
                Ok("killed".to_string())
            }
            .await,
        ),
        Action::Heal(_) => ("heal".into(), Ok("no partition to heal".into())),
        Action::Permissions(p) => (
            format!(
                "agent permissions {}{}",
                p.domain,
                p.object
                    .as_ref()
                    .map(|o| format!(" --object {o}"))
                    .unwrap_or_default()
            ),
            permissions(ctx, p).await,
        ),
        Action::Writeback(w) => (
            format!(
                "agent writeback {} {}",
                if w.enable { "enable" } else { "disable" },
                w.domain
            ),
            async {
                let upn = ctx.admin(w.as_admin.as_deref(), "hybridadmin");
                let pw = ctx.admin_password();
                let https = ctx.lab.cloud.https;
                let relay = format!("https://{https}/relay/v1");
                let token = format!(
                    "https://{https}/{}/oauth2/v2.0/token",
                    ctx.lab.spec.tenant.name
                );
                let access = agent::config::CloudAccess {
                    relay: &relay,
                    token_endpoint: &token,
                    ca_pem: ctx.lab.ca.cert_pem(),
                    admin: &upn,
                    password: &pw,
                };
                agent::config::set_writeback_on(
                    ctx.net.clone(),
                    &access,
                    &w.domain,
                    w.enable,
                    ctx.lab.clock.clone(),
                )
                .await
                .map(|v| v.to_string())
                .map_err(|e| e.to_string())
            }
            .await,
        ),
        Action::GpoSet(g) => (
            format!("gpo set {}", g.domain),
            async {
                let set = g
                    .settings
                    .iter()
                    .map(|(k, v)| (k.clone(), serde_json::json!(v)))
                    .collect();
                ctx.lab
                    .control()
                    .set_gpo(SetGpo {
                        domain: g.domain.clone(),
                        set,
                    })
                    .await
                    .map(|s| serde_json::to_string(&s).unwrap_or_default())
                    .map_err(|e| e.to_string())
            }
            .await,
        ),
        Action::Gpupdate(g) => (
            format!("gpupdate {}", g.domain),
            async {
                ctx.lab
                    .control()
                    .gpupdate(Gpupdate {
                        domain: g.domain.clone(),
                        dc: g.dc.clone(),
                        force: g.force,
                    })
                    .await
                    .map(|_| "applied".to_string())
                    .map_err(|e| e.to_string())
            }
            .await,
        ),
        Action::Sdprop(s) => (
            "sdprop".into(),
            async {
                ctx.lab
                    .control()
                    .sdprop(RunSdprop {
                        domain: s.domain.clone(),
                    })
                    .await
                    .map(|runs| serde_json::to_string(&runs).unwrap_or_default())
                    .map_err(|e| e.to_string())
            }
            .await,
        ),
        Action::Setting(s) => (format!("setting {:?}", s.name), setting(ctx, s).await),
        Action::Operation(o) => {
            let d = done::operate(
                ctx,
                Source::Timeline,
                o.op,
                &o.user,
                o.by.as_deref(),
                o.password.unwrap_or_default(),
            )
            .await;
            let shown = format!(
                "{}{}",
                d.status,
                d.code
                    .as_ref()
                    .map(|c| format!(" ({c})"))
                    .unwrap_or_default()
            );
            let result = match &o.expect {
                Some(want) if !d.is(want) => Err(format!("{shown}, expected {}", want.as_str())),
                _ => Ok(shown),
            };
            (format!("{} {}", o.op.as_str(), o.user), result)
        }
        Action::Advance(a) => (format!("advance {:?}", a.by.get()), {
            ctx.lab.advance(a.by.get()).await;
            Ok(format!("now {}", ctx.lab.clock.now().rfc3339()))
        }),
        other => (
            other.key().to_string(),
            Err("not supported by this runner yet".into()),
        ),
    }
}

/// `agent permissions`: the writeback rights over LDAP as the domain's Administrator.
async fn permissions(
    ctx: &Ctx<'_>,
    p: &crate::scenario::timeline::Permissions,
) -> Result<String, String> {
    let d = ctx
        .lab
        .domains
        .iter()
        .find(|d| d.spec.dns.eq_ignore_ascii_case(&p.domain))
        .ok_or_else(|| format!("no domain {}", p.domain))?;
    let pdc = ctx
        .lab
        .endpoints
        .iter()
        .find(|e| e.domain == d.spec.dns && e.dc.pdc)
        .ok_or("no PDC")?;
    // An object may be named by UPN: its DN on the PDC.
    let object = match &p.object {
        Some(o) if o.contains('@') && !o.contains('=') => {
            let sam = o.split('@').next().unwrap_or_default();
            let dit = pdc.dc.snapshot();
            let id = dit.by_sam(sam).ok_or_else(|| format!("no user {o}"))?;
            Some(dit.dn(id))
        }
        other => other.clone(),
    };
    let base_dn = d
        .spec
        .dns
        .split('.')
        .map(|p| format!("DC={p}"))
        .collect::<Vec<_>>()
        .join(",");
    let service = match d.spec.engine {
        crate::spec::Engine::CloudSync => {
            format!("CN=provAgentgMSA,CN=Managed Service Accounts,{base_dn}")
        }
        crate::spec::Engine::ConnectSync => {
            format!("CN={},CN=Users,{base_dn}", crate::populate::CONNECT_ACCOUNT)
        }
    };
    let admin = format!("{}\\Administrator", d.spec.netbios);
    let pw = ctx.admin_password();
    let access = agent::permissions::DirAccess {
        ldaps: pdc.ldaps,
        host: &pdc.dc.host,
        ca_pem: ctx.lab.ca.cert_pem(),
        admin: &admin,
        password: &pw,
        base_dn: &base_dn,
        service_account: &service,
    };
    agent::permissions::grant_on(
        &ctx.net,
        &access,
        object.as_deref(),
        p.include_admin_sd_holder,
        &ctx.lab.clock,
    )
    .await
    .map(|g| format!("{} ACEs added on {}", g.added, g.object))
    .map_err(|e| e.to_string())
}

/// A tenant setting through `PUT /lab/settings`, as the given admin.
async fn setting(ctx: &Ctx<'_>, s: &crate::scenario::timeline::Setting) -> Result<String, String> {
    let upn = ctx.admin(s.as_admin.as_deref(), "hybridadmin");
    let token = ctx
        .client
        .token(&upn, &ctx.admin_password())
        .await
        .map_err(|e| e.to_string())?;
    let (_, _, body) = ctx
        .client
        .call("GET", "/lab/settings", None, None)
        .await
        .map_err(|e| e.to_string())?;
    let mut v: serde_json::Value = serde_json::from_slice(&body).map_err(|e| e.to_string())?;
    let key = match s.name {
        SettingName::Sspr => "sspr",
        SettingName::WritebackForSynced => "writeback_for_synced",
        SettingName::WritebackWithCloudSync => "writeback_with_cloud_sync",
        SettingName::UnlockWithoutReset => "unlock_without_reset",
    };
    v[key] = match &s.value {
        SettingValue::Bool(b) => serde_json::json!(b),
        SettingValue::Text(t) => serde_json::json!(t),
    };
    let (status, _, body) = ctx
        .client
        .call("PUT", "/lab/settings", Some(&token), Some(&v))
        .await
        .map_err(|e| e.to_string())?;
    let text = String::from_utf8_lossy(&body).to_string();
    if status == 200 {
        Ok(format!("{key} = {}", v[key]))
    } else {
        Err(format!("{status} {text}"))
    }
}
