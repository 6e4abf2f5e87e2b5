//! fake-ad in time (issue [C]): replication between DCs on the lab clock, never by sleeping.

mod common;

use std::collections::HashSet;
use std::time::Duration;

use common::*;
use ldap3::{LdapConn, LdapConnSettings, Mod, Scope, SearchEntry};

fn dc(lab: &Running, name: &str) -> LdapConn {
    let e = lab.lab().endpoint("contoso.lab", name).unwrap();
    let settings = LdapConnSettings::new().set_config(lab.lab().ca.client_config().unwrap());
    let mut c = LdapConn::with_settings(settings, &format!("ldaps://{}", e.ldaps)).unwrap();
    c.simple_bind("CONTOSO\\Administrator", ADMIN_PW)
        .unwrap()
        .success()
        .unwrap();
    c
}

fn description(c: &mut LdapConn) -> Vec<String> {
    let (e, _) = c
        .search(ALICE, Scope::Base, "(objectClass=*)", vec!["description"])
        .unwrap()
        .success()
        .unwrap();
    SearchEntry::construct(e[0].clone())
        .attrs
        .get("description")
        .cloned()
        .unwrap_or_default()
}

fn advance(lab: &Running, secs: u64) {
    lab.rt
        .block_on(lab.lab().advance(Duration::from_secs(secs)));
}

#[test]
fn a_write_reaches_the_partner_after_the_notification_delay() {
    let lab = Running::default();
    let (mut dc1, mut dc2) = (dc(&lab, "DC1"), dc(&lab, "DC2"));
    dc1.modify(
        ALICE,
        vec![Mod::Replace("description", HashSet::from(["from DC1"]))],
    )
    .unwrap()
    .success()
    .unwrap();
    assert_eq!(description(&mut dc1), vec!["from DC1"]);
    advance(&lab, 14);
    assert!(description(&mut dc2).is_empty(), "not yet at t+14 s");
    advance(&lab, 2);
    assert_eq!(description(&mut dc2), vec!["from DC1"], "there at t+16 s");
    // Creations and deletions travel too.
    dc2.add(
        "OU=Made On DC2,DC=contoso,DC=lab",
        vec![("objectClass", HashSet::from(["organizationalUnit"]))],
    )
    .unwrap()
    .success()
    .unwrap();
    advance(&lab, 16);
    assert_eq!(
        dc1.search(
            "OU=Made On DC2,DC=contoso,DC=lab",
            Scope::Base,
            "(objectClass=*)",
            vec!["1.1"]
        )
        .unwrap()
        .1
        .rc,
        0
    );
    dc1.delete("OU=Made On DC2,DC=contoso,DC=lab")
        .unwrap()
        .success()
        .unwrap();
    advance(&lab, 16);
    assert_eq!(
        dc2.search(
            "OU=Made On DC2,DC=contoso,DC=lab",
            Scope::Base,
            "(objectClass=*)",
            vec!["1.1"]
        )
        .unwrap()
        .1
        .rc,
        32
    );
}

#[test]
fn urgent_attributes_and_passwords_replicate_at_once() {
    let lab = Running::default();
    let (mut dc1, mut dc2) = (dc(&lab, "DC1"), dc(&lab, "DC2"));
    // bob is locked on both; an unlock on DC2 is urgent.
    dc2.modify(
        "CN=Bob Baker,OU=Staff,DC=contoso,DC=lab",
        vec![Mod::Replace("lockoutTime", HashSet::from(["0"]))],
    )
    .unwrap()
    .success()
    .unwrap();
    advance(&lab, 0);
    let (e, _) = dc1
        .search(
            "CN=Bob Baker,OU=Staff,DC=contoso,DC=lab",
            Scope::Base,
            "(objectClass=*)",
            vec!["lockoutTime"],
        )
        .unwrap()
        .success()
        .unwrap();
    assert_eq!(
        SearchEntry::construct(e[0].clone()).attrs["lockoutTime"],
        vec!["0"]
    );
    // A reset on DC2 reaches the PDC (DC1) at once; on DC2 itself the bind works, and a bind on a
    // lagging non-PDC DC is retried on the PDC.
    assert_eq!(reset(&mut dc2, ALICE, "Urgent-Passw0rd1").rc, 0);
    advance(&lab, 0);
    let mut c = lab.ldaps();
    c.simple_bind("alice@contoso.lab", "Urgent-Passw0rd1")
        .unwrap()
        .success()
        .unwrap();
}

