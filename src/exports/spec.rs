//! An export's parameters, carried in its download URL, and their validation.
//!
//! Instances keep no state between the mutation and the download (any instance behind the load
//! balancer may serve either), so the URL itself says what to export: `spec` is the base64url
//! JSON of the account, the columns, the filter (in the GraphQL input's own shape) and the
//! label. It is not signed and needs not be: the token presented with the download decides
//! whose data it may read, and the spec is validated again exactly as the mutation validated it,
//! so a hand-made spec can do nothing the mutation could not.

use async_graphql::InputType;
use base64::{Engine, engine::general_purpose::URL_SAFE_NO_PAD};
use entity::contact;
use sea_orm::{ColumnTrait, Condition, ConnectionTrait, EntityTrait, PaginatorTrait, QueryFilter};
use serde::{Deserialize, Serialize};
use serde_json::Value;

use super::columns::{self, Column};
use crate::{
    contacts::{
        filter::{self, ContactFilterCondition, FilterOperator, QueryOperator},
        repo,
    },
    error::{AppError, AppResult},
    limits::InputLimits,
};

/// The path the CSV is downloaded from.
pub const PATH: &str = "/exports/contacts.csv";

/// The longest encoded spec accepted, so every URL fits the limits of proxies and browsers.
pub const MAX_ENCODED_BYTES: usize = 6 * 1024;

const VERSION: u32 = 1;

/// What to export, exactly as the URL carries it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Spec {
    /// The format of this JSON, so that a future one can tell old URLs apart.
    v: u32,
    /// The account the export was made for; a download with another account's token is refused.
    pub account: i64,
    /// Column names; `None` means the default columns.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    columns: Option<Vec<String>>,
    /// The filter conditions, in the GraphQL input's shape.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    filter: Vec<StoredCondition>,
    /// Only contacts with this label (lower-cased).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    label: Option<String>,
}

/// A [`ContactFilterCondition`] as JSON, its enums by their GraphQL names. (The input type's
/// own `to_value` would turn its JSON `values` into strings.)
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
struct StoredCondition {
    attribute_key: String,
    filter_operator: String,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    values: Vec<Value>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    query_operator: Option<String>,
}

impl StoredCondition {
    fn new(condition: &ContactFilterCondition) -> Self {
        Self {
            attribute_key: condition.attribute_key.clone(),
            filter_operator: condition.filter_operator.to_value().to_string(),
            values: condition.values.clone(),
            query_operator: condition
                .query_operator
                .map(|operator| operator.to_value().to_string()),
        }
    }

    fn condition(&self) -> AppResult<ContactFilterCondition> {
        let malformed = || AppError::bad_input("filter", "the filter is malformed");
        let name = |name: &str| Some(async_graphql::Value::String(name.to_owned()));
        Ok(ContactFilterCondition {
            attribute_key: self.attribute_key.clone(),
            filter_operator: FilterOperator::parse(name(&self.filter_operator))
                .map_err(|_| malformed())?,
            values: self.values.clone(),
            query_operator: self
                .query_operator
                .as_deref()
                .map(|operator| QueryOperator::parse(name(operator)))
                .transpose()
                .map_err(|_| malformed())?,
        })
    }
}

/// A validated export: its columns and the condition selecting its rows.
pub struct Prepared {
    pub columns: Vec<Column>,
    /// The account scope, the resolved-contacts base set, the filter and the label.
    pub condition: Condition,
}

impl Spec {
    /// The spec of an export the mutation was asked for. The label is normalised as labels are
    /// stored; a blank one is BAD_USER_INPUT.
    pub fn new(
        account: i64,
        columns: Option<Vec<String>>,
        filter: &[ContactFilterCondition],
        label: Option<&str>,
    ) -> AppResult<Self> {
        let label = match label.map(|l| l.trim().to_lowercase()) {
            Some(label) if label.is_empty() => {
                return Err(AppError::bad_input("label", "label must not be blank"));
            }
            label => label,
        };
        Ok(Self {
            v: VERSION,
            account,
            columns,
            filter: filter.iter().map(StoredCondition::new).collect(),
            label,
        })
    }

    /// The URL-safe text of the spec, or BAD_USER_INPUT when it would make too long a URL.
    pub fn encode(&self) -> AppResult<String> {
        let json = serde_json::to_vec(self).map_err(AppError::internal)?;
        let encoded = URL_SAFE_NO_PAD.encode(json);
        if encoded.len() > MAX_ENCODED_BYTES {
            return Err(AppError::bad_input(
                "filter",
                format!(
                    "the export's parameters take {} bytes in its URL, more than the {MAX_ENCODED_BYTES} \
                     allowed: use fewer or shorter filter conditions",
                    encoded.len()
                ),
            ));
        }
        Ok(encoded)
    }

    /// Reads the `spec` of a download URL; anything malformed is BAD_USER_INPUT on `spec`.
    pub fn decode(encoded: &str) -> AppResult<Self> {
        let invalid = || AppError::bad_input("spec", "spec is not a valid export specification");
        if encoded.len() > MAX_ENCODED_BYTES {
            return Err(invalid());
        }
        let json = URL_SAFE_NO_PAD.decode(encoded).map_err(|_| invalid())?;
        let spec: Self = serde_json::from_slice(&json).map_err(|_| invalid())?;
        if spec.v != VERSION {
            return Err(invalid());
        }
        Ok(spec)
    }

