//! Tests of the contacts filter: parsing and validation, rendering, and execution against real
//! databases (SQLite always; PostgreSQL when `DATABASE_URL` points at one).
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

// --- parsing and validation ---------------------------------------------------------------------

#[test]
fn an_empty_filter_builds_nothing() {
    assert_eq!(
        build(
            &[],
            &definitions(),
            DbBackend::Sqlite,
            today(),
            &InputLimits::default()
        )
        .unwrap(),
        None
    );
}

#[test]
fn an_unknown_key_lists_the_allowed_keys() {
    let (index, key, message) = parse_err(&[c("favourite_color", EqualTo, json!(["x"]))]);
    assert_eq!((index, key.as_str()), (0, "favourite_color"));
    assert!(message.contains("\"favourite_color\""), "{message}");
    assert!(
        message.contains(
            "name, email, phone_number, identifier, country_code, city, company, labels, \
             created_at, last_activity_at, blocked"
        ),
        "{message}"
    );
    assert!(message.contains("plan"), "{message}");
    assert!(message.contains("seats"), "{message}");
    // Conversation attributes are not contact attributes.
    assert!(!message.contains("conv_only"), "{message}");
    let (_, _, message) = parse_err(&[c("conv_only", EqualTo, json!(["x"]))]);
    assert!(message.starts_with("unknown attribute key"), "{message}");
    // `company_name` is where the company is stored, but the filter key is `company`.
    let (_, _, message) = parse_err(&[c("company_name", EqualTo, json!(["x"]))]);
    assert!(message.starts_with("unknown attribute key"), "{message}");
}

#[test]
fn an_unknown_key_without_custom_attributes_says_so() {
    let err = parse(&[c("plan", EqualTo, json!(["x"]))], &[], today()).unwrap_err();
    let AppError::InvalidFilter { message, .. } = err else {
        panic!("{err:?}");
    };
    assert!(
        message.contains("no custom contact attributes"),
        "{message}"
    );
}

#[test]
fn an_operator_not_allowed_lists_the_allowed_ones() {
    const TEXT: &str = "EQUAL_TO, NOT_EQUAL_TO, CONTAINS, DOES_NOT_CONTAIN";
    const PHONE: &str = "EQUAL_TO, NOT_EQUAL_TO, CONTAINS, DOES_NOT_CONTAIN, STARTS_WITH";
    const EQUALITY: &str = "EQUAL_TO, NOT_EQUAL_TO";
    const LABELS: &str = "EQUAL_TO, NOT_EQUAL_TO, IS_PRESENT, IS_NOT_PRESENT";
    const TIMESTAMP: &str = "IS_GREATER_THAN, IS_LESS_THAN, DAYS_BEFORE";
    const CUSTOM_TEXT: &str = "EQUAL_TO, NOT_EQUAL_TO, CONTAINS, DOES_NOT_CONTAIN, STARTS_WITH, \
                               IS_PRESENT, IS_NOT_PRESENT";
    const NUMBER: &str =
        "EQUAL_TO, NOT_EQUAL_TO, IS_GREATER_THAN, IS_LESS_THAN, IS_PRESENT, IS_NOT_PRESENT";
    const DATE: &str = "EQUAL_TO, NOT_EQUAL_TO, IS_GREATER_THAN, IS_LESS_THAN, DAYS_BEFORE, \
                        IS_PRESENT, IS_NOT_PRESENT";
    const CHECKBOX: &str = "EQUAL_TO, NOT_EQUAL_TO, IS_PRESENT, IS_NOT_PRESENT";
    let cases: &[(&str, FilterOperator, &str)] = &[
        ("name", IsGreaterThan, TEXT),
        ("email", StartsWith, TEXT),
        ("name", IsPresent, TEXT),
        ("phone_number", DaysBefore, PHONE),
        ("identifier", Contains, EQUALITY),
        ("country_code", StartsWith, EQUALITY),
        ("city", IsNotPresent, TEXT),
        ("company", IsLessThan, TEXT),
        ("labels", Contains, LABELS),
        ("created_at", EqualTo, TIMESTAMP),
        ("last_activity_at", IsPresent, TIMESTAMP),
        ("blocked", IsPresent, EQUALITY),
        ("plan", IsGreaterThan, CUSTOM_TEXT),
        ("website", DaysBefore, CUSTOM_TEXT),
        ("seats", Contains, NUMBER),
        ("mrr", DaysBefore, NUMBER),
        ("discount", StartsWith, NUMBER),
        ("renewal_date", StartsWith, DATE),
        ("vip", Contains, CHECKBOX),
        ("vip", IsGreaterThan, CHECKBOX),
    ];
    for (key, op, allowed) in cases {
        let (index, got_key, message) = parse_err(&[c(key, *op, json!(["1"]))]);
        assert_eq!((index, got_key.as_str()), (0, *key));
        assert!(
            message.contains(op.graphql_name()),
            "{key} {op:?}: {message}"
        );
        assert!(
            message.ends_with(&format!("allowed operators: {allowed}")),
            "{key} {op:?}: {message}"
        );
    }
}

