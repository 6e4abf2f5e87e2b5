//! End-to-end tests of fake-ad's LDAP server through the `ldap3` client (an independent BER
//! implementation over rustls): bind forms, filters, scopes, paging, the root DSE, writes,
//! unicodePwd, bad input.

mod common;

use std::collections::HashSet;
use std::io::{Read, Write};

use common::*;
use ldap3::{Mod, Scope, SearchEntry};

fn search(
    c: &mut ldap3::LdapConn,
    base: &str,
    scope: Scope,
    filter: &str,
    attrs: &[&str],
) -> (Vec<SearchEntry>, u32) {
    let r = c.search(base, scope, filter, attrs.to_vec()).unwrap();
    let rc = r.1.rc;
    (r.0.into_iter().map(SearchEntry::construct).collect(), rc)
}

#[test]
fn bind_forms_and_refusals() {
    let lab = Running::default();
    for name in [
        "CONTOSO\\Administrator",
        "Administrator@contoso.lab",
        "CN=Administrator,CN=Users,DC=contoso,DC=lab",
        "contoso.lab\\administrator",
    ] {
        let mut c = lab.ldaps();
        c.simple_bind(name, ADMIN_PW)
            .unwrap()
            .success()
            .unwrap_or_else(|e| panic!("{name}: {e}"));
        let who = c.extended(ldap3::exop::WhoAmI).unwrap().0;
        let who: ldap3::exop::WhoAmIResp = who.parse();
        assert_eq!(who.authzid, "u:CONTOSO\\Administrator");
    }
    let cases = [
        ("CONTOSO\\Administrator", "wrong", "data 52e"),
        ("CONTOSO\\nobody", "x", "data 525"),
        ("FABRIKAM\\Administrator", ADMIN_PW, "data 525"),
        ("bob@contoso.lab", USER_PW, "data 775"),
        ("erin@contoso.lab", USER_PW, "data 532"),
        ("CONTOSO\\Guest", "", ""),
    ];
    for (name, pw, data) in cases {
        let mut c = lab.ldaps();
        let r = c.simple_bind(name, pw).unwrap();
        if pw.is_empty() {
            assert_eq!(r.rc, 53, "unauthenticated bind");
            continue;
        }
        assert_eq!(r.rc, 49, "{name}");
        assert!(r.text.starts_with("80090308: LdapErr:"), "{}", r.text);
        assert!(r.text.contains(data), "{name}: {}", r.text);
    }
    // A failed bind leaves the connection anonymous.
    let mut c = lab.ldaps();
    c.simple_bind("CONTOSO\\Administrator", "wrong").unwrap();
    let (_, rc) = search(
        &mut c,
        "DC=contoso,DC=lab",
        Scope::Base,
        "(objectClass=*)",
        &[],
    );
    assert_eq!(rc, 1, "anonymous search is refused with operationsError");
}

#[test]
fn root_dse_is_anonymous() {
    let lab = Running::default();
    let mut c = lab.plain();
    let (e, rc) = search(
        &mut c,
        "",
        Scope::Base,
        "(objectClass=*)",
        &[
            "defaultNamingContext",
            "supportedControl",
            "dnsHostName",
            "supportedLDAPVersion",
            "supportedCapabilities",
        ],
    );
    assert_eq!(rc, 0);
    let a = &e[0].attrs;
    assert_eq!(a["defaultNamingContext"], vec!["DC=contoso,DC=lab"]);
    assert_eq!(a["dnsHostName"], vec!["dc1.contoso.lab"]);
    for oid in [
        "1.2.840.113556.1.4.2239",
        "1.2.840.113556.1.4.2066",
        "1.2.840.113556.1.4.801",
        "1.2.840.113556.1.4.319",
    ] {
        assert!(a["supportedControl"].iter().any(|c| c == oid), "{oid}");
    }
    assert!(
        !a["supportedControl"].iter().any(|c| c.starts_with("2.25.")),
        "the job-id control is private"
    );
    assert!(a["supportedLDAPVersion"].contains(&"3".to_string()));
    assert!(a["supportedCapabilities"].contains(&"1.2.840.113556.1.4.800".to_string()));
}

