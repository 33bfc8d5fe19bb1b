//! SeaORM entities for Switchboard. One module per table; no business logic.

pub mod account;
pub mod account_user;
pub mod contact;
pub mod contact_inbox;
pub mod contact_label;
pub mod conversation;
pub mod conversation_label;
pub mod custom_attribute_definition;
pub mod data_import;
pub mod enums;
pub mod event_outbox;
pub mod inbox;
pub mod invitation;
pub mod label;
pub mod message;
pub mod note;
pub mod user;

pub mod prelude {
    pub use super::account::Entity as Account;
    pub use super::account_user::Entity as AccountUser;
    pub use super::contact::Entity as Contact;
    pub use super::contact_inbox::Entity as ContactInbox;
    pub use super::contact_label::Entity as ContactLabel;
    pub use super::conversation::Entity as Conversation;
    pub use super::conversation_label::Entity as ConversationLabel;
    pub use super::custom_attribute_definition::Entity as CustomAttributeDefinition;
    pub use super::data_import::Entity as DataImport;
    pub use super::event_outbox::Entity as EventOutbox;
    pub use super::inbox::Entity as Inbox;
    pub use super::invitation::Entity as Invitation;
    pub use super::label::Entity as Label;
    pub use super::message::Entity as Message;
    pub use super::note::Entity as Note;
    pub use super::user::Entity as User;
}