#[test]
fn operators_that_need_values_refuse_an_empty_list() {
    for (key, op) in [
        ("name", EqualTo),
        ("email", NotEqualTo),
        ("phone_number", StartsWith),
        ("city", Contains),
        ("company", DoesNotContain),
        ("labels", EqualTo),
        ("blocked", EqualTo),
        ("created_at", IsGreaterThan),
        ("last_activity_at", DaysBefore),
        ("seats", IsLessThan),
        ("renewal_date", EqualTo),
        ("vip", NotEqualTo),
    ] {
        let (_, _, message) = parse_err(&[c(key, op, json!([]))]);
        assert!(
            message.contains("needs at least one value"),
            "{key}: {message}"
        );
    }
    // Presence operators take none.
    for key in ["labels", "plan", "seats", "renewal_date", "vip"] {
        parse_ok(&[
            c(key, IsPresent, json!([])),
            c(key, IsNotPresent, json!([])),
        ]);
    }
}

#[test]
fn values_that_do_not_parse_are_refused() {
    let cases: Vec<(ContactFilterCondition, &str)> = vec![
        (
            c("created_at", IsGreaterThan, json!(["2024-13-01"])),
            "a date",
        ),
        (c("created_at", IsLessThan, json!(["yesterday"])), "a date"),
        (c("created_at", IsLessThan, json!([20240101])), "a date"),
        (
            c("renewal_date", EqualTo, json!(["2024-01-01", "01/02/2024"])),
            "a date",
        ),
        (
            c("renewal_date", IsLessThan, json!(["10000-01-01"])),
            "date",
        ),
        (c("seats", IsGreaterThan, json!(["abc"])), "a number"),
        (c("seats", IsGreaterThan, json!(["NaN"])), "a number"),
        (c("seats", IsGreaterThan, json!(["inf"])), "a number"),
        (c("mrr", EqualTo, json!([true])), "a number"),
        (c("blocked", EqualTo, json!(["yes"])), "true or false"),
        (c("blocked", EqualTo, json!([1])), "true or false"),
        (c("vip", EqualTo, json!([null])), "true or false"),
        (
            c("created_at", DaysBefore, json!([-1])),
            "non-negative whole number",
        ),
        (
            c("created_at", DaysBefore, json!([1.5])),
            "non-negative whole number",
        ),
        (
            c("created_at", DaysBefore, json!(["x"])),
            "non-negative whole number",
        ),
        (c("name", EqualTo, json!([null])), "a string"),
        (c("name", Contains, json!([{"a": 1}])), "a string"),
        (c("labels", EqualTo, json!([["vip"]])), "a label name"),
    ];
    for (condition, expected) in cases {
        let key = condition.attribute_key.clone();
        let (_, _, message) = parse_err(&[condition]);
        assert!(message.starts_with("invalid value"), "{key}: {message}");
        assert!(message.contains(expected), "{key}: {message}");
    }
    let (_, _, message) = parse_err(&[c("created_at", DaysBefore, json!([1_000_000_000_000u64]))]);
    assert!(message.contains("out of range"), "{message}");
}

#[test]
fn comparisons_take_exactly_one_value() {
    let (_, _, message) = parse_err(&[c("seats", IsGreaterThan, json!([1, 2]))]);
    assert!(message.contains("exactly one value, got 2"), "{message}");
}

#[test]
fn the_error_names_the_failing_condition() {
    let (index, key, _) = parse_err(&[
        c("name", EqualTo, json!(["a"])),
        c("email", Contains, json!(["b"])),
        c("seats", IsGreaterThan, json!(["many"])),
    ]);
    assert_eq!((index, key.as_str()), (2, "seats"));
}

#[test]
fn and_binds_tighter_than_or() {
    let a = || c("name", EqualTo, json!(["a"]));
    let b = || c("name", EqualTo, json!(["b"]));
    let cc = || c("name", EqualTo, json!(["c"]));
    let sizes = |conditions: &[ContactFilterCondition]| -> Vec<usize> {
        parse_ok(conditions).groups.iter().map(Vec::len).collect()
    };
    // A OR B AND C = A OR (B AND C)
    assert_eq!(sizes(&[or(a()), and(b()), cc()]), [1, 2]);
    // A AND B OR C = (A AND B) OR C
    assert_eq!(sizes(&[and(a()), or(b()), cc()]), [2, 1]);
    // A missing query operator means AND; the last one's is ignored.
    assert_eq!(sizes(&[a(), b(), or(cc())]), [3]);
    assert_eq!(sizes(&[or(a())]), [1]);
    assert_eq!(sizes(&[or(a()), or(b()), or(cc())]), [1, 1, 1]);
    // The groups keep the conditions' order.
    let filter = parse_ok(&[or(a()), and(b()), cc()]);
    assert_eq!(
        filter.groups[1][1],
        Check::Text(TextField::Name, TextOp::EqualTo(vec!["c".to_owned()]))
    );
}

