//! The validated filter: what [`parse`](super::parse) makes of the GraphQL input and
//! `render.rs` turns into SQL. Every condition is typed by what its attribute holds, and its
//! values are already normalised.

use chrono::NaiveDate;

/// A validated filter: the conditions grouped as an OR of AND-groups, since AND binds tighter.
#[derive(Clone, Debug, PartialEq)]
pub struct Filter {
    /// Never contains an empty group.
    pub groups: Vec<Vec<Check>>,
}

/// One validated condition, typed by what the attribute holds.
#[derive(Clone, Debug, PartialEq)]
pub enum Check {
    Text(TextField, TextOp),
    /// A custom attribute of display type number, currency or percent (its key).
    Number(String, CmpOp<f64>),
    Date(DateField, CmpOp<NaiveDate>),
    Bool(BoolField, BoolOp),
    Labels(LabelOp),
}

/// An attribute compared as text.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum TextField {
    Name,
    Email,
    Phone,
    Identifier,
    /// A well-known key of `additional_attributes` (`country_code`, `city`, `company_name`).
    Additional(&'static str),
    /// A custom attribute of display type text, link or list (its key).
    Custom(String),
}

/// An attribute compared as a date.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum DateField {
    CreatedAt,
    LastActivityAt,
    /// A custom attribute of display type date: its first 10 characters, `YYYY-MM-DD`.
    Custom(String),
}

/// An attribute compared as a boolean.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum BoolField {
    Blocked,
    /// A custom attribute of display type checkbox (its key).
    Custom(String),
}

/// Text operators; the values are lower-cased (phone values normalised instead).
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum TextOp {
    EqualTo(Vec<String>),
    NotEqualTo(Vec<String>),
    Contains(Vec<String>),
    DoesNotContain(Vec<String>),
    StartsWith(Vec<String>),
    IsPresent,
    IsNotPresent,
}

/// Operators of ordered types (numbers, dates).
#[derive(Clone, Debug, PartialEq)]
pub enum CmpOp<T> {
    EqualTo(Vec<T>),
    NotEqualTo(Vec<T>),
    GreaterThan(T),
    /// Also DAYS_BEFORE, with the cut-off date.
    LessThan(T),
    IsPresent,
    IsNotPresent,
}

/// Boolean operators.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum BoolOp {
    EqualTo(Vec<bool>),
    NotEqualTo(Vec<bool>),
    IsPresent,
    IsNotPresent,
}

/// Label operators; the names are lower-cased.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum LabelOp {
    /// Has any of the labels.
    EqualTo(Vec<String>),
    /// Has none of the labels (so also: has no labels at all).
    NotEqualTo(Vec<String>),
    IsPresent,
    IsNotPresent,
}
