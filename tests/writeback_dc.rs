//! The DC's side of writeback, end to end over LDAPS with the `ldap3` client: the writeback
//! account's own LDAP sequence, and the catalogue scenarios the DC alone decides (facts.md 2–7,
//! 10–15, 26, 31–33), each with AD's result code and diagnostic.

mod common;

use std::collections::HashSet;
use std::time::Duration;

use ad_types::rights;
use common::*;
use ldap3::controls::RawControl;
use ldap3::{LdapConn, Mod, Scope, SearchEntry};

const SVC_PW: &str = "Lab-Service-Passw0rd1";
const BOB: &str = "CN=Bob Baker,OU=Staff,DC=contoso,DC=lab";
const CAROL: &str = "CN=Carol Cruz,OU=Staff,DC=contoso,DC=lab";
const DAVE: &str = "CN=Dave Dunn,OU=Staff,DC=contoso,DC=lab";
const ERIN: &str = "CN=Erin Ellis,OU=Staff,DC=contoso,DC=lab";
const HEAD: &str = "DC=contoso,DC=lab";

fn hints() -> RawControl {
    RawControl {
        ctype: "1.2.840.113556.1.4.2239".into(),
        crit: true,
        val: Some(vec![0x30, 0x03, 0x02, 0x01, 0x01]),
    }
}

fn job(id: &str) -> RawControl {
    RawControl {
        ctype: "2.25.113326234892387354470223958930026193466".into(),
        crit: false,
        val: Some(id.as_bytes().to_vec()),
    }
}

/// The cloud sync account, bound over LDAPS.
fn svc(lab: &Running) -> LdapConn {
    let mut c = lab.ldaps();
    c.simple_bind("CONTOSO\\provAgentgMSA$", SVC_PW)
        .unwrap()
        .success()
        .unwrap();
    c
}

/// A reset as the agent sends it: replace unicodePwd, with or without policy hints.
fn reset_as(c: &mut LdapConn, dn: &str, pw: &str, hinted: bool) -> ldap3::LdapResult {
    let v = pwd(pw);
    let mods = vec![Mod::Replace(&b"unicodePwd"[..], HashSet::from([&v[..]]))];
    if hinted {
        c.with_controls(vec![hints()]).modify(dn, mods).unwrap()
    } else {
        c.modify(dn, mods).unwrap()
    }
}

fn change(c: &mut LdapConn, dn: &str, old: &str, new: &str) -> ldap3::LdapResult {
    let (o, n) = (pwd(old), pwd(new));
    c.modify(
        dn,
        vec![
            Mod::Delete(&b"unicodePwd"[..], HashSet::from([&o[..]])),
            Mod::Add(&b"unicodePwd"[..], HashSet::from([&n[..]])),
        ],
    )
    .unwrap()
}

fn bind(lab: &Running, name: &str, pw: &str) -> ldap3::LdapResult {
    lab.ldaps().simple_bind(name, pw).unwrap()
}

fn attr(c: &mut LdapConn, dn: &str, a: &str) -> Vec<String> {
    let (e, _) = c
        .search(dn, Scope::Base, "(objectClass=*)", vec![a])
        .unwrap()
        .success()
        .unwrap();
    SearchEntry::construct(e[0].clone())
        .attrs
        .get(a)
        .cloned()
        .unwrap_or_default()
}

fn set_head(c: &mut LdapConn, a: &str, v: &str) {
    c.modify(HEAD, vec![Mod::Replace(a, HashSet::from([v]))])
        .unwrap()
        .success()
        .unwrap();
}

/// Removes the explicit ACEs of the head's DACL that `drop` selects.
fn remove_head_aces(admin: &mut LdapConn, drop: impl Fn(&ad_types::sd::Ace) -> bool) {
    let mut sd = read_sd(admin, HEAD);
    let acl = sd.dacl.as_mut().unwrap();
    let before = acl.aces.len();
    acl.aces.retain(|a| !drop(a));
    assert!(acl.aces.len() < before, "an ACE was removed");
    write_dacl(admin, HEAD, &sd);
}

fn assert_rc(r: &ldap3::LdapResult, rc: u32, prefix: &str) {
    assert_eq!(r.rc, rc, "{}", r.text);
    assert!(
        r.text.starts_with(prefix),
        "expected {prefix:?}, got {:?}",
        r.text
    );
}