#[test]
fn a_lagging_dc_is_retried_on_the_pdc_and_conflicts_resolve_per_attribute() {
    let lab = Running::default();
    let (mut dc1, mut dc2) = (dc(&lab, "DC1"), dc(&lab, "DC2"));
    // A reset on DC1 (the PDC) has not reached DC2 yet: DC2 retries the bind on the PDC.
    assert_eq!(reset(&mut dc1, ALICE, "Pdc-Passw0rd1").rc, 0);
    let e2 = lab.lab().endpoint("contoso.lab", "DC2").unwrap();
    let settings = LdapConnSettings::new().set_config(lab.lab().ca.client_config().unwrap());
    let mut on2 = LdapConn::with_settings(settings, &format!("ldaps://{}", e2.ldaps)).unwrap();
    on2.simple_bind("alice@contoso.lab", "Pdc-Passw0rd1")
        .unwrap()
        .success()
        .unwrap();
    // Both DCs change description before either hears of the other: the later write wins
    // everywhere (same version), and an attribute only one side changed is kept.
    dc1.modify(
        ALICE,
        vec![Mod::Replace("description", HashSet::from(["first"]))],
    )
    .unwrap()
    .success()
    .unwrap();
    advance(&lab, 1);
    dc2.modify(
        ALICE,
        vec![
            Mod::Replace("description", HashSet::from(["second"])),
            Mod::Replace("title", HashSet::from(["lead"])),
        ],
    )
    .unwrap()
    .success()
    .unwrap();
    advance(&lab, 30);
    assert_eq!(description(&mut dc1), vec!["second"]);
    assert_eq!(description(&mut dc2), vec!["second"]);
    // A higher version beats a later time: DC1 changes it twice, DC2 once, later.
    dc1.modify(
        ALICE,
        vec![Mod::Replace("description", HashSet::from(["v+1"]))],
    )
    .unwrap()
    .success()
    .unwrap();
    dc1.modify(
        ALICE,
        vec![Mod::Replace("description", HashSet::from(["v+2"]))],
    )
    .unwrap()
    .success()
    .unwrap();
    advance(&lab, 1);
    dc2.modify(
        ALICE,
        vec![Mod::Replace(
            "description",
            HashSet::from(["later but v+1"]),
        )],
    )
    .unwrap()
    .success()
    .unwrap();
    advance(&lab, 30);
    assert_eq!(description(&mut dc1), vec!["v+2"]);
    assert_eq!(description(&mut dc2), vec!["v+2"]);
}

#[test]
fn pending_replication_survives_a_restart() {
    let dir = tempfile::tempdir().unwrap();
    let opts = || sim::LabOptions {
        state: Some(dir.path().to_path_buf()),
        ..sim::LabOptions::default()
    };
    {
        let lab = Running::start(opts());
        let mut dc1 = dc(&lab, "DC1");
        dc1.modify(
            ALICE,
            vec![Mod::Replace("description", HashSet::from(["in flight"]))],
        )
        .unwrap()
        .success()
        .unwrap();
        lab.stop();
    }
    let lab = Running::start(opts());
    let mut dc2 = dc(&lab, "DC2");
    assert!(description(&mut dc2).is_empty());
    advance(&lab, 20);
    assert_eq!(description(&mut dc2), vec!["in flight"]);
}

