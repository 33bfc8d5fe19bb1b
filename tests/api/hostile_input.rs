//! Hostile input (issue 12, defects 1 and 8): oversized filters, NUL bytes, lists long enough to
//! exceed the database's bind parameters, huge or deep JSON attributes. Each is a coded
//! BAD_USER_INPUT naming the field, nothing is written, and the server keeps answering.

use serde_json::{Value, json};

use crate::{
    contacts::{create_contact, get_contact},
    helpers::{TestApp, error_code, spawn_app},
};

const FILTER: &str =
    "query($f: [ContactFilterCondition!]!) { filterContacts(filter: $f) { totalCount } }";
const EXPORT: &str =
    "mutation($f: [ContactFilterCondition!]) { exportContacts(filter: $f) { id } }";

/// Asserts a BAD_USER_INPUT whose `extensions.field` names `field` (a variable path such as
/// `input.name` also names it), with no data written.
fn assert_refused(body: &Value, field: &str) {
    assert_eq!(error_code(body), "BAD_USER_INPUT", "{body:#}");
    let named = body["errors"][0]["extensions"]["field"]
        .as_str()
        .unwrap_or_else(|| panic!("no extensions.field in {body:#}"));
    assert!(named.contains(field), "field {named:?} is not {field:?}");
}

/// The server still answers a trivial query.
async fn assert_alive(app: &TestApp) {
    let data = app.data(None, "{ __typename }", json!({})).await;
    assert_eq!(data["__typename"], "Query");
}

fn values(n: usize) -> Vec<Value> {
    (0..n).map(|i| json!(format!("v{i}"))).collect()
}

#[tokio::test]
async fn a_filter_with_20000_values_is_refused_and_the_server_survives() {
    let app = spawn_app().await;
    let admin = app.account("Acme").await;
    for (key, op) in [
        ("name", "CONTAINS"),
        ("name", "DOES_NOT_CONTAIN"),
        ("phone_number", "STARTS_WITH"),
    ] {
        let filter =
            json!([{ "attributeKey": key, "filterOperator": op, "values": values(20_000) }]);
        for query in [FILTER, EXPORT] {
            let body = app
                .gql(Some(&admin.token), query, json!({ "f": filter }))
                .await;
            assert_refused(&body, "filter");
            let extensions = &body["errors"][0]["extensions"];
            assert_eq!(extensions["conditionIndex"], 0, "{body:#}");
            let message = body["errors"][0]["message"].as_str().unwrap();
            assert!(message.contains("MAX_FILTER_VALUES"), "{message}");
        }
        assert_alive(&app).await;
    }
}

#[tokio::test]
async fn a_filter_with_too_many_conditions_names_the_first_one_over() {
    let app = spawn_app().await;
    let admin = app.account("Acme").await;
    let condition =
        json!({ "attributeKey": "name", "filterOperator": "CONTAINS", "values": ["a"] });
    let within: Vec<Value> = vec![condition.clone(); 50];
    let data = app
        .data(Some(&admin.token), FILTER, json!({ "f": within }))
        .await;
    assert_eq!(data["filterContacts"]["totalCount"], 0);
    let over: Vec<Value> = vec![condition; 5_000];
    let body = app
        .gql(Some(&admin.token), FILTER, json!({ "f": over }))
        .await;
    assert_refused(&body, "filter");
    assert_eq!(body["errors"][0]["extensions"]["conditionIndex"], 50);
    let message = body["errors"][0]["message"].as_str().unwrap();
    assert!(message.contains("MAX_FILTER_CONDITIONS"), "{message}");
    assert_alive(&app).await;
}

