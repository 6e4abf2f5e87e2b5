//! From a scenario's lab section to the `LabSpec` the lab builder takes (the base or inline spec,
//! less the dropped domains, with the overrides), and the index of names (domains, DCs, users,
//! admins) that validation checks references against.

use fake_ad::bootstrap::Policy;
use runtime::LabTime;

use super::error::FieldPath;
use super::model::{GeneratedUsers, Scenario};
use crate::spec::{DomainSpec, LabSpec};

/// A problem found while resolving or validating: the field and what is wrong.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct Issue {
    /// The field.
    pub path: FieldPath,
    /// What is wrong.
    pub message: String,
}

impl Issue {
    pub(crate) fn new(path: FieldPath, message: impl Into<String>) -> Issue {
        Issue {
            path,
            message: message.into(),
        }
    }
}

/// The cloud-only administrators every lab tenant has, by short name.
pub const CLOUD_ADMINS: [&str; 3] = ["admin", "hybridadmin", "helpdesk"];

/// A short admin name (`helpdesk`) as its UPN in `tenant`; anything else unchanged.
pub fn admin_upn(name: &str, tenant: &str) -> String {
    if CLOUD_ADMINS.contains(&name) {
        format!("{name}@{tenant}")
    } else {
        name.to_string()
    }
}

/// `YYYYMMDDHHMMSSZ`, the form `LabSpec::start` takes.
fn generalized(t: LabTime) -> String {
    let g = t.generalized(); // `YYYYMMDDHHMMSS.0Z`
    format!("{}Z", &g[..14])
}

/// Applies one MS-GPSB setting (already checked) to a policy.
pub(crate) fn apply_gpo(p: &mut Policy, key: &str, v: i64) {
    let n = v.max(0) as u32;
    match key {
        "MinimumPasswordAge" => p.min_age_days = n,
        "MaximumPasswordAge" => p.max_age_days = n,
        "MinimumPasswordLength" => p.min_length = n,
        "PasswordComplexity" => p.complexity = v != 0,
        "PasswordHistorySize" => p.history = n,
        "LockoutBadCount" => p.lockout_threshold = n,
        "ResetLockoutCount" => p.lockout_window_min = n,
        "LockoutDuration" => p.lockout_duration_min = n,
        _ => {}
    }
}

/// The `LabSpec` of a scenario's lab section.
pub(crate) fn lab_spec(s: &Scenario) -> Result<LabSpec, Issue> {
    let lab = &s.lab;
    let at = FieldPath::root().k("lab");
    let mut spec = match (&lab.spec, lab.base) {
        (Some(_), Some(_)) => {
            return Err(Issue::new(
                at.k("base"),
                "give either `base` or a full `spec`, not both",
            ));
        }
        (Some(spec), None) => spec.clone(),
        (None, _) => crate::default_lab(),
    };
    spec.name = s.name.clone();
    spec.deployed = !lab.is_undeployed();
    spec.start = Some(generalized(s.start.lab_time()));
    for (i, dns) in lab.drop.iter().enumerate() {
        let before: usize = spec.forests.iter().map(|f| f.domains.len()).sum();
        for f in &mut spec.forests {
            f.domains.retain(|d| !d.dns.eq_ignore_ascii_case(dns));
        }
        spec.forests.retain(|f| !f.domains.is_empty());
        let after: usize = spec.forests.iter().map(|f| f.domains.len()).sum();
        if before == after {
            return Err(Issue::new(
                at.k("drop").i(i),
                format!("the base lab has no domain {dns:?}"),
            ));
        }
    }
    if let Some(t) = &lab.tenant {
        spec.tenant.name = t.clone();
    }
    if let Some(t) = &lab.timers {
        spec.timers = t.clone();
    }
    for (i, o) in lab.domains.iter().enumerate() {
        let here = at.k("domains").i(i);
        let Some(d) = domain_mut(&mut spec, &o.dns) else {
            return Err(Issue::new(
                here.k("dns"),
                format!("the base lab has no domain {:?}", o.dns),
            ));
        };
        for (k, v) in &o.gpo {
            let (key, value) = fake_ad::gpo::validate(k, &v.to_string())
                .map_err(|e| Issue::new(here.k("gpo").k(k), e.to_string()))?;
            apply_gpo(&mut d.policy, key, value);
        }
        if let Some(dcs) = &o.dcs {
            d.dcs = dcs.clone();
        }
        for ou in &o.ous {
            if !d.ous.iter().any(|x| x.eq_ignore_ascii_case(ou)) {
                d.ous.push(ou.clone());
            }
        }
        d.users.extend(o.users.iter().cloned());
    }
    spec.forests.extend(lab.forests.iter().cloned());
    for (i, g) in lab.agents.iter().enumerate() {
        let Some(d) = domain_mut(&mut spec, &g.domain) else {
            return Err(Issue::new(
                at.k("agents").i(i).k("domain"),
                format!("the lab has no domain {:?}", g.domain),
            ));
        };
        if let Some(n) = g.count {
            d.agents = n;
        }
    }
    spec.validate()
        .map_err(|e| Issue::new(at.clone(), e.to_string()))?;
    Ok(spec)
}