#[test]
fn values_are_normalised() {
    assert_eq!(
        only_check(c("name", EqualTo, json!(["Alice SMITH"]))),
        Check::Text(TextField::Name, TextOp::EqualTo(vec!["alice smith".into()]))
    );
    assert_eq!(
        only_check(c(
            "phone_number",
            EqualTo,
            json!(["14155550100", " +4915 "])
        )),
        Check::Text(
            TextField::Phone,
            TextOp::EqualTo(vec!["+14155550100".into(), "+4915".into()])
        )
    );
    assert_eq!(
        only_check(c("phone_number", StartsWith, json!([1415]))),
        Check::Text(TextField::Phone, TextOp::StartsWith(vec!["+1415".into()]))
    );
    // A substring keeps no `+`: "555" must find "+1555…".
    assert_eq!(
        only_check(c("phone_number", Contains, json!(["555"]))),
        Check::Text(TextField::Phone, TextOp::Contains(vec!["555".into()]))
    );
    assert_eq!(
        only_check(c("company", Contains, json!(["ACME"]))),
        Check::Text(
            TextField::Additional("company_name"),
            TextOp::Contains(vec!["acme".into()])
        )
    );
    assert_eq!(
        only_check(c("labels", NotEqualTo, json!([" VIP "]))),
        Check::Labels(LabelOp::NotEqualTo(vec!["vip".into()]))
    );
    assert_eq!(
        only_check(c("blocked", EqualTo, json!(["TRUE", false]))),
        Check::Bool(BoolField::Blocked, BoolOp::EqualTo(vec![true, false]))
    );
    assert_eq!(
        only_check(c("seats", IsLessThan, json!([" 2.5 "]))),
        Check::Number("seats".into(), CmpOp::LessThan(2.5))
    );
    assert_eq!(
        only_check(c("discount", EqualTo, json!([15, "7"]))),
        Check::Number("discount".into(), CmpOp::EqualTo(vec![15.0, 7.0]))
    );
    // An RFC 3339 timestamp counts by its UTC day.
    assert_eq!(
        only_check(c(
            "created_at",
            IsGreaterThan,
            json!(["2024-03-05T23:00:00-05:00"])
        )),
        Check::Date(DateField::CreatedAt, CmpOp::GreaterThan(day("2024-03-06")))
    );
    // DAYS_BEFORE becomes a cut-off date; numbers and numeric strings alike.
    for days in [json!([10]), json!([10.0]), json!(["10"])] {
        assert_eq!(
            only_check(c("last_activity_at", DaysBefore, days)),
            Check::Date(
                DateField::LastActivityAt,
                CmpOp::LessThan(day("2024-03-05"))
            )
        );
    }
    assert_eq!(
        only_check(c("renewal_date", DaysBefore, json!([0]))),
        Check::Date(
            DateField::Custom("renewal_date".into()),
            CmpOp::LessThan(today())
        )
    );
    assert_eq!(
        only_check(c("vip", IsPresent, json!(["ignored"]))),
        Check::Bool(BoolField::Custom("vip".into()), BoolOp::IsPresent)
    );
    assert_eq!(
        only_check(c("website", StartsWith, json!(["HTTPS://"]))),
        Check::Text(
            TextField::Custom("website".into()),
            TextOp::StartsWith(vec!["https://".into()])
        )
    );
}

#[test]
fn a_standard_key_wins_over_a_custom_attribute_of_the_same_name() {
    let mut defs = definitions();
    defs[0].attribute_key = "city".to_owned();
    let filter = parse(&[c("city", Contains, json!(["x"]))], &defs, today()).unwrap();
    assert_eq!(
        filter.groups[0][0],
        Check::Text(
            TextField::Additional("city"),
            TextOp::Contains(vec!["x".into()])
        )
    );
}

#[test]
fn a_custom_key_with_a_double_quote_is_refused() {
    let mut defs = definitions();
    defs[1].attribute_key = "say \"hi\"".to_owned();
    let err = parse(&[c("say \"hi\"", EqualTo, json!(["x"]))], &defs, today()).unwrap_err();
    assert!(
        matches!(err, AppError::InvalidFilter { index: 0, .. }),
        "{err:?}"
    );
}

// --- rendering ----------------------------------------------------------------------------------

/// A filter touching every kind of attribute, with distinctive values.
fn everything() -> Vec<ContactFilterCondition> {
    vec![
        c("name", EqualTo, json!(["zq-name' OR 1=1 --"])),
        or(c("email", DoesNotContain, json!(["zq-email%"]))),
        c("phone_number", StartsWith, json!(["999777"])),
        c("city", NotEqualTo, json!(["zq-city"])),
        c("company", Contains, json!(["zq-company"])),
        c("country_code", EqualTo, json!(["zq-cc"])),
        c("identifier", NotEqualTo, json!(["zq-identifier"])),
        c("labels", NotEqualTo, json!(["zq-label"])),
        c("created_at", IsGreaterThan, json!(["2031-07-09"])),
        c("last_activity_at", DaysBefore, json!([3])),
        c("blocked", EqualTo, json!([true])),
        c("plan", NotEqualTo, json!(["zq-plan"])),
        c("seats", IsGreaterThan, json!([987654])),
        c("renewal_date", IsLessThan, json!(["2032-08-10"])),
        c("vip", EqualTo, json!([true])),
        c("account manager", IsPresent, json!([])),
    ]
}

fn statement(backend: DbBackend) -> sea_orm::Statement {
    let condition = build(
        &everything(),
        &definitions(),
        backend,
        today(),
        &InputLimits::default(),
    )
    .unwrap()
    .unwrap();
    contact::Entity::find().filter(condition).build(backend)
}

