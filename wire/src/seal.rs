//! Passwords sealed to one agent's key: X25519-HKDF-SHA256 + AES-256-GCM (DESIGN §4), the lab's
//! stand-in for the product's RSA-2048 + AES-GCM (facts §1.2).
//!
//! To seal [`Secrets`] for job `job_id` to the agent public key `A`, the cloud:
//! 1. draws an ephemeral X25519 key `e` (public `E`) from its RNG and computes `Z = X25519(e, A)`,
//!    refusing an all-zero `Z` (a low-order `A`);
//! 2. derives `K = HKDF-SHA256(ikm = Z, salt = E || A, info = "sspr-lab/wire/v1" || job_id)`, 32
//!    bytes — the job id in the info binds the key to the job;
//! 3. draws a 12-byte nonce `N` and encrypts the JSON `{"new_password":…,"old_password":…}`
//!    with AES-256-GCM under `K`, `N`, AAD = `job_id`: `ct` = ciphertext || 16-byte tag;
//! 4. sends [`Sealed`] `{ v: 1, epk: E, nonce: N, ct }`, byte fields in standard base64.
//!
//! The agent recomputes `Z = X25519(a, E)` with its static secret `a` and reverses the steps. A
//! wrong key, another job's id, or any flipped bit fails the tag check with the same
//! [`SealError::Decrypt`], which says nothing about which.
//!
//! Randomness comes from the caller (`&mut impl rand_core::CryptoRng`, rand_core 0.10: the same
//! trait the runtime's ChaCha8 streams and x25519-dalek 3 use), so simulate mode seals
//! deterministically. No OS randomness, no clock.
//!
//! Secrets stay secret: [`Secrets`] holds `SecretString`s (zeroed on drop, `[REDACTED]` in
//! `Debug`); the plaintext JSON buffer, the shared secret and the derived key are zeroed after use;
//! errors never quote plaintext. (serde_json's internal scratch buffer, used only for passwords
//! with JSON escapes, is beyond reach: best effort.)

use aes_gcm::aead::{AeadInOut, KeyInit};
use aes_gcm::{Aes256Gcm, Key};
use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use hkdf::Hkdf;
use rand_core::CryptoRng;
use secrecy::{ExposeSecret, SecretString};
use serde::{Deserialize, Serialize};
use sha2::Sha256;
use x25519_dalek::{EphemeralSecret, PublicKey, StaticSecret};
use zeroize::Zeroizing;

use crate::types::Invalid;

/// The version of the sealing format, [`Sealed::v`].
pub const SEAL_VERSION: u8 = 1;

/// The fixed first part of the HKDF info; the job id follows it.
pub const HKDF_INFO_PREFIX: &[u8] = b"sspr-lab/wire/v1";

/// The longest password either field may hold, in UTF-8 bytes: 256 characters (the AD and Entra
/// cap) of up to 4 bytes each.
pub const MAX_PASSWORD_BYTES: usize = 1024;

/// The longest ciphertext [`open`] accepts, in bytes (two maximal passwords, JSON-escaped, plus
/// the tag, with room to spare).
const MAX_CT_BYTES: usize = 16 * 1024;

const TAG_BYTES: usize = 16;

/// Why sealing or opening failed. Never carries plaintext.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum SealError {
    /// [`Sealed::v`] is a version this build does not know.
    #[error("unsupported sealing version {0}")]
    UnsupportedVersion(u8),
    /// A field is not valid base64 or has the wrong length.
    #[error("malformed sealed field `{0}`")]
    Malformed(&'static str),
    /// A public key is of low order (the shared secret would be zero); refused on both sides.
    #[error("weak X25519 public key")]
    WeakKey,
    /// A password is longer than [`MAX_PASSWORD_BYTES`].
    #[error("password longer than {MAX_PASSWORD_BYTES} bytes")]
    TooLong,
    /// Authentication failed: wrong key, wrong job id, or tampered data.
    #[error("sealed secrets do not open with this key for this job")]
    Decrypt,
    /// The plaintext opened but is not the expected JSON (or does not fit the job's kind).
    #[error("sealed payload is not valid secrets")]
    Payload,
}

/// The secrets of one job: the new password and, for a change, the old one. Sealed as the JSON
/// object `{"new_password": "…", "old_password": "…"}` (`old_password` left out when absent).
#[derive(Clone, Debug)]
pub struct Secrets {
    /// The new password.
    pub new_password: SecretString,
    /// The current password, for a change; `None` for a reset.
    pub old_password: Option<SecretString>,
}

impl Secrets {
    /// Secrets of a reset (no old password).
    pub fn reset(new_password: SecretString) -> Self {
        Self {
            new_password,
            old_password: None,
        }
    }

