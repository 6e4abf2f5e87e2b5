//! fake-ad: an in-process fake Active Directory. Forests, domains and domain controllers, each
//! DC with its own copy of the directory; the AD behaviour a password writeback meets; and an
//! LDAP server (LDAP, StartTLS, LDAPS) that real clients such as ldapsearch talk to.

pub mod bootstrap;
pub mod ctx;
pub mod dit;
pub mod dn;
pub mod domain;
pub mod entry;
pub mod error;
pub mod fgpp;
pub mod filter;
pub mod gate;
pub mod gpo;
pub mod ldap;
pub mod ldif;
pub mod ops;
pub mod password;
pub mod policy;
pub mod propagation;
pub mod refusal;
pub mod replication;
pub mod schema;
pub mod sdprop;
pub mod search;
pub mod security;
pub mod store;
pub mod value;

pub use domain::{Dc, Domain};
pub use error::DirError;
pub use store::{Durability, MemStore, SqliteStore, Store};
