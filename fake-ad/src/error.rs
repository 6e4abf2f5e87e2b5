//! What a directory operation can fail with, each variant carrying what AD would say: the LDAP
//! result code it maps to and the diagnostic text.

use ad_types::diag;

/// LDAP result codes fake-ad answers with (RFC 4511 §4.1.9).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ResultCode {
    /// 1
    OperationsError = 1,
    /// 2
    ProtocolError = 2,
    /// 4
    SizeLimitExceeded = 4,
    /// 12
    UnavailableCriticalExtension = 12,
    /// 16
    NoSuchAttribute = 16,
    /// 17
    UndefinedAttributeType = 17,
    /// 18
    InappropriateMatching = 18,
    /// 19
    ConstraintViolation = 19,
    /// 20
    AttributeOrValueExists = 20,
    /// 21
    InvalidAttributeSyntax = 21,
    /// 32
    NoSuchObject = 32,
    /// 34
    InvalidDnSyntax = 34,
    /// 49
    InvalidCredentials = 49,
    /// 50
    InsufficientAccessRights = 50,
    /// 53
    UnwillingToPerform = 53,
    /// 64
    NamingViolation = 64,
    /// 65
    ObjectClassViolation = 65,
    /// 66
    NotAllowedOnNonLeaf = 66,
    /// 68
    EntryAlreadyExists = 68,
    /// 80
    Other = 80,
}

/// A refused or failed directory operation.
#[derive(Debug, Clone, thiserror::Error)]
pub enum DirError {
    /// The bound principal may not do this (no bind, or a missing right).
    #[error("operations error: {0}")]
    NotBound(String),
    /// A DN that does not parse.
    #[error("invalid DN syntax: {0}")]
    InvalidDn(String),
    /// The named entry does not exist; `matched` is the deepest existing ancestor.
    #[error("no such object")]
    NoSuchObject {
        /// The best match.
        matched: String,
    },
    /// An attribute the schema does not know.
    #[error("undefined attribute type {0}")]
    UndefinedAttribute(String),
    /// A value that does not fit its attribute's syntax.
    #[error("invalid syntax for {0}")]
    InvalidSyntax(String),
    /// A constraint on an attribute (single-valued, system-only, password rules, …).
    #[error("constraint violation: {0}")]
    Constraint(String),
    /// A value to add is already there.
    #[error("attribute or value exists: {0}")]
    ValueExists(String),
    /// A value or attribute to delete is not there.
    #[error("no such attribute: {0}")]
    NoSuchAttribute(String),
    /// The entry to add exists.
    #[error("entry already exists")]
    AlreadyExists(String),
    /// Delete of an entry with children.
    #[error("not allowed on non-leaf")]
    NonLeaf(String),
    /// objectClass missing or unknown.
    #[error("object class violation: {0}")]
    ObjectClass(String),
    /// The RDN does not fit the class or the name.
    #[error("naming violation: {0}")]
    Naming(String),
    /// The DC will not do it (AD's WILL_NOT_PERFORM).
    #[error("unwilling to perform: {0}")]
    Unwilling(String),
    /// A missing access right.
    #[error("insufficient access rights: {0}")]
    Access(String),
    /// A filter on a constructed attribute.
    #[error("inappropriate matching: {0}")]
    Matching(String),
    /// A critical control the server does not support.
    #[error("unavailable critical extension {0}")]
    CriticalExtension(String),
    /// A value the DC refuses outright (e.g. pwdLastSet other than 0 or -1).
    #[error("other: {0}")]
    Other(String),
    /// A change's old password did not match (19 `00000056`); it counts as a bad password.
    #[error("wrong old password")]
    WrongPassword(String),
    /// The store could not make the change durable.
    #[error("store failure: {0}")]
    Store(String),
}

impl DirError {
    /// The LDAP result code AD answers with.
    pub fn code(&self) -> ResultCode {
        use DirError::*;
        match self {
            NotBound(_) | Store(_) => ResultCode::OperationsError,
            InvalidDn(_) => ResultCode::InvalidDnSyntax,
            NoSuchObject { .. } => ResultCode::NoSuchObject,
            UndefinedAttribute(_) => ResultCode::UndefinedAttributeType,
            InvalidSyntax(_) => ResultCode::InvalidAttributeSyntax,
            Constraint(_) | WrongPassword(_) => ResultCode::ConstraintViolation,
            ValueExists(_) => ResultCode::AttributeOrValueExists,
            NoSuchAttribute(_) => ResultCode::NoSuchAttribute,
            AlreadyExists(_) => ResultCode::EntryAlreadyExists,
            NonLeaf(_) => ResultCode::NotAllowedOnNonLeaf,
            ObjectClass(_) => ResultCode::ObjectClassViolation,
            Naming(_) => ResultCode::NamingViolation,
            Unwilling(_) => ResultCode::UnwillingToPerform,
            Access(_) => ResultCode::InsufficientAccessRights,
            Matching(_) => ResultCode::InappropriateMatching,
            CriticalExtension(_) => ResultCode::UnavailableCriticalExtension,
            Other(_) => ResultCode::Other,
        }
    }

    /// The diagnostic message (the LDAP errorMessage) in AD's words.
    pub fn message(&self) -> String {
        use DirError::*;
        match self {
            NoSuchObject { matched } => diag::no_such_object(matched).to_string(),
            InvalidDn(dn) => diag::bad_name(dn).to_string(),
            UndefinedAttribute(_) | InvalidSyntax(_) => diag::ldap_err(
                0x57,
                0x0C09_0D8A,
                "Error in attribute conversion operation",
                0,
            ),
            AlreadyExists(_) => diag::update_error(0x2071, (6005, "ENTRY_EXISTS")).to_string(),
            NonLeaf(_) => diag::update_error(0x208C, (6003, "CANT_ON_NON_LEAF")).to_string(),
            NotBound(m) | Constraint(m) | WrongPassword(m) | ValueExists(m)
            | NoSuchAttribute(m) | ObjectClass(m) | Naming(m) | Unwilling(m) | Access(m)
            | Matching(m) | CriticalExtension(m) | Other(m) | Store(m) => m.clone(),
        }
    }

    /// The matched DN to report (only for noSuchObject).
    pub fn matched(&self) -> &str {
        match self {
            DirError::NoSuchObject { matched } => matched,
            _ => "",
        }
    }

    /// AD's message for an operation that needs a bind on an anonymous connection.
    pub fn anonymous() -> DirError {
        DirError::NotBound(
            "000004DC: LdapErr: DSID-0C090A5C, comment: In order to perform this operation a successful bind must be completed on the connection., data 0, v4563".into(),
        )
    }
}
