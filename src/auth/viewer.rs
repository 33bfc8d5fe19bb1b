//! Who is asking: decided once per request (HTTP header) or connection (websocket init).

use entity::enums::Role;

/// A member of an account, from a user token.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct UserViewer {
    pub user_id: i64,
    pub account_id: i64,
    pub role: Role,
}

impl UserViewer {
    pub fn is_admin(&self) -> bool {
        self.role == Role::Administrator
    }
}

/// An end customer holding a widget token for one contact inbox.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ContactViewer {
    pub contact_id: i64,
    pub contact_inbox_id: i64,
    pub account_id: i64,
}

/// An authenticated caller.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Viewer {
    User(UserViewer),
    Contact(ContactViewer),
}

impl Viewer {
    pub fn account_id(&self) -> i64 {
        match self {
            Self::User(user) => user.account_id,
            Self::Contact(contact) => contact.account_id,
        }
    }
}

/// What the edge learned about the caller; resolvers turn it into UNAUTHENTICATED when needed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Auth {
    /// No credentials were presented.
    Anonymous,
    /// Credentials were presented and refused; the message says why.
    Refused(String),
    Authenticated(Viewer),
}
