//! The lab's fake Entra tenant: made from the directory just built (the synced copies of the
//! teaching users, anchored on their objectGUIDs, DESIGN §7; an expired or must-change
//! on-premises password must be changed at the next cloud sign-in) plus the cloud admins, and
//! served on plain HTTP and HTTPS (one lab CA), with the relay's timer running.

use std::net::SocketAddr;
use std::path::Path;
use std::sync::Arc;

use fake_ad::schema::known;
use fake_ad::value::Value;
use fake_cloud::decision::{Role, RoleSet, Settings};
use fake_cloud::flows::Flows;
use fake_cloud::graph::{Cloud, normalize, router};
use fake_cloud::password_policy::CloudPolicy;
use fake_cloud::relay::{Relay, RelayConfig};
use fake_cloud::tenant::{NewUser, SyncedLink, Tenant, UserSource};
use fake_cloud::token::{Authority, SigningKey, TokenService};
use runtime::AnyNet;
use runtime::net::{Listener, Network};
use runtime::{Clock, Seed};
use tokio::task::JoinHandle;
use tokio_util::sync::CancellationToken;
use tower::ServiceExt as _;

use crate::credentials::Credentials;
use crate::populate::BuiltDomain;
use crate::spec::{Engine, LabSpec, UserState};

/// The running cloud's addresses and parts.
pub struct CloudRun {
    /// Plain HTTP.
    pub http: SocketAddr,
    /// HTTPS.
    pub https: SocketAddr,
    /// The shared state the routes use.
    pub cloud: Arc<Cloud>,
}

/// The lab app's client secret (`SSPR_LAB_CLIENT_SECRET` overrides it).
pub fn client_secret() -> String {
    std::env::var("SSPR_LAB_CLIENT_SECRET")
        .ok()
        .filter(|v| !v.is_empty())
        .unwrap_or_else(|| "Lab-Client-Secret1".into())
}

/// The token signing key: kept in `dir/token.pem` when the lab keeps state, else from the seed.
fn signing_key(dir: Option<&Path>, seed: Seed) -> Result<SigningKey, String> {
    use rand::Rng;
    let mut s = [0u8; 32];
    runtime::stream(seed, "fake-cloud/token-key").fill_bytes(&mut s);
    let Some(dir) = dir else {
        return SigningKey::from_seed(s).map_err(|e| e.to_string());
    };
    let path = dir.join("token.pem");
    if path.exists() {
        let pem = std::fs::read_to_string(&path).map_err(|e| format!("{}: {e}", path.display()))?;
        return SigningKey::from_pkcs8_pem(&pem).map_err(|e| format!("{}: {e}", path.display()));
    }
    let key = SigningKey::from_seed(s).map_err(|e| e.to_string())?;
    let pem = key.to_pkcs8_pem().map_err(|e| e.to_string())?;
    write_private(&path, pem.as_bytes()).map_err(|e| format!("{}: {e}", path.display()))?;
    Ok(key)
}

fn write_private(path: &Path, bytes: &[u8]) -> std::io::Result<()> {
    use std::io::Write;
    let mut o = std::fs::OpenOptions::new();
    o.write(true).create(true).truncate(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        o.mode(0o600);
    }
    o.open(path)?.write_all(bytes)
}

fn role(name: &str) -> Option<Role> {
    Role::ALL
        .into_iter()
        .find(|r| r.name().eq_ignore_ascii_case(name))
}