#[test]
fn the_writeback_sequence_of_the_sync_account() {
    let lab = Running::default();
    let mut c = svc(&lab);
    // Reset with policy hints and unlock in one modify, as the agent writes it; bob is locked.
    let v = pwd("Writeback-Passw0rd1");
    let r = c
        .with_controls(vec![hints(), job("job-1")])
        .modify(
            BOB,
            vec![
                Mod::Replace(&b"unicodePwd"[..], HashSet::from([&v[..]])),
                Mod::Replace(&b"lockoutTime"[..], HashSet::from([&b"0"[..]])),
            ],
        )
        .unwrap();
    assert_rc(&r, 0, "");
    bind(&lab, "bob@contoso.lab", "Writeback-Passw0rd1")
        .success()
        .unwrap();
    let mut admin = lab.admin();
    assert_ne!(
        attr(&mut admin, BOB, "pwdLastSet"),
        vec!["0"],
        "Unexpire Password makes pwdLastSet now"
    );
    assert_eq!(attr(&mut admin, BOB, "badPwdCount"), vec!["0"]);
    // An admin-style reset with must-change: pwdLastSet 0 in the same modify.
    let v = pwd("Must-Change-Passw0rd2");
    c.modify(
        ALICE_DN,
        vec![
            Mod::Replace(&b"unicodePwd"[..], HashSet::from([&v[..]])),
            Mod::Replace(&b"pwdLastSet"[..], HashSet::from([&b"0"[..]])),
        ],
    )
    .unwrap()
    .success()
    .unwrap();
    assert_rc(
        &bind(&lab, "alice@contoso.lab", "Must-Change-Passw0rd2"),
        49,
        "80090308",
    );
    assert!(
        bind(&lab, "alice@contoso.lab", "Must-Change-Passw0rd2")
            .text
            .contains("data 773")
    );
    // pwdLastSet accepts only 0 and -1.
    assert_rc(
        &c.modify(
            ALICE_DN,
            vec![Mod::Replace("pwdLastSet", HashSet::from(["1"]))],
        )
        .unwrap(),
        80,
        "00000057",
    );
    c.modify(
        ALICE_DN,
        vec![Mod::Replace("pwdLastSet", HashSet::from(["-1"]))],
    )
    .unwrap()
    .success()
    .unwrap();
    bind(&lab, "alice@contoso.lab", "Must-Change-Passw0rd2")
        .success()
        .unwrap();
    // lockoutTime accepts only 0, and the account may not write other attributes.
    assert_eq!(
        c.modify(
            ALICE_DN,
            vec![Mod::Replace("lockoutTime", HashSet::from(["5"]))]
        )
        .unwrap()
        .rc,
        53
    );
    assert_rc(
        &c.modify(
            ALICE_DN,
            vec![Mod::Replace("description", HashSet::from(["x"]))],
        )
        .unwrap(),
        50,
        "00002098: SecErr",
    );
}

const ALICE_DN: &str = ALICE;

