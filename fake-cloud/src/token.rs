//! The token service's pure parts: the RS256 signing key, JWTs, Entra-shaped claims, and the
//! non-token JSON the identity routes serve (OIDC discovery, JWKS, instance discovery, user
//! realm, AADSTS error bodies).
//!
//! What real clients need from these is in `reference/graph-clients.md`: MSAL and azure-identity
//! read `authorization_endpoint` and `token_endpoint` from discovery (both https), never check the
//! id token's signature but need its `iss`, `aud`, `preferred_username` and `sub`; a resource
//! server (our Graph routes, or a test) checks the access token against the JWKS.
//!
//! No I/O here: no sockets, no files, no clock. Time comes in as seconds since the Unix epoch on
//! the lab clock, randomness as a seed or an RNG from the token service's stream, so simulate mode
//! issues byte-identical tokens for the same seed.
//!
//! The key is RSA-2048 from the `rsa` crate (ring cannot generate RSA keys). `rsa` 0.9 is under a
//! timing advisory (RUSTSEC-2023-0071, the Marvin attack); 0.10 moved to constant-time
//! arithmetic (crypto-bigint), and we blind every signature as well. Whether the advisory lists
//! 0.10 as fixed is for `cargo audit` to say; for a lab signer on loopback it is acceptable
//! either way, and the docs say so. The key is deterministic in its seed for a given `rsa`
//! version: simulate mode regenerates it from the stream, serve with `--state` reloads the PEM.

use std::sync::Mutex;

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use rand_chacha::ChaCha20Rng;
use rand_chacha::rand_core::{CryptoRng, SeedableRng};
use rsa::pkcs8::der::zeroize::Zeroizing;
use rsa::pkcs8::{DecodePrivateKey, EncodePrivateKey, LineEnding};
use rsa::traits::PublicKeyParts;
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value, json};
use sha2::{Digest, Sha256};
use uuid::Uuid;

use crate::decision::Role;

/// The modulus size of the signing key, in bits.
pub const RSA_BITS: usize = 2048;

/// The default lifetime of an access or id token, in seconds.
pub const DEFAULT_LIFETIME_SECS: u64 = 3600;

/// How far past `exp` (or before `nbf`) a token is still accepted, in seconds: the five minutes of
/// Microsoft.IdentityModel's default clock skew, which Graph applies.
pub const CLOCK_SKEW_SECS: u64 = 300;

/// Microsoft Graph's resource URI: the `aud` of a token requested as
/// `https://graph.microsoft.com/.default`.
pub const GRAPH_RESOURCE: &str = "https://graph.microsoft.com";

/// Microsoft Graph's application id: the `aud` of a token requested as
/// `00000003-0000-0000-c000-000000000000/.default`.
pub const GRAPH_APP_ID: &str = "00000003-0000-0000-c000-000000000000";

/// Both audiences a Graph token may carry.
pub const GRAPH_AUDIENCES: [&str; 2] = [GRAPH_RESOURCE, GRAPH_APP_ID];

/// The OpenID Connect scopes MSAL adds to every user request (`openid profile offline_access`),
/// plus `email`. They name no resource.
pub const RESERVED_SCOPES: [&str; 4] = ["openid", "profile", "offline_access", "email"];

/// The delegated Graph permissions the lab grants a user token asked for with `/.default` (what an
/// admin consented to for the lab's public clients).
pub const LAB_DELEGATED_SCOPES: [&str; 5] = [
    "AuditLog.Read.All",
    "Directory.AccessAsUser.All",
    "User.Read",
    "User.ReadWrite.All",
    "UserAuthenticationMethod.ReadWrite.All",
];

/// The application permissions of the lab app (DESIGN §7), the `roles` of its app-only tokens.
pub const LAB_APP_ROLES: [&str; 2] = ["AuditLog.Read.All", "User.Read.All"];

/// Where Entra's error lookup page lives; an error body's `error_uri` points into it.
const ERROR_URI_BASE: &str = "https://login.microsoftonline.com/error?code=";

// ---------------------------------------------------------------------------------------------
// Errors
// ---------------------------------------------------------------------------------------------

/// Why a key could not be made or loaded, or a token could not be signed or was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum TokenError {
    /// The RSA key could not be generated, encoded or decoded, or a signature computed.
    #[error("RSA signing key: {0}")]
    Key(String),
    /// The claims did not serialize to JSON.
    #[error("token claims do not serialize: {0}")]
    Claims(String),
    /// Not a JWT: not three base64url parts, or a part is not the JSON it should be.
    #[error("malformed token: {0}")]
    Malformed(&'static str),
    /// The header names an algorithm other than RS256.
    #[error("unsupported token algorithm {0:?} (only RS256)")]
    UnsupportedAlgorithm(String),
    /// The header names a key other than ours.
    #[error("token signed with unknown key {0:?}")]
    UnknownKey(String),
    /// The signature does not match the header and payload.
    #[error("token signature is invalid")]
    BadSignature,
    /// `exp` (plus the clock skew) is in the past.
    #[error("token expired at {exp} (now {now})")]
    Expired {
        /// The token's `exp`.
        exp: u64,
        /// The lab time of the check.
        now: u64,
    },
    /// `nbf` (less the clock skew) is in the future.
    #[error("token not valid before {nbf} (now {now})")]
    NotYetValid {
        /// The token's `nbf`.
        nbf: u64,
        /// The lab time of the check.
        now: u64,
    },
    /// `iss` is not this token service's issuer.
    #[error("token issuer {found:?} is not {expected:?}")]
    WrongIssuer {
        /// The token's `iss`.
        found: String,
        /// Our issuer.
        expected: String,
    },
    /// `aud` names none of the expected audiences.
    #[error("token audience {found:?} is not one of {expected:?}")]
    WrongAudience {
        /// The token's `aud` values.
        found: Vec<String>,
        /// The audiences the caller accepts.
        expected: Vec<String>,
    },
    /// A claim the check needs is absent or of the wrong type.
    #[error("token has no valid {0:?} claim")]
    MissingClaim(&'static str),
}

// ---------------------------------------------------------------------------------------------
// The signing key
// ---------------------------------------------------------------------------------------------

/// The token service's RS256 key: one per state directory, generated from the token service's
/// random stream, persisted as PKCS#8 PEM.
pub struct SigningKey {
    key: rsa::PrivateKey,
    kid: String,
    n: String,
    e: String,
    /// The base64url JWT header, the same for every token.
    header: String,
    /// Blinds each private-key operation. Seeded from the key itself, so it needs no OS
    /// randomness and changes nothing observable: PKCS#1 v1.5 signatures are deterministic.
    blinding: Mutex<ChaCha20Rng>,
}

impl std::fmt::Debug for SigningKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SigningKey")
            .field("kid", &self.kid)
            .finish_non_exhaustive()
    }
}

impl SigningKey {
    /// Generates the RSA-2048 key that `seed` determines: the same seed always gives the same key
    /// (and `kid`). The seed is the key's secret; draw it from the token service's stream.
    pub fn from_seed(seed: [u8; 32]) -> Result<Self, TokenError> {
        // ChaCha20 (not the streams' ChaCha8) for key material; rsa 0.10 takes rand_core 0.10
        // RNGs directly.
        let mut rng = ChaCha20Rng::from_seed(seed);
        let key = rsa::PrivateKey::new(&mut rng, RSA_BITS).map_err(key_error)?;
        Self::from_private_key(key)
    }

    /// Generates a key from 32 bytes drawn from `rng` (see [`SigningKey::from_seed`]).
    pub fn generate<R: CryptoRng + ?Sized>(rng: &mut R) -> Result<Self, TokenError> {
        let mut seed = [0u8; 32];
        rng.fill_bytes(&mut seed);
        Self::from_seed(seed)
    }

    /// Loads a key saved by [`SigningKey::to_pkcs8_pem`].
    pub fn from_pkcs8_pem(pem: &str) -> Result<Self, TokenError> {
        let key = rsa::PrivateKey::from_pkcs8_pem(pem).map_err(key_error)?;
        Self::from_private_key(key)
    }

    /// The key as PKCS#8 PEM (`-----BEGIN PRIVATE KEY-----`), for the state directory. The
    /// string is wiped from memory when dropped.
    pub fn to_pkcs8_pem(&self) -> Result<Zeroizing<String>, TokenError> {
        self.key.to_pkcs8_pem(LineEnding::LF).map_err(key_error)
    }

