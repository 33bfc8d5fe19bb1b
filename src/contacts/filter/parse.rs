//! From the GraphQL input to a validated, typed [`Filter`] (docs/design.md §5).
//!
//! Everything a client can get wrong is caught here, so rendering is total. Values are
//! normalised once (`values.rs`): text lower-cased (comparisons ignore case), phone numbers given
//! their `+`, dates reduced to UTC days, DAYS_BEFORE turned into a cut-off date.

use chrono::{Days, NaiveDate};
use entity::{
    custom_attribute_definition,
    enums::{AttributeDisplayType, AttributeModel},
};
use serde_json::Value;

use super::{
    ContactFilterCondition, FilterOperator, QueryOperator,
    check::{BoolField, BoolOp, Check, CmpOp, DateField, Filter, LabelOp, TextField, TextOp},
    values::{boolean, date, days, label, lower_text, number, phone},
};
use crate::error::{AppError, AppResult};

use FilterOperator::{
    Contains, DaysBefore, DoesNotContain, EqualTo, IsGreaterThan, IsLessThan, IsNotPresent,
    IsPresent, NotEqualTo, StartsWith,
};

/// The standard keys, in the order they are listed to clients.
pub const STANDARD_KEYS: [&str; 11] = [
    "name",
    "email",
    "phone_number",
    "identifier",
    "country_code",
    "city",
    "company",
    "labels",
    "created_at",
    "last_activity_at",
    "blocked",
];

const TEXT_OPS: &[FilterOperator] = &[EqualTo, NotEqualTo, Contains, DoesNotContain];
const PHONE_OPS: &[FilterOperator] = &[EqualTo, NotEqualTo, Contains, DoesNotContain, StartsWith];
const EQUALITY_OPS: &[FilterOperator] = &[EqualTo, NotEqualTo];
const LABEL_OPS: &[FilterOperator] = &[EqualTo, NotEqualTo, IsPresent, IsNotPresent];
const TIMESTAMP_OPS: &[FilterOperator] = &[IsGreaterThan, IsLessThan, DaysBefore];
const CUSTOM_TEXT_OPS: &[FilterOperator] = &[
    EqualTo,
    NotEqualTo,
    Contains,
    DoesNotContain,
    StartsWith,
    IsPresent,
    IsNotPresent,
];
const CUSTOM_NUMBER_OPS: &[FilterOperator] = &[
    EqualTo,
    NotEqualTo,
    IsGreaterThan,
    IsLessThan,
    IsPresent,
    IsNotPresent,
];
const CUSTOM_DATE_OPS: &[FilterOperator] = &[
    EqualTo,
    NotEqualTo,
    IsGreaterThan,
    IsLessThan,
    DaysBefore,
    IsPresent,
    IsNotPresent,
];
const CUSTOM_CHECKBOX_OPS: &[FilterOperator] = &[EqualTo, NotEqualTo, IsPresent, IsNotPresent];

/// What a key resolves to: how its values are typed, and which operators it allows.
enum Target {
    Text(TextField),
    Number(String),
    Date(DateField),
    Bool(BoolField),
    Labels,
}

impl FilterOperator {
    /// The name clients send (the GraphQL enum value).
    pub fn graphql_name(self) -> &'static str {
        match self {
            EqualTo => "EQUAL_TO",
            NotEqualTo => "NOT_EQUAL_TO",
            Contains => "CONTAINS",
            DoesNotContain => "DOES_NOT_CONTAIN",
            StartsWith => "STARTS_WITH",
            IsPresent => "IS_PRESENT",
            IsNotPresent => "IS_NOT_PRESENT",
            IsGreaterThan => "IS_GREATER_THAN",
            IsLessThan => "IS_LESS_THAN",
            DaysBefore => "DAYS_BEFORE",
        }
    }
}

/// Validates `conditions` and groups them by precedence.
///
/// Only `contact_attribute` definitions count; a standard key wins over a custom attribute of
/// the same name. `today` (UTC) anchors DAYS_BEFORE.
pub fn parse(
    conditions: &[ContactFilterCondition],
    definitions: &[custom_attribute_definition::Model],
    today: NaiveDate,
) -> AppResult<Filter> {
    let definitions: Vec<&custom_attribute_definition::Model> = definitions
        .iter()
        .filter(|d| d.attribute_model == AttributeModel::ContactAttribute)
        .collect();
    let mut groups = Vec::new();
    let mut group = Vec::new();
    for (index, condition) in conditions.iter().enumerate() {
        let cx = Cx { index, condition };
        group.push(cx.check(&definitions, today)?);
        // The query_operator joins this condition to the next; on the last one it means nothing.
        let last = index + 1 == conditions.len();
        if !last && condition.query_operator == Some(QueryOperator::Or) {
            groups.push(std::mem::take(&mut group));
        }
    }
    if !group.is_empty() {
        groups.push(group);
    }
    Ok(Filter { groups })
}