#[test]
fn every_value_is_a_bound_parameter() {
    for backend in [DbBackend::Postgres, DbBackend::Sqlite] {
        let statement = statement(backend);
        let sql = &statement.sql;
        for inline in [
            "zq-",
            "999777",
            "2031",
            "2032",
            "987654",
            "plan",
            "seats",
            "renewal_date",
            "vip",
            "account manager",
            "city",
            "company",
            "country_code",
            "1=1",
        ] {
            assert!(
                !sql.contains(inline),
                "{backend:?}: {inline:?} inline in {sql}"
            );
        }
        let values = statement.values.unwrap().0;
        let placeholders = match backend {
            DbBackend::Postgres => (1..=values.len())
                .filter(|n| sql.contains(&format!("${n}")))
                .count(),
            _ => sql.matches('?').count(),
        };
        assert_eq!(placeholders, values.len(), "{backend:?}: {sql}");
        assert!(values.len() >= 25, "{backend:?}: {values:?}");
    }
    let sql = statement(DbBackend::Postgres).sql;
    assert!(!sql.contains('?'), "{sql}");
    assert!(sql.contains("jsonb_typeof"), "{sql}");
}

#[test]
fn a_custom_text_equal_to_also_renders_index_terms_on_postgres() {
    let conditions = [c("plan", EqualTo, json!(["Gold", "zq-silver"]))];
    for backend in [DbBackend::Postgres, DbBackend::Sqlite] {
        let condition = build(
            &conditions,
            &definitions(),
            backend,
            today(),
            &InputLimits::default(),
        )
        .unwrap()
        .unwrap();
        let statement = contact::Entity::find().filter(condition).build(backend);
        let terms = statement
            .sql
            .contains("switchboard_contact_attribute_terms");
        assert_eq!(terms, backend == DbBackend::Postgres, "{}", statement.sql);
        assert!(!statement.sql.contains("zq-"), "{}", statement.sql);
        assert!(!statement.sql.contains("plan"), "{}", statement.sql);
        if backend == DbBackend::Postgres {
            let values = format!("{:?}", statement.values.unwrap().0);
            assert!(
                values.contains("plan\\u{1f}zq-silver"),
                "{values} {}",
                statement.sql
            );
        }
    }
}

#[test]
fn the_custom_not_equal_to_is_bracketed() {
    let condition = build(
        &[
            c("blocked", EqualTo, json!([false])),
            c("plan", NotEqualTo, json!(["gold"])),
        ],
        &definitions(),
        DbBackend::Sqlite,
        today(),
        &InputLimits::default(),
    )
    .unwrap()
    .unwrap();
    let sql = contact::Entity::find()
        .filter(condition)
        .build(DbBackend::Sqlite)
        .sql;
    let where_ = sql.split(" WHERE ").nth(1).unwrap();
    assert!(
        where_.starts_with(
            "((\"contacts\".\"blocked\" IN (?)) AND (((\"contacts\".\"custom_attributes\" ->> ?)) IS NULL OR "
        ),
        "{where_}"
    );
    assert!(where_.ends_with(')'), "{where_}");
}

#[tokio::test]
async fn the_input_type_renders_as_the_contract_says() {
    use async_graphql::{EmptyMutation, EmptySubscription, Object, Schema};

    struct Query;
    #[Object]
    impl Query {
        async fn count(&self, filter: Vec<ContactFilterCondition>) -> usize {
            filter.len()
        }
    }
    let schema = Schema::new(Query, EmptyMutation, EmptySubscription);
    let sdl = schema.sdl();
    for expected in [
        "input ContactFilterCondition {",
        "attributeKey: String!",
        "filterOperator: FilterOperator!",
        "values: [JSON!]! = []",
        "queryOperator: QueryOperator\n",
        "enum QueryOperator {",
        "DAYS_BEFORE",
        "DOES_NOT_CONTAIN",
    ] {
        assert!(sdl.contains(expected), "{expected:?} missing from\n{sdl}");
    }
    let response = schema
        .execute(
            r#"{ count(filter: [
                {attributeKey: "name", filterOperator: EQUAL_TO, values: ["a", 1, true], queryOperator: OR},
                {attributeKey: "labels", filterOperator: IS_PRESENT}
            ]) }"#,
        )
        .await;
    assert!(response.errors.is_empty(), "{:?}", response.errors);
    assert_eq!(response.data.into_json().unwrap(), json!({"count": 2}));
}

// --- execution against a real database ----------------------------------------------------------

/// A custom text value longer than the 128 characters PostgreSQL's index terms keep.
const LONG_NOTE: &str = "Prefers Email over Phone, Tuesdays only. Prefers Email over Phone, Tuesdays only. \
                         Prefers Email over Phone, Tuesdays only. Prefers Email over Phone.";

/// What the seeded database holds.
struct Seeded {
    account: i64,
    /// The ids of contacts 1..=4 (index 0 is contact 1).
    contacts: Vec<i64>,
    definitions: Vec<custom_attribute_definition::Model>,
}

fn at(s: &str) -> DateTime<Utc> {
    DateTime::parse_from_rfc3339(s).unwrap().with_timezone(&Utc)
}