    /// Secrets of a change.
    pub fn change(old_password: SecretString, new_password: SecretString) -> Self {
        Self {
            new_password,
            old_password: Some(old_password),
        }
    }
}

/// A sealed [`Secrets`], as it travels in [`crate::types::Job::sealed`].
#[derive(Clone, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct Sealed {
    /// The sealing format's version, [`SEAL_VERSION`].
    pub v: u8,
    /// The cloud's ephemeral X25519 public key, 32 bytes, standard base64.
    pub epk: String,
    /// The AES-GCM nonce, 12 bytes, standard base64.
    pub nonce: String,
    /// The AES-256-GCM ciphertext followed by its 16-byte tag, standard base64.
    pub ct: String,
}

/// An agent's X25519 static key pair. The agent generates it once, persists [`AgentKey::to_bytes`]
/// in its state directory and registers [`AgentKey::public_base64`]. `Debug` shows only the
/// public key; the secret is zeroed on drop.
#[derive(Clone)]
pub struct AgentKey {
    secret: StaticSecret,
    public: PublicKey,
}

impl AgentKey {
    /// A new key pair from `rng`.
    pub fn generate(rng: &mut impl CryptoRng) -> Self {
        Self::from_secret(StaticSecret::random_from_rng(rng))
    }

    /// The key pair of a persisted secret (as [`AgentKey::to_bytes`] gave it).
    pub fn from_bytes(secret: [u8; 32]) -> Self {
        Self::from_secret(StaticSecret::from(secret))
    }

    fn from_secret(secret: StaticSecret) -> Self {
        let public = PublicKey::from(&secret);
        Self { secret, public }
    }

    /// The 32 secret bytes to persist; zeroed when the returned value drops.
    pub fn to_bytes(&self) -> Zeroizing<[u8; 32]> {
        Zeroizing::new(self.secret.to_bytes())
    }

    /// The public key's 32 bytes.
    pub fn public(&self) -> [u8; 32] {
        self.public.to_bytes()
    }

    /// The public key in standard base64, as [`crate::types::RegisterRequest::public_key`] wants.
    pub fn public_base64(&self) -> String {
        STANDARD.encode(self.public.as_bytes())
    }
}

impl std::fmt::Debug for AgentKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AgentKey")
            .field("public", &self.public_base64())
            .finish_non_exhaustive()
    }
}

/// Decodes a base64 X25519 public key (standard alphabet, padded) and refuses a wrong length or a
/// low-order point; what the cloud checks at registration.
pub fn decode_public_key(b64: &str) -> Result<[u8; 32], Invalid> {
    let bytes = decode_exact::<32>(b64).ok_or(Invalid {
        field: "public_key",
        problem: "must be 32 bytes in standard base64",
    })?;
    if is_weak_public_key(&bytes) {
        return Err(Invalid {
            field: "public_key",
            problem: "is a low-order point",
        });
    }
    Ok(bytes)
}

/// Whether `public` is a low-order point, for which every shared secret is zero. (X25519 clamps
/// every scalar to a multiple of 8, so any scalar exposes them.)
pub fn is_weak_public_key(public: &[u8; 32]) -> bool {
    x25519_dalek::x25519([1u8; 32], *public) == [0u8; 32]
}

/// Seals `secrets` for job `job_id` to `agent_public`, drawing the ephemeral key (32 bytes) and
/// then the nonce (12 bytes) from `rng`.
pub fn seal(
    agent_public: &[u8; 32],
    job_id: &str,
    secrets: &Secrets,
    rng: &mut impl CryptoRng,
) -> Result<Sealed, SealError> {
    let new = secrets.new_password.expose_secret();
    let old = secrets.old_password.as_ref().map(|s| s.expose_secret());
    if new.len() > MAX_PASSWORD_BYTES || old.is_some_and(|o| o.len() > MAX_PASSWORD_BYTES) {
        return Err(SealError::TooLong);
    }
    let agent = PublicKey::from(*agent_public);
    let ephemeral = EphemeralSecret::random_from_rng(rng);
    let epk = PublicKey::from(&ephemeral);
    let shared = ephemeral.diffie_hellman(&agent);
    if !shared.was_contributory() {
        return Err(SealError::WeakKey);
    }
    let cipher = cipher(shared.as_bytes(), epk.as_bytes(), agent_public, job_id);
    let mut nonce = [0u8; 12];
    rng.fill_bytes(&mut nonce);

    // The JSON is written into a buffer large enough that it never reallocates (each char is at
    // most 6 bytes escaped), so no copy of the plaintext is left behind unzeroed.
    let capacity = 6 * (new.len() + old.map_or(0, str::len)) + 64 + TAG_BYTES;
    let mut buf = Zeroizing::new(Vec::with_capacity(capacity));
    serde_json::to_writer(
        &mut *buf,
        &SecretsOut {
            new_password: new,
            old_password: old,
        },
    )
    .map_err(|_| SealError::Payload)?;
    let tag = cipher
        .encrypt_inout_detached(&nonce.into(), job_id.as_bytes(), buf.as_mut_slice().into())
        .map_err(|_| SealError::TooLong)?;
    buf.extend_from_slice(&tag);
    Ok(Sealed {
        v: SEAL_VERSION,
        epk: STANDARD.encode(epk.as_bytes()),
        nonce: STANDARD.encode(nonce),
        ct: STANDARD.encode(&*buf),
    })
}