    fn from_private_key(key: rsa::PrivateKey) -> Result<Self, TokenError> {
        let n = URL_SAFE_NO_PAD.encode(key.n_bytes());
        let e = URL_SAFE_NO_PAD.encode(key.e_bytes());
        // RFC 7638: SHA-256 over the required members in lexicographic order, no whitespace.
        let thumbprint = Sha256::digest(format!(r#"{{"e":"{e}","kty":"RSA","n":"{n}"}}"#));
        let kid = URL_SAFE_NO_PAD.encode(thumbprint);
        // kid is base64url, so it needs no JSON escaping.
        let header =
            URL_SAFE_NO_PAD.encode(format!(r#"{{"alg":"RS256","typ":"JWT","kid":"{kid}"}}"#));
        let der = key.to_pkcs8_der().map_err(key_error)?;
        let mut blinding_seed: [u8; 32] = Sha256::new()
            .chain_update(b"sspr-lab token signing blinding\0")
            .chain_update(der.as_bytes())
            .finalize()
            .into();
        let blinding = ChaCha20Rng::from_seed(blinding_seed);
        blinding_seed.fill(0);
        Ok(SigningKey {
            key,
            kid,
            n,
            e,
            header,
            blinding: Mutex::new(blinding),
        })
    }

    /// The key id: the RFC 7638 SHA-256 thumbprint of the public key, base64url (43 characters).
    pub fn kid(&self) -> &str {
        &self.kid
    }

    /// The public key as a JSON Web Key: `kty`, `use`, `alg`, `kid`, `n`, `e`.
    pub fn jwk(&self) -> Value {
        json!({
            "kty": "RSA",
            "use": "sig",
            "alg": "RS256",
            "kid": self.kid,
            "n": self.n,
            "e": self.e,
        })
    }

    /// The JSON Web Key Set served at `jwks_uri`: `{"keys": [jwk]}`.
    pub fn jwks(&self) -> Value {
        json!({ "keys": [self.jwk()] })
    }

    /// Signs `claims` (any JSON object, e.g. a [`serde_json::Value`] or [`AccessTokenClaims`]) as
    /// a compact JWT with header `{"alg":"RS256","typ":"JWT","kid":…}`.
    pub fn sign<C: Serialize + ?Sized>(&self, claims: &C) -> Result<String, TokenError> {
        let payload = serde_json::to_vec(claims).map_err(|e| TokenError::Claims(e.to_string()))?;
        let mut token = String::with_capacity(self.header.len() + payload.len() * 4 / 3 + 350);
        token.push_str(&self.header);
        token.push('.');
        URL_SAFE_NO_PAD.encode_string(&payload, &mut token);
        let signature = {
            let mut rng = self.blinding.lock().unwrap_or_else(|p| p.into_inner());
            self.key
                .pkcs1v15_sign_with_rng::<Sha256, _>(&mut *rng, token.as_bytes())
                .map_err(key_error)?
        };
        token.push('.');
        URL_SAFE_NO_PAD.encode_string(&signature, &mut token);
        Ok(token)
    }

    /// Checks a token's header (RS256, our `kid` if it names one) and signature and returns its
    /// claims. Checks no claim: see [`TokenService::verify`] for times, issuer and audience.
    pub fn verify_signature(&self, token: &str) -> Result<Claims, TokenError> {
        let mut parts = token.split('.');
        let (Some(header), Some(payload), Some(signature), None) =
            (parts.next(), parts.next(), parts.next(), parts.next())
        else {
            return Err(TokenError::Malformed("not three dot-separated parts"));
        };
        let signed = &token[..header.len() + 1 + payload.len()];
        let header: Map<String, Value> = decode_json(
            header,
            "header is not base64url",
            "header is not a JSON object",
        )?;
        match header.get("alg").and_then(Value::as_str) {
            Some("RS256") => {}
            Some(other) => return Err(TokenError::UnsupportedAlgorithm(other.to_owned())),
            None => return Err(TokenError::Malformed("header has no alg")),
        }
        match header.get("kid") {
            None => {}
            Some(Value::String(kid)) if *kid == self.kid => {}
            Some(other) => {
                let kid = other
                    .as_str()
                    .map_or_else(|| other.to_string(), str::to_owned);
                return Err(TokenError::UnknownKey(kid));
            }
        }
        let signature = URL_SAFE_NO_PAD
            .decode(signature)
            .map_err(|_| TokenError::Malformed("signature is not base64url"))?;
        self.key
            .as_public_key()
            .pkcs1v15_verify::<Sha256>(signed.as_bytes(), &signature)
            .map_err(|_| TokenError::BadSignature)?;
        Ok(Claims(decode_json(
            payload,
            "payload is not base64url",
            "payload is not a JSON object",
        )?))
    }
}

fn key_error(e: impl std::fmt::Display) -> TokenError {
    TokenError::Key(e.to_string())
}

fn decode_json<T: serde::de::DeserializeOwned>(
    part: &str,
    not_base64: &'static str,
    not_json: &'static str,
) -> Result<T, TokenError> {
    let bytes = URL_SAFE_NO_PAD
        .decode(part)
        .map_err(|_| TokenError::Malformed(not_base64))?;
    serde_json::from_slice(&bytes).map_err(|_| TokenError::Malformed(not_json))
}

// ---------------------------------------------------------------------------------------------
// Verified claims
// ---------------------------------------------------------------------------------------------

/// The claims of a token whose signature checked out, with accessors for the ones the Graph
/// routes read.
#[derive(Debug, Clone, PartialEq)]
pub struct Claims(Map<String, Value>);

impl Claims {
    /// Any claim.
    pub fn get(&self, name: &str) -> Option<&Value> {
        self.0.get(name)
    }

    /// A string claim.
    pub fn str(&self, name: &str) -> Option<&str> {
        self.0.get(name).and_then(Value::as_str)
    }

    /// A numeric date claim (`exp`, `nbf`, `iat`), in whole seconds.
    pub fn time(&self, name: &str) -> Option<u64> {
        let value = self.0.get(name)?;
        value.as_u64().or_else(|| {
            value
                .as_f64()
                .filter(|t| t.is_finite() && *t >= 0.0)
                .map(|t| t as u64)
        })
    }

    /// The audiences: `aud` as a string or an array of strings.
    pub fn audiences(&self) -> Vec<&str> {
        match self.0.get("aud") {
            Some(Value::String(aud)) => vec![aud.as_str()],
            Some(Value::Array(auds)) => auds.iter().filter_map(Value::as_str).collect(),
            _ => Vec::new(),
        }
    }

    /// `oid`: the user's object id, or the service principal's for an app-only token.
    pub fn object_id(&self) -> Option<Uuid> {
        self.str("oid").and_then(|s| Uuid::parse_str(s).ok())
    }

    /// `tid`: the tenant id.
    pub fn tenant_id(&self) -> Option<Uuid> {
        self.str("tid").and_then(|s| Uuid::parse_str(s).ok())
    }

    /// The user's principal name: `upn`, else `preferred_username`.
    pub fn upn(&self) -> Option<&str> {
        self.str("upn").or_else(|| self.str("preferred_username"))
    }

    /// The client the token was issued to: `azp`, else `appid`.
    pub fn client_id(&self) -> Option<&str> {
        self.str("azp").or_else(|| self.str("appid"))
    }

    /// The delegated permissions (`scp`, space-separated); empty for an app-only token.
    pub fn scopes(&self) -> Vec<&str> {
        self.str("scp")
            .map(|s| s.split_whitespace().collect())
            .unwrap_or_default()
    }

    /// The application permissions (`roles`); empty for a delegated token.
    pub fn roles(&self) -> Vec<&str> {
        self.string_array("roles")
    }

    /// The directory role template ids (`wids`).
    pub fn wids(&self) -> Vec<&str> {
        self.string_array("wids")
    }

    /// The admin roles `wids` names (template ids the lab does not model are skipped).
    pub fn admin_roles(&self) -> Vec<Role> {
        self.wids()
            .into_iter()
            .filter_map(role_from_template_id)
            .collect()
    }

    /// Whether the token is app-only (client credentials): `idtyp` `app`, or `roles` without `scp`.
    pub fn is_app_only(&self) -> bool {
        match self.str("idtyp") {
            Some(idtyp) => idtyp == "app",
            None => self.str("scp").is_none() && self.0.contains_key("roles"),
        }
    }

    /// The claims as a JSON object.
    pub fn as_map(&self) -> &Map<String, Value> {
        &self.0
    }

    /// The claims as a JSON object, by value.
    pub fn into_map(self) -> Map<String, Value> {
        self.0
    }

    fn string_array(&self, name: &str) -> Vec<&str> {
        match self.0.get(name) {
            Some(Value::Array(items)) => items.iter().filter_map(Value::as_str).collect(),
            _ => Vec::new(),
        }
    }
}

// ---------------------------------------------------------------------------------------------
// The authority and the token service
// ---------------------------------------------------------------------------------------------

/// Where the token service lives: the base URL of its routes and the tenant it issues for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Authority {
    /// The base URL of the identity routes, without a trailing slash, e.g.
    /// `https://127.0.0.1:41235`. MSAL accepts only https endpoints, so use the HTTPS listener's
    /// base even when answering on the HTTP one.
    pub base_url: String,
    /// The base of the issuer URL (`{issuer_base}/{tenant_id}/v2.0`). Usually `base_url`, so the
    /// discovery `issuer` is the lab's own; `https://login.microsoftonline.com` mimics Entra's.
    pub issuer_base: String,
    /// The tenant id.
    pub tenant_id: Uuid,
}

impl Authority {
    /// An authority whose issuer is on its own base URL.
    pub fn new(base_url: &str, tenant_id: Uuid) -> Self {
        let base_url = base_url.trim_end_matches('/').to_owned();
        Authority {
            issuer_base: base_url.clone(),
            base_url,
            tenant_id,
        }
    }

    /// The same authority issuing as `{issuer_base}/{tenant_id}/v2.0`.
    pub fn with_issuer_base(mut self, issuer_base: &str) -> Self {
        self.issuer_base = issuer_base.trim_end_matches('/').to_owned();
        self
    }

    /// The `iss` of every token: `{issuer_base}/{tenant_id}/v2.0`.
    pub fn issuer(&self) -> String {
        format!("{}/{}/v2.0", self.issuer_base, self.tenant_id)
    }

    /// `{base}/{tenant_id}/oauth2/v2.0/token`.
    pub fn token_endpoint(&self) -> String {
        self.endpoint(&self.tenant_id.to_string(), "oauth2/v2.0/token")
    }

    /// `{base}/{tenant_id}/oauth2/v2.0/authorize` (advertised; the lab has no interactive flow).
    pub fn authorization_endpoint(&self) -> String {
        self.endpoint(&self.tenant_id.to_string(), "oauth2/v2.0/authorize")
    }

    /// `{base}/{tenant_id}/discovery/v2.0/keys`, Entra's JWKS path.
    pub fn jwks_uri(&self) -> String {
        self.endpoint(&self.tenant_id.to_string(), "discovery/v2.0/keys")
    }

    /// `{base}/{tenant}/v2.0/.well-known/openid-configuration` for a tenant path segment (a
    /// domain, the tenant id, `common` or `organizations`).
    pub fn openid_configuration_url(&self, tenant: &str) -> String {
        self.endpoint(tenant, "v2.0/.well-known/openid-configuration")
    }

    fn endpoint(&self, tenant: &str, path: &str) -> String {
        format!("{}/{tenant}/{path}", self.base_url)
    }
}

/// The signing key and the authority it signs for: issues and checks tokens.
#[derive(Debug)]
pub struct TokenService {
    key: SigningKey,
    authority: Authority,
}

impl TokenService {
    /// A token service signing with `key` as `authority`.
    pub fn new(key: SigningKey, authority: Authority) -> Self {
        TokenService { key, authority }
    }

    /// The signing key.
    pub fn key(&self) -> &SigningKey {
        &self.key
    }

    /// The authority.
    pub fn authority(&self) -> &Authority {
        &self.authority
    }

    /// The JSON Web Key Set.
    pub fn jwks(&self) -> Value {
        self.key.jwks()
    }

    /// Signs `claims` as an RS256 JWT (see [`SigningKey::sign`]).
    pub fn sign<C: Serialize + ?Sized>(&self, claims: &C) -> Result<String, TokenError> {
        self.key.sign(claims)
    }

    /// Checks a token: signature, `exp` and `nbf` at `now_secs` with [`CLOCK_SKEW_SECS`], `iss`
    /// equal to our issuer, and, if given, `aud` naming `expected_audience`.
    pub fn verify(
        &self,
        token: &str,
        now_secs: u64,
        expected_audience: Option<&str>,
    ) -> Result<Claims, TokenError> {
        match expected_audience {
            Some(aud) => self.verify_audiences(token, now_secs, &[aud]),
            None => self.verify_audiences(token, now_secs, &[]),
        }
    }

    /// [`TokenService::verify`] accepting any of `audiences` (none: no audience check), e.g.
    /// [`GRAPH_AUDIENCES`] on the Graph routes.
    pub fn verify_audiences(
        &self,
        token: &str,
        now_secs: u64,
        audiences: &[&str],
    ) -> Result<Claims, TokenError> {
        let claims = self.key.verify_signature(token)?;
        let exp = claims.time("exp").ok_or(TokenError::MissingClaim("exp"))?;
        if now_secs > exp.saturating_add(CLOCK_SKEW_SECS) {
            return Err(TokenError::Expired { exp, now: now_secs });
        }
        if claims.get("nbf").is_some() {
            let nbf = claims.time("nbf").ok_or(TokenError::MissingClaim("nbf"))?;
            if now_secs.saturating_add(CLOCK_SKEW_SECS) < nbf {
                return Err(TokenError::NotYetValid { nbf, now: now_secs });
            }
        }
        let issuer = self.authority.issuer();
        match claims.str("iss") {
            Some(iss) if iss == issuer => {}
            Some(iss) => {
                return Err(TokenError::WrongIssuer {
                    found: iss.to_owned(),
                    expected: issuer,
                });
            }
            None => return Err(TokenError::MissingClaim("iss")),
        }
        if !audiences.is_empty() {
            let found = claims.audiences();
            if !found.iter().any(|aud| audiences.contains(aud)) {
                return Err(TokenError::WrongAudience {
                    found: found.into_iter().map(str::to_owned).collect(),
                    expected: audiences.iter().map(|a| (*a).to_owned()).collect(),
                });
            }
        }
        Ok(claims)
    }

    /// The OIDC discovery document for `requested_tenant` (see [`openid_configuration`]).
    pub fn openid_configuration(&self, requested_tenant: &str) -> Value {
        openid_configuration(&self.authority, requested_tenant)
    }
}

// ---------------------------------------------------------------------------------------------
// Directory roles
// ---------------------------------------------------------------------------------------------

/// The admin roles the lab models with their display names and role template ids, the values of
/// a token's `wids` claim. Checked against entra-docs
/// `docs/identity/role-based-access-control/permissions-reference.md` ("All roles").
pub const ROLE_TEMPLATES: [(Role, &str, &str); 7] = [
    (
        Role::Global,
        "Global Administrator",
        "62e90394-69f5-4237-9190-012177145e10",
    ),
    (
        Role::PrivilegedAuthentication,
        "Privileged Authentication Administrator",
        "7be44c8a-adaf-4e2a-84d6-ab2649e08a13",
    ),
    (
        Role::HybridIdentity,
        "Hybrid Identity Administrator",
        "8ac3fc64-6eca-42ea-9e69-59f4c7b60eb2",
    ),
    (
        Role::Password,
        "Password Administrator",
        "966707d0-3269-4727-9be2-8c3a10f19b9d",
    ),
    (
        Role::Helpdesk,
        "Helpdesk Administrator",
        "729827e3-9c14-49f7-bb1b-9608f156bbb8",
    ),
    (
        Role::User,
        "User Administrator",
        "fe930be7-5e62-47db-91af-98c3a49a38b1",
    ),
    (
        Role::Authentication,
        "Authentication Administrator",
        "c4e39bd9-1100-46d3-8c65-fb160da0071f",
    ),
];

/// The role template id of `role` (a `wids` value).
pub fn role_template_id(role: Role) -> &'static str {
    ROLE_TEMPLATES
        .iter()
        .find(|(r, _, _)| *r == role)
        .map_or("", |(_, _, id)| id)
}

/// The role a template id names, if the lab models it (case-insensitive).
pub fn role_from_template_id(id: &str) -> Option<Role> {
    ROLE_TEMPLATES
        .iter()
        .find(|(_, _, t)| t.eq_ignore_ascii_case(id))
        .map(|(r, _, _)| *r)
}

// ---------------------------------------------------------------------------------------------
// Entra-shaped claims
// ---------------------------------------------------------------------------------------------

/// The signed-in user a delegated or id token is about.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TokenUser {
    /// The user's object id (`oid`).
    pub oid: Uuid,
    /// The user principal name (`upn`, `preferred_username`).
    pub upn: String,
    /// The display name (`name`).
    pub name: String,
}

/// What a delegated (ROPC) access token says: the user, the client, the resource, the granted
/// permissions and the user's admin roles.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DelegatedGrant {
    /// The client the user signed in to (`azp`, `appid`).
    pub client_id: String,
    /// Whether the client authenticated with a secret (`azpacr` 1) or is public (0).
    pub client_authenticated: bool,
    /// The resource (`aud`): [`GRAPH_RESOURCE`] or [`GRAPH_APP_ID`], as requested.
    pub audience: String,
    /// The user.
    pub user: TokenUser,
    /// The delegated permissions (`scp`), e.g. [`LAB_DELEGATED_SCOPES`].
    pub scopes: Vec<String>,
    /// The user's admin roles (`wids`).
    pub roles: Vec<Role>,
    /// Lab time of issue, seconds since the Unix epoch (`iat`, `nbf`).
    pub issued_at: u64,
    /// Seconds until `exp`, usually [`DEFAULT_LIFETIME_SECS`].
    pub lifetime_secs: u64,
}

