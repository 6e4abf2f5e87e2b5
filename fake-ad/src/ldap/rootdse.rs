//! The root DSE: what a DC says about itself to anyone, bound or not.

use crate::domain::Dc;
use crate::search::Selection;

/// LDAP_CAP_ACTIVE_DIRECTORY_OID, _V51_, _LDAP_INTEG_, _V60_, _V61_R2_, _W8_.
const CAPABILITIES: &[&str] = &[
    "1.2.840.113556.1.4.800",
    "1.2.840.113556.1.4.1670",
    "1.2.840.113556.1.4.1791",
    "1.2.840.113556.1.4.1935",
    "1.2.840.113556.1.4.2080",
    "1.2.840.113556.1.4.2237",
];

/// The root DSE's attributes, filtered by the request's attribute list.
pub fn attributes(dc: &Dc, attrs: &[String]) -> Vec<(String, Vec<Vec<u8>>)> {
    let info = &dc.domain.info;
    let dit = dc.snapshot();
    let forest_dn = crate::dn::domain_dn(&info.forest);
    let config = format!("CN=Configuration,{forest_dn}");
    let server = format!("CN={},CN=Servers,CN={},CN=Sites,{config}", dc.name, dc.site);
    let one = |s: String| vec![s.into_bytes()];
    let all: Vec<(&str, Vec<Vec<u8>>)> = vec![
        ("currentTime", one(dc.clock.now().generalized())),
        (
            "subschemaSubentry",
            one(format!("CN=Aggregate,CN=Schema,{config}")),
        ),
        ("dsServiceName", one(format!("CN=NTDS Settings,{server}"))),
        ("namingContexts", vec![info.base_dn.clone().into_bytes()]),
        ("defaultNamingContext", one(info.base_dn.clone())),
        ("rootDomainNamingContext", one(forest_dn.clone())),
        ("configurationNamingContext", one(config.clone())),
        ("schemaNamingContext", one(format!("CN=Schema,{config}"))),
        ("serverName", one(server)),
        (
            "supportedControl",
            super::controls::SUPPORTED
                .iter()
                .map(|c| c.as_bytes().to_vec())
                .collect(),
        ),
        ("supportedLDAPVersion", vec![b"3".to_vec(), b"2".to_vec()]),
        (
            "supportedLDAPPolicies",
            vec![b"MaxPageSize".to_vec(), b"MaxConnIdleTime".to_vec()],
        ),
        ("highestCommittedUSN", one(dit.usn.to_string())),
        ("supportedSASLMechanisms", Vec::new()),
        ("dnsHostName", one(dc.host.clone())),
        (
            "ldapServiceName",
            one(format!(
                "{}:{}$@{}",
                info.dns,
                dc.name.to_lowercase(),
                info.dns.to_uppercase()
            )),
        ),
        (
            "supportedCapabilities",
            CAPABILITIES.iter().map(|c| c.as_bytes().to_vec()).collect(),
        ),
        ("isSynchronized", one("TRUE".into())),
        ("isGlobalCatalogReady", one("TRUE".into())),
        ("domainFunctionality", one("7".into())),
        ("forestFunctionality", one("7".into())),
        ("domainControllerFunctionality", one("7".into())),
    ];
    let sel = Selection::parse(attrs, false);
    let everything = sel.all_user || attrs.iter().any(|a| a == "+");
    all.into_iter()
        .filter(|(name, vals)| {
            !vals.is_empty() && (everything || attrs.iter().any(|a| a.eq_ignore_ascii_case(name)))
        })
        .map(|(n, v)| (n.to_string(), v))
        .collect()
}