/// Builds the tenant from `domains` and starts its listeners.
#[allow(clippy::too_many_arguments)]
pub async fn start(
    spec: &LabSpec,
    domains: &[BuiltDomain],
    seed: Seed,
    clock: &Clock,
    creds: &Credentials,
    state: Option<&Path>,
    store: Arc<dyn runtime::store::Store>,
    ca: &runtime::LabCa,
    net: &AnyNet,
    http_addr: SocketAddr,
    https_addr: SocketAddr,
    stop: &CancellationToken,
    tasks: &mut Vec<JoinHandle<()>>,
) -> Result<CloudRun, String> {
    let tenant = Arc::new(Tenant::new(
        &spec.tenant.name,
        seed,
        clock.clone(),
        if spec.deployed {
            Settings::DEPLOYED
        } else {
            Settings::UNDEPLOYED
        },
        &client_secret(),
    ));
    let relay = Relay::new(clock.clone(), seed, RelayConfig::default());
    // A state directory that holds the tenant resumes it.
    let restored = tenant.attach_store(store.clone())?;
    for d in domains {
        let engine = match d.spec.engine {
            Engine::CloudSync => wire::types::Engine::CloudSync,
            Engine::ConnectSync => wire::types::Engine::ConnectSync,
        };
        relay.add_domain(&d.spec.dns, engine);
        if engine == wire::types::Engine::CloudSync && spec.deployed {
            relay
                .set_writeback(&d.spec.dns, true)
                .map_err(|e| e.message)?;
        }
        if restored {
            continue;
        }
        // The synced copies of the domain's users, from the PDC's copy.
        let pdc = d.domain.dcs()[0].clone();
        let dit = pdc.snapshot();
        for u in &d.spec.users {
            let id = dit
                .by_sam(&u.sam)
                .ok_or_else(|| format!("{}: no user {}", d.spec.dns, u.sam))?;
            let e = dit.get(id).expect("indexed");
            let anchor = match e.first(known().object_guid) {
                Some(Value::Bytes(b)) => {
                    ad_types::guid::from_ad_bytes(b).ok_or("bad objectGUID")?
                }
                _ => return Err(format!("{} has no objectGUID", u.sam)),
            };
            let roles: RoleSet = u.cloud_roles.iter().filter_map(|r| role(r)).collect();
            let id =
                tenant
                    .add_user(NewUser {
                        upn: format!("{}@{}", u.sam, d.spec.dns),
                        given: u.given.clone(),
                        surname: u.surname.clone(),
                        password: creds.user.clone(),
                        roles,
                        source: UserSource::Synced(SyncedLink {
                            domain: d.spec.dns.clone(),
                            dn: dit.dn(id),
                            anchor,
                            sam: u.sam.clone(),
                            engine,
                            in_scope: !spec.tenant.out_of_scope.iter().any(|o| {
                                o.eq_ignore_ascii_case(&format!("{}@{}", u.sam, d.spec.dns))
                            }),
                        }),
                    })
                    .map_err(|e| e.to_string())?;
            // An on-premises password that is expired, or must change at creation, must be
            // changed at the next cloud sign-in too (the forced change flow).
            if u.states
                .iter()
                .any(|s| matches!(s, UserState::Expired | UserState::MustChange))
            {
                tenant.set_must_change(id, true);
            }
        }
    }
    restore_relay(&relay, &*store)?;
    // The cloud admins (DESIGN §7).
    let admins: &[(&str, &str, Role)] = if restored {
        &[]
    } else {
        &[
            ("admin", "Global", Role::Global),
            ("hybridadmin", "Hybrid", Role::HybridIdentity),
            ("helpdesk", "Helpdesk", Role::Helpdesk),
        ]
    };
    for &(name, given, r) in admins {
        tenant
            .add_user(NewUser {
                upn: format!("{name}@{}", spec.tenant.name),
                given: given.into(),
                surname: "Admin".into(),
                password: creds.admin.clone(),
                roles: RoleSet::only(r),
                source: UserSource::CloudOnly,
            })
            .map_err(|e| e.to_string())?;
    }
    let http_l = net
        .bind(http_addr)
        .await
        .map_err(|e| format!("binding {http_addr}: {e}"))?;
    let https_l = net
        .bind(https_addr)
        .await
        .map_err(|e| format!("binding {https_addr}: {e}"))?;
    let http = http_l.local_addr().map_err(|e| e.to_string())?;
    let https = https_l.local_addr().map_err(|e| e.to_string())?;
    let https_base = format!("https://{https}");
    let tokens = TokenService::new(
        signing_key(state, seed)?,
        Authority::new(&https_base, tenant.id),
    );
    let flows = Arc::new(Flows {
        tenant: tenant.clone(),
        relay: relay.clone(),
        policy: if spec.tenant.banned.is_empty() {
            CloudPolicy::new(&spec.tenant.name)
        } else {
            CloudPolicy::new(&spec.tenant.name)
                .with_custom_list(&spec.tenant.banned, true)
                .map_err(|e| format!("tenant.banned: {e}"))?
        },
    });
    let cloud = Arc::new(Cloud::new(flows, tokens, &https_base, seed));
    let app = router(cloud.clone());

    // Plain HTTP, and HTTPS with the handshake in each connection's own task, with a timeout.
    tasks.push(tokio::spawn(serve_http(
        http_l,
        None,
        app.clone(),
        relay.clone(),
        clock.clone(),
        stop.clone(),
    )));
    let tls = tokio_rustls::TlsAcceptor::from(
        ca.server_config(&["localhost".to_string()])
            .map_err(|e| e.to_string())?,
    );
    tasks.push(tokio::spawn(serve_http(
        https_l,
        Some(tls),
        app,
        relay.clone(),
        clock.clone(),
        stop.clone(),
    )));
    // Registered agents and writeback flags are saved every couple of seconds and at stop.
    {
        let (relay, stop, clock, store) =
            (relay.clone(), stop.clone(), clock.clone(), store.clone());
        tasks.push(tokio::spawn(async move {
            let mut last = String::new();
            loop {
                let stopping = tokio::select! {
                    biased;
                    _ = stop.cancelled() => true,
                    _ = clock.sleep(std::time::Duration::from_secs(2).mul_f64(clock.scale())) => false,
                };
                let now = relay_snapshot(&relay);
                if now != last {
                    let rx = store.commit(runtime::store::Batch { meta: vec![(RELAY_KEY.into(), now.clone())], ..Default::default() });
                    let _ = rx.await;
                    last = now;
                }
                if stopping {
                    break;
                }
            }
        }));
    }
    // The relay's deadlines and re-offers.
    {
        let (relay, stop) = (relay.clone(), stop.clone());
        tasks.push(tokio::spawn(async move { relay.run(stop).await }));
    }
    Ok(CloudRun { http, https, cloud })
}

