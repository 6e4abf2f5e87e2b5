//! The ready file of the serve contract (DESIGN §8): written atomically once every listener
//! accepts connections. Fields may be added, never renamed; parts not built yet leave theirs out.

use std::path::Path;

use serde::{Deserialize, Serialize};

/// The ready file.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct ReadyFile {
    /// sspr-lab's version.
    pub version: String,
    /// The serving process.
    pub pid: u32,
    /// The lab's seed.
    pub seed: u64,
    /// Lab seconds per real second (`--time-scale`); a separate agent runs its clock at it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub time_scale: Option<f64>,
    /// The lab CA's certificate (PEM).
    pub ca_cert: String,
    /// The control API's base URL.
    pub control: String,
    /// fake-cloud over plain HTTP (quick scripts, curl).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub http: Option<String>,
    /// fake-cloud over HTTPS (the lab CA).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub https: Option<String>,
    /// The Graph-shaped API's base (`…/v1.0`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub graph: Option<String>,
    /// The tenant's initial domain.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tenant: Option<String>,
    /// The tenant id.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tenant_id: Option<String>,
    /// The lab app's client id (client credentials; secret `Lab-Client-Secret1`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub client_id: Option<String>,
    /// The token endpoint.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub token_endpoint: Option<String>,
    /// The OIDC discovery document.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub openid_configuration: Option<String>,
    /// The relay's base URL.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub relay: Option<String>,
    /// The domains and their DCs.
    pub domains: Vec<ReadyDomain>,
    /// The in-process writeback agents (empty with `--no-agents`).
    #[serde(default)]
    pub agents: Vec<ReadyAgent>,
}

/// One in-process agent in the ready file.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct ReadyAgent {
    /// Its id at the relay.
    pub id: String,
    /// The domain it serves.
    pub domain: String,
    /// `cloud-sync` or `connect-sync`.
    pub engine: String,
    /// Whether its last poll succeeded.
    pub connected: bool,
}

/// One domain in the ready file.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct ReadyDomain {
    /// DNS name.
    pub name: String,
    /// NetBIOS name.
    pub netbios: String,
    /// The domain head's DN.
    pub base_dn: String,
    /// `cloud-sync` or `connect-sync`.
    pub engine: String,
    /// The sync service account's DN.
    pub service_account: String,
    /// Its DCs, PDC emulator first.
    pub dcs: Vec<ReadyDc>,
}

/// One DC in the ready file.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct ReadyDc {
    /// `DC1`.
    pub name: String,
    /// `dc1.contoso.lab` (a SAN of its certificate).
    pub host: String,
    /// Whether it is the PDC emulator.
    pub pdc: bool,
    /// Plain LDAP (StartTLS available), `127.0.0.1:PORT`.
    pub ldap: String,
    /// LDAPS, `127.0.0.1:PORT`.
    pub ldaps: String,
}

impl ReadyFile {
    /// Writes the file atomically: to a temporary name beside it, then renamed.
    pub fn write_atomic(&self, path: &Path) -> std::io::Result<()> {
        let tmp = path.with_extension("tmp");
        let json = serde_json::to_vec_pretty(self).map_err(std::io::Error::other)?;
        std::fs::write(&tmp, json)?;
        std::fs::rename(&tmp, path)
    }

    /// Reads a ready file.
    pub fn read(path: &Path) -> std::io::Result<ReadyFile> {
        let bytes = std::fs::read(path)?;
        serde_json::from_slice(&bytes).map_err(std::io::Error::other)
    }

    /// The domain named `name`.
    pub fn domain(&self, name: &str) -> Option<&ReadyDomain> {
        self.domains
            .iter()
            .find(|d| d.name.eq_ignore_ascii_case(name))
    }
}
