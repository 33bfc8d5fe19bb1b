//! The columns an export may hold, and how each renders one contact as a CSV cell.

use std::borrow::Cow;

use chrono::{DateTime, SecondsFormat, Utc};
use entity::contact;
use sea_orm::ActiveEnum;
use serde_json::Value;

use crate::{
    contacts::types::additional_text,
    error::{AppError, AppResult},
};

/// The columns of an export when the client names none.
pub const DEFAULT_COLUMNS: [&str; 4] = ["id", "name", "email", "phone_number"];

/// One column of an export.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Column {
    Id,
    Name,
    MiddleName,
    LastName,
    Email,
    PhoneNumber,
    Identifier,
    Blocked,
    ContactType,
    AvatarUrl,
    /// "City, Country", as the `location` field derives it.
    Location,
    /// Upper-cased, as the `countryCode` field derives it.
    CountryCode,
    /// `additional_attributes.company_name`.
    Company,
    City,
    Country,
    CreatedAt,
    UpdatedAt,
    LastActivityAt,
    /// The contact's labels, sorted, joined with `,`.
    Labels,
    /// A custom attribute defined for the account's contacts.
    Custom(String),
}

/// The standard columns by name, in the order error messages list them. A custom attribute
/// whose key equals one of these names is shadowed by the standard column.
const STANDARD: [(&str, Column); 19] = [
    ("id", Column::Id),
    ("name", Column::Name),
    ("middle_name", Column::MiddleName),
    ("last_name", Column::LastName),
    ("email", Column::Email),
    ("phone_number", Column::PhoneNumber),
    ("identifier", Column::Identifier),
    ("blocked", Column::Blocked),
    ("contact_type", Column::ContactType),
    ("avatar_url", Column::AvatarUrl),
    ("location", Column::Location),
    ("country_code", Column::CountryCode),
    ("company", Column::Company),
    ("city", Column::City),
    ("country", Column::Country),
    ("created_at", Column::CreatedAt),
    ("updated_at", Column::UpdatedAt),
    ("last_activity_at", Column::LastActivityAt),
    ("labels", Column::Labels),
];

/// Resolves requested column names (`None`: the default columns) against the standard columns
/// and the account's custom attribute keys. Unknown or repeated names, or an empty list, are
/// BAD_USER_INPUT on `columns`, listing what is allowed.
pub fn parse(requested: Option<&[String]>, custom_keys: &[String]) -> AppResult<Vec<Column>> {
    let Some(requested) = requested else {
        return Ok(DEFAULT_COLUMNS
            .iter()
            .filter_map(|name| standard(name))
            .collect());
    };
    if requested.is_empty() {
        return Err(AppError::bad_input(
            "columns",
            "name at least one column, or leave `columns` out for the default ones",
        ));
    }
    let mut columns = Vec::with_capacity(requested.len());
    for (index, name) in requested.iter().enumerate() {
        if requested[..index].contains(name) {
            return Err(AppError::bad_input(
                "columns",
                format!("column `{name}` is listed twice"),
            ));
        }
        let column = standard(name).or_else(|| {
            custom_keys
                .contains(name)
                .then(|| Column::Custom(name.clone()))
        });
        let Some(column) = column else {
            return Err(AppError::bad_input(
                "columns",
                format!(
                    "unknown column `{name}`; allowed: {}",
                    allowed(custom_keys).join(", ")
                ),
            ));
        };
        columns.push(column);
    }
    Ok(columns)
}

fn standard(name: &str) -> Option<Column> {
    STANDARD
        .iter()
        .find(|(known, _)| *known == name)
        .map(|(_, column)| column.clone())
}

/// Every column name allowed for an account with these custom attribute keys.
pub fn allowed(custom_keys: &[String]) -> Vec<&str> {
    let mut names: Vec<&str> = STANDARD.iter().map(|(name, _)| *name).collect();
    names.extend(
        custom_keys
            .iter()
            .map(String::as_str)
            .filter(|key| standard(key).is_none()),
    );
    names
}

impl Column {
    /// The column's name, as requested and as its header.
    pub fn name(&self) -> &str {
        match self {
            Self::Custom(key) => key,
            other => STANDARD
                .iter()
                .find(|(_, column)| column == other)
                .map_or("", |(name, _)| name),
        }
    }

    /// The cell of `contact` (with its sorted `labels`) in this column, guarded against
    /// spreadsheet formula injection where the value is free text.
    pub fn cell<'a>(&self, contact: &'a contact::Model, labels: &[String]) -> Cow<'a, str> {
        let text = |value: &'a Option<String>| guard(Cow::Borrowed(value.as_deref().unwrap_or("")));
        let additional = |key: &str| {
            guard(Cow::Borrowed(
                contact
                    .additional_attributes
                    .get(key)
                    .and_then(Value::as_str)
                    .unwrap_or(""),
            ))
        };
        match self {
            Self::Id => Cow::Owned(contact.id.to_string()),
            Self::Name => text(&contact.name),
            Self::MiddleName => text(&contact.middle_name),
            Self::LastName => text(&contact.last_name),
            Self::Email => text(&contact.email),
            // Validated E.164 (`+` and digits): never a formula, and must stay dialable.
            Self::PhoneNumber => Cow::Borrowed(contact.phone_number.as_deref().unwrap_or("")),
            Self::Identifier => text(&contact.identifier),
            Self::Blocked => Cow::Borrowed(if contact.blocked { "true" } else { "false" }),
            Self::ContactType => Cow::Owned(contact.contact_type.to_value()),
            Self::AvatarUrl => text(&contact.avatar_url),
            Self::Location => guard(Cow::Owned(location(&contact.additional_attributes))),
            Self::CountryCode => guard(Cow::Owned(
                additional_text(&contact.additional_attributes, "country_code")
                    .unwrap_or("")
                    .to_uppercase(),
            )),
            Self::Company => additional("company_name"),
            Self::City => additional("city"),
            Self::Country => additional("country"),
            Self::CreatedAt => Cow::Owned(timestamp(contact.created_at)),
            Self::UpdatedAt => Cow::Owned(timestamp(contact.updated_at)),
            Self::LastActivityAt => {
                Cow::Owned(contact.last_activity_at.map(timestamp).unwrap_or_default())
            }
            Self::Labels => guard(Cow::Owned(labels.join(","))),
            Self::Custom(key) => match contact.custom_attributes.get(key) {
                None | Some(Value::Null) => Cow::Borrowed(""),
                Some(Value::String(value)) => guard(Cow::Borrowed(value)),
                Some(Value::Bool(value)) => Cow::Borrowed(if *value { "true" } else { "false" }),
                // Numbers as JSON writes them; arrays and objects as JSON text.
                Some(other) => Cow::Owned(other.to_string()),
            },
        }
    }
}