#[tokio::test]
async fn nul_bytes_are_refused_naming_the_field() {
    let app = spawn_app().await;
    let admin = app.account("Acme").await;
    let create = "mutation($input: CreateContactInput!) { createContact(input: $input) { id } }";
    for (input, field) in [
        (json!({ "name": "a\u{0}b" }), "name"),
        (json!({ "identifier": "x\u{0}" }), "identifier"),
        (
            json!({ "customAttributes": { "k\u{0}ey": "v" } }),
            "customAttributes",
        ),
        (
            json!({ "customAttributes": { "key": { "deep": ["v\u{0}"] } } }),
            "customAttributes",
        ),
        (
            json!({ "additionalAttributes": { "city": "\u{0}" } }),
            "additionalAttributes",
        ),
    ] {
        let body = app
            .gql(Some(&admin.token), create, json!({ "input": input }))
            .await;
        assert_refused(&body, field);
    }
    let filter =
        json!([{ "attributeKey": "name", "filterOperator": "EQUAL_TO", "values": ["a\u{0}"] }]);
    let body = app
        .gql(Some(&admin.token), FILTER, json!({ "f": filter }))
        .await;
    assert_refused(&body, "filter");
    let contacts = app
        .data(Some(&admin.token), "{ contacts { totalCount } }", json!({}))
        .await;
    assert_eq!(contacts["contacts"]["totalCount"], 0, "nothing was written");
    assert_alive(&app).await;
}

#[tokio::test]
async fn lists_beyond_the_bind_parameter_limit_are_refused() {
    let app = spawn_app().await;
    let admin = app.account("Acme").await;
    let id = create_contact(&app, &admin.token, json!({ "name": "Ann" })).await;
    // 25,000 labels of three columns each: more parameters than SQLite or PostgreSQL bind.
    let labels: Vec<String> = (0..25_000).map(|i| format!("l{i}")).collect();
    for mutation in ["setContactLabels", "addContactLabels"] {
        let query = format!(
            "mutation($id: ID!, $l: [String!]!) {{ {mutation}(id: $id, labels: $l) {{ id }} }}"
        );
        let body = app
            .gql(Some(&admin.token), &query, json!({ "id": id, "l": labels }))
            .await;
        assert_refused(&body, "labels");
    }
    let keys: Vec<String> = (0..100_000).map(|i| format!("k{i}")).collect();
    let body = app
        .gql(
            Some(&admin.token),
            "mutation($id: ID!, $k: [String!]!) { deleteContactCustomAttributes(id: $id, keys: $k) { id } }",
            json!({ "id": id, "k": keys }),
        )
        .await;
    assert_refused(&body, "keys");
    // The contacts list's label argument is a query, but binds a parameter per label too.
    let body = app
        .gql(
            Some(&admin.token),
            "query($l: [String!]) { contacts(labels: $l) { totalCount } }",
            json!({ "l": (0..65_534).map(|i| format!("l{i}")).collect::<Vec<_>>() }),
        )
        .await;
    assert_refused(&body, "labels");
    assert_eq!(
        get_contact(&app, &admin.token, &id).await["labels"],
        json!([])
    );
    assert_alive(&app).await;
}

#[tokio::test]
async fn attributes_are_bounded_in_size_and_depth() {
    let app = spawn_app().await;
    let admin = app.account("Acme").await;
    let create = "mutation($input: CreateContactInput!) { createContact(input: $input) { id } }";
    let big = json!({ "customAttributes": { "notes": "x".repeat(100 * 1024) } });
    let body = app
        .gql(Some(&admin.token), create, json!({ "input": big }))
        .await;
    assert_refused(&body, "customAttributes");
    let mut deep = json!("bottom");
    for _ in 0..20 {
        deep = json!({ "a": deep });
    }
    let body = app
        .gql(
            Some(&admin.token),
            create,
            json!({ "input": { "additionalAttributes": deep } }),
        )
        .await;
    assert_refused(&body, "additionalAttributes");
    // An update merged into what is stored is bounded as a whole.
    let id = create_contact(
        &app,
        &admin.token,
        json!({ "customAttributes": { "a": "x".repeat(40 * 1024) } }),
    )
    .await;
    let body = app
        .gql(
            Some(&admin.token),
            "mutation($id: ID!, $input: UpdateContactInput!) { updateContact(id: $id, input: $input) { id } }",
            json!({ "id": id, "input": { "customAttributes": { "b": "y".repeat(40 * 1024) } } }),
        )
        .await;
    assert_refused(&body, "customAttributes");
    let stored = get_contact(&app, &admin.token, &id).await;
    assert!(stored["customAttributes"].get("b").is_none(), "{stored:#}");
    assert_alive(&app).await;
}