/// Opens `sealed` for job `job_id` with the agent's key.
pub fn open(agent: &AgentKey, job_id: &str, sealed: &Sealed) -> Result<Secrets, SealError> {
    if sealed.v != SEAL_VERSION {
        return Err(SealError::UnsupportedVersion(sealed.v));
    }
    let epk = decode_exact::<32>(&sealed.epk).ok_or(SealError::Malformed("epk"))?;
    let nonce = decode_exact::<12>(&sealed.nonce).ok_or(SealError::Malformed("nonce"))?;
    if sealed.ct.len() > MAX_CT_BYTES.div_ceil(3) * 4 {
        return Err(SealError::Malformed("ct"));
    }
    let mut buf = Zeroizing::new(
        STANDARD
            .decode(&sealed.ct)
            .map_err(|_| SealError::Malformed("ct"))?,
    );
    if buf.len() < TAG_BYTES {
        return Err(SealError::Malformed("ct"));
    }
    let shared = agent.secret.diffie_hellman(&PublicKey::from(epk));
    if !shared.was_contributory() {
        return Err(SealError::WeakKey);
    }
    let cipher = cipher(shared.as_bytes(), &epk, agent.public.as_bytes(), job_id);
    let split = buf.len() - TAG_BYTES;
    let (msg, tag) = buf.split_at_mut(split);
    let tag: [u8; TAG_BYTES] = (&*tag).try_into().map_err(|_| SealError::Decrypt)?;
    cipher
        .decrypt_inout_detached(&nonce.into(), job_id.as_bytes(), msg.into(), &tag.into())
        .map_err(|_| SealError::Decrypt)?;
    let secrets: SecretsIn = serde_json::from_slice(msg).map_err(|_| SealError::Payload)?;
    let secrets = Secrets {
        new_password: secrets.new_password.0,
        old_password: secrets.old_password.map(|s| s.0),
    };
    let too_long = |s: &SecretString| s.expose_secret().len() > MAX_PASSWORD_BYTES;
    if too_long(&secrets.new_password) || secrets.old_password.as_ref().is_some_and(too_long) {
        return Err(SealError::TooLong);
    }
    Ok(secrets)
}

/// The AES-256-GCM cipher of one job: key = HKDF-SHA256(Z, salt = E || A, info = prefix || job).
fn cipher(shared: &[u8; 32], epk: &[u8; 32], agent: &[u8; 32], job_id: &str) -> Aes256Gcm {
    let mut salt = [0u8; 64];
    salt[..32].copy_from_slice(epk);
    salt[32..].copy_from_slice(agent);
    let hk = Hkdf::<Sha256>::new(Some(&salt), shared);
    let mut okm = Zeroizing::new([0u8; 32]);
    hk.expand_multi_info(&[HKDF_INFO_PREFIX, job_id.as_bytes()], &mut *okm)
        .expect("32 bytes is a valid HKDF-SHA256 output length");
    let key = <&Key<Aes256Gcm>>::try_from(&okm[..]).expect("the key is 32 bytes");
    Aes256Gcm::new(key)
}

fn decode_exact<const N: usize>(b64: &str) -> Option<[u8; N]> {
    if b64.len() > N.div_ceil(3) * 4 {
        return None;
    }
    STANDARD.decode(b64).ok()?.try_into().ok()
}

/// The plaintext JSON, as written.
#[derive(Serialize)]
struct SecretsOut<'a> {
    new_password: &'a str,
    #[serde(skip_serializing_if = "Option::is_none")]
    old_password: Option<&'a str>,
}

/// The plaintext JSON, as read: each password goes straight into a `SecretString`.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct SecretsIn {
    new_password: SecretField,
    #[serde(default)]
    old_password: Option<SecretField>,
}

struct SecretField(SecretString);

impl<'de> Deserialize<'de> for SecretField {
    fn deserialize<D: serde::Deserializer<'de>>(de: D) -> Result<Self, D::Error> {
        crate::types::secret_string::deserialize(de).map(SecretField)
    }
}
