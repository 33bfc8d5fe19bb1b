//! What clients send about contacts: sort orders, and the fields of a new or changed contact.

use async_graphql::{Enum, ID, InputObject, Json, MaybeUndefined};
use chrono::{DateTime, Utc};
use serde_json::Value;

use super::ContactType;

/// Sortable fields of contacts.
#[derive(Enum, Copy, Clone, Debug, PartialEq, Eq)]
pub enum ContactSortField {
    /// Name, ignoring case.
    Name,
    /// Email.
    Email,
    /// Phone number.
    PhoneNumber,
    /// Last activity.
    LastActivityAt,
    /// Creation time.
    CreatedAt,
    /// `additional_attributes.company_name`, ignoring case.
    Company,
    /// `additional_attributes.city`, ignoring case.
    City,
    /// `additional_attributes.country`, ignoring case.
    Country,
}

/// Sort direction.
#[derive(Enum, Copy, Clone, Debug, PartialEq, Eq, Default)]
pub enum SortDirection {
    /// Smallest first.
    #[default]
    Asc,
    /// Largest first.
    Desc,
}

/// A sort order for contacts. Missing values always come last; ties are broken by id.
#[derive(InputObject, Clone, Copy, Debug)]
pub struct ContactSort {
    /// The field to sort by.
    pub field: ContactSortField,
    /// The direction.
    #[graphql(default)]
    pub direction: SortDirection,
}

/// A new contact.
#[derive(InputObject, Debug, Default)]
pub struct CreateContactInput {
    /// Full name.
    pub name: Option<String>,
    /// Middle name.
    pub middle_name: Option<String>,
    /// Last name.
    pub last_name: Option<String>,
    /// Email (trimmed, lower-cased; unique in the account).
    pub email: Option<String>,
    /// Phone number in E.164, e.g. `+14155550100` (unique in the account).
    pub phone_number: Option<String>,
    /// Your identifier for the contact (unique in the account).
    pub identifier: Option<String>,
    /// Whether the contact is blocked.
    pub blocked: Option<bool>,
    /// Visitor (default), lead or customer. A visitor with an email or phone becomes a lead.
    pub contact_type: Option<ContactType>,
    /// Avatar image URL.
    pub avatar_url: Option<String>,
    /// The account's own fields (a JSON object).
    pub custom_attributes: Option<Json<Value>>,
    /// Other facts (a JSON object): `company_name`, `city`, `country`, `country_code`, …
    pub additional_attributes: Option<Json<Value>>,
    /// When the contact was last active.
    pub last_activity_at: Option<DateTime<Utc>>,
    /// An inbox to register the contact in (creates a contact inbox).
    pub inbox_id: Option<ID>,
    /// The contact's id in that inbox (generated when omitted).
    pub source_id: Option<String>,
}

/// Changes to a contact. Omitted fields stay; `null` (or an empty string) clears a field.
/// `customAttributes` and `additionalAttributes` are merged per key into the stored objects.
#[derive(InputObject, Debug, Default)]
pub struct UpdateContactInput {
    /// Full name.
    #[graphql(default)]
    pub name: MaybeUndefined<String>,
    /// Middle name.
    #[graphql(default)]
    pub middle_name: MaybeUndefined<String>,
    /// Last name.
    #[graphql(default)]
    pub last_name: MaybeUndefined<String>,
    /// Email.
    #[graphql(default)]
    pub email: MaybeUndefined<String>,
    /// Phone number in E.164.
    #[graphql(default)]
    pub phone_number: MaybeUndefined<String>,
    /// Identifier.
    #[graphql(default)]
    pub identifier: MaybeUndefined<String>,
    /// Whether the contact is blocked.
    pub blocked: Option<bool>,
    /// Visitor, lead or customer.
    pub contact_type: Option<ContactType>,
    /// Avatar image URL.
    #[graphql(default)]
    pub avatar_url: MaybeUndefined<String>,
    /// Keys to set in the custom attributes (others stay).
    pub custom_attributes: Option<Json<Value>>,
    /// Keys to set in the additional attributes (others stay).
    pub additional_attributes: Option<Json<Value>>,
    /// When the contact was last active.
    #[graphql(default)]
    pub last_activity_at: MaybeUndefined<DateTime<Utc>>,
}