#[test]
fn protected_users_and_sdprop() {
    let lab = Running::default();
    let mut c = svc(&lab);
    // Scenario 13: inheritance disabled on carol.
    assert_rc(
        &c.with_controls(vec![job("job-carol")])
            .modify(
                CAROL,
                vec![Mod::Replace(
                    &b"unicodePwd"[..],
                    HashSet::from([&pwd("Protected-Passw0rd9")[..]]),
                )],
            )
            .unwrap(),
        50,
        "00002098: SecErr: DSID-",
    );
    let dc = lab.lab().endpoint("contoso.lab", "DC1").unwrap().dc.clone();
    let why = dc
        .refusals
        .for_job("job-carol")
        .expect("the refusal is keyed by the job id");
    assert_eq!(why.object, CAROL);
    match &why.reason {
        fake_ad::refusal::Reason::Access(d) => assert_eq!(d.right, "Reset Password"),
        other => panic!("{other:?}"),
    }
    // Scenario 14: dave is in Domain Admins and SDProp ran at lab start.
    let mut admin = lab.admin();
    assert_eq!(attr(&mut admin, DAVE, "adminCount"), vec!["1"]);
    assert_rc(
        &reset_as(&mut c, DAVE, "Admin-Reset-Passw0rd9", true),
        50,
        "00002098",
    );
    assert_rc(
        &c.modify(
            DAVE,
            vec![Mod::Replace("lockoutTime", HashSet::from(["0"]))],
        )
        .unwrap(),
        50,
        "00002098",
    );
    // ... but dave may still change his own password (AdminSDHolder grants Change Password).
    let mut d = lab.ldaps();
    d.simple_bind("dave@contoso.lab", USER_PW)
        .unwrap()
        .success()
        .unwrap();
    assert_rc(&change(&mut d, DAVE, USER_PW, "Changed-Passw0rd3"), 0, "");
    // Scenario 15: removing dave from Domain Admins leaves adminCount and the protection.
    admin
        .modify(
            "CN=Domain Admins,CN=Users,DC=contoso,DC=lab",
            vec![Mod::Delete("member", HashSet::from([DAVE]))],
        )
        .unwrap()
        .success()
        .unwrap();
    assert_eq!(attr(&mut admin, DAVE, "adminCount"), vec!["1"]);
    assert_rc(
        &reset_as(&mut c, DAVE, "Admin-Reset-Passw0rd9", true),
        50,
        "00002098",
    );
    // SDProp through the root DSE stamps a nested member: alice in a group inside Account Operators.
    admin
        .add(
            "CN=Ops Helpers,OU=Staff,DC=contoso,DC=lab",
            vec![
                ("objectClass", HashSet::from(["group"])),
                ("sAMAccountName", HashSet::from(["opshelpers"])),
                ("member", HashSet::from([ALICE])),
            ],
        )
        .unwrap()
        .success()
        .unwrap();
    admin
        .modify(
            "CN=Account Operators,CN=Builtin,DC=contoso,DC=lab",
            vec![Mod::Add(
                "member",
                HashSet::from(["CN=Ops Helpers,OU=Staff,DC=contoso,DC=lab"]),
            )],
        )
        .unwrap()
        .success()
        .unwrap();
    assert_rc(&reset_as(&mut c, ALICE, "Before-Sdprop-1", true), 0, "");
    assert_rc(
        &c.modify(
            "",
            vec![Mod::Replace(
                "runProtectAdminGroupsTask",
                HashSet::from(["1"]),
            )],
        )
        .unwrap(),
        50,
        "00002098",
    );
    admin
        .modify(
            "",
            vec![Mod::Replace(
                "runProtectAdminGroupsTask",
                HashSet::from(["1"]),
            )],
        )
        .unwrap()
        .success()
        .unwrap();
    assert_eq!(attr(&mut admin, ALICE, "adminCount"), vec!["1"]);
    assert_rc(
        &reset_as(&mut c, ALICE, "After-Sdprop-2", true),
        50,
        "00002098",
    );
    assert!(read_sd(&mut admin, ALICE).is_protected());
}

#[test]
fn password_policy_on_resets_and_changes() {
    let lab = Running::default();
    let mut c = svc(&lab);
    let mut admin = lab.admin();
    // Scenario 3: minimum age 0 allows rapid resets.
    assert_rc(&reset_as(&mut c, ALICE, "Rapid-Passw0rd1", true), 0, "");
    assert_rc(&reset_as(&mut c, ALICE, "Rapid-Passw0rd2", true), 0, "");
    // Scenario 4/5: history with the hint refuses an old password; without it the reset passes.
    assert_rc(
        &reset_as(&mut c, ALICE, "Rapid-Passw0rd1", true),
        53,
        "0000052D: SvcErr: DSID-",
    );
    assert!(
        reset_as(&mut c, ALICE, "Rapid-Passw0rd2", true)
            .text
            .contains("problem 5003 (WILL_NOT_PERFORM)"),
        "the current password is in the history"
    );
    assert_rc(&reset_as(&mut c, ALICE, "Rapid-Passw0rd1", false), 0, "");
    // Scenario 2: minimum age 1 day blocks a second hinted reset (but not a plain one).
    set_head(&mut admin, "minPwdAge", "-864000000000");
    assert_rc(
        &reset_as(&mut c, ALICE, "Aged-Passw0rd3", true),
        53,
        "0000052D",
    );
    assert_rc(&reset_as(&mut c, ALICE, "Aged-Passw0rd3", false), 0, "");
    set_head(&mut admin, "minPwdAge", "0");
    // Scenario 6: a displayName token (erin is "Erin Ellis").
    assert_rc(
        &reset_as(&mut c, ERIN, "Ellis#2024xY", true),
        53,
        "0000052D",
    );
    // ... and a user's own change gets 19 with the AtrErr form.
    let mut a = lab.ldaps();
    a.simple_bind("alice@contoso.lab", "Aged-Passw0rd3")
        .unwrap()
        .success()
        .unwrap();
    assert_rc(
        &change(&mut a, ALICE, "Aged-Passw0rd3", "archer-lowercase-only"),
        19,
        "0000052D: AtrErr: DSID-",
    );
    // Scenario 7: complexity classes, hint or not.
    assert_rc(
        &reset_as(&mut c, ALICE, "alllowercase123", false),
        53,
        "0000052D",
    );
    assert_rc(&reset_as(&mut c, ALICE, "Alllowercase123", false), 0, "");
    // Too short.
    assert_rc(&reset_as(&mut c, ALICE, "Ab1!", false), 53, "0000052D");
    // A wrong old password: 19 00000056, and it counts as a bad password.
    let mut a = lab.ldaps();
    a.simple_bind("alice@contoso.lab", "Alllowercase123")
        .unwrap()
        .success()
        .unwrap();
    assert_rc(
        &change(&mut a, ALICE, "Not-The-Old-1", "Whatever-Passw0rd5"),
        19,
        "00000056: AtrErr",
    );
    assert_eq!(attr(&mut admin, ALICE, "badPwdCount"), vec!["1"]);
    // A refused write changes nothing.
    bind(&lab, "alice@contoso.lab", "Alllowercase123")
        .success()
        .unwrap();
}