#[test]
fn every_filter_type() {
    let lab = Running::default();
    let mut c = lab.admin();
    let base = "DC=contoso,DC=lab";
    let count = |c: &mut ldap3::LdapConn, f: &str| {
        let (e, rc) = search(c, base, Scope::Subtree, f, &["sAMAccountName"]);
        assert_eq!(rc, 0, "{f}");
        let mut names: Vec<String> = e
            .iter()
            .filter_map(|e| e.attrs.get("sAMAccountName").map(|v| v[0].clone()))
            .collect();
        names.sort();
        names
    };
    assert_eq!(count(&mut c, "(sAMAccountName=ALICE)"), vec!["alice"]);
    assert_eq!(count(&mut c, "(sAMAccountName~=alice)"), vec!["alice"]);
    assert_eq!(
        count(
            &mut c,
            "(&(objectCategory=person)(objectClass=user)(sAMAccountName=*a*)(!(sAMAccountName=Administrator)))"
        ),
        vec!["alice", "carol", "dave", "frank"]
    );
    assert_eq!(
        count(
            &mut c,
            "(|(sAMAccountName=bob)(userPrincipalName=erin@contoso.lab))"
        ),
        vec!["bob", "erin"]
    );
    assert_eq!(
        count(
            &mut c,
            "(&(objectClass=user)(displayName>=E)(displayName<=F))"
        ),
        vec!["erin"]
    );
    assert_eq!(
        count(
            &mut c,
            "(&(objectClass=user)(sAMAccountName=a*)(sAMAccountName=*e))"
        ),
        vec!["alice"]
    );
    assert_eq!(
        count(&mut c, "(&(objectClass=user)(lockoutTime>=1))"),
        vec!["bob"]
    );
    // Bitwise AND on userAccountControl: disabled accounts.
    assert_eq!(
        count(&mut c, "(userAccountControl:1.2.840.113556.1.4.803:=2)"),
        vec!["Guest", "krbtgt"]
    );
    // Transitive membership: Administrators <- Domain Admins <- dave.
    assert_eq!(
        count(
            &mut c,
            "(&(objectClass=user)(memberOf:1.2.840.113556.1.4.1941:=CN=Administrators,CN=Builtin,DC=contoso,DC=lab))"
        ),
        vec!["Administrator", "dave"]
    );
    assert_eq!(
        count(
            &mut c,
            "(memberOf=CN=Domain Admins,CN=Users,DC=contoso,DC=lab)"
        ),
        vec!["Administrator", "dave"]
    );
    // objectSid by its string form, as AD allows.
    let (e, _) = search(
        &mut c,
        base,
        Scope::Subtree,
        "(sAMAccountName=alice)",
        &["objectSid"],
    );
    let sid = ad_types::Sid::from_bytes(&e[0].bin_attrs["objectSid"][0]).unwrap();
    assert_eq!(count(&mut c, &format!("(objectSid={sid})")), vec!["alice"]);
    // Unknown attributes are Undefined (MS-ADTS three-valued logic): no match, no error.
    assert!(count(&mut c, "(noSuchAttribute=1)").is_empty());
    assert_eq!(
        count(&mut c, "(|(noSuchAttribute=1)(sAMAccountName=alice))"),
        vec!["alice"]
    );
    // Constructed attributes cannot be filtered on.
    let (_, rc) = search(&mut c, base, Scope::Subtree, "(canonicalName=*)", &[]);
    assert_eq!(rc, 18);
}

