//! State that lasts: a lab reopened from its state directory, a `serve` process killed with
//! SIGKILL and restarted, and LDIF export/import between labs.

mod common;

use std::collections::HashSet;
use std::path::Path;
use std::process::{Child, Command};
use std::time::Duration;

use common::*;
use ldap3::{LdapConn, LdapConnSettings, Scope, SearchEntry};
use sim::{LabOptions, ReadyFile};

fn with_state(dir: &Path) -> LabOptions {
    LabOptions {
        state: Some(dir.to_path_buf()),
        ..LabOptions::default()
    }
}

#[test]
fn a_reopened_state_dir_keeps_every_change() {
    let dir = tempfile::tempdir().unwrap();
    let guid_before;
    {
        let lab = Running::start(with_state(dir.path()));
        let mut c = lab.admin();
        assert_eq!(reset(&mut c, ALICE, "Kept-Passw0rd5").rc, 0);
        c.add(
            "OU=Kept,DC=contoso,DC=lab",
            vec![("objectClass", HashSet::from(["organizationalUnit"]))],
        )
        .unwrap()
        .success()
        .unwrap();
        let (e, _) = c
            .search(ALICE, Scope::Base, "(objectClass=*)", vec!["objectGUID"])
            .unwrap()
            .success()
            .unwrap();
        guid_before = SearchEntry::construct(e[0].clone()).bin_attrs["objectGUID"][0].clone();
        lab.stop();
    }
    let lab = Running::start(with_state(dir.path()));
    let mut c = lab.ldaps();
    c.simple_bind("alice@contoso.lab", "Kept-Passw0rd5")
        .unwrap()
        .success()
        .unwrap();
    let mut c = lab.admin();
    let (e, _) = c
        .search(
            "OU=Kept,DC=contoso,DC=lab",
            Scope::Base,
            "(objectClass=*)",
            vec!["ou"],
        )
        .unwrap()
        .success()
        .unwrap();
    assert_eq!(e.len(), 1);
    // New objects after a restart do not reuse GUIDs or ids.
    c.add(
        "OU=After,DC=contoso,DC=lab",
        vec![("objectClass", HashSet::from(["organizationalUnit"]))],
    )
    .unwrap()
    .success()
    .unwrap();
    let (e, _) = c
        .search(ALICE, Scope::Base, "(objectClass=*)", vec!["objectGUID"])
        .unwrap()
        .success()
        .unwrap();
    assert_eq!(
        SearchEntry::construct(e[0].clone()).bin_attrs["objectGUID"][0],
        guid_before
    );
    let (all, _) = c
        .search(
            "DC=contoso,DC=lab",
            Scope::Subtree,
            "(objectClass=*)",
            vec!["objectGUID"],
        )
        .unwrap()
        .success()
        .unwrap();
    let guids: HashSet<Vec<u8>> = all
        .into_iter()
        .map(|e| SearchEntry::construct(e).bin_attrs["objectGUID"][0].clone())
        .collect();
    let n = c
        .search(
            "DC=contoso,DC=lab",
            Scope::Subtree,
            "(objectClass=*)",
            vec!["1.1"],
        )
        .unwrap()
        .0
        .len();
    assert_eq!(guids.len(), n, "every objectGUID is unique");
}

#[test]
fn a_state_dir_from_another_scenario_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    Running::start(with_state(dir.path())).stop();
    let rt = tokio::runtime::Runtime::new().unwrap();
    let mut other = sim::default_lab();
    other.name = "other".into();
    let err = rt
        .block_on(sim::Lab::start(other, with_state(dir.path())))
        .err()
        .expect("refused");
    let msg = err.to_string();
    assert!(
        msg.contains("\"default\"") && msg.contains("\"other\""),
        "{msg}"
    );
}

struct Serve(Child);

