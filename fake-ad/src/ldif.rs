//! LDIF (todo)