async fn seed(db: &DatabaseConnection) -> Seeded {
    Migrator::up(db, None).await.unwrap();
    let now = at("2024-03-15T12:00:00Z");
    let account = account::ActiveModel {
        name: Set("Filter test".to_owned()),
        last_conversation_display_id: Set(0),
        created_at: Set(now),
        updated_at: Set(now),
        ..Default::default()
    }
    .insert(db)
    .await
    .unwrap()
    .id;
    for (key, kind, model) in DEFINITIONS {
        custom_attribute_definition::ActiveModel {
            account_id: Set(account),
            attribute_key: Set((*key).to_owned()),
            attribute_display_name: Set((*key).to_owned()),
            attribute_display_type: Set(*kind),
            attribute_model: Set(*model),
            attribute_values: Set(json!([])),
            attribute_description: Set(None),
            created_at: Set(now),
            updated_at: Set(now),
            ..Default::default()
        }
        .insert(db)
        .await
        .unwrap();
    }
    struct Row {
        name: Option<&'static str>,
        email: Option<&'static str>,
        phone: Option<&'static str>,
        identifier: Option<&'static str>,
        blocked: bool,
        additional: Value,
        custom: Value,
        labels: &'static [&'static str],
        created_at: &'static str,
        last_activity_at: Option<&'static str>,
    }
    let rows = [
        Row {
            name: Some("Alice Smith"),
            email: Some("alice@example.com"),
            phone: Some("+14155550100"),
            identifier: Some("ID-A"),
            blocked: false,
            additional: json!({"city": "Berlin", "company_name": "Acme Corp 100%", "country_code": "DE"}),
            custom: json!({
                "plan": "Gold", "tier_note": "Early_adopter", "website": "https://acme.test",
                "favourite.colour": "Blue", "seats": 10, "mrr": 99.5, "discount": 15,
                "renewal_date": "2024-03-01", "vip": true
            }),
            labels: &["vip", "beta"],
            created_at: "2024-01-10T12:00:00Z",
            last_activity_at: Some("2024-03-05T00:00:00Z"),
        },
        Row {
            name: Some("Bob Stone"),
            email: Some("bob@example.org"),
            phone: Some("+4915112345"),
            identifier: Some("id-b"),
            blocked: true,
            additional: json!({"city": "berlin", "company_name": "Initech", "country_code": "US"}),
            custom: json!({
                "plan": "silver", "seats": "many", "mrr": 10, "account manager": "Zoe",
                "renewal_date": "2024-02-29T10:00:00Z", "vip": false
            }),
            labels: &["beta"],
            created_at: "2024-01-11T00:00:00Z",
            last_activity_at: None,
        },
        Row {
            name: Some("Ca_rol"),
            email: Some("carol@example.com"),
            phone: None,
            identifier: Some("C3"),
            blocked: false,
            additional: json!({"city": "Paris", "company_name": "Acme_Corp"}),
            custom: json!({"tier_note": LONG_NOTE}),
            labels: &[],
            created_at: "2024-01-11T23:59:59.999Z",
            last_activity_at: Some("2024-03-10T08:00:00Z"),
        },
        Row {
            name: None,
            email: None,
            phone: Some("+14155559999"),
            identifier: None,
            blocked: false,
            additional: json!({}),
            custom: json!({"seats": 3.5, "vip": "true", "renewal_date": "01/02/2020", "plan": ""}),
            labels: &["other"],
            created_at: "2024-02-01T00:00:00Z",
            last_activity_at: None,
        },
    ];
    let mut contacts = Vec::new();
    for row in rows {
        let id = contact::ActiveModel {
            account_id: Set(account),
            name: Set(row.name.map(str::to_owned)),
            middle_name: Set(None),
            last_name: Set(None),
            email: Set(row.email.map(str::to_owned)),
            phone_number: Set(row.phone.map(str::to_owned)),
            identifier: Set(row.identifier.map(str::to_owned)),
            blocked: Set(row.blocked),
            contact_type: Set(ContactType::Lead),
            avatar_url: Set(None),
            additional_attributes: Set(row.additional),
            custom_attributes: Set(row.custom),
            last_activity_at: Set(row.last_activity_at.map(at)),
            created_at: Set(at(row.created_at)),
            updated_at: Set(now),
            ..Default::default()
        }
        .insert(db)
        .await
        .unwrap()
        .id;
        for label in row.labels {
            contact_label::ActiveModel {
                contact_id: Set(id),
                name: Set((*label).to_owned()),
                account_id: Set(account),
            }
            .insert(db)
            .await
            .unwrap();
        }
        contacts.push(id);
    }
    let definitions = custom_attribute_definition::Entity::find()
        .filter(custom_attribute_definition::Column::AccountId.eq(account))
        .all(db)
        .await
        .unwrap();
    Seeded {
        account,
        contacts,
        definitions,
    }
}

/// `conditions... => expected contacts (1..=4, as seeded)`, one case per line. A macro so that
/// the table stays a table (rustfmt leaves it alone).
macro_rules! cases {
    ($([$($condition:expr),+ $(,)?] => [$($n:expr),*];)*) => {
        vec![$((vec![$($condition),+], vec![$($n),*])),*]
    };
}