#[test]
fn each_writeback_right_missing_in_turn() {
    let sid_of = |admin: &mut LdapConn| {
        let (e, _) = admin
            .search(
                "CN=provAgentgMSA,CN=Managed Service Accounts,DC=contoso,DC=lab",
                Scope::Base,
                "(objectClass=*)",
                vec!["objectSid"],
            )
            .unwrap()
            .success()
            .unwrap();
        ad_types::Sid::from_bytes(&SearchEntry::construct(e[0].clone()).bin_attrs["objectSid"][0])
            .unwrap()
    };
    // Scenario 10: no Reset Password.
    {
        let lab = Running::default();
        let mut admin = lab.admin();
        let sid = sid_of(&mut admin);
        remove_head_aces(&mut admin, |a| {
            a.sid == sid && a.object_type == Some(rights::RESET_PASSWORD)
        });
        let mut c = svc(&lab);
        assert_rc(
            &reset_as(&mut c, ALICE, "No-Reset-Right1", true),
            50,
            "00002098: SecErr",
        );
        // Re-granting it (as Set-AADCloudSyncPermissions would) restores writeback.
        let mut sd = read_sd(&mut admin, HEAD);
        sd.dacl.as_mut().unwrap().aces.push(
            ad_types::sd::Ace::allow_object(
                sid.clone(),
                rights::CONTROL_ACCESS,
                Some(rights::RESET_PASSWORD),
                Some(rights::CLASS_USER),
            )
            .with_flags(ad_types::sd::CONTAINER_INHERIT | ad_types::sd::INHERIT_ONLY),
        );
        write_dacl(&mut admin, HEAD, &sd);
        assert_rc(&reset_as(&mut c, ALICE, "Regranted-Passw0rd1", true), 0, "");
    }
    // Scenario 11: no write on lockoutTime; reset + unlock in one modify fails as a whole.
    {
        let lab = Running::default();
        let mut admin = lab.admin();
        let sid = sid_of(&mut admin);
        remove_head_aces(&mut admin, |a| {
            a.sid == sid && a.object_type == Some(rights::ATTR_LOCKOUT_TIME)
        });
        let mut c = svc(&lab);
        let v = pwd("No-Unlock-Right1");
        let r = c
            .modify(
                BOB,
                vec![
                    Mod::Replace(&b"unicodePwd"[..], HashSet::from([&v[..]])),
                    Mod::Replace(&b"lockoutTime"[..], HashSet::from([&b"0"[..]])),
                ],
            )
            .unwrap();
        assert_rc(&r, 50, "00002098");
        admin
            .modify(BOB, vec![Mod::Replace("lockoutTime", HashSet::from(["0"]))])
            .unwrap()
            .success()
            .unwrap();
        bind(&lab, "bob@contoso.lab", USER_PW)
            .success()
            .expect("the refused modify left the old password");
    }
    // Scenario 12: no Unexpire Password anywhere: the reset works but pwdLastSet becomes 0.
    {
        let lab = Running::default();
        let mut admin = lab.admin();
        remove_head_aces(&mut admin, |a| {
            a.object_type == Some(rights::UNEXPIRE_PASSWORD)
        });
        let mut c = svc(&lab);
        assert_rc(&reset_as(&mut c, ALICE, "No-Unexpire-Right1", true), 0, "");
        assert_eq!(attr(&mut admin, ALICE, "pwdLastSet"), vec!["0"]);
        assert!(
            bind(&lab, "alice@contoso.lab", "No-Unexpire-Right1")
                .text
                .contains("data 773")
        );
    }
    // Scenario 31: "User cannot change password" (deny Change Password to SELF and Everyone):
    // the user's change is 19, a reset still works; deny beats allow.
    {
        let lab = Running::default();
        let mut admin = lab.admin();
        let mut sd = read_sd(&mut admin, ALICE);
        let deny = |sid| {
            ad_types::sd::Ace::deny_object(
                sid,
                rights::CONTROL_ACCESS,
                Some(rights::CHANGE_PASSWORD),
                None,
            )
        };
        let acl = sd.dacl.as_mut().unwrap();
        acl.aces.insert(0, deny(rights::well_known::everyone()));
        acl.aces
            .insert(0, deny(rights::well_known::principal_self()));
        write_dacl(&mut admin, ALICE, &sd);
        let mut a = lab.ldaps();
        a.simple_bind("alice@contoso.lab", USER_PW)
            .unwrap()
            .success()
            .unwrap();
        assert_eq!(change(&mut a, ALICE, USER_PW, "Cannot-Change-1").rc, 19);
        let mut c = svc(&lab);
        assert_rc(&reset_as(&mut c, ALICE, "Reset-Still-Works1", true), 0, "");
    }
}