#[test]
fn scopes_and_attribute_lists() {
    let lab = Running::default();
    let mut c = lab.admin();
    let staff = "OU=Staff,DC=contoso,DC=lab";
    assert_eq!(
        search(&mut c, staff, Scope::Base, "(objectClass=*)", &[])
            .0
            .len(),
        1
    );
    assert_eq!(
        search(&mut c, staff, Scope::OneLevel, "(objectClass=*)", &[])
            .0
            .len(),
        6
    );
    assert_eq!(
        search(&mut c, staff, Scope::Subtree, "(objectClass=*)", &[])
            .0
            .len(),
        7
    );
    let (e, _) = search(&mut c, ALICE, Scope::Base, "(objectClass=*)", &["*"]);
    assert!(e[0].attrs.contains_key("sAMAccountName"));
    assert!(
        !e[0].attrs.contains_key("canonicalName"),
        "constructed only on request"
    );
    assert!(!e[0].attrs.contains_key("unicodePwd"));
    let (e, _) = search(&mut c, ALICE, Scope::Base, "(objectClass=*)", &["+"]);
    assert_eq!(
        e[0].attrs["canonicalName"],
        vec!["contoso.lab/Staff/Alice Archer"]
    );
    let (e, _) = search(
        &mut c,
        "CN=Domain Admins,CN=Users,DC=contoso,DC=lab",
        Scope::Base,
        "(objectClass=*)",
        &["member", "1.1"],
    );
    assert_eq!(e[0].attrs["member"].len(), 2);
    let (e, _) = search(&mut c, ALICE, Scope::Base, "(objectClass=*)", &["1.1"]);
    assert!(e[0].attrs.is_empty());
    // AD's <GUID=...> form names an entry by objectGUID.
    let (e, _) = search(
        &mut c,
        ALICE,
        Scope::Base,
        "(objectClass=*)",
        &["objectGUID"],
    );
    let guid = ad_types::guid::from_ad_bytes(&e[0].bin_attrs["objectGUID"][0]).unwrap();
    let (e, rc) = search(
        &mut c,
        &format!("<GUID={guid}>"),
        Scope::Base,
        "(objectClass=*)",
        &["sAMAccountName"],
    );
    assert_eq!((rc, e[0].attrs["sAMAccountName"][0].as_str()), (0, "alice"));
    // A missing base says where the best match is.
    let r = c
        .search(
            "CN=Nobody,OU=Staff,DC=contoso,DC=lab",
            Scope::Base,
            "(objectClass=*)",
            vec!["*"],
        )
        .unwrap()
        .1;
    assert_eq!(
        (r.rc, r.matched.as_str()),
        (32, "OU=Staff,DC=contoso,DC=lab")
    );
    let r = c
        .search("CN=bad,,DC=x", Scope::Base, "(objectClass=*)", vec!["*"])
        .unwrap()
        .1;
    assert_eq!(r.rc, 34);
}

#[test]
fn paged_results_and_size_limit() {
    use ldap3::adapters::{Adapter, EntriesOnly, PagedResults};
    let lab = Running::default();
    let mut c = lab.admin();
    let adapters: Vec<Box<dyn Adapter<_, _>>> =
        vec![Box::new(EntriesOnly::new()), Box::new(PagedResults::new(5))];
    let mut s = c
        .streaming_search_with(
            adapters,
            "DC=contoso,DC=lab",
            Scope::Subtree,
            "(objectClass=*)",
            vec!["1.1"],
        )
        .unwrap();
    let mut n = 0;
    while let Some(_e) = s.next().unwrap() {
        n += 1;
    }
    let r = s.result().success().unwrap();
    assert_eq!(r.rc, 0);
    // Every entry once: compare with an unpaged count.
    let (all, rc) = search(
        &mut c,
        "DC=contoso,DC=lab",
        Scope::Subtree,
        "(objectClass=*)",
        &["1.1"],
    );
    assert_eq!(rc, 0);
    assert_eq!(n, all.len());
    assert!(n > 40, "{n}");
    // A size limit returns that many entries and sizeLimitExceeded.
    let r = c
        .with_search_options(ldap3::SearchOptions::new().sizelimit(3))
        .search(
            "DC=contoso,DC=lab",
            Scope::Subtree,
            "(objectClass=*)",
            vec!["1.1"],
        )
        .unwrap();
    assert_eq!((r.0.len(), r.1.rc), (3, 4));
}

