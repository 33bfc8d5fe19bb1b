//! GraphQL types of the account's catalogues: custom attribute definitions and labels.

use async_graphql::{Enum, ID, InputObject, Json, SimpleObject};
use chrono::{DateTime, Utc};
use entity::{custom_attribute_definition, label};
use serde_json::Value;

/// How a custom attribute's values are typed and shown.
#[derive(Enum, Copy, Clone, Debug, PartialEq, Eq)]
#[graphql(remote = "entity::enums::AttributeDisplayType")]
pub enum AttributeDisplayType {
    /// Free text.
    Text,
    /// A number.
    Number,
    /// An amount of money.
    Currency,
    /// A percentage.
    Percent,
    /// A URL.
    Link,
    /// A date (`YYYY-MM-DD`).
    Date,
    /// One of the definition's `values`.
    List,
    /// True or false.
    Checkbox,
}

/// What a custom attribute describes.
#[derive(Enum, Copy, Clone, Debug, PartialEq, Eq)]
#[graphql(remote = "entity::enums::AttributeModel")]
pub enum AttributeModel {
    /// A field of contacts.
    ContactAttribute,
    /// A field of conversations.
    ConversationAttribute,
}

/// A custom attribute the account defined.
#[derive(SimpleObject, Clone, Debug)]
pub struct CustomAttributeDefinition {
    /// The definition's id.
    pub id: ID,
    /// The key inside `customAttributes` (and the filter's `attributeKey`).
    pub attribute_key: String,
    /// The label shown to people.
    pub display_name: String,
    /// How values are typed.
    pub display_type: AttributeDisplayType,
    /// Contacts or conversations.
    pub model: AttributeModel,
    /// The allowed values of a LIST attribute.
    pub values: Json<Value>,
    /// A longer description.
    pub description: Option<String>,
    /// When the definition was created.
    pub created_at: DateTime<Utc>,
}

impl From<custom_attribute_definition::Model> for CustomAttributeDefinition {
    fn from(model: custom_attribute_definition::Model) -> Self {
        Self {
            id: model.id.into(),
            attribute_key: model.attribute_key,
            display_name: model.attribute_display_name,
            display_type: model.attribute_display_type.into(),
            model: model.attribute_model.into(),
            values: Json(model.attribute_values),
            description: model.attribute_description,
            created_at: model.created_at,
        }
    }
}

/// A label of the account's catalogue.
#[derive(SimpleObject, Clone, Debug)]
pub struct Label {
    /// The label's id.
    pub id: ID,
    /// The name (lower-cased), as used in `labels` of contacts and conversations.
    pub title: String,
    /// What the label means.
    pub description: Option<String>,
    /// Display colour, e.g. `#1f93ff`.
    pub color: String,
    /// Whether the label is listed in the sidebar.
    pub show_on_sidebar: bool,
}

impl From<label::Model> for Label {
    fn from(model: label::Model) -> Self {
        Self {
            id: model.id.into(),
            title: model.title,
            description: model.description,
            color: model.color,
            show_on_sidebar: model.show_on_sidebar,
        }
    }
}

/// A new custom attribute definition.
#[derive(InputObject, Debug)]
pub struct CreateCustomAttributeDefinitionInput {
    /// The key (letters, digits, `_` and `-`; not a standard field name).
    pub attribute_key: String,
    /// The label shown to people.
    pub display_name: String,
    /// How values are typed.
    pub display_type: AttributeDisplayType,
    /// Contacts (default) or conversations.
    #[graphql(default_with = "AttributeModel::ContactAttribute")]
    pub model: AttributeModel,
    /// The allowed values of a LIST attribute (a JSON array of strings).
    pub values: Option<Json<Value>>,
    /// A longer description.
    pub description: Option<String>,
}

/// A new label of the account's catalogue.
#[derive(InputObject, Debug)]
pub struct CreateLabelInput {
    /// The name (lower-cased; letters, digits, `_` and `-`).
    pub title: String,
    /// What the label means.
    pub description: Option<String>,
    /// Display colour, e.g. `#1f93ff`.
    pub color: Option<String>,
    /// Whether the label is listed in the sidebar (default true).
    pub show_on_sidebar: Option<bool>,
}
