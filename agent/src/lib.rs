//! The real password writeback agent: relay client, LDAP writer and configuration commands.
//! Filled by issue [E]; it holds no behaviour yet.