/// Filters and the contacts each must return (today is 2024-03-15).
fn cases() -> Vec<(Vec<ContactFilterCondition>, Vec<usize>)> {
    cases! {
        // name
        [c("name", EqualTo, json!(["alice smith"]))] => [1];
        [c("name", EqualTo, json!(["ALICE SMITH", "bob stone"]))] => [1, 2];
        [c("name", EqualTo, json!(["x' OR '1'='1"]))] => [];
        [c("name", NotEqualTo, json!(["alice smith"]))] => [2, 3];
        [c("name", Contains, json!(["ST"]))] => [2];
        [c("name", Contains, json!(["xyz", "bob"]))] => [2];
        [c("name", Contains, json!(["_"]))] => [3];
        [c("name", Contains, json!(["e_s"]))] => [];
        [c("name", DoesNotContain, json!(["o"]))] => [1];
        [c("name", DoesNotContain, json!(["alice", "bob"]))] => [3];
        // email
        [c("email", EqualTo, json!(["ALICE@EXAMPLE.COM"]))] => [1];
        [c("email", NotEqualTo, json!(["bob@example.org"]))] => [1, 3];
        [c("email", Contains, json!(["example.com"]))] => [1, 3];
        [c("email", DoesNotContain, json!([".com"]))] => [2];
        // phone_number: values get their `+` except for substrings
        [c("phone_number", EqualTo, json!(["14155550100"]))] => [1];
        [c("phone_number", EqualTo, json!(["+14155550100"]))] => [1];
        [c("phone_number", EqualTo, json!([14155550100u64]))] => [1];
        [c("phone_number", NotEqualTo, json!(["+14155550100"]))] => [2, 4];
        [c("phone_number", StartsWith, json!(["1415"]))] => [1, 4];
        [c("phone_number", StartsWith, json!(["+1415"]))] => [1, 4];
        [c("phone_number", StartsWith, json!(["+49"]))] => [2];
        [c("phone_number", StartsWith, json!(["5555"]))] => [];
        [c("phone_number", Contains, json!(["555"]))] => [1, 4];
        [c("phone_number", DoesNotContain, json!(["49"]))] => [1, 4];
        // identifier, country_code
        [c("identifier", EqualTo, json!(["id-a"]))] => [1];
        [c("identifier", NotEqualTo, json!(["ID-B"]))] => [1, 3];
        [c("country_code", EqualTo, json!(["de"]))] => [1];
        [c("country_code", NotEqualTo, json!(["de"]))] => [2];
        // city, company (`%` and `_` are literal)
        [c("city", EqualTo, json!(["BERLIN"]))] => [1, 2];
        [c("city", NotEqualTo, json!(["paris"]))] => [1, 2];
        [c("city", Contains, json!(["ar"]))] => [3];
        [c("city", DoesNotContain, json!(["berlin"]))] => [3];
        [c("company", EqualTo, json!(["initech"]))] => [2];
        [c("company", Contains, json!(["100%"]))] => [1];
        [c("company", Contains, json!(["%"]))] => [1];
        [c("company", Contains, json!(["e_c"]))] => [3];
        [c("company", DoesNotContain, json!(["acme"]))] => [2];
        // labels
        [c("labels", EqualTo, json!(["VIP"]))] => [1];
        [c("labels", EqualTo, json!(["beta"]))] => [1, 2];
        [c("labels", EqualTo, json!(["vip", "other"]))] => [1, 4];
        [c("labels", NotEqualTo, json!(["beta"]))] => [3, 4];
        [c("labels", NotEqualTo, json!(["vip"]))] => [2, 3, 4];
        [c("labels", IsPresent, json!([]))] => [1, 2, 4];
        [c("labels", IsNotPresent, json!([]))] => [3];
        // created_at, last_activity_at: UTC days
        [c("created_at", IsGreaterThan, json!(["2024-01-10"]))] => [2, 3, 4];
        [c("created_at", IsGreaterThan, json!(["2024-01-11"]))] => [4];
        [c("created_at", IsLessThan, json!(["2024-01-11"]))] => [1];
        [c("created_at", IsLessThan, json!(["2024-01-12"]))] => [1, 2, 3];
        [c("created_at", DaysBefore, json!([60]))] => [1, 2, 3];
        [c("created_at", DaysBefore, json!([43]))] => [1, 2, 3];
        [c("created_at", DaysBefore, json!(["42"]))] => [1, 2, 3, 4];
        [c("last_activity_at", IsLessThan, json!(["2024-03-06"]))] => [1];
        [c("last_activity_at", IsGreaterThan, json!(["2024-03-04"]))] => [1, 3];
        [c("last_activity_at", IsGreaterThan, json!(["2024-03-05"]))] => [3];
        [c("last_activity_at", IsGreaterThan, json!(["2024-03-05T23:00:00-05:00"]))] => [3];
        [c("last_activity_at", DaysBefore, json!([0]))] => [1, 3];
        [c("last_activity_at", DaysBefore, json!([6]))] => [1];
        // blocked
        [c("blocked", EqualTo, json!([true]))] => [2];
        [c("blocked", EqualTo, json!(["false"]))] => [1, 3, 4];
        [c("blocked", EqualTo, json!([true, false]))] => [1, 2, 3, 4];
        [c("blocked", NotEqualTo, json!([true]))] => [1, 3, 4];
        // custom text, link, list (contact 4's plan is "", which counts as absent)
        [c("plan", EqualTo, json!(["gold"]))] => [1];
        [c("plan", NotEqualTo, json!(["gold"]))] => [2, 3, 4];
        [c("plan", Contains, json!(["ILV"]))] => [2];
        [c("plan", DoesNotContain, json!(["old"]))] => [2, 4];
        [c("plan", StartsWith, json!(["go"]))] => [1];
        [c("plan", IsPresent, json!([]))] => [1, 2];
        [c("plan", IsNotPresent, json!([]))] => [3, 4];
        [c("tier_note", Contains, json!(["_"]))] => [1];
        [c("website", EqualTo, json!(["HTTPS://ACME.TEST"]))] => [1];
        [c("website", StartsWith, json!(["https://"]))] => [1];
        [c("favourite.colour", EqualTo, json!(["blue"]))] => [1];
        [c("account manager", EqualTo, json!(["zoe"]))] => [2];
        [c("plan", EqualTo, json!(["GOLD", "silver", "bronze"]))] => [1, 2];
        // longer than what the PostgreSQL index terms keep (128 characters)
        [c("tier_note", EqualTo, json!([LONG_NOTE]))] => [3];
        [c("tier_note", EqualTo, json!([format!("{LONG_NOTE}!")]))] => [];
        // custom number, currency, percent (contact 2's "many" must neither match nor fail)
        [c("seats", EqualTo, json!([10]))] => [1];
        [c("seats", EqualTo, json!([3.5, "10"]))] => [1, 4];
        [c("seats", NotEqualTo, json!([10]))] => [2, 3, 4];
        [c("seats", IsGreaterThan, json!([5]))] => [1];
        [c("seats", IsLessThan, json!(["5"]))] => [4];
        [c("seats", IsPresent, json!([]))] => [1, 2, 4];
        [c("seats", IsNotPresent, json!([]))] => [3];
        [c("mrr", EqualTo, json!([99.5]))] => [1];
        [c("mrr", IsGreaterThan, json!([50]))] => [1];
        [c("mrr", IsLessThan, json!([50]))] => [2];
        [c("discount", EqualTo, json!([15]))] => [1];
        [c("discount", NotEqualTo, json!([15]))] => [2, 3, 4];
        [c("discount", IsLessThan, json!([20]))] => [1];
        // custom date (contact 4's "01/02/2020" is no date and must not compare as text)
        [c("renewal_date", EqualTo, json!(["2024-03-01"]))] => [1];
        [c("renewal_date", EqualTo, json!(["2024-02-29"]))] => [2];
        [c("renewal_date", NotEqualTo, json!(["2024-03-01"]))] => [2, 3, 4];
        [c("renewal_date", IsGreaterThan, json!(["2024-02-29"]))] => [1];
        [c("renewal_date", IsLessThan, json!(["2024-03-01"]))] => [2];
        [c("renewal_date", DaysBefore, json!([15]))] => [];
        [c("renewal_date", DaysBefore, json!([14]))] => [2];
        [c("renewal_date", IsPresent, json!([]))] => [1, 2, 4];
        // custom checkbox (contact 4's string "true" is no boolean)
        [c("vip", EqualTo, json!([true]))] => [1];
        [c("vip", EqualTo, json!(["false"]))] => [2];
        [c("vip", NotEqualTo, json!([true]))] => [2, 3, 4];
        [c("vip", IsPresent, json!([]))] => [1, 2, 4];
        [c("vip", IsNotPresent, json!([]))] => [3];
        // A OR B AND C = A OR (B AND C); (A OR B) AND C would give [3]
        [
            or(c("name", EqualTo, json!(["bob stone"]))),
            and(c("city", EqualTo, json!(["paris"]))),
            c("blocked", EqualTo, json!([false])),
        ] => [2, 3];
        // A AND B OR C = (A AND B) OR C
        [
            and(c("email", Contains, json!(["example.com"]))),
            or(c("blocked", EqualTo, json!([true]))),
            c("labels", IsNotPresent, json!([])),
        ] => [3];
        [
            or(c("labels", NotEqualTo, json!(["beta"]))),
            and(c("vip", EqualTo, json!([true]))),
            c("seats", IsGreaterThan, json!([5])),
        ] => [1, 3, 4];
        [
            or(c("name", EqualTo, json!(["alice smith"]))),
            or(c("name", EqualTo, json!(["bob stone"]))),
            or(c("phone_number", StartsWith, json!(["1415"]))),
        ] => [1, 2, 4];
        // the custom not_equal_to's OR stays inside its brackets, on either side
        [c("plan", NotEqualTo, json!(["gold"])), c("blocked", EqualTo, json!([false]))] => [3, 4];
        [c("blocked", EqualTo, json!([false])), c("plan", NotEqualTo, json!(["gold"]))] => [3, 4];
        // the last query operator is ignored; a missing one means AND
        [or(c("name", EqualTo, json!(["alice smith"])))] => [1];
        [c("city", EqualTo, json!(["berlin"])), c("blocked", EqualTo, json!([true]))] => [2];
    }
}

