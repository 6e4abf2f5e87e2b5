//! The tutorial's five validation scenarios end to end (issue [E] item 7), each in both variants
//! of the default lab (DESIGN §7):
//! - variant 1, two cloud sync forests: contoso.lab (DC1, DC2) and fabrikam.lab;
//! - variant 2, Connect Sync beside cloud sync: northwind.lab and contoso.lab.
//!
//! Every flow runs over real sockets with the in-process agents: the SSPR portal and the sign-in
//! page under `/lab`, the admin tools, Graph, ROPC. Each is checked by a simple LDAP bind as the
//! user on every DC of the domain once replication has settled (the old password refused there
//! too, so a DC that missed the write shows), and by its audit row in Graph's directoryAudits.

mod common;

use common::*;
use serde_json::{Value, json};

/// Variant 1: two disconnected cloud sync forests.
const VARIANT_1: [&str; 2] = ["contoso.lab", "fabrikam.lab"];
/// Variant 2: Connect Sync (northwind.lab) beside a cloud sync domain.
const VARIANT_2: [&str; 2] = ["northwind.lab", "contoso.lab"];

const CHANGE: &str = "Change password (self-service)";
const RESET_SELF: &str = "Reset password (self-service)";
const RESET_ADMIN: &str = "Reset password (by admin)";
const UNLOCK: &str = "Unlock user account (self-service)";

/// What a simple bind answers: success, or 49 with AD's data code.
#[derive(Clone, Copy, Debug, PartialEq)]
enum Bind {
    Ok,
    Data(&'static str),
}

/// The password a domain's user gets at a step (distinct per step, so history never refuses).
fn pw(step: &str) -> String {
    format!("Valid-{step}-Passw0rd7")
}

fn upn(user: &str, domain: &str) -> String {
    format!("{user}@{domain}")
}

/// Once replication settled, `upn` binding with `password` answers `want` on every DC.
fn binds_everywhere(lab: &Running, domain: &str, upn: &str, password: &str, want: Bind) {
    replicate(lab, domain);
    for dc in dc_names(lab, domain) {
        let (rc, text) = bind_on(lab, domain, &dc, upn, password);
        let got = match rc {
            0 => Bind::Ok,
            49 if text.contains("data 773") => Bind::Data("773"),
            49 if text.contains("data 52e") => Bind::Data("52e"),
            49 if text.contains("data 532") => Bind::Data("532"),
            49 if text.contains("data 775") => Bind::Data("775"),
            _ => panic!("{upn} on {domain} {dc}: unexpected {rc} {text}"),
        };
        assert_eq!(got, want, "{upn} on {domain} {dc}: {rc} {text}");
    }
}

/// The new password binds everywhere and the old one is refused with `52e` everywhere.
fn only_new_password_binds(lab: &Running, domain: &str, upn: &str, new: &str, old: &str) {
    binds_everywhere(lab, domain, upn, new, Bind::Ok);
    binds_everywhere(lab, domain, upn, old, Bind::Data("52e"));
}

/// The newest audit row of `activity` for `upn`: successful, about `upn`, started by `by`.
fn audited(lab: &Running, activity: &str, upn: &str, by: &str) -> Value {
    let token = ropc_token(lab, &format!("admin@{TENANT}"), ADMIN_PW);
    let (st, _, v) = cloud_call(
        lab,
        "GET",
        "/v1.0/auditLogs/directoryAudits",
        Some(&token),
        None,
    );
    assert_eq!(st, 200, "{v}");
    let row = v["value"]
        .as_array()
        .unwrap()
        .iter()
        .find(|r| {
            r["activityDisplayName"] == activity
                && r["targetResources"][0]["userPrincipalName"] == upn
        })
        .unwrap_or_else(|| panic!("no {activity:?} row for {upn}: {v}"))
        .clone();
    assert_eq!(row["result"], "success", "{row}");
    assert_eq!(row["loggedByService"], "Self-service Password Management");
    assert_eq!(row["initiatedBy"]["user"]["userPrincipalName"], by, "{row}");
    assert!(
        !row.to_string().contains("Passw0rd7"),
        "no password in {row}"
    );
    row
}

/// The `OnPremisesAgent` detail an admin reset of a `domain` user records (facts §5.3).
fn agent_detail(domain: &str) -> &'static str {
    if domain == "northwind.lab" {
        "Microsoft Entra Connect"
    } else {
        "CloudSync"
    }
}

