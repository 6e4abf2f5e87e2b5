//! How an agent authenticates after registration.
//!
//! Registration ([`crate::routes::REGISTER_AGENT`]) returns an agent id (a UUID) and a secret
//! (32 random bytes, base64url without padding, 43 characters). On every agent route the agent
//! sends
//!
//! ```text
//! Authorization: Agent <agent id>.<secret>
//! ```
//!
//! A scheme of its own, not `Bearer`, so an agent credential is never mistaken for (or logged as)
//! an OAuth access token, and a route can tell at a glance which kind it was given. Neither part
//! contains a `.`: the id is a hyphenated UUID and the secret uses the base64url alphabet.
//!
//! The cloud keeps only a [`secret_verifier`] (SHA-256 of the secret under a fixed label), never
//! the secret itself, and compares in constant time ([`AgentCredential::verify`]).

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use rand_core::CryptoRng;
use secrecy::{ExposeSecret, SecretString};
use sha2::{Digest, Sha256};
use uuid::Uuid;
use zeroize::Zeroize;

use crate::types::Invalid;

/// The HTTP header an agent's credential travels in.
pub const HEADER: &str = "authorization";

/// The authorization scheme of an agent credential (`Authorization: Agent <id>.<secret>`).
pub const SCHEME: &str = "Agent";

/// The label hashed before the secret in [`secret_verifier`].
const VERIFIER_LABEL: &[u8] = b"sspr-lab/wire/v1/agent-secret\0";

/// An agent's credential: the id and secret that registration returned.
#[derive(Clone, Debug)]
pub struct AgentCredential {
    /// The agent's id, as the cloud minted it at registration.
    pub agent_id: Uuid,
    /// The agent's secret (base64url, no padding); `Debug` shows `[REDACTED]`.
    pub secret: SecretString,
}

impl AgentCredential {
    /// A fresh secret for a new agent: 32 bytes from `rng`, base64url without padding.
    pub fn generate_secret(rng: &mut impl CryptoRng) -> SecretString {
        let mut bytes = [0u8; 32];
        rng.fill_bytes(&mut bytes);
        let secret = SecretString::from(URL_SAFE_NO_PAD.encode(bytes));
        bytes.zeroize();
        secret
    }

    /// The value of the `Authorization` header: `Agent <agent id>.<secret>`. Kept secret, since it
    /// holds the secret; expose it only to hand it to the HTTP client.
    pub fn header_value(&self) -> SecretString {
        SecretString::from(format!(
            "{SCHEME} {}.{}",
            self.agent_id.hyphenated(),
            self.secret.expose_secret()
        ))
    }

    /// Parses an `Authorization` header value. The scheme is matched case-insensitively; the id
    /// must be a UUID and the secret non-empty base64url. The error never quotes the secret.
    pub fn parse_header(value: &str) -> Result<Self, Invalid> {
        let bad = |problem: &'static str| Invalid {
            field: "authorization",
            problem,
        };
        let (scheme, rest) = value
            .trim()
            .split_once(' ')
            .ok_or(bad("expected `Agent <agent id>.<secret>`"))?;
        if !scheme.eq_ignore_ascii_case(SCHEME) {
            return Err(bad("the scheme is not `Agent`"));
        }
        let (id, secret) = rest
            .trim_start()
            .split_once('.')
            .ok_or(bad("expected `<agent id>.<secret>`"))?;
        let agent_id = Uuid::try_parse(id).map_err(|_| bad("the agent id is not a UUID"))?;
        if secret.is_empty()
            || secret.len() > 256
            || !secret
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
        {
            return Err(bad("the secret is not base64url"));
        }
        Ok(Self {
            agent_id,
            secret: SecretString::from(secret),
        })
    }

    /// Whether this credential's secret matches a stored [`secret_verifier`], compared in
    /// constant time.
    pub fn verify(&self, verifier: &[u8; 32]) -> bool {
        let mine = secret_verifier(self.secret.expose_secret());
        mine.iter()
            .zip(verifier)
            .fold(0u8, |acc, (a, b)| acc | (a ^ b))
            == 0
    }
}

/// What the cloud stores instead of an agent's secret: SHA-256 over a fixed label and the secret.
/// The secret is 256 random bits, so no slow hash is needed.
pub fn secret_verifier(secret: &str) -> [u8; 32] {
    let mut h = Sha256::new();
    h.update(VERIFIER_LABEL);
    h.update(secret.as_bytes());
    h.finalize().into()
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand_chacha::ChaCha8Rng;
    use rand_core::SeedableRng;

    #[test]
    fn header_round_trip_and_verify() {
        let mut rng = ChaCha8Rng::seed_from_u64(3);
        let secret = AgentCredential::generate_secret(&mut rng);
        assert_eq!(secret.expose_secret().len(), 43);
        let cred = AgentCredential {
            agent_id: Uuid::from_u128(0x1234),
            secret,
        };
        let header = cred.header_value();
        assert!(
            header
                .expose_secret()
                .starts_with("Agent 00000000-0000-0000-0000-000000001234.")
        );
        let parsed = AgentCredential::parse_header(header.expose_secret()).unwrap();
        assert_eq!(parsed.agent_id, cred.agent_id);
        assert_eq!(parsed.secret.expose_secret(), cred.secret.expose_secret());
        let verifier = secret_verifier(cred.secret.expose_secret());
        assert!(parsed.verify(&verifier));
        let other = AgentCredential {
            agent_id: cred.agent_id,
            secret: SecretString::from("AAAA"),
        };
        assert!(!other.verify(&verifier));
        assert!(!format!("{cred:?}").contains(cred.secret.expose_secret()));
    }

    #[test]
    fn bad_headers_are_refused_without_quoting_the_secret() {
        for h in [
            "",
            "Bearer 00000000-0000-0000-0000-000000001234.abc",
            "Agent 00000000-0000-0000-0000-000000001234",
            "Agent not-a-uuid.abc",
            "Agent 00000000-0000-0000-0000-000000001234.",
            "Agent 00000000-0000-0000-0000-000000001234.a+b/c=",
        ] {
            let e = AgentCredential::parse_header(h).unwrap_err();
            assert_eq!(e.field, "authorization");
            assert!(!e.to_string().contains("abc"));
        }
        assert!(
            AgentCredential::parse_header("agent 00000000-0000-0000-0000-000000001234.x_Y-z")
                .is_ok()
        );
    }
}
