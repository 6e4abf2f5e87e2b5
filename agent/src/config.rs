//! The agent's configuration commands that talk to the cloud: `writeback enable|disable` sets the
//! domain's cloud sync writeback flag through the relay, as
//! `Set-AADCloudSyncPasswordWritebackConfiguration` does, with a Hybrid Identity (or Global)
//! Administrator's token obtained by ROPC.

use std::time::Duration;

use runtime::Clock;
use runtime::net::{Network, TokioNet};
use secrecy::SecretString;

use crate::relay::{Endpoint, Https, RelayClientError, ropc_token};

/// Where the lab's cloud is and who acts.
pub struct CloudAccess<'a> {
    /// The relay's base URL (`https://…/relay/v1`).
    pub relay: &'a str,
    /// The token endpoint (`https://…/<tenant>/oauth2/v2.0/token`).
    pub token_endpoint: &'a str,
    /// The lab CA certificate (PEM).
    pub ca_pem: &'a str,
    /// The administrator's UPN (Hybrid Identity or Global Administrator).
    pub admin: &'a str,
    /// Their password.
    pub password: &'a SecretString,
}

/// Turns the domain's cloud sync writeback flag on or off; returns the relay's answer (JSON).
pub async fn set_writeback(
    access: &CloudAccess<'_>,
    domain: &str,
    enabled: bool,
    clock: Clock,
) -> Result<serde_json::Value, RelayClientError> {
    set_writeback_on(TokioNet, access, domain, enabled, clock).await
}

/// [`set_writeback`] over network `net`.
pub async fn set_writeback_on<N: Network>(
    net: N,
    access: &CloudAccess<'_>,
    domain: &str,
    enabled: bool,
    clock: Clock,
) -> Result<serde_json::Value, RelayClientError> {
    let tls = crate::ldap::client_config(access.ca_pem).map_err(RelayClientError::Transport)?;
    let https = Https::new(net, tls, clock, Duration::from_secs(30));
    let token_ep = Endpoint::parse(access.token_endpoint)?;
    let mut conn = https.connect(&token_ep).await?;
    let token = ropc_token(&mut conn, &token_ep.path, access.admin, access.password).await?;
    let bearer = SecretString::from(format!(
        "Bearer {}",
        secrecy::ExposeSecret::expose_secret(&token)
    ));
    let relay = Endpoint::parse(access.relay)?;
    let mut conn = https.connect(&relay).await?;
    let path = format!("{}/domains/{}/writeback", relay.path, domain);
    let body = serde_json::to_vec(&serde_json::json!({ "enabled": enabled })).unwrap_or_default();
    let (status, answer) = conn
        .request("PUT", &path, Some(&bearer), "application/json", body, None)
        .await?;
    let value: serde_json::Value = serde_json::from_slice(&answer).unwrap_or_default();
    if status >= 400 {
        let message = value
            .get("message")
            .and_then(|m| m.as_str())
            .unwrap_or("refused")
            .to_string();
        return Err(RelayClientError::Status {
            status,
            code: None,
            message,
        });
    }
    Ok(value)
}
