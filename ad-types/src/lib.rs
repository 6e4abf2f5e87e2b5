//! Active Directory's vocabulary, with no I/O: SIDs, GUIDs in AD's byte order, FILETIME,
//! unicodePwd encoding and the NT hash, and AD's diagnostic strings.

pub mod access;
pub mod diag;
pub mod guid;
pub mod password;
pub mod rights;
pub mod sd;
pub mod sddl;
pub mod sid;

pub use sid::Sid;