fn control(lab: &Running, method: &str, path: &str, body: &str) -> (u16, String) {
    use std::io::{Read, Write};
    let mut s = std::net::TcpStream::connect(lab.lab().control).unwrap();
    write!(s, "{method} {path} HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}", body.len()).unwrap();
    let mut out = String::new();
    s.read_to_string(&mut out).unwrap();
    let status = out[9..12].parse().unwrap();
    let body = out.split("\r\n\r\n").nth(1).unwrap_or_default().to_string();
    (status, body)
}

#[test]
fn a_stopped_dc_refuses_then_catches_up() {
    let lab = Running::default();
    let mut dc1 = dc(&lab, "DC1");
    let (st, body) = control(&lab, "POST", "/control/dc/contoso.lab/DC2/stop", "");
    assert_eq!(st, 200, "{body}");
    assert!(body.contains(r#""running":false"#));
    let e2 = lab.lab().endpoint("contoso.lab", "DC2").unwrap().clone();
    assert!(
        std::net::TcpStream::connect(e2.ldaps).is_err(),
        "a stopped DC's listeners refuse"
    );
    dc1.modify(
        ALICE,
        vec![Mod::Replace(
            "description",
            HashSet::from(["while DC2 was down"]),
        )],
    )
    .unwrap()
    .success()
    .unwrap();
    advance(&lab, 60);
    let (_, repl) = control(&lab, "GET", "/control/replication/contoso.lab", "");
    assert!(repl.contains(r#""to":"DC2""#), "held for DC2: {repl}");
    assert_eq!(
        control(&lab, "POST", "/control/dc/contoso.lab/DC2/start", "").0,
        200
    );
    advance(&lab, 0);
    let mut dc2 = dc(&lab, "DC2");
    assert_eq!(description(&mut dc2), vec!["while DC2 was down"]);
    // Unknown DCs and domains are named.
    let (st, body) = control(&lab, "POST", "/control/dc/contoso.lab/DC9/stop", "");
    assert_eq!(st, 404);
    assert!(body.contains("DC9"), "{body}");
    assert_eq!(
        control(&lab, "POST", "/control/dc/nowhere.lab/DC1/stop", "").0,
        404
    );
}

#[test]
fn a_cut_link_holds_replication_until_healed() {
    let lab = Running::default();
    let (mut dc1, mut dc2) = (dc(&lab, "DC1"), dc(&lab, "DC2"));
    let (st, _) = control(
        &lab,
        "POST",
        "/control/link",
        r#"{"domain":"contoso.lab","from":"DC1","to":"DC2","cut":true}"#,
    );
    assert_eq!(st, 200);
    dc1.modify(
        ALICE,
        vec![Mod::Replace(
            "description",
            HashSet::from(["across a cut link"]),
        )],
    )
    .unwrap()
    .success()
    .unwrap();
    advance(&lab, 3600);
    assert!(description(&mut dc2).is_empty());
    control(
        &lab,
        "POST",
        "/control/link",
        r#"{"domain":"contoso.lab","from":"DC1","to":"DC2","cut":false}"#,
    );
    advance(&lab, 0);
    assert_eq!(description(&mut dc2), vec!["across a cut link"]);
    assert_eq!(
        control(
            &lab,
            "POST",
            "/control/link",
            r#"{"domain":"contoso.lab","from":"DC1","to":"DC7","cut":true}"#
        )
        .0,
        404
    );
}

#[test]
fn a_slow_dc_answers_after_its_delay() {
    let lab = Running::start(sim::LabOptions {
        time_scale: 1000.0,
        ..sim::LabOptions::default()
    });
    let (st, body) = control(
        &lab,
        "POST",
        "/control/dc/contoso.lab/DC1/delay",
        r#"{"search_ms":35000}"#,
    );
    assert_eq!(st, 200, "{body}");
    let mut c = dc(&lab, "DC1");
    let before = lab.lab().clock.now();
    c.search(ALICE, Scope::Base, "(objectClass=*)", vec!["1.1"])
        .unwrap()
        .success()
        .unwrap();
    let took = lab.lab().clock.now().0 - before.0;
    assert!(
        took >= 35_000_000_000,
        "the search took {took} ns of lab time"
    );
    // Binds were not delayed by a search-only delay; `all_ms` delays everything.
    assert!(
        control(&lab, "GET", "/control/dc/contoso.lab/DC1", "")
            .1
            .contains(r#""search_ms":35000"#)
    );
}

fn svc_on(lab: &Running, dc_name: &str) -> LdapConn {
    let e = lab.lab().endpoint("contoso.lab", dc_name).unwrap();
    let settings = LdapConnSettings::new().set_config(lab.lab().ca.client_config().unwrap());
    let mut c = LdapConn::with_settings(settings, &format!("ldaps://{}", e.ldaps)).unwrap();
    c.simple_bind("CONTOSO\\provAgentgMSA$", "Lab-Service-Passw0rd1")
        .unwrap()
        .success()
        .unwrap();
    c
}

fn sid_of(c: &mut LdapConn, dn: &str) -> ad_types::Sid {
    let (e, _) = c
        .search(dn, Scope::Base, "(objectClass=*)", vec!["objectSid"])
        .unwrap()
        .success()
        .unwrap();
    ad_types::Sid::from_bytes(&SearchEntry::construct(e[0].clone()).bin_attrs["objectSid"][0])
        .unwrap()
}

const SVC: &str = "CN=provAgentgMSA,CN=Managed Service Accounts,DC=contoso,DC=lab";

#[test]
fn a_granted_right_reaches_users_after_the_propagation_delay() {
    use fake_ad::propagation::{Delay, Propagation};
    // Scenario 16 with acl.propagation_delay = 10 min.
    let prop = Propagation {
        delay: Delay::Fixed { secs: 600 },
        batch: 2,
        batch_interval_ms: 1000,
    };
    let lab = Running::start(sim::LabOptions {
        propagation: Some(prop),
        ..sim::LabOptions::default()
    });
    let mut admin = dc(&lab, "DC1");
    let sid = sid_of(&mut admin, SVC);
    // Withdraw the reset right at the root, let that propagate, then grant it again at T0.
    edit_dacl(&mut admin, "DC=contoso,DC=lab", |aces| {
        aces.retain(|a| !(a.sid == sid && a.object_type == Some(ad_types::rights::RESET_PASSWORD)))
    });
    advance(&lab, 700);
    let mut c1 = svc_on(&lab, "DC1");
    assert_eq!(reset(&mut c1, ALICE, "Before-Grant-1").rc, 50);
    edit_dacl(&mut admin, "DC=contoso,DC=lab", |aces| {
        aces.push(
            ad_types::sd::Ace::allow_object(
                sid.clone(),
                ad_types::rights::CONTROL_ACCESS,
                Some(ad_types::rights::RESET_PASSWORD),
                Some(ad_types::rights::CLASS_USER),
            )
            .with_flags(ad_types::sd::CONTAINER_INHERIT | ad_types::sd::INHERIT_ONLY),
        )
    });
    advance(&lab, 60);
    assert_eq!(
        reset(&mut c1, ALICE, "At-T0-Plus-1m").rc,
        50,
        "refused at T0+1 min"
    );
    let (_, progress) = control(&lab, "GET", "/control/propagation", "");
    assert!(progress.contains("DC=contoso,DC=lab"), "{progress}");
    advance(&lab, 600);
    assert_eq!(
        reset(&mut c1, ALICE, "After-Propagation-1").rc,
        0,
        "accepted once the propagator reached alice on DC1"
    );
    // DC2 got the propagated descriptors by replication.
    advance(&lab, 30);
    let mut c2 = svc_on(&lab, "DC2");
    assert_eq!(reset(&mut c2, ALICE, "After-Replication-2").rc, 0);
}

#[test]
fn an_admin_sd_holder_edit_waits_for_the_next_sdprop_tick() {
    // Scenario 17: grant the sync account Reset Password on AdminSDHolder.
    let lab = Running::default();
    let mut admin = dc(&lab, "DC1");
    let sid = sid_of(&mut admin, SVC);
    edit_dacl(
        &mut admin,
        "CN=AdminSDHolder,CN=System,DC=contoso,DC=lab",
        |aces| {
            aces.push(ad_types::sd::Ace::allow_object(
                sid.clone(),
                ad_types::rights::CONTROL_ACCESS,
                Some(ad_types::rights::RESET_PASSWORD),
                None,
            ))
        },
    );
    let mut c = svc_on(&lab, "DC1");
    let dave = "CN=Dave Dunn,OU=Staff,DC=contoso,DC=lab";
    assert_eq!(reset(&mut c, dave, "Before-Tick-Passw0rd1").rc, 50);
    advance(&lab, 3600);
    assert_eq!(
        reset(&mut c, dave, "After-Tick-Passw0rd2").rc,
        0,
        "SDProp stamped the new AdminSDHolder descriptor"
    );
}

fn hinted_reset(c: &mut LdapConn, dn: &str, pw: &str) -> u32 {
    use ldap3::controls::RawControl;
    let hints = RawControl {
        ctype: "1.2.840.113556.1.4.2239".into(),
        crit: true,
        val: Some(vec![0x30, 0x03, 0x02, 0x01, 0x01]),
    };
    let v = pwd(pw);
    c.with_controls(vec![hints])
        .modify(
            dn,
            vec![Mod::Replace(&b"unicodePwd"[..], HashSet::from([&v[..]]))],
        )
        .unwrap()
        .rc
}

#[test]
fn a_gpo_edit_waits_for_refresh_or_gpupdate_force() {
    // Scenario 34 (in reverse: the lab starts at min age 0; the GPO raises it to 1 day).
    let lab = Running::default();
    let mut c = svc_on(&lab, "DC1");
    let (st, body) = control(
        &lab,
        "POST",
        "/control/gpo",
        r#"{"domain":"contoso.lab","set":{"MinimumPasswordAge":1}}"#,
    );
    assert_eq!(st, 200, "{body}");
    assert!(body.contains(r#""MinimumPasswordAge":1"#), "{body}");
    assert_eq!(hinted_reset(&mut c, ALICE, "Gpo-Passw0rd1"), 0);
    assert_eq!(
        hinted_reset(&mut c, ALICE, "Gpo-Passw0rd2"),
        0,
        "not applied yet: min age is still 0"
    );
    let (st, body) = control(
        &lab,
        "POST",
        "/control/gpupdate",
        r#"{"domain":"contoso.lab","dc":"DC1","force":true}"#,
    );
    assert_eq!(st, 200, "{body}");
    assert_eq!(
        hinted_reset(&mut c, ALICE, "Gpo-Passw0rd3"),
        53,
        "applied at once by gpupdate /force"
    );
    // A direct edit of the head takes effect at once, until the next applied GPO overwrites it.
    let mut admin = dc(&lab, "DC1");
    admin
        .modify(
            "DC=contoso,DC=lab",
            vec![Mod::Replace("minPwdAge", HashSet::from(["0"]))],
        )
        .unwrap()
        .success()
        .unwrap();
    assert_eq!(hinted_reset(&mut c, ALICE, "Direct-Edit-Passw0rd4"), 0);
    control(
        &lab,
        "POST",
        "/control/gpupdate",
        r#"{"domain":"contoso.lab","dc":"DC1","force":true}"#,
    );
    assert_eq!(hinted_reset(&mut c, ALICE, "Overwritten-Passw0rd5"), 53);
    // Bad input names the key and changes nothing.
    let (st, body) = control(
        &lab,
        "POST",
        "/control/gpo",
        r#"{"domain":"contoso.lab","set":{"MinimumPasswordAge":5000}}"#,
    );
    assert_eq!(st, 400);
    assert!(body.contains("MinimumPasswordAge=5000"), "{body}");
    assert_eq!(
        control(
            &lab,
            "POST",
            "/control/gpo",
            r#"{"domain":"contoso.lab","set":{"Bogus":1}}"#
        )
        .0,
        400
    );
}

#[test]
fn background_refresh_applies_a_newer_gpo() {
    let lab = Running::default();
    control(
        &lab,
        "POST",
        "/control/gpo",
        r#"{"domain":"contoso.lab","set":{"PasswordHistorySize":3}}"#,
    );
    let mut admin = dc(&lab, "DC1");
    let history = |c: &mut LdapConn| {
        let (e, _) = c
            .search(
                "DC=contoso,DC=lab",
                Scope::Base,
                "(objectClass=*)",
                vec!["pwdHistoryLength"],
            )
            .unwrap()
            .success()
            .unwrap();
        SearchEntry::construct(e[0].clone()).attrs["pwdHistoryLength"][0].clone()
    };
    assert_eq!(history(&mut admin), "24");
    advance(&lab, 300);
    assert_eq!(
        history(&mut admin),
        "3",
        "DC1 applied it at its 5-minute refresh: {}",
        control(&lab, "GET", "/control/gpo/contoso.lab", "").1
    );
    let (_, body) = control(&lab, "GET", "/control/gpo/contoso.lab", "");
    assert!(
        body.contains(r#""DC1":4"#) && body.contains(r#""DC2":4"#),
        "{body}"
    );
}

#[test]
fn across_sites_the_old_password_binds_on_the_far_dc_until_replication() {
    // Scenario 23: DC2 in another site; inter-site replication every 180 minutes.
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    let mut spec = sim::default_lab();
    spec.forests[0].domains[0].dcs[1].site = "Branch".into();
    let opts = sim::LabOptions {
        propagation: Some(fake_ad::propagation::Propagation::immediate()),
        ..sim::LabOptions::default()
    };
    let lab = Running {
        lab: Some(rt.block_on(sim::Lab::start(spec, opts)).unwrap()),
        rt,
    };
    let mut dc1 = dc(&lab, "DC1");
    assert_eq!(reset(&mut dc1, ALICE, "Near-Site-Passw0rd1").rc, 0);
    let e2 = lab.lab().endpoint("contoso.lab", "DC2").unwrap().clone();
    let bind2 = |pw: &str| {
        let settings = LdapConnSettings::new().set_config(lab.lab().ca.client_config().unwrap());
        LdapConn::with_settings(settings, &format!("ldaps://{}", e2.ldaps))
            .unwrap()
            .simple_bind("alice@contoso.lab", pw)
            .unwrap()
    };
    advance(&lab, 0);
    assert_eq!(
        bind2(USER_PW).rc,
        0,
        "the old password still binds on the far-site DC"
    );
    assert!(
        bind2("Near-Site-Passw0rd1").text.contains("data 52e"),
        "and the new one does not (no PDC retry across sites)"
    );
    advance(&lab, 180 * 60);
    assert_eq!(
        bind2("Near-Site-Passw0rd1").rc,
        0,
        "after the inter-site schedule, the new one"
    );
}

#[test]
fn refusals_are_explained_through_the_control_api() {
    let lab = Running::default();
    let mut c = svc_on(&lab, "DC1");
    assert_eq!(
        reset(
            &mut c,
            "CN=Carol Cruz,OU=Staff,DC=contoso,DC=lab",
            "Protected-Passw0rd1"
        )
        .rc,
        50
    );
    let (st, body) = control(&lab, "GET", "/control/refusals/contoso.lab/DC1", "");
    assert_eq!(st, 200);
    assert!(
        body.contains(r#""right":"Reset Password""#) && body.contains("Carol Cruz"),
        "{body}"
    );
    assert!(!body.contains("Protected-Passw0rd1"), "never a password");
    // An unknown DC is named, not guessed.
    assert_eq!(
        control(&lab, "GET", "/control/refusals/contoso.lab/DC7", "").0,
        404
    );
}