/// What an app-only (client credentials) access token says.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AppGrant {
    /// The client (`azp`, `appid`).
    pub client_id: String,
    /// The object id of the client's service principal (`oid`, `sub`).
    pub service_principal_id: Uuid,
    /// The resource (`aud`).
    pub audience: String,
    /// The application permissions (`roles`), e.g. [`LAB_APP_ROLES`].
    pub roles: Vec<String>,
    /// Lab time of issue, seconds since the Unix epoch.
    pub issued_at: u64,
    /// Seconds until `exp`.
    pub lifetime_secs: u64,
}

/// What an id token (ROPC with `openid`) says.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IdTokenGrant {
    /// The client, the id token's `aud`.
    pub client_id: String,
    /// The user.
    pub user: TokenUser,
    /// The request's `nonce`, echoed if given.
    pub nonce: Option<String>,
    /// Lab time of issue, seconds since the Unix epoch.
    pub issued_at: u64,
    /// Seconds until `exp`.
    pub lifetime_secs: u64,
}

/// The claims of an Entra v2.0 access token, delegated or app-only. Absent options are left
/// out of the JSON.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AccessTokenClaims {
    /// Audience: the resource.
    pub aud: String,
    /// Issuer: [`Authority::issuer`].
    pub iss: String,
    /// Issued at.
    pub iat: u64,
    /// Not before (= `iat`).
    pub nbf: u64,
    /// Expiry.
    pub exp: u64,
    /// Authentication methods: `["pwd"]` for ROPC.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub amr: Option<Vec<String>>,
    /// The client's id (v1 name, kept for v1-minded resource servers).
    pub appid: String,
    /// The client's id (v2 name).
    pub azp: String,
    /// How the client authenticated: `0` public, `1` secret.
    pub azpacr: String,
    /// `user` or `app`.
    pub idtyp: String,
    /// The user's display name.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    /// Object id of the user, or of the client's service principal.
    pub oid: String,
    /// The user's sign-in name.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub preferred_username: Option<String>,
    /// Application permissions (app-only tokens).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub roles: Option<Vec<String>>,
    /// Delegated permissions, space-separated (delegated tokens).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub scp: Option<String>,
    /// Subject: pairwise per user and client (delegated), the service principal (app-only).
    pub sub: String,
    /// Tenant id.
    pub tid: String,
    /// The user principal name.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub upn: Option<String>,
    /// Unique token id (22 base64url characters, from a hash of the other claims).
    pub uti: String,
    /// Token version: `2.0`.
    pub ver: String,
    /// The user's directory role template ids.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub wids: Option<Vec<String>>,
}

