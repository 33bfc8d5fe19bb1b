//! Rendering: bound parameters, PostgreSQL's index terms, bracketing, and the GraphQL input.

use super::*;

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

/// The statement selecting the contacts matching `conditions`, rendered for `backend`.
fn statement(conditions: &[ContactFilterCondition], backend: DbBackend) -> sea_orm::Statement {
    let condition = build(
        conditions,
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
        let statement = statement(&everything(), backend);
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
    let sql = statement(&everything(), DbBackend::Postgres).sql;
    assert!(!sql.contains('?'), "{sql}");
    assert!(sql.contains("jsonb_typeof"), "{sql}");
}

#[test]
fn a_custom_text_equal_to_also_renders_index_terms_on_postgres() {
    let conditions = [c("plan", EqualTo, json!(["Gold", "zq-silver"]))];
    for backend in [DbBackend::Postgres, DbBackend::Sqlite] {
        let statement = statement(&conditions, backend);
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
    let conditions = [
        c("blocked", EqualTo, json!([false])),
        c("plan", NotEqualTo, json!(["gold"])),
    ];
    let sql = statement(&conditions, DbBackend::Sqlite).sql;
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