/// One condition being parsed, for error reporting.
struct Cx<'a> {
    index: usize,
    condition: &'a ContactFilterCondition,
}

impl Cx<'_> {
    fn key(&self) -> &str {
        &self.condition.attribute_key
    }

    fn op(&self) -> FilterOperator {
        self.condition.filter_operator
    }

    fn error(&self, message: String) -> AppError {
        AppError::InvalidFilter {
            index: self.index,
            key: self.key().to_owned(),
            message,
        }
    }

    fn check(
        &self,
        definitions: &[&custom_attribute_definition::Model],
        today: NaiveDate,
    ) -> AppResult<Check> {
        let (target, allowed) = self.resolve(definitions)?;
        if !allowed.contains(&self.op()) {
            return Err(self.not_allowed(allowed));
        }
        match target {
            Target::Text(field) => {
                let op = self.text(&field, allowed)?;
                Ok(Check::Text(field, op))
            }
            Target::Number(key) => Ok(Check::Number(key, self.cmp(number, today, allowed)?)),
            Target::Date(field) => Ok(Check::Date(field, self.cmp(date, today, allowed)?)),
            Target::Bool(field) => Ok(Check::Bool(field, self.boolean(allowed)?)),
            Target::Labels => Ok(Check::Labels(self.labels(allowed)?)),
        }
    }

    /// The key's target and allowed operators.
    fn resolve(
        &self,
        definitions: &[&custom_attribute_definition::Model],
    ) -> AppResult<(Target, &'static [FilterOperator])> {
        let standard = match self.key() {
            "name" => Some((Target::Text(TextField::Name), TEXT_OPS)),
            "email" => Some((Target::Text(TextField::Email), TEXT_OPS)),
            "phone_number" => Some((Target::Text(TextField::Phone), PHONE_OPS)),
            "identifier" => Some((Target::Text(TextField::Identifier), EQUALITY_OPS)),
            "country_code" => Some((
                Target::Text(TextField::Additional("country_code")),
                EQUALITY_OPS,
            )),
            "city" => Some((Target::Text(TextField::Additional("city")), TEXT_OPS)),
            // docs/design.md §5: the company lives under `company_name`, as in search and sort.
            "company" => Some((
                Target::Text(TextField::Additional("company_name")),
                TEXT_OPS,
            )),
            "labels" => Some((Target::Labels, LABEL_OPS)),
            "created_at" => Some((Target::Date(DateField::CreatedAt), TIMESTAMP_OPS)),
            "last_activity_at" => Some((Target::Date(DateField::LastActivityAt), TIMESTAMP_OPS)),
            "blocked" => Some((Target::Bool(BoolField::Blocked), EQUALITY_OPS)),
            _ => None,
        };
        if let Some(standard) = standard {
            return Ok(standard);
        }
        let Some(definition) = definitions.iter().find(|d| d.attribute_key == self.key()) else {
            return Err(self.unknown_key(definitions));
        };
        // SQLite addresses JSON keys by a path `$."key"`, which has no escape for `"`; such a key
        // could not be filtered on there, so it is refused on every backend alike.
        if self.key().contains('"') {
            return Err(self.error(format!(
                "custom attribute key {:?} cannot be filtered on: it contains '\"'",
                self.key()
            )));
        }
        let key = self.key().to_owned();
        Ok(match definition.attribute_display_type {
            AttributeDisplayType::Text
            | AttributeDisplayType::Link
            | AttributeDisplayType::List => (Target::Text(TextField::Custom(key)), CUSTOM_TEXT_OPS),
            AttributeDisplayType::Number
            | AttributeDisplayType::Currency
            | AttributeDisplayType::Percent => (Target::Number(key), CUSTOM_NUMBER_OPS),
            AttributeDisplayType::Date => (Target::Date(DateField::Custom(key)), CUSTOM_DATE_OPS),
            AttributeDisplayType::Checkbox => {
                (Target::Bool(BoolField::Custom(key)), CUSTOM_CHECKBOX_OPS)
            }
        })
    }

    fn unknown_key(&self, definitions: &[&custom_attribute_definition::Model]) -> AppError {
        let mut custom: Vec<&str> = definitions
            .iter()
            .map(|d| d.attribute_key.as_str())
            .collect();
        custom.sort_unstable();
        let mut message = format!(
            "unknown attribute key {:?}; allowed keys: {}",
            self.key(),
            STANDARD_KEYS.join(", ")
        );
        if custom.is_empty() {
            message.push_str(" (no custom contact attributes are defined)");
        } else {
            message.push_str(", and the custom contact attributes: ");
            message.push_str(&custom.join(", "));
        }
        self.error(message)
    }

    fn not_allowed(&self, allowed: &[FilterOperator]) -> AppError {
        let names: Vec<&str> = allowed.iter().map(|op| op.graphql_name()).collect();
        self.error(format!(
            "operator {} is not allowed for {:?}; allowed operators: {}",
            self.op().graphql_name(),
            self.key(),
            names.join(", ")
        ))
    }

    /// The values, which must not be empty.
    fn values(&self) -> AppResult<&[Value]> {
        let values = self.condition.values.as_slice();
        if values.is_empty() {
            return Err(self.error(format!(
                "{} on {:?} needs at least one value",
                self.op().graphql_name(),
                self.key()
            )));
        }
        Ok(values)
    }

    /// The one value of a comparison. More than one is refused rather than silently ignored.
    fn single(&self) -> AppResult<&Value> {
        match self.values()? {
            [value] => Ok(value),
            values => Err(self.error(format!(
                "{} on {:?} takes exactly one value, got {}",
                self.op().graphql_name(),
                self.key(),
                values.len()
            ))),
        }
    }

    /// Every value parsed by `parse`, with the error naming the value.
    fn each<T>(&self, parse: fn(&Value) -> Result<T, String>) -> AppResult<Vec<T>> {
        self.values()?.iter().map(|v| self.one(parse, v)).collect()
    }

    fn one<T>(&self, parse: fn(&Value) -> Result<T, String>, value: &Value) -> AppResult<T> {
        parse(value).map_err(|expected| {
            self.error(format!(
                "invalid value {value} for {:?}: expected {expected}",
                self.key()
            ))
        })
    }

    fn text(&self, field: &TextField, allowed: &[FilterOperator]) -> AppResult<TextOp> {
        // Phone values are completed with their `+` for equality and prefix matches (docs/design.md
        // §5). A substring match keeps the value as given: "555" must still find "+1555…".
        let exact = if *field == TextField::Phone {
            phone
        } else {
            lower_text
        };
        let op = match self.op() {
            EqualTo => TextOp::EqualTo(self.each(exact)?),
            NotEqualTo => TextOp::NotEqualTo(self.each(exact)?),
            StartsWith => TextOp::StartsWith(self.each(exact)?),
            Contains => TextOp::Contains(self.each(lower_text)?),
            DoesNotContain => TextOp::DoesNotContain(self.each(lower_text)?),
            IsPresent => TextOp::IsPresent,
            IsNotPresent => TextOp::IsNotPresent,
            IsGreaterThan | IsLessThan | DaysBefore => return Err(self.not_allowed(allowed)),
        };
        Ok(op)
    }

    fn cmp<T>(
        &self,
        parse: fn(&Value) -> Result<T, String>,
        today: NaiveDate,
        allowed: &[FilterOperator],
    ) -> AppResult<CmpOp<T>>
    where
        T: FromCutoff,
    {
        Ok(match self.op() {
            EqualTo => CmpOp::EqualTo(self.each(parse)?),
            NotEqualTo => CmpOp::NotEqualTo(self.each(parse)?),
            IsGreaterThan => CmpOp::GreaterThan(self.one(parse, self.single()?)?),
            IsLessThan => CmpOp::LessThan(self.one(parse, self.single()?)?),
            DaysBefore => {
                let days = self.one(days, self.single()?)?;
                let cutoff = today.checked_sub_days(Days::new(days)).ok_or_else(|| {
                    self.error(format!("{days} days before today is out of range"))
                })?;
                match T::from_cutoff(cutoff) {
                    Some(cutoff) => CmpOp::LessThan(cutoff),
                    None => return Err(self.not_allowed(allowed)),
                }
            }
            IsPresent => CmpOp::IsPresent,
            IsNotPresent => CmpOp::IsNotPresent,
            Contains | DoesNotContain | StartsWith => return Err(self.not_allowed(allowed)),
        })
    }

    fn boolean(&self, allowed: &[FilterOperator]) -> AppResult<BoolOp> {
        Ok(match self.op() {
            EqualTo => BoolOp::EqualTo(self.each(boolean)?),
            NotEqualTo => BoolOp::NotEqualTo(self.each(boolean)?),
            IsPresent => BoolOp::IsPresent,
            IsNotPresent => BoolOp::IsNotPresent,
            _ => return Err(self.not_allowed(allowed)),
        })
    }

    fn labels(&self, allowed: &[FilterOperator]) -> AppResult<LabelOp> {
        Ok(match self.op() {
            EqualTo => LabelOp::EqualTo(self.each(label)?),
            NotEqualTo => LabelOp::NotEqualTo(self.each(label)?),
            IsPresent => LabelOp::IsPresent,
            IsNotPresent => LabelOp::IsNotPresent,
            _ => return Err(self.not_allowed(allowed)),
        })
    }
}

/// Which ordered types DAYS_BEFORE applies to (dates only).
trait FromCutoff: Sized {
    fn from_cutoff(date: NaiveDate) -> Option<Self>;
}

impl FromCutoff for NaiveDate {
    fn from_cutoff(date: NaiveDate) -> Option<Self> {
        Some(date)
    }
}

impl FromCutoff for f64 {
    fn from_cutoff(_: NaiveDate) -> Option<Self> {
        None
    }
}