/// Runs every case; returns the failures, one line each.
async fn run_cases(db: &DatabaseConnection, seeded: &Seeded) -> Vec<String> {
    let backend = db.get_database_backend();
    let mut failures = Vec::new();
    for (conditions, expected) in cases() {
        let describe = || {
            conditions
                .iter()
                .map(|c| {
                    format!(
                        "{} {:?} {:?} {:?}",
                        c.attribute_key, c.filter_operator, c.values, c.query_operator
                    )
                })
                .collect::<Vec<_>>()
                .join(" / ")
        };
        let condition = match build(
            &conditions,
            &seeded.definitions,
            backend,
            today(),
            &InputLimits::default(),
        ) {
            Ok(Some(condition)) => condition,
            other => {
                failures.push(format!("{}: build gave {other:?}", describe()));
                continue;
            }
        };
        let found = contact::Entity::find()
            .filter(contact::Column::AccountId.eq(seeded.account))
            .filter(condition)
            .order_by_asc(contact::Column::Id)
            .all(db)
            .await;
        let expected: Vec<i64> = expected.iter().map(|n| seeded.contacts[n - 1]).collect();
        match found {
            Ok(found) => {
                let found: Vec<i64> = found.iter().map(|c| c.id).collect();
                if found != expected {
                    failures.push(format!(
                        "{}: expected {expected:?}, got {found:?}",
                        describe()
                    ));
                }
            }
            Err(err) => failures.push(format!("{}: {err}", describe())),
        }
    }
    failures
}

