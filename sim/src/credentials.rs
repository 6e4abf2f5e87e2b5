//! The fixture credentials (DESIGN §7): defaults, overridable from the environment only, never
//! from flags and never written to disk in clear.

/// Every domain's Administrator and the cloud admins.
pub const DEFAULT_ADMIN: &str = "Lab-Admin-Passw0rd1";
/// The teaching users.
pub const DEFAULT_USER: &str = "Lab-User-Passw0rd1";
/// The sync service accounts.
pub const DEFAULT_SERVICE: &str = "Lab-Service-Passw0rd1";

/// The lab's fixture passwords. `Debug` does not show them.
#[derive(Clone)]
pub struct Credentials {
    /// Administrator and cloud admins.
    pub admin: String,
    /// Teaching users.
    pub user: String,
    /// Service accounts.
    pub service: String,
}

impl std::fmt::Debug for Credentials {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Credentials(..)")
    }
}

impl Default for Credentials {
    fn default() -> Self {
        Credentials {
            admin: DEFAULT_ADMIN.into(),
            user: DEFAULT_USER.into(),
            service: DEFAULT_SERVICE.into(),
        }
    }
}

impl Credentials {
    /// The defaults, overridden by `SSPR_LAB_ADMIN_PASSWORD`, `SSPR_LAB_USER_PASSWORD` and
    /// `SSPR_LAB_SERVICE_PASSWORD` where set and not empty.
    pub fn from_env() -> Credentials {
        let get = |k: &str, d: &str| {
            std::env::var(k)
                .ok()
                .filter(|v| !v.is_empty())
                .unwrap_or_else(|| d.to_string())
        };
        Credentials {
            admin: get("SSPR_LAB_ADMIN_PASSWORD", DEFAULT_ADMIN),
            user: get("SSPR_LAB_USER_PASSWORD", DEFAULT_USER),
            service: get("SSPR_LAB_SERVICE_PASSWORD", DEFAULT_SERVICE),
        }
    }
}