// ---------------------------------------------------------------------------------------------
// Shared steps
// ---------------------------------------------------------------------------------------------

/// The SSPR portal up to a verified session: start, the code from the lab mailbox, verify.
fn sspr_verified(lab: &Running, upn: &str) -> String {
    let (st, _, v) = cloud_call(
        lab,
        "POST",
        "/lab/sspr/start",
        None,
        Some(json!({ "user": upn })),
    );
    assert_eq!(st, 200, "start for {upn}: {v}");
    let flow = v["flow"].as_str().unwrap().to_string();
    let (st, _, v) = cloud_call(lab, "POST", &format!("/lab/sspr/{flow}/code"), None, None);
    assert_eq!(st, 200, "{v}");
    let (_, _, mail) = cloud_call(lab, "GET", &format!("/lab/mailbox/{upn}"), None, None);
    let code = mail["value"].as_array().unwrap().last().unwrap()["code"].clone();
    let verify = Some(json!({ "code": code }));
    let (st, _, v) = cloud_call(
        lab,
        "POST",
        &format!("/lab/sspr/{flow}/verify"),
        None,
        verify,
    );
    assert_eq!(st, 200, "{v}");
    flow
}

/// A portal step (`reset` or `unlock`) of a verified session, waited to its end: must succeed.
fn sspr_finish(lab: &Running, flow: &str, step: &str, body: Value) {
    let (st, _, v) = cloud_call(
        lab,
        "POST",
        &format!("/lab/sspr/{flow}/{step}"),
        None,
        Some(body),
    );
    assert_eq!(st, 202, "{step}: {v}");
    let done = until_done(lab, &format!("/lab/sspr/{flow}"), None);
    assert_eq!(done["status"], "succeeded", "{step}: {done}");
}

/// The sign-in page and ROPC for a password that must be changed: AADSTS50055, "expired".
fn sign_in_says_expired(lab: &Running, upn: &str, password: &str) {
    let (st, v) = ropc_answer(lab, upn, password);
    assert_eq!(
        (st, &v["error_codes"]),
        (400, &json!([50055])),
        "{upn}: {v}"
    );
    let body = json!({ "username": upn, "password": password });
    let (st, _, v) = cloud_call(lab, "POST", "/lab/signin", None, Some(body));
    assert_eq!(st, 200, "{v}");
    assert_eq!(v["status"], "passwordExpired", "{upn}: {v}");
    assert_eq!(v["change"], "/lab/change");
}

/// The sign-in page and ROPC for a password that signs in.
fn sign_in_works(lab: &Running, upn: &str, password: &str) {
    ropc_token(lab, upn, password);
    let body = json!({ "username": upn, "password": password });
    let (_, _, v) = cloud_call(lab, "POST", "/lab/signin", None, Some(body));
    assert_eq!(v["status"], "signedIn", "{upn}: {v}");
}

/// The user's own change on the portal, `forced` or `voluntary` as expected, waited to success.
fn change_password(lab: &Running, upn: &str, current: &str, new: &str, kind: &str) {
    let body = json!({ "username": upn, "currentPassword": current, "newPassword": new });
    let (st, _, v) = cloud_call(lab, "POST", "/lab/change", None, Some(body));
    assert_eq!(st, 202, "change for {upn}: {v}");
    assert_eq!(v["change"], kind, "{v}");
    let done = until_done(lab, v["status"].as_str().unwrap(), None);
    assert_eq!(done["status"], "succeeded", "change for {upn}: {done}");
}

/// An admin tool an administrator resets a user with.
#[derive(Clone, Copy, Debug)]
enum Tool {
    AdminCenter,
    MyStaff,
    Graph,
}