#[test]
fn add_modify_delete_and_their_errors() {
    let lab = Running::default();
    let mut c = lab.starttls();
    c.simple_bind("Administrator@contoso.lab", ADMIN_PW)
        .unwrap()
        .success()
        .unwrap();
    let ou = "OU=Projects,DC=contoso,DC=lab";
    c.add(
        ou,
        vec![("objectClass", HashSet::from(["organizationalUnit"]))],
    )
    .unwrap()
    .success()
    .unwrap();
    assert_eq!(
        c.add(
            ou,
            vec![("objectClass", HashSet::from(["organizationalUnit"]))]
        )
        .unwrap()
        .rc,
        68
    );
    let user = "CN=Grace Green,OU=Projects,DC=contoso,DC=lab";
    c.add(
        user,
        vec![
            ("objectClass", HashSet::from(["user"])),
            ("sAMAccountName", HashSet::from(["grace"])),
            ("userPrincipalName", HashSet::from(["grace@contoso.lab"])),
        ],
    )
    .unwrap()
    .success()
    .unwrap();
    let (e, _) = search(
        &mut c,
        user,
        Scope::Base,
        "(objectClass=*)",
        &[
            "userAccountControl",
            "objectSid",
            "objectClass",
            "pwdLastSet",
        ],
    );
    assert_eq!(
        e[0].attrs["userAccountControl"],
        vec!["546"],
        "new user without password is disabled"
    );
    assert_eq!(
        e[0].attrs["objectClass"],
        vec!["top", "person", "organizationalPerson", "user"]
    );
    assert_eq!(e[0].attrs["pwdLastSet"], vec!["0"]);
    c.modify(
        user,
        vec![
            Mod::Replace("description", HashSet::from(["builds things"])),
            Mod::Add("telephoneNumber", HashSet::from(["555"])),
        ],
    )
    .unwrap()
    .success()
    .unwrap();
    let (e, _) = search(
        &mut c,
        user,
        Scope::Base,
        "(objectClass=*)",
        &["description", "telephoneNumber"],
    );
    assert_eq!(e[0].attrs["description"], vec!["builds things"]);
    // Errors change nothing.
    let bad = [
        (vec![Mod::Replace("noSuchAttr", HashSet::from(["x"]))], 17),
        (
            vec![Mod::Replace("userAccountControl", HashSet::from(["abc"]))],
            21,
        ),
        (
            vec![Mod::Replace("displayName", HashSet::from(["a", "b"]))],
            19,
        ),
        (
            vec![Mod::Add("telephoneNumber", HashSet::from(["555"]))],
            20,
        ),
        (vec![Mod::Delete("mail", HashSet::new())], 16),
        (vec![Mod::Replace("objectGUID", HashSet::from(["x"]))], 19),
        (vec![Mod::Replace("pwdLastSet", HashSet::from(["5"]))], 80),
        (
            vec![
                Mod::Replace("description", HashSet::from(["changed"])),
                Mod::Replace("noSuchAttr", HashSet::from(["x"])),
            ],
            17,
        ),
    ];
    for (mods, rc) in bad {
        let r = c.modify(user, mods).unwrap();
        assert_eq!(r.rc, rc, "{}", r.text);
    }
    let (e, _) = search(
        &mut c,
        user,
        Scope::Base,
        "(objectClass=*)",
        &["description"],
    );
    assert_eq!(
        e[0].attrs["description"],
        vec!["builds things"],
        "a refused modify changes nothing"
    );
    assert_eq!(
        c.modify(
            "CN=Nobody,DC=contoso,DC=lab",
            vec![Mod::Replace("description", HashSet::from(["x"]))]
        )
        .unwrap()
        .rc,
        32
    );
    assert_eq!(c.delete(ou).unwrap().rc, 66);
    c.delete(user).unwrap().success().unwrap();
    c.delete(ou).unwrap().success().unwrap();
    assert_eq!(
        search(&mut c, ou, Scope::Base, "(objectClass=*)", &[]).1,
        32
    );
    // Anonymous writes are refused.
    let mut anon = lab.ldaps();
    assert_eq!(
        anon.add(
            "OU=X,DC=contoso,DC=lab",
            vec![("objectClass", HashSet::from(["organizationalUnit"]))]
        )
        .unwrap()
        .rc,
        1
    );
}