#[test]
fn lockout_and_unlock_with_the_clock() {
    let lab = Running::default();
    let mut admin = lab.admin();
    // Default lab: bob is locked until unlocked (duration 0).
    assert!(
        bind(&lab, "bob@contoso.lab", USER_PW)
            .text
            .contains("data 775")
    );
    lab.lab().clock.advance(Duration::from_secs(86_400 * 7));
    assert!(
        bind(&lab, "bob@contoso.lab", USER_PW)
            .text
            .contains("data 775")
    );
    admin
        .modify(BOB, vec![Mod::Replace("lockoutTime", HashSet::from(["0"]))])
        .unwrap()
        .success()
        .unwrap();
    bind(&lab, "bob@contoso.lab", USER_PW).success().unwrap();
    // Scenario 26: threshold 3, duration 30 min.
    set_head(&mut admin, "lockoutThreshold", "3");
    set_head(&mut admin, "lockoutDuration", "-18000000000");
    for _ in 0..3 {
        assert!(
            bind(&lab, "alice@contoso.lab", "wrong")
                .text
                .contains("data 52e")
        );
    }
    assert!(
        bind(&lab, "alice@contoso.lab", USER_PW)
            .text
            .contains("data 775"),
        "locked even with the right password"
    );
    assert_eq!(attr(&mut admin, ALICE, "badPwdCount"), vec!["3"]);
    lab.lab().clock.advance(Duration::from_secs(31 * 60));
    bind(&lab, "alice@contoso.lab", USER_PW).success().unwrap();
    assert_eq!(attr(&mut admin, ALICE, "badPwdCount"), vec!["0"]);
    // erin's password is past the maximum age; disabled accounts say 533.
    assert!(
        bind(&lab, "erin@contoso.lab", USER_PW)
            .text
            .contains("data 532")
    );
    admin
        .modify(
            ALICE,
            vec![Mod::Replace("userAccountControl", HashSet::from(["514"]))],
        )
        .unwrap()
        .success()
        .unwrap();
    assert!(
        bind(&lab, "alice@contoso.lab", USER_PW)
            .text
            .contains("data 533")
    );
}