    /// The download URL, relative to the server's origin (the one serving `/graphql`).
    pub fn url(encoded: &str) -> String {
        format!("{PATH}?spec={encoded}")
    }

    /// A stable id: the same export (account, columns, filter, label) always gets the same one,
    /// on every instance and release.
    pub fn id(encoded: &str) -> String {
        format!("{:016x}", fnv1a(encoded.as_bytes()))
    }

    /// Validates the columns, the filter and the label against the account's current custom
    /// attribute definitions (the same errors as `filterContacts` for the filter), and builds
    /// the condition selecting the rows.
    pub async fn prepare(
        &self,
        db: &impl ConnectionTrait,
        limits: &InputLimits,
    ) -> AppResult<Prepared> {
        let definitions = filter::definitions(db, self.account).await?;
        let keys: Vec<String> = definitions
            .iter()
            .map(|d| d.attribute_key.clone())
            .collect();
        let columns = columns::parse(self.columns.as_deref(), &keys)?;
        let conditions = self.conditions()?;
        let backend = db.get_database_backend();
        let mut condition = filter::matching(&conditions, &definitions, backend, limits)?
            .add(contact::Column::AccountId.eq(self.account));
        if let Some(label) = &self.label {
            // A hand-made download URL skips the executor's NUL guard: check it here, as the
            // mutation's input would have been.
            if label.contains('\0') {
                return Err(AppError::bad_input(
                    "label",
                    "label must not contain a NUL character (U+0000)",
                ));
            }
            condition = condition.add(repo::any_label(std::slice::from_ref(label)));
        }
        Ok(Prepared { columns, condition })
    }

    fn conditions(&self) -> AppResult<Vec<ContactFilterCondition>> {
        self.filter.iter().map(StoredCondition::condition).collect()
    }
}

/// How many contacts an export holds now.
pub async fn count(db: &impl ConnectionTrait, prepared: &Prepared) -> AppResult<u64> {
    Ok(contact::Entity::find()
        .filter(prepared.condition.clone())
        .count(db)
        .await?)
}

/// 64-bit FNV-1a: tiny, and unlike `DefaultHasher` specified, so ids never change.
fn fnv1a(bytes: &[u8]) -> u64 {
    bytes.iter().fold(0xcbf2_9ce4_8422_2325, |hash, byte| {
        (hash ^ u64::from(*byte)).wrapping_mul(0x0100_0000_01b3)
    })
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;
    use serde_json::json;

    fn condition() -> ContactFilterCondition {
        ContactFilterCondition {
            attribute_key: "email".into(),
            filter_operator: FilterOperator::Contains,
            values: vec![json!("example"), json!(3)],
            query_operator: Some(QueryOperator::Or),
        }
    }

    #[test]
    fn the_spec_survives_the_url() {
        let spec = Spec::new(7, Some(vec!["id".into()]), &[condition()], Some(" VIP ")).unwrap();
        let encoded = spec.encode().unwrap();
        assert!(
            encoded
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_')
        );
        let decoded = Spec::decode(&encoded).unwrap();
        assert_eq!(decoded, spec);
        assert_eq!(decoded.label.as_deref(), Some("vip"));
        let conditions = decoded.conditions().unwrap();
        assert_eq!(conditions[0].attribute_key, "email");
        assert_eq!(conditions[0].filter_operator, FilterOperator::Contains);
        assert_eq!(conditions[0].values, [json!("example"), json!(3)]);
        assert_eq!(conditions[0].query_operator, Some(QueryOperator::Or));
        let json = String::from_utf8(URL_SAFE_NO_PAD.decode(&encoded).unwrap()).unwrap();
        assert!(json.contains(r#""filterOperator":"CONTAINS""#), "{json}");
    }

    #[test]
    fn ids_are_stable_and_distinguish_exports() {
        let encode = |account| {
            Spec::new(account, None, &[], None)
                .unwrap()
                .encode()
                .unwrap()
        };
        assert_eq!(Spec::id(&encode(7)), Spec::id(&encode(7)));
        assert_ne!(Spec::id(&encode(7)), Spec::id(&encode(8)));
        assert_eq!(fnv1a(b"a"), 0xaf63_dc4c_8601_ec8c);
    }

    #[test]
    fn malformed_specs_are_bad_input() {
        let wrong_version = URL_SAFE_NO_PAD.encode(br#"{"v":2,"account":1}"#);
        for bad in ["", "%%%", "bm90IGpzb24", wrong_version.as_str()] {
            let err = Spec::decode(bad).unwrap_err();
            assert!(
                matches!(&err, AppError::BadInput { field: Some(f), .. } if f == "spec"),
                "{bad}: {err:?}"
            );
        }
        assert!(matches!(
            Spec::new(1, None, &[], Some("  ")),
            Err(AppError::BadInput { .. })
        ));
    }
}
