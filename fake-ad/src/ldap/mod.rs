//! The LDAP server: a listener loop per port (plain LDAP with StartTLS, or LDAPS), one task per
//! connection, and a session that turns each request into a [`session::Response`].

pub mod controls;
pub mod rootdse;
pub mod server;
pub mod session;
pub mod stream;

pub use server::{Mode, serve};