impl AccessTokenClaims {
    /// A delegated (ROPC) access token's claims.
    pub fn delegated(authority: &Authority, grant: &DelegatedGrant) -> Self {
        let wids: Vec<String> = grant
            .roles
            .iter()
            .map(|r| role_template_id(*r).to_owned())
            .collect();
        let mut claims = AccessTokenClaims {
            aud: grant.audience.clone(),
            iss: authority.issuer(),
            iat: grant.issued_at,
            nbf: grant.issued_at,
            exp: grant.issued_at.saturating_add(grant.lifetime_secs),
            amr: Some(vec!["pwd".to_owned()]),
            appid: grant.client_id.clone(),
            azp: grant.client_id.clone(),
            azpacr: if grant.client_authenticated { "1" } else { "0" }.to_owned(),
            idtyp: "user".to_owned(),
            name: Some(grant.user.name.clone()),
            oid: grant.user.oid.to_string(),
            preferred_username: Some(grant.user.upn.clone()),
            roles: None,
            scp: Some(grant.scopes.join(" ")),
            sub: pairwise_subject(grant.user.oid, &grant.client_id),
            tid: authority.tenant_id.to_string(),
            upn: Some(grant.user.upn.clone()),
            uti: String::new(),
            ver: "2.0".to_owned(),
            wids: (!wids.is_empty()).then_some(wids),
        };
        claims.uti = token_id(&claims);
        claims
    }

    /// An app-only (client credentials) access token's claims.
    pub fn app_only(authority: &Authority, grant: &AppGrant) -> Self {
        let mut claims = AccessTokenClaims {
            aud: grant.audience.clone(),
            iss: authority.issuer(),
            iat: grant.issued_at,
            nbf: grant.issued_at,
            exp: grant.issued_at.saturating_add(grant.lifetime_secs),
            amr: None,
            appid: grant.client_id.clone(),
            azp: grant.client_id.clone(),
            azpacr: "1".to_owned(),
            idtyp: "app".to_owned(),
            name: None,
            oid: grant.service_principal_id.to_string(),
            preferred_username: None,
            roles: Some(grant.roles.clone()),
            scp: None,
            sub: grant.service_principal_id.to_string(),
            tid: authority.tenant_id.to_string(),
            upn: None,
            uti: String::new(),
            ver: "2.0".to_owned(),
            wids: None,
        };
        claims.uti = token_id(&claims);
        claims
    }
}

/// The claims of an Entra v2.0 id token: what azure-identity's authentication record needs
/// (`iss`, `aud`, `preferred_username`, `sub`, `tid`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct IdTokenClaims {
    /// Audience: the client id.
    pub aud: String,
    /// Issuer: [`Authority::issuer`].
    pub iss: String,
    /// Issued at.
    pub iat: u64,
    /// Not before (= `iat`).
    pub nbf: u64,
    /// Expiry.
    pub exp: u64,
    /// The user's display name.
    pub name: String,
    /// The request's nonce, echoed.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub nonce: Option<String>,
    /// The user's object id.
    pub oid: String,
    /// The user's sign-in name.
    pub preferred_username: String,
    /// Subject: pairwise per user and client.
    pub sub: String,
    /// Tenant id.
    pub tid: String,
    /// Unique token id.
    pub uti: String,
    /// Token version: `2.0`.
    pub ver: String,
}

impl IdTokenClaims {
    /// An id token's claims.
    pub fn new(authority: &Authority, grant: &IdTokenGrant) -> Self {
        let mut claims = IdTokenClaims {
            aud: grant.client_id.clone(),
            iss: authority.issuer(),
            iat: grant.issued_at,
            nbf: grant.issued_at,
            exp: grant.issued_at.saturating_add(grant.lifetime_secs),
            name: grant.user.name.clone(),
            nonce: grant.nonce.clone(),
            oid: grant.user.oid.to_string(),
            preferred_username: grant.user.upn.clone(),
            sub: pairwise_subject(grant.user.oid, &grant.client_id),
            tid: authority.tenant_id.to_string(),
            uti: String::new(),
            ver: "2.0".to_owned(),
        };
        claims.uti = token_id(&claims);
        claims
    }
}

/// Entra's `sub` for a user: pairwise per (user, client), 43 base64url characters. Here a
/// SHA-256 of the two, so it is stable and reveals neither.
pub fn pairwise_subject(oid: Uuid, client_id: &str) -> String {
    let digest = Sha256::new()
        .chain_update(oid.as_bytes())
        .chain_update(client_id.to_ascii_lowercase().as_bytes())
        .finalize();
    URL_SAFE_NO_PAD.encode(digest)
}

/// A token's `uti`: the first 22 base64url characters of a SHA-256 of its other claims (`uti`
/// still empty), so the same claims always get the same id and no randomness is needed.
fn token_id<C: Serialize>(claims: &C) -> String {
    let bytes = serde_json::to_vec(claims).unwrap_or_default();
    let mut id = URL_SAFE_NO_PAD.encode(Sha256::digest(bytes));
    id.truncate(22);
    id
}

/// The token response's `client_info`: base64url of `{"uid": oid, "utid": tid}`, which MSAL
/// turns into the account's home id `uid.utid`.
pub fn client_info(oid: Uuid, tenant_id: Uuid) -> String {
    URL_SAFE_NO_PAD
        .encode(json!({ "uid": oid.to_string(), "utid": tenant_id.to_string() }).to_string())
}

/// The token endpoint's 200 body.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TokenResponse {
    /// Always `Bearer`.
    pub token_type: String,
    /// The requested scopes, echoed (MSAL's cache matches on them).
    pub scope: String,
    /// Seconds until the access token expires (azure-identity requires it).
    pub expires_in: u64,
    /// The same as `expires_in`.
    pub ext_expires_in: u64,
    /// The access token.
    pub access_token: String,
    /// A refresh token, if one was issued.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub refresh_token: Option<String>,
    /// The id token (ROPC with `openid`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub id_token: Option<String>,
    /// See [`client_info`] (ROPC).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub client_info: Option<String>,
}

impl TokenResponse {
    /// A bearer token response for `access_token` living `lifetime_secs`, echoing `scope`.
    pub fn bearer(access_token: String, scope: String, lifetime_secs: u64) -> Self {
        TokenResponse {
            token_type: "Bearer".to_owned(),
            scope,
            expires_in: lifetime_secs,
            ext_expires_in: lifetime_secs,
            access_token,
            refresh_token: None,
            id_token: None,
            client_info: None,
        }
    }
}

// ---------------------------------------------------------------------------------------------
// The scope parameter
// ---------------------------------------------------------------------------------------------

/// A token request's `scope`, split into the resource, its permissions and the OpenID scopes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ScopeRequest {
    /// The resource the permissions are for: the part before the last `/`
    /// (`https://graph.microsoft.com/User.Read`), or Graph for bare names (`User.Read`) and
    /// for a request of OpenID scopes only, as Entra does.
    pub resource: String,
    /// The permissions without the resource, in request order (`.default`, `User.Read`, …).
    pub permissions: Vec<String>,
    /// `openid` was requested (an id token is due).
    pub openid: bool,
    /// `offline_access` was requested (a refresh token may be issued).
    pub offline_access: bool,
    /// Every requested scope, in order, duplicates dropped.
    pub requested: Vec<String>,
}

impl ScopeRequest {
    /// Parses a space-separated `scope`. Fails with AADSTS900144 when empty and AADSTS70011 when
    /// it names more than one resource.
    pub fn parse(scope: &str) -> Result<Self, AadError> {
        let mut requested: Vec<String> = Vec::new();
        for s in scope.split_whitespace() {
            if !requested.iter().any(|r| r == s) {
                requested.push(s.to_owned());
            }
        }
        if requested.is_empty() {
            return Err(AadError::MissingParameter {
                name: "scope".to_owned(),
            });
        }
        let mut resource: Option<String> = None;
        let mut permissions = Vec::new();
        let (mut openid, mut offline_access) = (false, false);
        for s in &requested {
            let lower = s.to_ascii_lowercase();
            if RESERVED_SCOPES.contains(&lower.as_str()) {
                openid |= lower == "openid";
                offline_access |= lower == "offline_access";
                continue;
            }
            let (res, permission) = match s.rfind('/') {
                Some(i) if i > 0 => (s[..i].trim_end_matches('/').to_owned(), &s[i + 1..]),
                _ => (GRAPH_RESOURCE.to_owned(), s.as_str()),
            };
            match &resource {
                Some(r) if !r.eq_ignore_ascii_case(&res) => {
                    return Err(AadError::IncompatibleScopes {
                        scope: requested.join(" "),
                    });
                }
                Some(_) => {}
                None => resource = Some(res),
            }
            permissions.push(permission.to_owned());
        }
        Ok(ScopeRequest {
            resource: resource.unwrap_or_else(|| GRAPH_RESOURCE.to_owned()),
            permissions,
            openid,
            offline_access,
            requested,
        })
    }

    /// Whether the request is `<resource>/.default` (what client credentials must ask for).
    pub fn is_default(&self) -> bool {
        self.permissions.len() == 1 && self.permissions[0] == ".default"
    }

    /// Whether the resource is Microsoft Graph (either name).
    pub fn is_graph(&self) -> bool {
        is_graph_resource(&self.resource)
    }

    /// The response's `scope`: the requested scopes, echoed.
    pub fn response_scope(&self) -> String {
        self.requested.join(" ")
    }
}

/// Whether `resource` names Microsoft Graph (its URI or application id, any case, trailing `/`).
pub fn is_graph_resource(resource: &str) -> bool {
    let resource = resource.trim_end_matches('/');
    GRAPH_AUDIENCES
        .iter()
        .any(|g| g.eq_ignore_ascii_case(resource))
}

// ---------------------------------------------------------------------------------------------
// Discovery, instance discovery, user realm
// ---------------------------------------------------------------------------------------------

/// Tenant path segments that name no tenant.
const MULTI_TENANT: [&str; 3] = ["common", "organizations", "consumers"];