fn domain_mut<'a>(spec: &'a mut LabSpec, dns: &str) -> Option<&'a mut DomainSpec> {
    spec.forests
        .iter_mut()
        .flat_map(|f| f.domains.iter_mut())
        .find(|d| d.dns.eq_ignore_ascii_case(dns))
}

/// Groups every new domain has (fake-ad's bootstrap), which PSOs may name.
const WELL_KNOWN_GROUPS: [&str; 13] = [
    "Domain Admins",
    "Domain Users",
    "Domain Guests",
    "Domain Computers",
    "Domain Controllers",
    "Cert Publishers",
    "Schema Admins",
    "Enterprise Admins",
    "Group Policy Creator Owners",
    "Read-only Domain Controllers",
    "Protected Users",
    "Key Admins",
    "Enterprise Key Admins",
];

/// The names a scenario may refer to.
pub(crate) struct Names<'a> {
    /// The resolved lab.
    pub spec: LabSpec,
    /// Its generated users.
    pub generated: &'a [GeneratedUsers],
}

impl Names<'_> {
    /// The domain named `dns`.
    pub fn domain(&self, dns: &str) -> Option<&DomainSpec> {
        self.spec
            .forests
            .iter()
            .flat_map(|f| f.domains.iter())
            .find(|d| d.dns.eq_ignore_ascii_case(dns))
    }

    /// Every domain's DNS name, for messages.
    pub fn domain_list(&self) -> String {
        self.spec
            .forests
            .iter()
            .flat_map(|f| f.domains.iter())
            .map(|d| d.dns.as_str())
            .collect::<Vec<_>>()
            .join(", ")
    }

    /// Checks a domain reference.
    pub fn check_domain(&self, dns: &str) -> Result<&DomainSpec, String> {
        self.domain(dns).ok_or_else(|| {
            format!(
                "unknown domain {dns:?} (the lab has {})",
                self.domain_list()
            )
        })
    }

    /// Checks a DC reference.
    pub fn check_dc(&self, dns: &str, dc: &str) -> Result<(), String> {
        let d = self.check_domain(dns)?;
        if d.dcs.iter().any(|x| x.name.eq_ignore_ascii_case(dc)) {
            Ok(())
        } else {
            Err(format!(
                "{dns} has no DC {dc:?} (it has {})",
                d.dcs
                    .iter()
                    .map(|x| x.name.as_str())
                    .collect::<Vec<_>>()
                    .join(", ")
            ))
        }
    }

    /// Whether `sam` is a listed or generated user of `d`.
    pub fn has_user(&self, d: &DomainSpec, sam: &str) -> bool {
        d.users.iter().any(|u| u.sam.eq_ignore_ascii_case(sam))
            || self
                .generated
                .iter()
                .filter(|g| g.domain.eq_ignore_ascii_case(&d.dns))
                .any(|g| g.index_of(sam).is_some())
    }

    /// Whether `name` is a group of `d` (well-known, or made for generated users).
    fn has_group(&self, d: &DomainSpec, name: &str) -> bool {
        WELL_KNOWN_GROUPS
            .iter()
            .any(|g| g.eq_ignore_ascii_case(name))
            || d.users
                .iter()
                .flat_map(|u| u.groups.iter())
                .chain(
                    self.generated
                        .iter()
                        .filter(|g| g.domain.eq_ignore_ascii_case(&d.dns))
                        .flat_map(|g| g.groups.iter()),
                )
                .any(|g| g.eq_ignore_ascii_case(name))
    }

    /// Checks a user or group of `d` by sAMAccountName (what a PSO applies to).
    pub fn check_principal(&self, d: &DomainSpec, name: &str) -> Result<(), String> {
        if self.has_user(d, name) || self.has_group(d, name) {
            Ok(())
        } else {
            Err(format!("{} has no user or group {name:?}", d.dns))
        }
    }

    /// Whether `upn` is one of the tenant's cloud admins.
    fn is_cloud_admin(&self, upn: &str) -> bool {
        let tenant = &self.spec.tenant.name;
        CLOUD_ADMINS
            .iter()
            .any(|a| upn.eq_ignore_ascii_case(&format!("{a}@{tenant}")))
    }

    /// Checks a user reference: a UPN of a listed or generated user, or a cloud admin's.
    pub fn check_user(&self, upn: &str) -> Result<(), String> {
        if self.is_cloud_admin(upn) {
            return Ok(());
        }
        let Some((sam, dns)) = upn.rsplit_once('@') else {
            return Err(format!(
                "{upn:?} is not a UPN: write a user as sam@domain, e.g. alice@contoso.lab"
            ));
        };
        let d = self
            .check_domain(dns)
            .map_err(|e| format!("user {upn:?}: {e}"))?;
        if self.has_user(d, sam) {
            Ok(())
        } else {
            Err(format!("unknown user {upn:?}: {dns} has no user {sam:?}"))
        }
    }

    /// Checks an administrator reference: a short cloud admin name, a cloud admin's UPN, or a
    /// synced user with a cloud role.
    pub fn check_admin(&self, name: &str) -> Result<(), String> {
        if CLOUD_ADMINS.contains(&name) || self.is_cloud_admin(name) {
            return Ok(());
        }
        let with_role = name.rsplit_once('@').and_then(|(sam, dns)| {
            self.domain(dns).and_then(|d| {
                d.users
                    .iter()
                    .find(|u| u.sam.eq_ignore_ascii_case(sam))
                    .map(|u| !u.cloud_roles.is_empty())
            })
        });
        match with_role {
            Some(true) => Ok(()),
            Some(false) => Err(format!("{name:?} has no cloud admin role")),
            None => Err(format!(
                "unknown administrator {name:?} (write admin, hybridadmin, helpdesk, a cloud admin's UPN, or a synced user with a cloud role)"
            )),
        }
    }

    /// Checks an object reference of domain `dns`: a user's UPN, `root`, `AdminSDHolder` or a
    /// DN.
    pub fn check_object(&self, dns: &str, object: &str) -> Result<(), String> {
        self.check_domain(dns)?;
        let o = object.trim();
        if o.eq_ignore_ascii_case("root") || o.eq_ignore_ascii_case("AdminSDHolder") {
            return Ok(());
        }
        if o.contains('=') {
            return Ok(());
        }
        if let Some((_, udns)) = o.rsplit_once('@') {
            if !udns.eq_ignore_ascii_case(dns) {
                return Err(format!("{o:?} is not a user of {dns}"));
            }
            return self.check_user(o);
        }
        Err(format!(
            "bad object {o:?}: write a user's UPN, root, AdminSDHolder, or a DN such as OU=Staff"
        ))
    }

    /// The number of agents of `dns`.
    pub fn agents(&self, dns: &str) -> u32 {
        self.domain(dns).map(|d| d.agents).unwrap_or(0)
    }
}
