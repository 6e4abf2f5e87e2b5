//! Security identifiers (MS-DTYP 2.4.2): parse, print and the binary form AD stores.

use std::fmt;
use std::str::FromStr;

/// A security identifier such as `S-1-5-21-1-2-3-500`.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Sid {
    /// The 48-bit identifier authority (5 = NT AUTHORITY).
    pub authority: u64,
    /// The sub-authorities, the last of which is the RID for account SIDs.
    pub sub: Vec<u32>,
}

/// A SID string or binary value that could not be parsed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("not a SID: {0}")]
pub struct SidError(pub String);

impl Sid {
    /// A domain account SID: this domain SID with `rid` appended.
    pub fn with_rid(&self, rid: u32) -> Sid {
        let mut sub = self.sub.clone();
        sub.push(rid);
        Sid {
            authority: self.authority,
            sub,
        }
    }

    /// The last sub-authority (the RID of an account SID).
    pub fn rid(&self) -> Option<u32> {
        self.sub.last().copied()
    }

    /// The binary form (revision 1, big-endian authority, little-endian sub-authorities).
    pub fn to_bytes(&self) -> Vec<u8> {
        let mut b = Vec::with_capacity(8 + 4 * self.sub.len());
        b.push(1);
        b.push(self.sub.len() as u8);
        b.extend_from_slice(&self.authority.to_be_bytes()[2..]);
        for s in &self.sub {
            b.extend_from_slice(&s.to_le_bytes());
        }
        b
    }

    /// Parses the binary form.
    pub fn from_bytes(b: &[u8]) -> Result<Sid, SidError> {
        let bad = || SidError(format!("{} bytes", b.len()));
        if b.len() < 8 || b[0] != 1 {
            return Err(bad());
        }
        let n = b[1] as usize;
        if n > 15 || b.len() != 8 + 4 * n {
            return Err(bad());
        }
        let mut auth = [0u8; 8];
        auth[2..].copy_from_slice(&b[2..8]);
        let sub = b[8..]
            .chunks_exact(4)
            .map(|c| u32::from_le_bytes([c[0], c[1], c[2], c[3]]))
            .collect();
        Ok(Sid {
            authority: u64::from_be_bytes(auth),
            sub,
        })
    }
}

impl fmt::Display for Sid {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "S-1-{}", self.authority)?;
        for s in &self.sub {
            write!(f, "-{s}")?;
        }
        Ok(())
    }
}

impl FromStr for Sid {
    type Err = SidError;

    fn from_str(s: &str) -> Result<Sid, SidError> {
        let bad = || SidError(s.to_string());
        let rest = s
            .strip_prefix("S-1-")
            .or_else(|| s.strip_prefix("s-1-"))
            .ok_or_else(bad)?;
        let mut parts = rest.split('-');
        let authority: u64 = parts.next().ok_or_else(bad)?.parse().map_err(|_| bad())?;
        if authority >= 1 << 48 {
            return Err(bad());
        }
        let sub = parts
            .map(|p| p.parse::<u32>().map_err(|_| bad()))
            .collect::<Result<Vec<_>, _>>()?;
        if sub.len() > 15 {
            return Err(bad());
        }
        Ok(Sid { authority, sub })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn string_and_binary_round_trip() {
        let s: Sid = "S-1-5-21-3623811015-3361044348-30300820-1013"
            .parse()
            .unwrap();
        assert_eq!(s.rid(), Some(1013));
        let b = s.to_bytes();
        assert_eq!(&b[..8], &[1, 5, 0, 0, 0, 0, 0, 5]);
        assert_eq!(Sid::from_bytes(&b).unwrap(), s);
        assert_eq!(
            s.to_string(),
            "S-1-5-21-3623811015-3361044348-30300820-1013"
        );
        assert!("S-1-x".parse::<Sid>().is_err());
        assert!(Sid::from_bytes(&[1, 2, 0]).is_err());
    }
}
