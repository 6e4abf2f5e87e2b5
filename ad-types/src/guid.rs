//! GUIDs in AD's byte order: objectGUID is stored and sent in the mixed-endian order of
//! Windows' GUID structure, which `uuid`'s `_le` functions produce.

use uuid::Uuid;

/// The 16 bytes AD stores for `guid` (mixed-endian).
pub fn to_ad_bytes(guid: &Uuid) -> [u8; 16] {
    guid.to_bytes_le()
}

/// The GUID of AD's 16 stored bytes, or `None` if there are not 16.
pub fn from_ad_bytes(b: &[u8]) -> Option<Uuid> {
    <[u8; 16]>::try_from(b).ok().map(Uuid::from_bytes_le)
}

/// An LDAP filter value for `objectGUID=<guid>`: each byte escaped as `\xx`.
pub fn filter_escape(guid: &Uuid) -> String {
    to_ad_bytes(guid)
        .iter()
        .map(|b| format!("\\{b:02x}"))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn mixed_endian_order() {
        let g: Uuid = "00299570-246d-11d0-a768-00aa006e0529".parse().unwrap();
        let b = to_ad_bytes(&g);
        assert_eq!(&b[..4], &[0x70, 0x95, 0x29, 0x00]);
        assert_eq!(from_ad_bytes(&b), Some(g));
        assert!(filter_escape(&g).starts_with("\\70\\95"));
    }
}