/// The OIDC discovery document served at
/// `/{requested_tenant}/v2.0/.well-known/openid-configuration`, shaped as Entra's. For a tenant
/// (its domain or id) the endpoints carry the tenant id, as Entra's do; for `common` or
/// `organizations` they keep that segment and `issuer` has Entra's `{tenantid}` placeholder.
/// Whether `requested_tenant` is ours is the caller's check (else [`AadError::TenantNotFound`]).
///
/// MSAL reads `authorization_endpoint` and `token_endpoint` (both required, https); the first
/// path segment of `token_endpoint` becomes its cache realm. Entra's `userinfo_endpoint`,
/// `kerberos_endpoint` and `rbac_url` are left out: the lab serves none of them.
pub fn openid_configuration(authority: &Authority, requested_tenant: &str) -> Value {
    let multi = MULTI_TENANT
        .iter()
        .any(|t| t.eq_ignore_ascii_case(requested_tenant));
    let tenant = if multi {
        requested_tenant.to_ascii_lowercase()
    } else {
        authority.tenant_id.to_string()
    };
    let issuer = if multi {
        format!("{}/{{tenantid}}/v2.0", authority.issuer_base)
    } else {
        authority.issuer()
    };
    let at = |path: &str| authority.endpoint(&tenant, path);
    json!({
        "token_endpoint": at("oauth2/v2.0/token"),
        "token_endpoint_auth_methods_supported": [
            "client_secret_post", "private_key_jwt", "client_secret_basic"
        ],
        "jwks_uri": at("discovery/v2.0/keys"),
        "response_modes_supported": ["query", "fragment", "form_post"],
        "subject_types_supported": ["pairwise"],
        "id_token_signing_alg_values_supported": ["RS256"],
        "response_types_supported": ["code", "id_token", "code id_token", "id_token token"],
        "scopes_supported": ["openid", "profile", "email", "offline_access"],
        "issuer": issuer,
        "request_uri_parameter_supported": false,
        "authorization_endpoint": at("oauth2/v2.0/authorize"),
        "device_authorization_endpoint": at("oauth2/v2.0/devicecode"),
        "http_logout_supported": true,
        "frontchannel_logout_supported": true,
        "end_session_endpoint": at("oauth2/v2.0/logout"),
        "claims_supported": [
            "sub", "iss", "cloud_instance_name", "cloud_instance_host_name",
            "cloud_graph_host_name", "msgraph_host", "aud", "exp", "iat", "auth_time", "acr",
            "nonce", "preferred_username", "name", "tid", "ver", "at_hash", "c_hash", "email"
        ],
        "tenant_region_scope": "WW",
        "cloud_instance_name": "microsoftonline.com",
        "cloud_graph_host_name": "graph.windows.net",
        "msgraph_host": "graph.microsoft.com",
    })
}

/// The answer of `/common/discovery/instance?api-version=1.1&authorization_endpoint=…`, for a
/// client pointed at it (MSAL's `instance_discovery="<url>"`), which reads only
/// `tenant_discovery_endpoint`. The tenant is the first path segment of `authorization_endpoint`
/// (MSAL sends it without the port), `common` if absent; the answer carries our own base URL.
pub fn instance_discovery(authority: &Authority, authorization_endpoint: Option<&str>) -> Value {
    let tenant = authorization_endpoint
        .and_then(|url| {
            url.split_once("://")
                .map_or(Some(url), |(_, rest)| Some(rest))
        })
        .and_then(|rest| rest.split('/').nth(1))
        .filter(|t| !t.is_empty())
        .unwrap_or("common");
    let host_port = authority
        .base_url
        .split_once("://")
        .map_or(authority.base_url.as_str(), |(_, rest)| rest);
    let host = host_port.rsplit_once(':').map_or(host_port, |(h, _)| h);
    let mut aliases = vec![host_port];
    if host != host_port {
        aliases.push(host);
    }
    json!({
        "tenant_discovery_endpoint": authority.openid_configuration_url(tenant),
        "api-version": "1.1",
        "metadata": [{
            "preferred_network": host_port,
            "preferred_cache": host_port,
            "aliases": aliases,
        }],
    })
}

/// The `api-version` of a `/common/userrealm/{upn}` request.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum UserRealmVersion {
    /// `api-version=1.0`, what MSAL sends (snake_case fields).
    V1,
    /// `api-version=2.0` (PascalCase fields, `NameSpaceType`).
    V2,
}

/// The `/common/userrealm/{upn}` answer. `managed_domain` is the UPN's domain if a tenant of the
/// lab owns it: then `Managed` (MSAL goes on with plain ROPC), else `Unknown`. Never `Federated`,
/// which would send MSAL to WS-Trust.
///
/// The 1.0 shape is confirmed from captured responses. In the 2.0 shape the `State` and
/// `UserState` numbers are from memory of Entra's answers (UNCONFIRMED); no client we support
/// reads them.
pub fn user_realm(upn: &str, managed_domain: Option<&str>, version: UserRealmVersion) -> Value {
    match (version, managed_domain) {
        (UserRealmVersion::V1, Some(domain)) => json!({
            "ver": "1.0",
            "account_type": "Managed",
            "domain_name": domain,
            "cloud_instance_name": "microsoftonline.com",
            "cloud_audience_urn": "urn:federation:MicrosoftOnline",
        }),
        (UserRealmVersion::V1, None) => json!({
            "ver": "1.0",
            "account_type": "Unknown",
            "cloud_instance_name": "microsoftonline.com",
            "cloud_audience_urn": "urn:federation:MicrosoftOnline",
        }),
        (UserRealmVersion::V2, Some(domain)) => json!({
            "State": 4,
            "UserState": 1,
            "Login": upn,
            "NameSpaceType": "Managed",
            "DomainName": domain,
            "CloudInstanceName": "microsoftonline.com",
        }),
        (UserRealmVersion::V2, None) => json!({
            "State": 4,
            "UserState": 2,
            "Login": upn,
            "NameSpaceType": "Unknown",
            "CloudInstanceName": "microsoftonline.com",
        }),
    }
}

// ---------------------------------------------------------------------------------------------
// AADSTS errors
// ---------------------------------------------------------------------------------------------

/// The token service's refusals, each with Entra's AADSTS code, OAuth `error`, HTTP status and
/// `error_description` text (the `Display`). The codes are in entra-docs
/// `docs/identity-platform/reference-error-codes.md`; the wording is from captured responses,
/// except where a variant says UNCONFIRMED.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum AadError {
    /// 50126: wrong password (or wrong user name in a managed tenant).
    #[error("AADSTS50126: Error validating credentials due to invalid username or password.")]
    InvalidCredentials,
    /// 50034: no such user in the tenant.
    #[error(
        "AADSTS50034: The user account {{EUII Hidden}} does not exist in the {tenant_id} directory. \
         To sign into this application, the account must be added to the directory."
    )]
    UserNotFound {
        /// The tenant searched.
        tenant_id: Uuid,
    },
    /// 50053: the account is locked by smart lockout. Wording UNCONFIRMED (older answers read
    /// "You've tried to sign in too many times with an incorrect user ID or password.").
    #[error(
        "AADSTS50053: The account is locked, you've tried to sign in too many times with an \
         incorrect user ID or password."
    )]
    AccountLocked,
    /// 50055: the password is expired. The `error` value (`invalid_grant`) is UNCONFIRMED for
    /// the v2.0 endpoint (the v1 one answered `user_password_expired`).
    #[error("AADSTS50055: The password is expired.")]
    PasswordExpired,
    /// 50057: the account is disabled.
    #[error("AADSTS50057: The user account is disabled.")]
    UserDisabled,
    /// 7000215: a confidential client sent the wrong secret.
    #[error(
        "AADSTS7000215: Invalid client secret provided. Ensure the secret being sent in the \
         request is the client secret value, not the client secret ID, for a secret added to app \
         '{client_id}'."
    )]
    InvalidClientSecret {
        /// The client.
        client_id: String,
    },
    /// 7000218: a confidential client sent no secret. HTTP 401 UNCONFIRMED.
    #[error(
        "AADSTS7000218: The request body must contain the following parameter: \
         'client_assertion' or 'client_secret'."
    )]
    MissingClientSecret,
    /// 700025: a public client sent a secret. `error` and status UNCONFIRMED.
    #[error(
        "AADSTS700025: Client is public so neither 'client_assertion' nor 'client_secret' should \
         be presented."
    )]
    PublicClientWithSecret,
    /// 700016: no such application in the tenant.
    #[error(
        "AADSTS700016: Application with identifier '{client_id}' was not found in the directory \
         '{tenant}'. This can happen if the application has not been installed by the \
         administrator of the tenant or consented to by any user in the tenant. You may have sent \
         your authentication request to the wrong tenant."
    )]
    ClientNotFound {
        /// The unknown client id.
        client_id: String,
        /// The tenant as the request named it.
        tenant: String,
    },
    /// 70003: a grant type the lab does not take. Text after the code UNCONFIRMED.
    #[error("AADSTS70003: The app requested an unsupported grant type '{grant_type}'.")]
    UnsupportedGrantType {
        /// The requested grant type.
        grant_type: String,
    },
    /// 70011: a scope the resource does not have.
    #[error(
        "AADSTS70011: The provided value for the input parameter 'scope' is not valid. The scope \
         {scope} is not valid."
    )]
    InvalidScope {
        /// The offending scope.
        scope: String,
    },
    /// 70011: scopes of more than one resource in one request. Wording UNCONFIRMED.
    #[error(
        "AADSTS70011: The provided value for the input parameter 'scope' is not valid. One or \
         more scopes in '{scope}' are not compatible with each other."
    )]
    IncompatibleScopes {
        /// The whole scope parameter.
        scope: String,
    },
    /// 1002012: client credentials asked for something other than `<resource>/.default`.
    #[error(
        "AADSTS1002012: The provided value for scope {scope} is not valid. Client credential \
         flows must have a scope value with /.default suffixed to the resource identifier \
         (application ID URI)."
    )]
    DefaultScopeRequired {
        /// The scope parameter.
        scope: String,
    },
    /// 500011: a resource the tenant does not know.
    #[error(
        "AADSTS500011: The resource principal named {resource} was not found in the tenant named \
         {tenant}. This can happen if the application has not been installed by the \
         administrator of the tenant or consented to by any user in the tenant. You might have \
         sent your authentication request to the wrong tenant."
    )]
    ResourceNotFound {
        /// The requested resource.
        resource: String,
        /// The tenant as the request named it.
        tenant: String,
    },
    /// 900144: a required form field is missing.
    #[error("AADSTS900144: The request body must contain the following parameter: '{name}'.")]
    MissingParameter {
        /// The field, e.g. `grant_type`, `scope`, `username`.
        name: String,
    },
    /// 90002: the tenant in the path is unknown (token endpoint: `invalid_request`).
    #[error(
        "AADSTS90002: Tenant '{tenant}' not found. Check to make sure you have the correct tenant \
         ID and are signing into the correct cloud. Check with your subscription administrator, \
         this may happen if there are no active subscriptions for the tenant."
    )]
    TenantNotFound {
        /// The tenant as the request named it.
        tenant: String,
    },
    /// 90002 on the discovery route, where Entra's `error` is `invalid_tenant`.
    #[error(
        "AADSTS90002: Tenant '{tenant}' not found. Check to make sure you have the correct tenant \
         ID and are signing into the correct cloud. Check with your subscription administrator, \
         this may happen if there are no active subscriptions for the tenant."
    )]
    DiscoveryTenantNotFound {
        /// The tenant as the request named it.
        tenant: String,
    },
}