impl Drop for Serve {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

fn serve(state: &Path, ready: &Path) -> (Serve, ReadyFile) {
    let _ = std::fs::remove_file(ready);
    let child = Command::new(env!("CARGO_BIN_EXE_sspr-lab"))
        .args(["serve", "--state"])
        .arg(state)
        .arg("--ready-file")
        .arg(ready)
        .env("RUST_LOG", "warn")
        .spawn()
        .expect("serve starts");
    let mut child = Serve(child);
    for _ in 0..300 {
        if let Ok(r) = ReadyFile::read(ready) {
            return (child, r);
        }
        if let Some(status) = child.0.try_wait().unwrap() {
            panic!("serve exited early: {status}");
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    panic!("no ready file");
}

fn connect(ready: &ReadyFile) -> LdapConn {
    let pem = std::fs::read(&ready.ca_cert).unwrap();
    let mut roots = rustls::RootCertStore::empty();
    for cert in rustls_pemfile_certs(&pem) {
        roots.add(cert).unwrap();
    }
    let config = rustls::ClientConfig::builder_with_provider(std::sync::Arc::new(
        rustls::crypto::ring::default_provider(),
    ))
    .with_safe_default_protocol_versions()
    .unwrap()
    .with_root_certificates(roots)
    .with_no_client_auth();
    let dc = &ready.domain("contoso.lab").unwrap().dcs[0];
    LdapConn::with_settings(
        LdapConnSettings::new().set_config(std::sync::Arc::new(config)),
        &format!("ldaps://{}", dc.ldaps),
    )
    .unwrap()
}

fn rustls_pemfile_certs(pem: &[u8]) -> Vec<rustls::pki_types::CertificateDer<'static>> {
    use rustls::pki_types::pem::PemObject;
    rustls::pki_types::CertificateDer::pem_slice_iter(pem)
        .map(|c| c.unwrap())
        .collect()
}

#[test]
fn a_killed_serve_restarts_with_every_acknowledged_change() {
    let dir = tempfile::tempdir().unwrap();
    let state = dir.path().join("state");
    let ready_path = dir.path().join("ready.json");
    let (mut child, ready) = serve(&state, &ready_path);
    assert_eq!(ready.pid, child.0.id());
    let mut c = connect(&ready);
    c.simple_bind("CONTOSO\\Administrator", ADMIN_PW)
        .unwrap()
        .success()
        .unwrap();
    for i in 0..20 {
        let ou = format!("OU=Batch{i},DC=contoso,DC=lab");
        c.add(
            &ou,
            vec![("objectClass", HashSet::from(["organizationalUnit"]))],
        )
        .unwrap()
        .success()
        .unwrap();
    }
    assert_eq!(reset(&mut c, ALICE, "Survives-Kill9").rc, 0);
    child.0.kill().unwrap(); // SIGKILL
    child.0.wait().unwrap();
    let (_child, ready) = serve(&state, &ready_path);
    let mut c = connect(&ready);
    c.simple_bind("alice@contoso.lab", "Survives-Kill9")
        .unwrap()
        .success()
        .unwrap();
    let (e, _) = c
        .search(
            "DC=contoso,DC=lab",
            Scope::OneLevel,
            "(ou=Batch*)",
            vec!["ou"],
        )
        .unwrap()
        .success()
        .unwrap();
    assert_eq!(e.len(), 20);
}

#[test]
fn ldif_round_trip_between_labs() {
    let first = Running::default();
    let mut c = first.admin();
    c.add(
        "OU=Move,DC=contoso,DC=lab",
        vec![
            ("objectClass", HashSet::from(["organizationalUnit"])),
            ("description", HashSet::from(["to move"])),
        ],
    )
    .unwrap()
    .success()
    .unwrap();
    c.add(
        "CN=Heidi Hart,OU=Move,DC=contoso,DC=lab",
        vec![
            ("objectClass", HashSet::from(["user"])),
            ("sAMAccountName", HashSet::from(["heidi"])),
            ("displayName", HashSet::from(["Heidi, \"H\" Hart"])),
            ("description", HashSet::from([" leading space"])),
        ],
    )
    .unwrap()
    .success()
    .unwrap();
    let dc = first
        .lab()
        .endpoint("contoso.lab", "DC1")
        .unwrap()
        .dc
        .clone();
    let text = fake_ad::ldif::export(&dc.snapshot(), Some("OU=Move,DC=contoso,DC=lab")).unwrap();
    assert!(
        text.contains("description:: IGxlYWRpbmcgc3BhY2U="),
        "{text}"
    );
    assert!(!text.to_lowercase().contains("unicodepwd"));
    let records = fake_ad::ldif::parse(&text).unwrap();
    assert_eq!(records.len(), 2);

    let second = Running::default();
    let dc2 = second
        .lab()
        .endpoint("contoso.lab", "DC1")
        .unwrap()
        .dc
        .clone();
    let snap = dc2.snapshot();
    let admin = snap.by_sam("Administrator").unwrap();
    let ctx = fake_ad::ctx::OpCtx {
        bound: Some(fake_ad::ctx::Principal {
            id: admin,
            dn: snap.dn(admin),
            account: "CONTOSO\\Administrator".into(),
            sids: fake_ad::security::token_sids(&snap, &dc2.domain.info, admin),
        }),
        tls: true,
        ..Default::default()
    };
    let added = second
        .rt
        .block_on(fake_ad::ldif::import(&dc2, &ctx, &records, false))
        .unwrap();
    assert_eq!(added, 2);
    let again = fake_ad::ldif::export(&dc2.snapshot(), Some("OU=Move,DC=contoso,DC=lab")).unwrap();
    // Same user attributes; only what the directory assigns (GUID, SID, times, USNs) differs.
    let user_lines = |t: &str| -> Vec<String> {
        t.lines()
            .filter(|l| {
                [
                    "dn",
                    "objectClass",
                    "description",
                    "displayName",
                    "sAMAccountName",
                    "userAccountControl",
                ]
                .iter()
                .any(|a| l.starts_with(&format!("{a}:")))
            })
            .map(str::to_string)
            .collect()
    };
    assert_eq!(user_lines(&text), user_lines(&again));
    // A broken LDIF names its line.
    let err = second
        .rt
        .block_on(fake_ad::ldif::import(
            &dc2,
            &ctx,
            &fake_ad::ldif::parse(
                "dn: OU=X,DC=contoso,DC=lab\nobjectClass: organizationalUnit\nnoSuch: 1\n",
            )
            .unwrap(),
            false,
        ))
        .unwrap_err();
    assert_eq!(err.line, 1);
}