#[test]
fn unicode_pwd_reset_and_change_over_tls_only() {
    let lab = Running::default();
    let mut admin = lab.admin();
    let r = reset(&mut admin, ALICE, "Reset-Passw0rd2");
    assert_eq!(r.rc, 0, "{}", r.text);
    let mut c = lab.ldaps();
    assert_eq!(c.simple_bind("alice@contoso.lab", USER_PW).unwrap().rc, 49);
    c.simple_bind("alice@contoso.lab", "Reset-Passw0rd2")
        .unwrap()
        .success()
        .unwrap();
    // The user's own change: delete the old value, add the new.
    let (old, new) = (pwd("Reset-Passw0rd2"), pwd("Change-Passw0rd3"));
    let r = c
        .modify(
            ALICE,
            vec![
                Mod::Delete(&b"unicodePwd"[..], HashSet::from([&old[..]])),
                Mod::Add(&b"unicodePwd"[..], HashSet::from([&new[..]])),
            ],
        )
        .unwrap();
    assert_eq!(r.rc, 0, "{}", r.text);
    let wrong = pwd("Not-The-Passw0rd");
    let r = c
        .modify(
            ALICE,
            vec![
                Mod::Delete(&b"unicodePwd"[..], HashSet::from([&wrong[..]])),
                Mod::Add(&b"unicodePwd"[..], HashSet::from([&old[..]])),
            ],
        )
        .unwrap();
    assert_eq!(r.rc, 19);
    assert!(r.text.starts_with("00000056: AtrErr"), "{}", r.text);
    // Not quoted UTF-16LE.
    let r = admin
        .modify(
            ALICE,
            vec![Mod::Replace(
                &b"unicodePwd"[..],
                HashSet::from([&b"\"Plain-Utf8-1\""[..]]),
            )],
        )
        .unwrap();
    assert_eq!(r.rc, 53);
    assert!(r.text.starts_with("0000001F"), "{}", r.text);
    // Without TLS: 53 00002077, and nothing changes.
    let mut plain = lab.plain();
    plain
        .simple_bind("CONTOSO\\Administrator", ADMIN_PW)
        .unwrap()
        .success()
        .unwrap();
    let r = reset(&mut plain, ALICE, "Plain-Passw0rd4");
    assert_eq!(r.rc, 53);
    assert!(r.text.starts_with("00002077: SvcErr"), "{}", r.text);
    let mut c = lab.starttls();
    c.simple_bind("CONTOSO\\alice", "Change-Passw0rd3")
        .unwrap()
        .success()
        .unwrap();
    // The password is never readable.
    let (e, _) = search(
        &mut c,
        ALICE,
        Scope::Base,
        "(objectClass=*)",
        &["unicodePwd", "*"],
    );
    assert!(!e[0].attrs.contains_key("unicodePwd") && !e[0].bin_attrs.contains_key("unicodePwd"));
}

#[test]
fn malformed_messages_close_only_that_connection() {
    let lab = Running::default();
    let addr = lab.lab().endpoint("contoso.lab", "DC1").unwrap().ldap;
    let mut raw = std::net::TcpStream::connect(addr).unwrap();
    raw.set_read_timeout(Some(std::time::Duration::from_secs(10)))
        .unwrap();
    raw.write_all(&[0x30, 0x05, 0x02, 0x01, 0x01, 0x99, 0x00])
        .unwrap();
    let mut buf = Vec::new();
    raw.read_to_end(&mut buf).unwrap();
    assert!(
        !buf.is_empty(),
        "a notice of disconnection comes before the close"
    );
    assert!(buf.windows(22).any(|w| w == b"1.3.6.1.4.1.1466.20036"));
    // An oversized message closes too.
    let mut raw = std::net::TcpStream::connect(addr).unwrap();
    raw.set_read_timeout(Some(std::time::Duration::from_secs(10)))
        .unwrap();
    let mut big = vec![0x30, 0x84, 0x10, 0x00, 0x00, 0x00];
    big.extend(std::iter::repeat_n(0u8, 3 << 20));
    let _ = raw.write_all(&big);
    let mut sink = Vec::new();
    let _ = raw.read_to_end(&mut sink);
    // Everyone else is still served.
    let mut c = lab.admin();
    assert_eq!(
        search(&mut c, ALICE, Scope::Base, "(objectClass=*)", &[]).1,
        0
    );
}

#[test]
fn guids_follow_the_seed() {
    let guid_of = |seed: u64| {
        let lab = Running::start(sim::LabOptions {
            seed,
            ..sim::LabOptions::default()
        });
        let mut c = lab.admin();
        let (e, _) = search(
            &mut c,
            ALICE,
            Scope::Base,
            "(objectClass=*)",
            &["objectGUID", "objectSid"],
        );
        (
            e[0].bin_attrs["objectGUID"][0].clone(),
            e[0].bin_attrs["objectSid"][0].clone(),
        )
    };
    assert_eq!(guid_of(7), guid_of(7));
    assert_ne!(guid_of(7), guid_of(8));
}
