//! The contacts filter, a.k.a. segments (docs/design.md §5).
//!
//! Three layers, each testable on its own:
//! - the GraphQL input ([`ContactFilterCondition`] and its enums), the shape Chatwoot's contacts
//!   filter takes;
//! - [`parse`] (`parse.rs`, its value parsers in `values.rs`): validates the conditions against
//!   the standard keys and the account's custom attribute definitions and produces a typed
//!   [`Filter`] (`check.rs`; every error is [`AppError::InvalidFilter`] naming the condition's
//!   index and key);
//! - [`Filter::to_condition`] (`render.rs`, its JSON accessors in `render/json.rs`): renders
//!   the typed filter to a SeaQuery [`Condition`] for `contact::Entity::find().filter(..)`, with
//!   every value a bound parameter.
//!
//! [`build`] does both. It is pure (no database access): the caller loads the definitions, and
//! applies the result on top of the account scope and the resolved-contacts base set.

mod check;
mod parse;
mod read;
mod render;
#[cfg(test)]
mod tests;
mod values;

use async_graphql::{Enum, InputObject};
use chrono::NaiveDate;
use entity::custom_attribute_definition;
use sea_orm::{DbBackend, sea_query::Condition};

pub use check::{BoolField, BoolOp, Check, CmpOp, DateField, Filter, LabelOp, TextField, TextOp};
pub use parse::{STANDARD_KEYS, parse};
pub use read::{condition, definitions, matching};

use crate::{
    error::{AppError, AppResult},
    limits::InputLimits,
};

/// How a filter condition compares the attribute with its values.
#[derive(Enum, Copy, Clone, Debug, PartialEq, Eq)]
pub enum FilterOperator {
    /// The attribute equals any of the values (text ignoring case).
    EqualTo,
    /// The attribute equals none of the values. A contact without the attribute does not match,
    /// except for custom attributes, where a contact missing the key does.
    NotEqualTo,
    /// The attribute contains any of the values as a case-insensitive substring.
    Contains,
    /// The attribute contains none of the values; a contact without the attribute does not match.
    DoesNotContain,
    /// The attribute starts with any of the values.
    StartsWith,
    /// The attribute has a value (labels: the contact has at least one label). Takes no values.
    IsPresent,
    /// The attribute has no value (labels: the contact has no labels). Takes no values.
    IsNotPresent,
    /// The attribute is after the value: numerically, or for dates at day granularity (UTC).
    /// Takes exactly one value.
    IsGreaterThan,
    /// The attribute is before the value: numerically, or for dates at day granularity (UTC).
    /// Takes exactly one value.
    IsLessThan,
    /// The date is strictly before today (UTC) minus the given number of days. Takes exactly one
    /// value, a non-negative whole number.
    DaysBefore,
}

/// How a condition is joined to the next one. AND binds tighter than OR.
#[derive(Enum, Copy, Clone, Debug, PartialEq, Eq)]
pub enum QueryOperator {
    /// Both this condition and the next must hold.
    And,
    /// This condition or the next (with AND binding tighter: `A OR B AND C` is `A OR (B AND C)`).
    Or,
}

/// One condition of a contacts filter, as Chatwoot's contacts filter takes it.
#[derive(InputObject, Clone, Debug)]
pub struct ContactFilterCondition {
    /// The attribute to compare: `name`, `email`, `phone_number`, `identifier`, `country_code`,
    /// `city`, `company`, `labels`, `created_at`, `last_activity_at`, `blocked`, or the key of a
    /// custom attribute defined for contacts.
    pub attribute_key: String,
    /// How to compare; which operators are allowed depends on the attribute.
    pub filter_operator: FilterOperator,
    /// The values to compare with: strings, numbers or booleans as the attribute's type needs
    /// (dates as `YYYY-MM-DD` or RFC 3339). Empty for IS_PRESENT and IS_NOT_PRESENT.
    #[graphql(default)]
    pub values: Vec<serde_json::Value>,
    /// How this condition is joined to the next one (default AND); ignored on the last one.
    pub query_operator: Option<QueryOperator>,
}

/// Validates `conditions` and renders them for `backend`; `None` when there are no conditions.
///
/// `definitions` are the account's custom attribute definitions (only `contact_attribute` ones
/// are considered); `today` is the current UTC date, for DAYS_BEFORE. The condition must be
/// executed on a connection of `backend`: the JSON accessors are rendered in its dialect.
/// A filter larger than `limits` allow is refused before anything else is looked at.
pub fn build(
    conditions: &[ContactFilterCondition],
    definitions: &[custom_attribute_definition::Model],
    backend: DbBackend,
    today: NaiveDate,
    limits: &InputLimits,
) -> AppResult<Option<Condition>> {
    bounded(conditions, limits)?;
    Ok(parse(conditions, definitions, today)?.to_condition(backend))
}

/// Refuses a filter with more conditions than `MAX_FILTER_CONDITIONS`, or a condition with more
/// values than `MAX_FILTER_VALUES`, naming the first condition over the limit.
pub fn bounded(conditions: &[ContactFilterCondition], limits: &InputLimits) -> AppResult<()> {
    let error = |index: usize, message: String| AppError::InvalidFilter {
        index,
        key: conditions
            .get(index)
            .map(|c| c.attribute_key.clone())
            .unwrap_or_default(),
        message,
    };
    let max_conditions = limits.max_filter_conditions as usize;
    if conditions.len() > max_conditions {
        return Err(error(
            max_conditions,
            format!(
                "the filter has {} conditions; at most {max_conditions} are accepted \
                 (MAX_FILTER_CONDITIONS)",
                conditions.len()
            ),
        ));
    }
    let max_values = limits.max_filter_values as usize;
    if let Some((index, condition)) = conditions
        .iter()
        .enumerate()
        .find(|(_, c)| c.values.len() > max_values)
    {
        return Err(error(
            index,
            format!(
                "condition {index} has {} values; at most {max_values} are accepted \
                 (MAX_FILTER_VALUES)",
                condition.values.len()
            ),
        ));
    }
    Ok(())
}
