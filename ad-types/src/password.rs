//! unicodePwd on the wire (a quoted UTF-16LE string) and the NT hash AD keeps instead.
//! MD4 is here for AD fidelity only; it is broken as a security measure.

use md4::{Digest, Md4};

/// The NT one-way function of a password: MD4 of its UTF-16LE bytes.
#[derive(Clone, Copy, PartialEq, Eq, Hash)]
pub struct NtHash(pub [u8; 16]);

impl std::fmt::Debug for NtHash {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("NtHash(..)")
    }
}

impl NtHash {
    /// The NT hash of `password`.
    pub fn of(password: &str) -> NtHash {
        let mut h = Md4::new();
        for u in password.encode_utf16() {
            h.update(u.to_le_bytes());
        }
        NtHash(h.finalize().into())
    }

    /// Lower-case hex, for storage.
    pub fn to_hex(&self) -> String {
        const HEX: &[u8; 16] = b"0123456789abcdef";
        let mut s = String::with_capacity(32);
        for b in self.0 {
            s.push(HEX[(b >> 4) as usize] as char);
            s.push(HEX[(b & 15) as usize] as char);
        }
        s
    }

    /// Parses 32 hex digits.
    pub fn from_hex(s: &str) -> Option<NtHash> {
        if s.len() != 32 {
            return None;
        }
        let mut out = [0u8; 16];
        for (i, o) in out.iter_mut().enumerate() {
            *o = u8::from_str_radix(s.get(2 * i..2 * i + 2)?, 16).ok()?;
        }
        Some(NtHash(out))
    }
}

/// Why a unicodePwd value was refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum UnicodePwdError {
    /// An odd number of bytes: not UTF-16.
    #[error("odd length")]
    OddLength,
    /// Not valid UTF-16.
    #[error("not UTF-16LE")]
    NotUtf16,
    /// Not wrapped in double quotes.
    #[error("not quoted")]
    NotQuoted,
}

/// Encodes `password` as a unicodePwd value: `"password"` in UTF-16LE.
pub fn encode_unicode_pwd(password: &str) -> Vec<u8> {
    format!("\"{password}\"")
        .encode_utf16()
        .flat_map(u16::to_le_bytes)
        .collect()
}

/// Decodes a unicodePwd value to the password between the quotes.
pub fn decode_unicode_pwd(value: &[u8]) -> Result<String, UnicodePwdError> {
    if !value.len().is_multiple_of(2) {
        return Err(UnicodePwdError::OddLength);
    }
    let units: Vec<u16> = value
        .chunks_exact(2)
        .map(|c| u16::from_le_bytes([c[0], c[1]]))
        .collect();
    let s = String::from_utf16(&units).map_err(|_| UnicodePwdError::NotUtf16)?;
    s.strip_prefix('"')
        .and_then(|s| s.strip_suffix('"'))
        .map(str::to_string)
        .ok_or(UnicodePwdError::NotQuoted)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn known_nt_hash() {
        assert_eq!(
            NtHash::of("Pa$$w0rd").to_hex(),
            "92937945b518814341de3f726500d4ff"
        );
        let h = NtHash::of("x");
        assert_eq!(NtHash::from_hex(&h.to_hex()), Some(h));
    }

    #[test]
    fn unicode_pwd_round_trip_and_refusals() {
        let v = encode_unicode_pwd("Secret-1");
        assert_eq!(decode_unicode_pwd(&v).unwrap(), "Secret-1");
        assert_eq!(
            decode_unicode_pwd(b"Secret"),
            Err(UnicodePwdError::NotQuoted)
        );
        assert_eq!(decode_unicode_pwd(b"abc"), Err(UnicodePwdError::OddLength));
        // UTF-8 quoted text is the classic client mistake: it decodes to garbage, not quotes.
        assert!(decode_unicode_pwd(b"\"Secret-1\"").is_err());
    }
}
