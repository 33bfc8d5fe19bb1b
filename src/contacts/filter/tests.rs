//! Tests of the contacts filter, by area under `tests/`: parsing and validation
//! (`parsing.rs`), rendering (`rendering.rs`), execution against real databases
//! (`execution.rs` over `seed.rs`; SQLite always, PostgreSQL when `DATABASE_URL` points at one),
//! and size (`size.rs`). The helpers they share are here.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use chrono::{DateTime, NaiveDate, TimeZone, Utc};
use entity::{
    account, contact, contact_label, custom_attribute_definition,
    enums::{AttributeDisplayType, AttributeModel, ContactType},
};
use migrations::{Migrator, sea_orm_migration::MigratorTrait};
use sea_orm::{
    ActiveModelTrait, ColumnTrait, ConnectionTrait, Database, DatabaseConnection, DbBackend,
    EntityTrait, QueryFilter, QueryOrder, QueryTrait, Set,
};
use serde_json::{Value, json};

use super::*;
use crate::{error::AppError, limits::InputLimits};

mod execution;
mod parsing;
mod rendering;
mod seed;
mod size;

// --- helpers ------------------------------------------------------------------------------------

fn today() -> NaiveDate {
    NaiveDate::from_ymd_opt(2024, 3, 15).unwrap()
}

fn day(s: &str) -> NaiveDate {
    NaiveDate::parse_from_str(s, "%Y-%m-%d").unwrap()
}

/// A condition; `values` is a JSON array.
fn c(key: &str, op: FilterOperator, values: Value) -> ContactFilterCondition {
    ContactFilterCondition {
        attribute_key: key.to_owned(),
        filter_operator: op,
        values: match values {
            Value::Array(values) => values,
            other => panic!("values must be an array, got {other}"),
        },
        query_operator: None,
    }
}

fn or(mut condition: ContactFilterCondition) -> ContactFilterCondition {
    condition.query_operator = Some(QueryOperator::Or);
    condition
}

fn and(mut condition: ContactFilterCondition) -> ContactFilterCondition {
    condition.query_operator = Some(QueryOperator::And);
    condition
}

/// The custom attributes used throughout: contact attributes, plus one of conversations.
const DEFINITIONS: &[(&str, AttributeDisplayType, AttributeModel)] = {
    use AttributeDisplayType::*;
    use AttributeModel::{ContactAttribute as Contact, ConversationAttribute as Conversation};
    &[
        ("plan", List, Contact),
        ("tier_note", Text, Contact),
        ("website", Link, Contact),
        ("favourite.colour", Text, Contact),
        ("account manager", Text, Contact),
        ("seats", Number, Contact),
        ("mrr", Currency, Contact),
        ("discount", Percent, Contact),
        ("renewal_date", Date, Contact),
        ("vip", Checkbox, Contact),
        ("conv_only", Text, Conversation),
    ]
};

fn definitions() -> Vec<custom_attribute_definition::Model> {
    let at = Utc.with_ymd_and_hms(2024, 1, 1, 0, 0, 0).unwrap();
    DEFINITIONS
        .iter()
        .enumerate()
        .map(
            |(i, (key, kind, model))| custom_attribute_definition::Model {
                id: i as i64 + 1,
                account_id: 1,
                attribute_key: (*key).to_owned(),
                attribute_display_name: (*key).to_owned(),
                attribute_display_type: *kind,
                attribute_model: *model,
                attribute_values: json!([]),
                attribute_description: None,
                created_at: at,
                updated_at: at,
            },
        )
        .collect()
}

fn parse_ok(conditions: &[ContactFilterCondition]) -> Filter {
    parse(conditions, &definitions(), today()).unwrap()
}

/// The (index, key, message) of the error parsing `conditions`.
fn parse_err(conditions: &[ContactFilterCondition]) -> (usize, String, String) {
    match parse(conditions, &definitions(), today()) {
        Err(AppError::InvalidFilter {
            index,
            key,
            message,
        }) => (index, key, message),
        other => panic!("expected InvalidFilter, got {other:?}"),
    }
}

/// The single check of a one-condition filter.
fn only_check(condition: ContactFilterCondition) -> Check {
    let mut filter = parse_ok(&[condition]);
    assert_eq!(filter.groups.len(), 1);
    assert_eq!(filter.groups[0].len(), 1);
    filter.groups.remove(0).remove(0)
}

use FilterOperator::*;