impl AadError {
    /// The AADSTS number (`error_codes[0]`).
    pub fn code(&self) -> u32 {
        match self {
            AadError::InvalidCredentials => 50126,
            AadError::UserNotFound { .. } => 50034,
            AadError::AccountLocked => 50053,
            AadError::PasswordExpired => 50055,
            AadError::UserDisabled => 50057,
            AadError::InvalidClientSecret { .. } => 7_000_215,
            AadError::MissingClientSecret => 7_000_218,
            AadError::PublicClientWithSecret => 700_025,
            AadError::ClientNotFound { .. } => 700_016,
            AadError::UnsupportedGrantType { .. } => 70003,
            AadError::InvalidScope { .. } | AadError::IncompatibleScopes { .. } => 70011,
            AadError::DefaultScopeRequired { .. } => 1_002_012,
            AadError::ResourceNotFound { .. } => 500_011,
            AadError::MissingParameter { .. } => 900_144,
            AadError::TenantNotFound { .. } | AadError::DiscoveryTenantNotFound { .. } => 90002,
        }
    }

    /// The OAuth 2.0 `error` value.
    pub fn error(&self) -> &'static str {
        match self {
            AadError::InvalidCredentials
            | AadError::UserNotFound { .. }
            | AadError::AccountLocked
            | AadError::PasswordExpired
            | AadError::UserDisabled => "invalid_grant",
            AadError::InvalidClientSecret { .. }
            | AadError::MissingClientSecret
            | AadError::PublicClientWithSecret => "invalid_client",
            AadError::ClientNotFound { .. } => "unauthorized_client",
            AadError::UnsupportedGrantType { .. } => "unsupported_grant_type",
            AadError::InvalidScope { .. }
            | AadError::IncompatibleScopes { .. }
            | AadError::DefaultScopeRequired { .. } => "invalid_scope",
            AadError::ResourceNotFound { .. } => "invalid_resource",
            AadError::MissingParameter { .. } | AadError::TenantNotFound { .. } => {
                "invalid_request"
            }
            AadError::DiscoveryTenantNotFound { .. } => "invalid_tenant",
        }
    }

    /// The HTTP status: 401 for a failed client authentication, 400 for the rest (never 5xx:
    /// MSAL raises on 500 and above instead of returning the error).
    pub fn status(&self) -> u16 {
        if self.error() == "invalid_client" {
            401
        } else {
            400
        }
    }

    /// The JSON body: `error`, `error_description` (with Entra's trace, correlation and time
    /// lines), `error_codes`, `timestamp`, `trace_id`, `correlation_id`, `error_uri`.
    pub fn body(&self, ctx: &ErrorContext) -> Value {
        let timestamp = format_timestamp(ctx.now_secs);
        let description = format!(
            "{self}\r\nTrace ID: {}\r\nCorrelation ID: {}\r\nTimestamp: {timestamp}",
            ctx.trace_id, ctx.correlation_id
        );
        json!({
            "error": self.error(),
            "error_description": description,
            "error_codes": [self.code()],
            "timestamp": timestamp,
            "trace_id": ctx.trace_id.to_string(),
            "correlation_id": ctx.correlation_id.to_string(),
            "error_uri": format!("{ERROR_URI_BASE}{}", self.code()),
        })
    }
}

/// The per-request values of an error body.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ErrorContext {
    /// Lab time of the request, seconds since the Unix epoch.
    pub now_secs: u64,
    /// The request's trace id (drawn from the token service's stream).
    pub trace_id: Uuid,
    /// The request's `client-request-id` if it sent one (Entra echoes it), else a drawn id.
    pub correlation_id: Uuid,
}

/// Entra's error timestamp: `2016-01-09 02:02:12Z` (UTC).
pub fn format_timestamp(secs: u64) -> String {
    let days = secs / 86_400;
    let rem = secs % 86_400;
    let (y, m, d) = civil_from_days(days);
    format!(
        "{y:04}-{m:02}-{d:02} {:02}:{:02}:{:02}Z",
        rem / 3600,
        rem % 3600 / 60,
        rem % 60
    )
}

/// The proleptic Gregorian date of a day count since 1970-01-01 (H. Hinnant's algorithm).
fn civil_from_days(days: u64) -> (u64, u64, u64) {
    let z = days + 719_468;
    let era = z / 146_097;
    let doe = z % 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let m = if mp < 10 { mp + 3 } else { mp - 9 };
    let y = yoe + era * 400 + u64::from(m <= 2);
    (y, m, d)
}

// ---------------------------------------------------------------------------------------------
// Tests
// ---------------------------------------------------------------------------------------------

#[cfg(test)]
mod tests {
    use super::*;
    use rand_chacha::rand_core::Rng;
    use std::sync::OnceLock;

    const SEED: [u8; 32] = [7; 32];
    const NOW: u64 = 1_795_000_000; // 2026-11-18
    const TENANT: Uuid = Uuid::from_u128(0x1111_2222_3333_4444_5555_6666_7777_8888);
    const ALICE: Uuid = Uuid::from_u128(0xa11ce);
    const CLIENT: &str = "04b07795-8ddb-461a-bbee-02f9e1bf7b46";