/// `admin` resets `upn` to `new` with `tool`, waited to success.
fn admin_reset(lab: &Running, tool: Tool, admin: &str, upn: &str, new: &str) {
    let token = ropc_token(lab, admin, ADMIN_PW);
    let (path, body) = match tool {
        Tool::AdminCenter => (
            "/lab/admin/admin-center/reset".to_string(),
            json!({ "user": upn, "newPassword": new }),
        ),
        Tool::MyStaff => (
            "/lab/admin/my-staff/reset".to_string(),
            json!({ "user": upn, "newPassword": new }),
        ),
        Tool::Graph => (
            format!(
                "/v1.0/users/{upn}/authentication/methods/28c10230-6103-485e-b985-444c60001490/resetPassword"
            ),
            json!({ "newPassword": new }),
        ),
    };
    let (st, head, v) = cloud_call(lab, "POST", &path, Some(&token), Some(body));
    assert_eq!(st, 202, "{tool:?} reset of {upn}: {v}");
    let status = match tool {
        Tool::Graph => {
            let location = head
                .lines()
                .find_map(|l| l.strip_prefix("location: "))
                .expect("a Location header");
            location[location.find("/v1.0/").unwrap()..].to_string()
        }
        _ => v["status"].as_str().unwrap().to_string(),
    };
    let done = until_done(lab, &status, Some(&token));
    assert_eq!(
        done["status"], "succeeded",
        "{tool:?} reset of {upn}: {done}"
    );
}

// ---------------------------------------------------------------------------------------------
// The scenarios, each for one domain
// ---------------------------------------------------------------------------------------------

/// a. SSPR from the sign-in page: alice resets a forgotten password on the portal.
fn sspr_reset(lab: &Running, domain: &str) {
    let alice = upn("alice", domain);
    let flow = sspr_verified(lab, &alice);
    sspr_finish(lab, &flow, "reset", json!({ "newPassword": pw("Sspr") }));
    // A self-service reset asks for no change at next logon.
    only_new_password_binds(lab, domain, &alice, &pw("Sspr"), USER_PW);
    sign_in_works(lab, &alice, &pw("Sspr"));
    audited(lab, RESET_SELF, &alice, &alice);
}

/// b. The forced change of an expired password: erin at the next cloud sign-in.
fn forced_change(lab: &Running, domain: &str) {
    let erin = upn("erin", domain);
    binds_everywhere(lab, domain, &erin, USER_PW, Bind::Data("532"));
    sign_in_says_expired(lab, &erin, USER_PW);
    change_password(lab, &erin, USER_PW, &pw("Forced"), "forced");
    sign_in_works(lab, &erin, &pw("Forced"));
    only_new_password_binds(lab, domain, &erin, &pw("Forced"), USER_PW);
    audited(lab, CHANGE, &erin, &erin);
}

/// c. A voluntary change: alice changes her password knowing the current one.
fn voluntary_change(lab: &Running, domain: &str) {
    let alice = upn("alice", domain);
    change_password(lab, &alice, USER_PW, &pw("Voluntary"), "voluntary");
    only_new_password_binds(lab, domain, &alice, &pw("Voluntary"), USER_PW);
    sign_in_works(lab, &alice, &pw("Voluntary"));
    audited(lab, CHANGE, &alice, &alice);
}

/// d. An allowed admin resets alice with `tool`: on-premises she must change it (773), the old
/// password is gone (52e); her forced change at the next cloud sign-in writes back again.
fn reset_by_admin(lab: &Running, domain: &str, tool: Tool, admin: &str) {
    let alice = upn("alice", domain);
    let admin = format!("{admin}@{TENANT}");
    admin_reset(lab, tool, &admin, &alice, &pw("Admin"));
    binds_everywhere(lab, domain, &alice, &pw("Admin"), Bind::Data("773"));
    binds_everywhere(lab, domain, &alice, USER_PW, Bind::Data("52e"));
    let row = audited(lab, RESET_ADMIN, &alice, &admin);
    let detail = json!([{ "key": "OnPremisesAgent", "value": agent_detail(domain) }]);
    assert_eq!(row["additionalDetails"], detail, "{row}");
    // The next cloud sign-in asks for a change, which writes back like erin's.
    sign_in_says_expired(lab, &alice, &pw("Admin"));
    change_password(lab, &alice, &pw("Admin"), &pw("AfterAdmin"), "forced");
    only_new_password_binds(lab, domain, &alice, &pw("AfterAdmin"), &pw("Admin"));
    sign_in_works(lab, &alice, &pw("AfterAdmin"));
    audited(lab, CHANGE, &alice, &alice);
}