#[test]
fn fine_grained_password_policy_precedence() {
    let lab = Running::default();
    let mut admin = lab.admin();
    let psc = "CN=Password Settings Container,CN=System,DC=contoso,DC=lab";
    admin
        .add(
            "CN=Pilot,OU=Staff,DC=contoso,DC=lab",
            vec![
                ("objectClass", HashSet::from(["group"])),
                ("sAMAccountName", HashSet::from(["pilot"])),
                ("member", HashSet::from([ALICE])),
            ],
        )
        .unwrap()
        .success()
        .unwrap();
    let pso = |admin: &mut LdapConn, name: &str, prec: &str, len: &str, applies: &str| {
        admin
            .add(
                &format!("CN={name},{psc}"),
                vec![
                    ("objectClass", HashSet::from(["msDS-PasswordSettings"])),
                    ("msDS-PasswordSettingsPrecedence", HashSet::from([prec])),
                    ("msDS-MinimumPasswordLength", HashSet::from([len])),
                    ("msDS-PasswordComplexityEnabled", HashSet::from(["TRUE"])),
                    ("msDS-PasswordHistoryLength", HashSet::from(["0"])),
                    ("msDS-MinimumPasswordAge", HashSet::from(["0"])),
                    (
                        "msDS-MaximumPasswordAge",
                        HashSet::from(["-36288000000000"]),
                    ),
                    ("msDS-LockoutThreshold", HashSet::from(["0"])),
                    (
                        "msDS-LockoutObservationWindow",
                        HashSet::from(["-18000000000"]),
                    ),
                    ("msDS-LockoutDuration", HashSet::from(["-18000000000"])),
                    ("msDS-PSOAppliesTo", HashSet::from([applies])),
                ],
            )
            .unwrap()
            .success()
            .unwrap();
    };
    pso(
        &mut admin,
        "PSO-A",
        "10",
        "12",
        "CN=Pilot,OU=Staff,DC=contoso,DC=lab",
    );
    pso(&mut admin, "PSO-B", "20", "8", ALICE);
    assert_eq!(
        attr(&mut admin, ALICE, "msDS-ResultantPSO"),
        vec![format!("CN=PSO-B,{psc}")]
    );
    let mut c = svc(&lab);
    assert_rc(&reset_as(&mut c, ALICE, "Nine-Ch1!", true), 0, "");
    admin
        .delete(&format!("CN=PSO-B,{psc}"))
        .unwrap()
        .success()
        .unwrap();
    assert_eq!(
        attr(&mut admin, ALICE, "msDS-ResultantPSO"),
        vec![format!("CN=PSO-A,{psc}")]
    );
    assert_rc(&reset_as(&mut c, ALICE, "Nine-Ch2!", true), 53, "0000052D");
    assert_rc(&reset_as(&mut c, ALICE, "Twelve-Chars-3!", true), 0, "");
}

#[test]
fn descriptors_over_ldap_and_inheritance() {
    let lab = Running::default();
    let mut admin = lab.admin();
    // A user's descriptor carries the head's inherited writeback ACEs (marked ID).
    let sd = read_sd(&mut admin, ALICE);
    let inherited = sd
        .dacl
        .as_ref()
        .unwrap()
        .aces
        .iter()
        .filter(|a| a.flags & ad_types::sd::INHERITED != 0)
        .count();
    assert!(inherited > 0);
    assert!(
        sd.dacl
            .as_ref()
            .unwrap()
            .aces
            .iter()
            .any(|a| a.object_type == Some(rights::RESET_PASSWORD))
    );
    // carol's is protected and has none of them.
    let carol = read_sd(&mut admin, CAROL);
    assert!(carol.is_protected());
    assert!(
        !carol
            .dacl
            .as_ref()
            .unwrap()
            .aces
            .iter()
            .any(|a| a.flags & ad_types::sd::INHERITED != 0)
    );
    // Writing back stale inherited ACEs does not keep them.
    let mut stale = read_sd(&mut admin, ALICE);
    stale.dacl.as_mut().unwrap().aces.push(
        ad_types::sd::Ace::allow(rights::well_known::everyone(), rights::GENERIC_ALL)
            .with_flags(ad_types::sd::INHERITED),
    );
    write_dacl(&mut admin, ALICE, &stale);
    assert_eq!(read_sd(&mut admin, ALICE), sd);
    // Re-enabling inheritance on carol (clearing the protected bit) gives her the rights.
    let mut open = carol.clone();
    open.control &= !ad_types::sd::SE_DACL_PROTECTED;
    write_dacl(&mut admin, CAROL, &open);
    let mut c = svc(&lab);
    assert_rc(&reset_as(&mut c, CAROL, "Opened-Passw0rd1", true), 0, "");
    // A malformed descriptor is refused and changes nothing.
    let r = admin
        .modify(
            ALICE,
            vec![Mod::Replace(
                &b"nTSecurityDescriptor"[..],
                HashSet::from([&b"\x01\x00garbage"[..]]),
            )],
        )
        .unwrap();
    assert_eq!(r.rc, 19);
    assert_eq!(read_sd(&mut admin, ALICE), sd);
    // The sync account may not write descriptors.
    let mut c = svc(&lab);
    let bytes = sd.to_bytes();
    assert_eq!(
        c.modify(
            ALICE,
            vec![Mod::Replace(
                &b"nTSecurityDescriptor"[..],
                HashSet::from([&bytes[..]])
            )]
        )
        .unwrap()
        .rc,
        50
    );
}