#[tokio::test]
async fn filters_run_on_sqlite() {
    let dir = tempfile::tempdir().unwrap();
    let url = format!("sqlite://{}/f.db?mode=rwc", dir.path().display());
    let db = Database::connect(&url).await.unwrap();
    let seeded = seed(&db).await;
    let failures = run_cases(&db, &seeded).await;
    db.close().await.unwrap();
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

/// Runs the same cases on a fresh PostgreSQL database, created and dropped around the test.
/// Skipped unless `DATABASE_URL` is a postgres URL.
#[tokio::test]
async fn filters_run_on_postgres() {
    let Ok(url) = std::env::var("DATABASE_URL") else {
        return;
    };
    if !url.starts_with("postgres") {
        return;
    }
    let admin = Database::connect(&url).await.unwrap();
    let name = format!(
        "switchboard_filter_{}_{}",
        std::process::id(),
        Utc::now().timestamp_nanos_opt().unwrap_or_default()
    );
    admin
        .execute_unprepared(&format!("CREATE DATABASE \"{name}\""))
        .await
        .unwrap();
    let (base, query) = match url.split_once('?') {
        Some((base, query)) => (base, format!("?{query}")),
        None => (url.as_str(), String::new()),
    };
    let (server, _) = base.rsplit_once('/').unwrap();
    let db = Database::connect(&format!("{server}/{name}{query}"))
        .await
        .unwrap();
    // In a task of its own, so that the database is dropped even when seeding panics.
    let outcome = tokio::spawn(async move {
        let seeded = seed(&db).await;
        let failures = run_cases(&db, &seeded).await;
        db.close().await.unwrap();
        failures
    })
    .await;
    admin
        .execute_unprepared(&format!("DROP DATABASE \"{name}\" WITH (FORCE)"))
        .await
        .unwrap();
    let failures = outcome.unwrap();
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

// --- size: bounded input, flat rendering ----------------------------------------------------------

#[test]
fn the_limits_name_the_first_condition_over_them() {
    let limits = InputLimits {
        max_filter_conditions: 3,
        max_filter_values: 2,
        ..InputLimits::default()
    };
    let ok = [c("name", Contains, json!(["a", "b"]))];
    assert!(bounded(&ok, &limits).is_ok());
    let values = [
        c("name", Contains, json!(["a"])),
        c("city", Contains, json!(["a", "b", "c"])),
    ];
    match bounded(&values, &limits) {
        Err(AppError::InvalidFilter {
            index,
            key,
            message,
            ..
        }) => {
            assert_eq!((index, key.as_str()), (1, "city"));
            assert!(message.contains("MAX_FILTER_VALUES"), "{message}");
        }
        other => panic!("{other:?}"),
    }
    let conditions = vec![c("email", Contains, json!(["a"])); 4];
    match build(
        &conditions,
        &definitions(),
        DbBackend::Sqlite,
        today(),
        &limits,
    ) {
        Err(AppError::InvalidFilter { index, message, .. }) => {
            assert_eq!(index, 3);
            assert!(message.contains("MAX_FILTER_CONDITIONS"), "{message}");
        }
        other => panic!("{other:?}"),
    }
}

/// Builds, renders and drops filters far beyond any limit on a thread with a small stack: a
/// rendering whose depth grew with the input overflowed the stack at about 20,000 values
/// (issue 12), so whatever the limits are set to, no filter can end the process.
#[test]
fn renders_huge_filters_on_a_small_stack() {
    let huge: Vec<Value> = (0..100_000).map(|i| json!(format!("v{i}"))).collect();
    let days: Vec<Value> = (0..20_000)
        .map(|i| json!((today() - chrono::Days::new(i)).to_string()))
        .collect();
    let filters = vec![
        vec![c("name", Contains, json!(huge))],
        vec![c("name", DoesNotContain, json!(huge))],
        vec![c("phone_number", StartsWith, json!(huge))],
        vec![c("plan", EqualTo, json!(huge))],
        vec![c("plan", NotEqualTo, json!(huge))],
        vec![c("labels", NotEqualTo, json!(huge))],
        vec![c("renewal_date", EqualTo, json!(days))],
        // Many conditions, in one AND group and in as many OR groups.
        vec![c("name", Contains, json!(["a"])); 50_000],
        (0..50_000)
            .map(|_| {
                let mut condition = c("city", Contains, json!(["a"]));
                condition.query_operator = Some(QueryOperator::Or);
                condition
            })
            .collect(),
    ];
    let worker = std::thread::Builder::new()
        .stack_size(512 * 1024)
        .spawn(move || {
            for conditions in filters {
                for backend in [DbBackend::Postgres, DbBackend::Sqlite] {
                    let filter = parse(&conditions, &definitions(), today()).unwrap();
                    let condition = filter.to_condition(backend).unwrap();
                    let statement = contact::Entity::find().filter(condition).build(backend);
                    assert!(statement.sql.len() > 50_000, "{backend:?}");
                    assert!(!statement.sql.contains("v99999"), "values stay bound");
                }
            }
        })
        .unwrap();
    worker
        .join()
        .expect("rendered without overflowing the stack");
}