/// e. Self-service unlock without a reset: bob, locked out, keeps his password.
fn unlock_only(lab: &Running, domain: &str) {
    let bob = upn("bob", domain);
    binds_everywhere(lab, domain, &bob, USER_PW, Bind::Data("775"));
    let flow = sspr_verified(lab, &bob);
    sspr_finish(lab, &flow, "unlock", json!({}));
    binds_everywhere(lab, domain, &bob, USER_PW, Bind::Ok);
    audited(lab, UNLOCK, &bob, &bob);
}

/// e. Self-service unlock with a reset: bob, locked out, gets a new password and is unlocked.
fn reset_and_unlock(lab: &Running, domain: &str) {
    let bob = upn("bob", domain);
    binds_everywhere(lab, domain, &bob, USER_PW, Bind::Data("775"));
    let flow = sspr_verified(lab, &bob);
    let body = json!({ "newPassword": pw("Unlock"), "unlock": true });
    sspr_finish(lab, &flow, "reset", body);
    only_new_password_binds(lab, domain, &bob, &pw("Unlock"), USER_PW);
    audited(lab, RESET_SELF, &bob, &bob);
}

/// Runs `scenario` in each domain of a variant, in one default lab.
fn in_variant(domains: [&str; 2], scenario: impl Fn(&Running, &str)) {
    let lab = Running::default();
    for d in domains {
        scenario(&lab, d);
    }
    lab.stop();
}

// ---------------------------------------------------------------------------------------------
// The tests: one per scenario and variant
// ---------------------------------------------------------------------------------------------

#[test]
fn a_sspr_reset_variant_1() {
    in_variant(VARIANT_1, sspr_reset);
}

#[test]
fn a_sspr_reset_variant_2() {
    in_variant(VARIANT_2, sspr_reset);
}

#[test]
fn b_forced_change_of_an_expired_password_variant_1() {
    in_variant(VARIANT_1, forced_change);
}

#[test]
fn b_forced_change_of_an_expired_password_variant_2() {
    in_variant(VARIANT_2, forced_change);
}

#[test]
fn c_voluntary_change_variant_1() {
    in_variant(VARIANT_1, voluntary_change);
}

#[test]
fn c_voluntary_change_variant_2() {
    in_variant(VARIANT_2, voluntary_change);
}

#[test]
fn d_admin_reset_in_the_admin_center_variant_1() {
    in_variant(VARIANT_1, |lab, d| {
        reset_by_admin(lab, d, Tool::AdminCenter, "admin")
    });
}

#[test]
fn d_admin_reset_in_the_admin_center_variant_2() {
    in_variant(VARIANT_2, |lab, d| {
        reset_by_admin(lab, d, Tool::AdminCenter, "admin")
    });
}

#[test]
fn d_admin_reset_in_my_staff_variant_1() {
    in_variant(VARIANT_1, |lab, d| {
        reset_by_admin(lab, d, Tool::MyStaff, "helpdesk")
    });
}

#[test]
fn d_admin_reset_in_my_staff_variant_2() {
    in_variant(VARIANT_2, |lab, d| {
        reset_by_admin(lab, d, Tool::MyStaff, "helpdesk")
    });
}

#[test]
fn d_admin_reset_through_graph_variant_1() {
    in_variant(VARIANT_1, |lab, d| {
        reset_by_admin(lab, d, Tool::Graph, "helpdesk")
    });
}

#[test]
fn d_admin_reset_through_graph_variant_2() {
    in_variant(VARIANT_2, |lab, d| {
        reset_by_admin(lab, d, Tool::Graph, "admin")
    });
}

#[test]
fn e_unlock_only_variant_1() {
    in_variant(VARIANT_1, unlock_only);
}

#[test]
fn e_unlock_only_variant_2() {
    in_variant(VARIANT_2, unlock_only);
}

#[test]
fn e_reset_and_unlock_variant_1() {
    in_variant(VARIANT_1, reset_and_unlock);
}

#[test]
fn e_reset_and_unlock_variant_2() {
    in_variant(VARIANT_2, reset_and_unlock);
}