#[test]
fn policy_values_out_of_range_are_refused() {
    let lab = Running::default();
    let mut admin = lab.admin();
    for (a, v) in [
        ("pwdHistoryLength", "25"),
        ("minPwdLength", "15"),
        ("lockoutThreshold", "1000"),
        ("minPwdAge", "1"),
    ] {
        let r = admin
            .modify(HEAD, vec![Mod::Replace(a, HashSet::from([v]))])
            .unwrap();
        assert_eq!(r.rc, 19, "{a}={v}: {}", r.text);
    }
    assert_eq!(
        attr(&mut admin, HEAD, "pwdHistoryLength"),
        vec!["24"],
        "nothing changed"
    );
    set_head(&mut admin, "pwdHistoryLength", "5");
}

#[test]
fn the_control_api_runs_sdprop() {
    use std::io::{Read, Write};
    let lab = Running::default();
    let mut admin = lab.admin();
    admin
        .modify(
            "CN=Domain Admins,CN=Users,DC=contoso,DC=lab",
            vec![Mod::Add("member", HashSet::from([ALICE]))],
        )
        .unwrap()
        .success()
        .unwrap();
    let mut c = svc(&lab);
    assert_rc(&reset_as(&mut c, ALICE, "Before-Control-1", true), 0, "");
    let post = |body: &str| {
        let mut s = std::net::TcpStream::connect(lab.lab().control).unwrap();
        write!(s, "POST /control/sdprop HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}", body.len()).unwrap();
        let mut out = String::new();
        s.read_to_string(&mut out).unwrap();
        out
    };
    let out = post(r#"{"domain":"contoso.lab"}"#);
    assert!(out.starts_with("HTTP/1.1 200"), "{out}");
    assert!(out.contains(r#""changed":1"#), "{out}");
    assert_rc(
        &reset_as(&mut c, ALICE, "After-Control-2", true),
        50,
        "00002098",
    );
    assert!(post(r#"{"domain":"nowhere.lab"}"#).starts_with("HTTP/1.1 404"));
    assert!(post(r#"{"bogus":1}"#).starts_with("HTTP/1.1 422"));
}

#[test]
fn the_old_password_window_knob() {
    let lab = Running::default();
    let dc = lab.lab().endpoint("contoso.lab", "DC1").unwrap().dc.clone();
    let mut c = svc(&lab);
    // Off by default: the previous password fails at once.
    assert_rc(&reset_as(&mut c, ALICE, "Window-Passw0rd1", true), 0, "");
    assert!(
        bind(&lab, "alice@contoso.lab", USER_PW)
            .text
            .contains("data 52e")
    );
    // Five minutes: the previous password binds until the window closes; older ones do not count.
    dc.old_password_window
        .store(300, std::sync::atomic::Ordering::Relaxed);
    assert_rc(&reset_as(&mut c, ALICE, "Window-Passw0rd2", true), 0, "");
    bind(&lab, "alice@contoso.lab", "Window-Passw0rd1")
        .success()
        .unwrap();
    let mut admin = lab.admin();
    let before = attr(&mut admin, ALICE, "badPwdCount");
    assert!(
        bind(&lab, "alice@contoso.lab", USER_PW)
            .text
            .contains("data 52e")
    );
    assert_eq!(
        attr(&mut admin, ALICE, "badPwdCount"),
        before,
        "a password older than the previous one is not counted"
    );
    lab.lab().clock.advance(Duration::from_secs(301));
    assert!(
        bind(&lab, "alice@contoso.lab", "Window-Passw0rd1")
            .text
            .contains("data 52e")
    );
}