const RELAY_KEY: &str = "cloud/relay";

/// Serves `app` on `l` until `stop`: each connection in its own task, over TLS when `tls` is
/// given (the handshake limited to 10 lab seconds). A TLS connection is one relay connection, so
/// its unacked offers go back when it drops.
async fn serve_http<L: Listener>(
    mut l: L,
    tls: Option<tokio_rustls::TlsAcceptor>,
    app: axum::Router,
    relay: Relay,
    clock: Clock,
    stop: CancellationToken,
) {
    loop {
        let accepted = tokio::select! {
            biased;
            _ = stop.cancelled() => break,
            a = l.accept() => a,
        };
        let Ok((stream, _)) = accepted else { continue };
        let (tls, app, relay, clock, stop) = (
            tls.clone(),
            app.clone(),
            relay.clone(),
            clock.clone(),
            stop.clone(),
        );
        tokio::spawn(async move {
            match tls {
                Some(tls) => {
                    let limit = std::time::Duration::from_secs(10).mul_f64(clock.scale());
                    let Ok(Ok(stream)) = clock.timeout(limit, tls.accept(stream)).await else {
                        return;
                    };
                    let app = app.layer(axum::Extension(relay.connection()));
                    serve_conn(stream, app, stop).await;
                }
                None => serve_conn(stream, app, stop).await,
            }
        });
    }
}

/// Serves HTTP/1 or HTTP/2 on one connection until it ends or `stop`.
pub(crate) async fn serve_conn<S: runtime::net::Stream>(
    stream: S,
    app: axum::Router,
    stop: CancellationToken,
) {
    let svc = tower::util::MapRequest::new(app, normalize);
    let svc = hyper_util::service::TowerToHyperService::new(
        svc.map_request(|r: hyper::Request<hyper::body::Incoming>| r.map(axum::body::Body::new)),
    );
    let builder =
        hyper_util::server::conn::auto::Builder::new(hyper_util::rt::TokioExecutor::new());
    let conn = builder.serve_connection(hyper_util::rt::TokioIo::new(stream), svc);
    tokio::select! {
        biased;
        _ = stop.cancelled() => {}
        _ = conn => {}
    }
}

fn relay_snapshot(relay: &Relay) -> String {
    let flags: Vec<(String, bool)> = relay
        .domains()
        .into_iter()
        .map(|(d, _)| (d.clone(), relay.writeback(&d)))
        .collect();
    serde_json::json!({ "agents": relay.agent_records(), "writeback": flags }).to_string()
}

fn restore_relay(relay: &Relay, store: &dyn runtime::store::Store) -> Result<(), String> {
    let Some(json) = store.meta(RELAY_KEY).map_err(|e| e.to_string())? else {
        return Ok(());
    };
    #[derive(serde::Deserialize)]
    struct Saved {
        agents: Vec<fake_cloud::relay::AgentRecord>,
        writeback: Vec<(String, bool)>,
    }
    let saved: Saved = serde_json::from_str(&json).map_err(|e| format!("{RELAY_KEY}: {e}"))?;
    for a in saved.agents {
        relay.restore_agent(a).map_err(|e| e.message)?;
    }
    for (d, on) in saved.writeback {
        let _ = relay.set_writeback(&d, on);
    }
    Ok(())
}