    /// One key for the tests that do not test generation (RSA key generation is the slow part).
    fn key() -> &'static SigningKey {
        static KEY: OnceLock<SigningKey> = OnceLock::new();
        KEY.get_or_init(|| SigningKey::from_seed(SEED).unwrap())
    }

    fn authority() -> Authority {
        Authority::new("https://127.0.0.1:41235/", TENANT)
    }

    fn service() -> TokenService {
        let pem = key().to_pkcs8_pem().unwrap();
        TokenService::new(SigningKey::from_pkcs8_pem(&pem).unwrap(), authority())
    }

    fn alice_grant() -> DelegatedGrant {
        DelegatedGrant {
            client_id: CLIENT.to_owned(),
            client_authenticated: false,
            audience: GRAPH_RESOURCE.to_owned(),
            user: TokenUser {
                oid: ALICE,
                upn: "helpdesk@contoso.onmicrosoft.example".to_owned(),
                name: "Helpdesk".to_owned(),
            },
            scopes: LAB_DELEGATED_SCOPES
                .iter()
                .map(|s| (*s).to_owned())
                .collect(),
            roles: vec![Role::Helpdesk],
            issued_at: NOW,
            lifetime_secs: DEFAULT_LIFETIME_SECS,
        }
    }

    fn delegated_token(svc: &TokenService) -> String {
        svc.sign(&AccessTokenClaims::delegated(
            svc.authority(),
            &alice_grant(),
        ))
        .unwrap()
    }

    #[test]
    fn token_sign_verify_round_trip() {
        let svc = service();
        let token = delegated_token(&svc);
        let claims = svc.verify(&token, NOW + 10, Some(GRAPH_RESOURCE)).unwrap();
        assert_eq!(claims.object_id(), Some(ALICE));
        assert_eq!(claims.tenant_id(), Some(TENANT));
        assert_eq!(claims.upn(), Some("helpdesk@contoso.onmicrosoft.example"));
        assert_eq!(claims.client_id(), Some(CLIENT));
        assert_eq!(claims.scopes(), LAB_DELEGATED_SCOPES.to_vec());
        assert_eq!(claims.admin_roles(), vec![Role::Helpdesk]);
        assert!(!claims.is_app_only());
        assert_eq!(
            claims.str("iss"),
            Some("https://127.0.0.1:41235/11112222-3333-4444-5555-666677778888/v2.0")
        );
        assert_eq!(claims.str("ver"), Some("2.0"));
        assert_eq!(claims.time("exp"), Some(NOW + 3600));
        assert_eq!(claims.str("uti").map(str::len), Some(22));
        assert_eq!(claims.str("sub").map(str::len), Some(43));
        // Any of several audiences; none checked.
        svc.verify_audiences(&token, NOW, &GRAPH_AUDIENCES).unwrap();
        svc.verify(&token, NOW, None).unwrap();

        // The header.
        let header = URL_SAFE_NO_PAD
            .decode(token.split('.').next().unwrap())
            .unwrap();
        let header: Value = serde_json::from_slice(&header).unwrap();
        assert_eq!(
            header,
            json!({"alg": "RS256", "typ": "JWT", "kid": svc.key().kid()})
        );
        // A plain JSON value signs too, and signing is deterministic.
        let value = json!({"iss": svc.authority().issuer(), "exp": NOW + 60, "aud": ["a", "b"]});
        let t1 = svc.sign(&value).unwrap();
        assert_eq!(t1, svc.sign(&value).unwrap());
        let claims = svc.verify(&t1, NOW, Some("b")).unwrap();
        assert_eq!(claims.audiences(), vec!["a", "b"]);
    }

    #[test]
    fn token_tampered_or_malformed_is_refused() {
        let svc = service();
        let token = delegated_token(&svc);
        let parts: Vec<&str> = token.split('.').collect();

        // A payload with a different oid under the original signature.
        let mut claims = AccessTokenClaims::delegated(svc.authority(), &alice_grant());
        claims.oid = Uuid::from_u128(0xbad).to_string();
        let forged_payload = URL_SAFE_NO_PAD.encode(serde_json::to_vec(&claims).unwrap());
        let forged = format!("{}.{forged_payload}.{}", parts[0], parts[2]);
        assert_eq!(
            svc.verify(&forged, NOW, None),
            Err(TokenError::BadSignature)
        );

        // One flipped signature character.
        let mut sig = parts[2].to_owned();
        let last = if sig.ends_with('A') { "B" } else { "A" };
        sig.replace_range(sig.len() - 1.., last);
        let flipped = format!("{}.{}.{sig}", parts[0], parts[1]);
        assert_eq!(
            svc.verify(&flipped, NOW, None),
            Err(TokenError::BadSignature)
        );

        // alg none, another alg, another kid.
        for (header, want) in [
            (
                json!({"alg": "none", "typ": "JWT"}),
                TokenError::UnsupportedAlgorithm("none".into()),
            ),
            (
                json!({"alg": "HS256", "typ": "JWT", "kid": svc.key().kid()}),
                TokenError::UnsupportedAlgorithm("HS256".into()),
            ),
            (
                json!({"alg": "RS256", "kid": "other"}),
                TokenError::UnknownKey("other".into()),
            ),
        ] {
            let h = URL_SAFE_NO_PAD.encode(header.to_string());
            let t = format!("{h}.{}.{}", parts[1], parts[2]);
            assert_eq!(svc.verify(&t, NOW, None), Err(want));
        }

        assert!(matches!(
            svc.verify("a.b", NOW, None),
            Err(TokenError::Malformed(_))
        ));
        assert!(matches!(
            svc.verify(&format!("{token}.x"), NOW, None),
            Err(TokenError::Malformed(_))
        ));
        assert!(matches!(
            svc.verify("!!.x.y", NOW, None),
            Err(TokenError::Malformed(_))
        ));
    }

    #[test]
    fn token_audience_time_and_issuer_are_checked() {
        let svc = service();
        let token = delegated_token(&svc);

        assert_eq!(
            svc.verify(&token, NOW, Some(GRAPH_APP_ID)),
            Err(TokenError::WrongAudience {
                found: vec![GRAPH_RESOURCE.to_owned()],
                expected: vec![GRAPH_APP_ID.to_owned()],
            })
        );

        let exp = NOW + DEFAULT_LIFETIME_SECS;
        // Within the skew: accepted; past it: expired.
        svc.verify(&token, exp + CLOCK_SKEW_SECS, None).unwrap();
        assert_eq!(
            svc.verify(&token, exp + CLOCK_SKEW_SECS + 1, None),
            Err(TokenError::Expired {
                exp,
                now: exp + CLOCK_SKEW_SECS + 1
            })
        );
        // Before nbf: within the skew accepted, earlier refused.
        svc.verify(&token, NOW - CLOCK_SKEW_SECS, None).unwrap();
        assert_eq!(
            svc.verify(&token, NOW - CLOCK_SKEW_SECS - 1, None),
            Err(TokenError::NotYetValid {
                nbf: NOW,
                now: NOW - CLOCK_SKEW_SECS - 1
            })
        );

        // Same key, another issuer.
        let other = TokenService::new(
            SigningKey::from_pkcs8_pem(&key().to_pkcs8_pem().unwrap()).unwrap(),
            authority().with_issuer_base("https://login.microsoftonline.com"),
        );
        assert!(matches!(
            other.verify(&token, NOW, None),
            Err(TokenError::WrongIssuer { .. })
        ));
        // No exp.
        let t = svc.sign(&json!({"iss": svc.authority().issuer()})).unwrap();
        assert_eq!(
            svc.verify(&t, NOW, None),
            Err(TokenError::MissingClaim("exp"))
        );
    }

    #[test]
    fn token_same_seed_same_key() {
        let a = SigningKey::from_seed(SEED).unwrap();
        assert_eq!(a.kid(), key().kid());
        assert_eq!(a.jwk(), key().jwk());
        assert_eq!(*a.to_pkcs8_pem().unwrap(), *key().to_pkcs8_pem().unwrap());
        // The same claims give the same token, byte for byte.
        let claims = AccessTokenClaims::delegated(&authority(), &alice_grant());
        assert_eq!(a.sign(&claims).unwrap(), key().sign(&claims).unwrap());
        // From an RNG: 32 bytes of it are the seed.
        let mut rng = ChaCha20Rng::from_seed(SEED);
        let mut seed = [0u8; 32];
        rng.fill_bytes(&mut seed);
        let mut rng = ChaCha20Rng::from_seed(SEED);
        let b = SigningKey::generate(&mut rng).unwrap();
        assert_eq!(b.kid(), SigningKey::from_seed(seed).unwrap().kid());
        assert_ne!(b.kid(), a.kid());
    }

    #[test]
    fn token_pem_round_trip() {
        let pem = key().to_pkcs8_pem().unwrap();
        assert!(pem.starts_with("-----BEGIN PRIVATE KEY-----\n"));
        assert!(pem.trim_end().ends_with("-----END PRIVATE KEY-----"));
        let back = SigningKey::from_pkcs8_pem(&pem).unwrap();
        assert_eq!(back.kid(), key().kid());
        // A token from the reloaded key verifies with the original.
        let t = back.sign(&json!({"x": 1})).unwrap();
        assert_eq!(
            key().verify_signature(&t).unwrap().get("x"),
            Some(&json!(1))
        );
        assert!(matches!(
            SigningKey::from_pkcs8_pem(
                "-----BEGIN PRIVATE KEY-----\nAAAA\n-----END PRIVATE KEY-----\n"
            ),
            Err(TokenError::Key(_))
        ));
        assert!(!format!("{back:?}").contains("PRIVATE"));
    }

    #[test]
    fn token_jwks_shape() {
        let k = key();
        let jwks = k.jwks();
        let keys = jwks["keys"].as_array().unwrap();
        assert_eq!(keys.len(), 1);
        let jwk = keys[0].as_object().unwrap();
        let mut names: Vec<&str> = jwk.keys().map(String::as_str).collect();
        names.sort_unstable();
        assert_eq!(names, ["alg", "e", "kid", "kty", "n", "use"]);
        assert_eq!(jwk["kty"], "RSA");
        assert_eq!(jwk["use"], "sig");
        assert_eq!(jwk["alg"], "RS256");
        assert_eq!(jwk["e"], "AQAB");
        assert_eq!(jwk["kid"], k.kid());
        let n = URL_SAFE_NO_PAD.decode(jwk["n"].as_str().unwrap()).unwrap();
        assert_eq!(n.len(), RSA_BITS / 8);
        assert!(n[0] >= 0x80, "full-size modulus, no leading zero");
        // kid = RFC 7638 thumbprint.
        let canonical = format!(
            r#"{{"e":"AQAB","kty":"RSA","n":"{}"}}"#,
            jwk["n"].as_str().unwrap()
        );
        assert_eq!(k.kid(), URL_SAFE_NO_PAD.encode(Sha256::digest(canonical)));
        assert_eq!(k.kid().len(), 43);
    }

    #[test]
    fn token_app_only_and_id_token_claims() {
        let svc = service();
        let sp = Uuid::from_u128(0x5e_7c1ce);
        let app = AccessTokenClaims::app_only(
            svc.authority(),
            &AppGrant {
                client_id: "lab-app".to_owned(),
                service_principal_id: sp,
                audience: GRAPH_RESOURCE.to_owned(),
                roles: LAB_APP_ROLES.iter().map(|s| (*s).to_owned()).collect(),
                issued_at: NOW,
                lifetime_secs: 600,
            },
        );
        let claims = svc
            .verify(&svc.sign(&app).unwrap(), NOW, Some(GRAPH_RESOURCE))
            .unwrap();
        assert!(claims.is_app_only());
        assert_eq!(claims.roles(), LAB_APP_ROLES.to_vec());
        assert!(claims.scopes().is_empty());
        assert_eq!(claims.object_id(), Some(sp));
        assert_eq!(claims.str("sub"), Some(sp.to_string().as_str()));
        assert_eq!(claims.str("idtyp"), Some("app"));
        assert_eq!(claims.time("exp"), Some(NOW + 600));
        for absent in ["scp", "upn", "wids", "name", "amr"] {
            assert!(claims.get(absent).is_none(), "{absent}");
        }

        let grant = alice_grant();
        let id = IdTokenClaims::new(
            svc.authority(),
            &IdTokenGrant {
                client_id: CLIENT.to_owned(),
                user: grant.user.clone(),
                nonce: Some("n-0S6".to_owned()),
                issued_at: NOW,
                lifetime_secs: DEFAULT_LIFETIME_SECS,
            },
        );
        let claims = svc
            .verify(&svc.sign(&id).unwrap(), NOW, Some(CLIENT))
            .unwrap();
        assert_eq!(claims.str("nonce"), Some("n-0S6"));
        assert_eq!(
            claims.str("preferred_username"),
            Some(grant.user.upn.as_str())
        );
        // The id token's sub is the access token's (same user, same client).
        let access = AccessTokenClaims::delegated(svc.authority(), &grant);
        assert_eq!(claims.str("sub"), Some(access.sub.as_str()));
        let no_nonce = IdTokenClaims { nonce: None, ..id };
        assert!(
            serde_json::to_value(&no_nonce)
                .unwrap()
                .get("nonce")
                .is_none()
        );

        // client_info decodes to uid/utid.
        let info = URL_SAFE_NO_PAD.decode(client_info(ALICE, TENANT)).unwrap();
        let info: Value = serde_json::from_slice(&info).unwrap();
        assert_eq!(
            info,
            json!({"uid": ALICE.to_string(), "utid": TENANT.to_string()})
        );
        let resp =
            serde_json::to_value(TokenResponse::bearer("t".into(), "s".into(), 3600)).unwrap();
        assert_eq!(
            resp,
            json!({"token_type": "Bearer", "scope": "s", "expires_in": 3600,
                   "ext_expires_in": 3600, "access_token": "t"})
        );
    }

    #[test]
    fn token_role_templates() {
        assert_eq!(
            role_template_id(Role::Global),
            "62e90394-69f5-4237-9190-012177145e10"
        );
        for role in Role::ALL {
            let id = role_template_id(role);
            assert_eq!(id.len(), 36, "{role:?}");
            assert_eq!(role_from_template_id(&id.to_uppercase()), Some(role));
            let (_, name, _) = ROLE_TEMPLATES.iter().find(|(r, _, _)| *r == role).unwrap();
            assert_eq!(*name, role.name());
        }
        assert_eq!(
            role_from_template_id("b79fbf4d-3ef9-4689-8143-76b194e85509"),
            None
        );
    }

    #[test]
    fn token_scope_parsing() {
        let s = ScopeRequest::parse(
            "https://graph.microsoft.com/.default offline_access openid profile",
        )
        .unwrap();
        assert_eq!(s.resource, GRAPH_RESOURCE);
        assert!(s.is_default() && s.is_graph() && s.openid && s.offline_access);
        assert_eq!(
            s.response_scope(),
            "https://graph.microsoft.com/.default offline_access openid profile"
        );
        let s = ScopeRequest::parse("00000003-0000-0000-c000-000000000000/.default").unwrap();
        assert_eq!(s.resource, GRAPH_APP_ID);
        assert!(s.is_default() && s.is_graph() && !s.openid);
        let s = ScopeRequest::parse("User.Read  User.Read openid").unwrap();
        assert_eq!(s.resource, GRAPH_RESOURCE);
        assert_eq!(s.permissions, ["User.Read"]);
        assert!(!s.is_default());
        assert_eq!(s.response_scope(), "User.Read openid");
        let s = ScopeRequest::parse("openid profile").unwrap();
        assert!(s.is_graph() && s.permissions.is_empty());
        let s = ScopeRequest::parse("api://lab-relay/.default").unwrap();
        assert_eq!(s.resource, "api://lab-relay");
        assert!(!s.is_graph());

        assert_eq!(
            ScopeRequest::parse("  "),
            Err(AadError::MissingParameter {
                name: "scope".into()
            })
        );
        assert_eq!(
            ScopeRequest::parse("https://graph.microsoft.com/User.Read api://x/.default")
                .unwrap_err()
                .code(),
            70011
        );
    }

    #[test]
    fn token_discovery_document() {
        let a = authority();
        let doc = openid_configuration(&a, "contoso.onmicrosoft.example");
        let base = "https://127.0.0.1:41235/11112222-3333-4444-5555-666677778888";
        assert_eq!(doc["issuer"], format!("{base}/v2.0"));
        assert_eq!(doc["token_endpoint"], format!("{base}/oauth2/v2.0/token"));
        assert_eq!(doc["token_endpoint"], a.token_endpoint());
        assert_eq!(
            doc["authorization_endpoint"],
            format!("{base}/oauth2/v2.0/authorize")
        );
        assert_eq!(doc["authorization_endpoint"], a.authorization_endpoint());
        assert_eq!(doc["jwks_uri"], format!("{base}/discovery/v2.0/keys"));
        assert_eq!(doc["jwks_uri"], a.jwks_uri());
        assert_eq!(
            doc["id_token_signing_alg_values_supported"],
            json!(["RS256"])
        );
        assert_eq!(doc["tenant_region_scope"], "WW");
        assert_eq!(doc["cloud_instance_name"], "microsoftonline.com");
        // The tenant id in the path gives the same document.
        assert_eq!(doc, openid_configuration(&a, &TENANT.to_string()));
        // common: endpoints keep the segment, issuer has the placeholder.
        let common = openid_configuration(&a, "common");
        assert_eq!(
            common["token_endpoint"],
            "https://127.0.0.1:41235/common/oauth2/v2.0/token"
        );
        assert_eq!(common["issuer"], "https://127.0.0.1:41235/{tenantid}/v2.0");
        // Every endpoint is https (MSAL refuses anything else).
        for field in [
            "token_endpoint",
            "authorization_endpoint",
            "jwks_uri",
            "issuer",
        ] {
            assert!(
                doc[field].as_str().unwrap().starts_with("https://"),
                "{field}"
            );
        }

        let inst = instance_discovery(
            &a,
            Some("https://127.0.0.1/contoso.onmicrosoft.example/oauth2/v2.0/authorize"),
        );
        assert_eq!(
            inst["tenant_discovery_endpoint"],
            "https://127.0.0.1:41235/contoso.onmicrosoft.example/v2.0/.well-known/openid-configuration"
        );
        assert_eq!(
            inst["metadata"][0]["aliases"],
            json!(["127.0.0.1:41235", "127.0.0.1"])
        );
        assert_eq!(
            instance_discovery(&a, None)["tenant_discovery_endpoint"],
            "https://127.0.0.1:41235/common/v2.0/.well-known/openid-configuration"
        );

        let realm = user_realm(
            "alice@contoso.lab",
            Some("contoso.lab"),
            UserRealmVersion::V1,
        );
        assert_eq!(
            realm,
            json!({"ver": "1.0", "account_type": "Managed", "domain_name": "contoso.lab",
                   "cloud_instance_name": "microsoftonline.com",
                   "cloud_audience_urn": "urn:federation:MicrosoftOnline"})
        );
        assert_eq!(
            user_realm("x@nowhere.example", None, UserRealmVersion::V1)["account_type"],
            "Unknown"
        );
        let v2 = user_realm(
            "alice@contoso.lab",
            Some("contoso.lab"),
            UserRealmVersion::V2,
        );
        assert_eq!(v2["NameSpaceType"], "Managed");
        assert_eq!(v2["Login"], "alice@contoso.lab");
    }

    #[test]
    fn token_aadsts_body_shape() {
        let ctx = ErrorContext {
            now_secs: 1_452_304_932, // 2016-01-09 02:02:12Z, the docs' example
            trace_id: Uuid::from_u128(1),
            correlation_id: Uuid::from_u128(2),
        };
        let body = AadError::InvalidCredentials.body(&ctx);
        assert_eq!(body["error"], "invalid_grant");
        assert_eq!(body["error_codes"], json!([50126]));
        assert_eq!(body["timestamp"], "2016-01-09 02:02:12Z");
        assert_eq!(body["trace_id"], "00000000-0000-0000-0000-000000000001");
        assert_eq!(
            body["correlation_id"],
            "00000000-0000-0000-0000-000000000002"
        );
        assert_eq!(
            body["error_uri"],
            "https://login.microsoftonline.com/error?code=50126"
        );
        assert_eq!(
            body["error_description"],
            "AADSTS50126: Error validating credentials due to invalid username or password.\r\n\
             Trace ID: 00000000-0000-0000-0000-000000000001\r\n\
             Correlation ID: 00000000-0000-0000-0000-000000000002\r\n\
             Timestamp: 2016-01-09 02:02:12Z"
        );
        assert_eq!(AadError::InvalidCredentials.status(), 400);

        let secret = AadError::InvalidClientSecret {
            client_id: "app".into(),
        };
        assert_eq!(
            (secret.status(), secret.error(), secret.code()),
            (401, "invalid_client", 7_000_215)
        );
        let missing = AadError::UserNotFound { tenant_id: TENANT };
        assert!(missing.to_string().starts_with(
            "AADSTS50034: The user account {EUII Hidden} does not exist in the 11112222-"
        ));
        // Every description starts with its own code, and nothing answers 5xx.
        let all = [
            AadError::InvalidCredentials,
            missing,
            AadError::AccountLocked,
            AadError::PasswordExpired,
            AadError::UserDisabled,
            secret,
            AadError::MissingClientSecret,
            AadError::PublicClientWithSecret,
            AadError::ClientNotFound {
                client_id: "c".into(),
                tenant: "t".into(),
            },
            AadError::UnsupportedGrantType {
                grant_type: "implicit".into(),
            },
            AadError::InvalidScope { scope: "x".into() },
            AadError::IncompatibleScopes {
                scope: "x y".into(),
            },
            AadError::DefaultScopeRequired {
                scope: "User.Read".into(),
            },
            AadError::ResourceNotFound {
                resource: "r".into(),
                tenant: "t".into(),
            },
            AadError::MissingParameter {
                name: "grant_type".into(),
            },
            AadError::TenantNotFound { tenant: "t".into() },
            AadError::DiscoveryTenantNotFound { tenant: "t".into() },
        ];
        for e in &all {
            assert!(
                e.to_string().starts_with(&format!("AADSTS{}: ", e.code())),
                "{e}"
            );
            assert!(matches!(e.status(), 400 | 401), "{e}");
        }
        assert_eq!(all[15].error(), "invalid_request");
        assert_eq!(all[16].error(), "invalid_tenant");
    }

    #[test]
    fn token_timestamps() {
        assert_eq!(format_timestamp(0), "1970-01-01 00:00:00Z");
        assert_eq!(format_timestamp(951_782_400), "2000-02-29 00:00:00Z");
        assert_eq!(format_timestamp(4_107_542_399), "2100-02-28 23:59:59Z");
        assert_eq!(format_timestamp(1_795_000_000), "2026-11-18 11:06:40Z");
    }
}