fn timestamp(at: DateTime<Utc>) -> String {
    at.to_rfc3339_opts(SecondsFormat::AutoSi, true)
}

fn location(attributes: &Value) -> String {
    [
        additional_text(attributes, "city"),
        additional_text(attributes, "country"),
    ]
    .into_iter()
    .flatten()
    .collect::<Vec<_>>()
    .join(", ")
}

/// Characters that make a spreadsheet read a cell as a formula (OWASP "CSV injection").
const FORMULA_STARTS: [char; 6] = ['=', '+', '-', '@', '\t', '\r'];

/// Prefixes free text that a spreadsheet would evaluate with `'`, which spreadsheets show as
/// plain text. Contacts write their own names through the chat widget, so an administrator
/// opening an export must not run what a visitor typed.
fn guard(value: Cow<'_, str>) -> Cow<'_, str> {
    if value.starts_with(FORMULA_STARTS) {
        Cow::Owned(format!("'{value}"))
    } else {
        value
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;
    use chrono::TimeZone;
    use entity::enums::ContactType;
    use serde_json::json;

    fn contact() -> contact::Model {
        let at = Utc.with_ymd_and_hms(2024, 5, 6, 7, 8, 9).unwrap();
        contact::Model {
            id: 42,
            account_id: 1,
            name: Some("=HYPERLINK(\"x\")".into()),
            middle_name: None,
            last_name: Some("Lovelace".into()),
            email: Some("ada@example.com".into()),
            phone_number: Some("+441234567".into()),
            identifier: Some("-7".into()),
            blocked: true,
            contact_type: ContactType::Lead,
            avatar_url: None,
            additional_attributes: json!({
                "company_name": "Analytical", "city": " London ", "country": "UK",
                "country_code": "gb"
            }),
            custom_attributes: json!({ "plan": "@gold", "seats": 12, "vip": false, "tags": ["a"] }),
            last_activity_at: None,
            created_at: at,
            updated_at: at + chrono::Duration::microseconds(1500),
        }
    }

    fn render(names: &[&str], labels: &[String]) -> Vec<String> {
        let names: Vec<String> = names.iter().map(|n| (*n).to_owned()).collect();
        let custom = [
            "plan".to_owned(),
            "seats".into(),
            "vip".into(),
            "tags".into(),
        ];
        let contact = contact();
        parse(Some(&names), &custom)
            .unwrap()
            .iter()
            .map(|column| column.cell(&contact, labels).into_owned())
            .collect()
    }

    #[test]
    fn default_columns() {
        let columns = parse(None, &[]).unwrap();
        let names: Vec<&str> = columns.iter().map(Column::name).collect();
        assert_eq!(names, DEFAULT_COLUMNS);
    }

    #[test]
    fn renders_each_kind_of_value() {
        let cells = render(
            &[
                "id",
                "blocked",
                "contact_type",
                "location",
                "country_code",
                "company",
                "created_at",
                "updated_at",
                "last_activity_at",
                "seats",
                "vip",
                "tags",
                "labels",
                "middle_name",
            ],
            &["a".into(), "b".into()],
        );
        assert_eq!(
            cells,
            [
                "42",
                "true",
                "lead",
                "London, UK",
                "GB",
                "Analytical",
                "2024-05-06T07:08:09Z",
                "2024-05-06T07:08:09.001500Z",
                "",
                "12",
                "false",
                "[\"a\"]",
                "a,b",
                "",
            ]
        );
    }

    #[test]
    fn free_text_is_guarded_but_phone_numbers_are_not() {
        let cells = render(&["name", "identifier", "plan", "phone_number"], &[]);
        assert_eq!(cells, ["'=HYPERLINK(\"x\")", "'-7", "'@gold", "+441234567"]);
    }

    #[test]
    fn unknown_repeated_and_empty_columns_are_refused() {
        let custom = ["plan".to_owned()];
        for bad in [vec!["nope"], vec!["id", "id"], vec![]] {
            let names: Vec<String> = bad.iter().map(|n| (*n).to_owned()).collect();
            let err = parse(Some(&names), &custom).unwrap_err();
            assert!(
                matches!(&err, AppError::BadInput { field: Some(f), .. } if f == "columns"),
                "{err:?}"
            );
        }
        let names = vec!["nope".to_owned()];
        let message = parse(Some(&names), &custom).unwrap_err().message();
        assert!(
            message.contains("phone_number") && message.contains("plan"),
            "{message}"
        );
    }
}
