//! `filterContacts` over HTTP: every standard key with each allowed operator, custom attributes
//! of each type, AND/OR precedence, errors with their condition index, and paging a filter.

use chrono::Utc;
use serde_json::{Value, json};

use crate::{
    contacts::{backdate, create_contact, define_attribute, set_labels},
    helpers::{Session, TestApp, spawn_app},
};

const FILTER: &str = "query($f: [ContactFilterCondition!]!) { filterContacts(filter: $f, first: 100, sort: { field: NAME }) { totalCount nodes { id name } } }";

/// A condition joined to the next one by AND (the default).
fn cond(key: &str, op: &str, values: Value) -> Value {
    let mut condition = json!({ "attributeKey": key, "filterOperator": op });
    condition["values"] = values;
    condition
}

/// A condition joined to the next one by OR.
fn or(key: &str, op: &str, values: Value) -> Value {
    let mut condition = cond(key, op, values);
    condition["queryOperator"] = json!("OR");
    condition
}

/// A condition explicitly joined to the next one by AND.
fn and(key: &str, op: &str, values: Value) -> Value {
    let mut condition = cond(key, op, values);
    condition["queryOperator"] = json!("AND");
    condition
}

/// The names `filterContacts` returns, in name order (the count must agree).
async fn names(app: &TestApp, token: &str, conditions: Value) -> Vec<String> {
    let body = app
        .gql(Some(token), FILTER, json!({ "f": conditions }))
        .await;
    assert!(body.get("errors").is_none(), "{conditions}: {body:#}");
    let connection = &body["data"]["filterContacts"];
    let names: Vec<String> = connection["nodes"]
        .as_array()
        .unwrap()
        .iter()
        .map(|node| node["name"].as_str().unwrap().to_owned())
        .collect();
    assert_eq!(connection["totalCount"], json!(names.len()), "{conditions}");
    names
}

/// The first error's extensions of a filter that must fail.
async fn refused(app: &TestApp, token: &str, conditions: Value) -> (Value, String) {
    let body = app
        .gql(Some(token), FILTER, json!({ "f": conditions }))
        .await;
    assert!(
        body["data"].is_null(),
        "{conditions} was accepted: {body:#}"
    );
    let error = &body["errors"][0];
    assert_eq!(
        error["extensions"]["code"], "BAD_USER_INPUT",
        "{conditions}: {body:#}"
    );
    (
        error["extensions"].clone(),
        error["message"].as_str().unwrap().to_owned(),
    )
}

const ANN: &str = "Ann Lee";
const BOB: &str = "Bob Stone";
const CY: &str = "Cy";
const DEE: &str = "Dee Ray";

/// Four resolved contacts and an anonymous one that must never show up, with custom attributes
/// of every type defined.
async fn seed(app: &TestApp, admin: &Session) {
    for (key, kind) in [
        ("plan", "TEXT"),
        ("seats", "NUMBER"),
        ("mrr", "CURRENCY"),
        ("discount", "PERCENT"),
        ("renewal", "DATE"),
        ("tier", "LIST"),
        ("vip_support", "CHECKBOX"),
        ("website", "LINK"),
        ("favourite.colour", "TEXT"),
    ] {
        define_attribute(app, admin, key, kind).await;
    }
    // A conversation attribute is not a contact filter key.
    app.data(
        Some(&admin.token),
        "mutation { createCustomAttributeDefinition(input: { attributeKey: \"priority\", displayName: \"Priority\", displayType: TEXT, model: CONVERSATION_ATTRIBUTE }) { id } }",
        json!({}),
    )
    .await;
    let token = &admin.token;
    let ann = create_contact(
        app,
        token,
        json!({
            "name": ANN, "email": "ann@acme.io", "phoneNumber": "+14155550101", "identifier": "ID-Ann",
            "additionalAttributes": { "company_name": "Acme Corp", "city": "Berlin", "country": "Germany", "country_code": "de" },
            "lastActivityAt": "2020-03-10T12:00:00Z",
            "customAttributes": { "plan": "Pro", "seats": 10, "mrr": 99.5, "discount": 12.5, "renewal": "2024-05-01", "tier": "gold", "vip_support": true, "website": "https://acme.io", "favourite.colour": "Blue" },
        }),
    )
    .await;
    let bob = create_contact(
        app,
        token,
        json!({
            "name": BOB, "email": "bob@globex.com", "phoneNumber": "+442071838750", "identifier": "id-bob",
            "blocked": true,
            "additionalAttributes": { "company_name": "Globex", "city": "London", "country_code": "GB" },
            "lastActivityAt": "2020-03-12T08:00:00Z",
            "customAttributes": { "plan": "basic", "seats": 2, "mrr": 1000, "discount": 5, "renewal": "2024-06-15T10:00:00Z", "tier": "silver", "vip_support": false },
        }),
    )
    .await;
    create_contact(
        app,
        token,
        json!({
            "name": CY, "email": "cy@acme.io",
            "customAttributes": { "plan": "Pro Plus", "seats": "many", "vip_support": "true", "favourite": { "colour": "blue" } },
        }),
    )
    .await;
    let dee = create_contact(
        app,
        token,
        json!({
            "name": DEE, "phoneNumber": "+4915112345678", "identifier": "dee-1",
            "additionalAttributes": { "city": "berlin" },
            "lastActivityAt": Utc::now().to_rfc3339(),
        }),
    )
    .await;
    let anon = create_contact(
        app,
        token,
        json!({
            "name": "Anon Nobody",
            "additionalAttributes": { "city": "Berlin", "company_name": "Acme Corp" },
            "customAttributes": { "plan": "pro", "seats": 100, "vip_support": true },
        }),
    )
    .await;
    set_labels(app, token, &ann, &["vip", "beta"]).await;
    set_labels(app, token, &bob, &["beta"]).await;
    set_labels(app, token, &dee, &["vip"]).await;
    set_labels(app, token, &anon, &["vip"]).await;
    backdate(app, &ann, "2021-01-01T10:00:00Z").await;
    backdate(app, &bob, "2021-01-05T10:00:00Z").await;
}

/// Runs each case and reports every mismatch at once.
async fn check(app: &TestApp, token: &str, cases: Vec<(Value, Vec<&str>)>) {
    let mut failures = Vec::new();
    for (conditions, expected) in cases {
        let got = names(app, token, conditions.clone()).await;
        if got != expected {
            failures.push(format!("{conditions}: expected {expected:?}, got {got:?}"));
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

#[tokio::test]
async fn standard_text_keys_with_each_operator() {
    let app = spawn_app().await;
    let admin = app.account("Acme").await;
    seed(&app, &admin).await;
    let cases = vec![
        // name: case-insensitive text.
        (
            json!([cond("name", "EQUAL_TO", json!(["ann lee"]))]),
            vec![ANN],
        ),
        (
            json!([cond("name", "EQUAL_TO", json!(["ANN LEE", "cy"]))]),
            vec![ANN, CY],
        ),
        (
            json!([cond("name", "NOT_EQUAL_TO", json!(["ann lee"]))]),
            vec![BOB, CY, DEE],
        ),
        (
            json!([cond("name", "CONTAINS", json!(["O", "ray"]))]),
            vec![BOB, DEE],
        ),
        (
            json!([cond("name", "DOES_NOT_CONTAIN", json!(["E"]))]),
            vec![CY],
        ),
        // email: a missing email matches no negative test.
        (
            json!([cond("email", "EQUAL_TO", json!(["ANN@acme.io"]))]),
            vec![ANN],
        ),
        (
            json!([cond("email", "NOT_EQUAL_TO", json!(["ann@acme.io"]))]),
            vec![BOB, CY],
        ),
        (
            json!([cond("email", "CONTAINS", json!(["ACME"]))]),
            vec![ANN, CY],
        ),
        (
            json!([cond("email", "DOES_NOT_CONTAIN", json!(["acme"]))]),
            vec![BOB],
        ),
        // phone_number: values get their `+`; STARTS_WITH is a true prefix match.
        (
            json!([cond("phone_number", "EQUAL_TO", json!(["14155550101"]))]),
            vec![ANN],
        ),
        (
            json!([cond("phone_number", "EQUAL_TO", json!([" +442071838750 "]))]),
            vec![BOB],
        ),
        (
            json!([cond(
                "phone_number",
                "NOT_EQUAL_TO",
                json!(["+14155550101"])
            )]),
            vec![BOB, DEE],
        ),
        (
            json!([cond("phone_number", "CONTAINS", json!(["555"]))]),
            vec![ANN],
        ),
        (
            json!([cond("phone_number", "CONTAINS", json!(["5550", "1838"]))]),
            vec![ANN, BOB],
        ),
        (
            json!([cond("phone_number", "DOES_NOT_CONTAIN", json!(["555"]))]),
            vec![BOB, DEE],
        ),
        (
            json!([cond("phone_number", "STARTS_WITH", json!(["44"]))]),
            vec![BOB],
        ),
        (
            json!([cond("phone_number", "STARTS_WITH", json!(["+4"]))]),
            vec![BOB, DEE],
        ),
        (
            json!([cond("phone_number", "STARTS_WITH", json!(["555"]))]),
            vec![],
        ),
        // identifier: equality ignoring case.
        (
            json!([cond("identifier", "EQUAL_TO", json!(["id-ann"]))]),
            vec![ANN],
        ),
        (
            json!([cond("identifier", "NOT_EQUAL_TO", json!(["ID-BOB"]))]),
            vec![ANN, DEE],
        ),
        // additional attributes.
        (
            json!([cond("country_code", "EQUAL_TO", json!(["DE"]))]),
            vec![ANN],
        ),
        (
            json!([cond("country_code", "NOT_EQUAL_TO", json!(["de"]))]),
            vec![BOB],
        ),
        (
            json!([cond("city", "EQUAL_TO", json!(["BERLIN"]))]),
            vec![ANN, DEE],
        ),
        (
            json!([cond("city", "NOT_EQUAL_TO", json!(["berlin"]))]),
            vec![BOB],
        ),
        (json!([cond("city", "CONTAINS", json!(["lon"]))]), vec![BOB]),
        (
            json!([cond("city", "DOES_NOT_CONTAIN", json!(["LIN"]))]),
            vec![BOB],
        ),
        (
            json!([cond("company", "EQUAL_TO", json!(["acme corp"]))]),
            vec![ANN],
        ),
        (
            json!([cond("company", "NOT_EQUAL_TO", json!(["Acme Corp"]))]),
            vec![BOB],
        ),
        (
            json!([cond("company", "CONTAINS", json!(["GLO"]))]),
            vec![BOB],
        ),
        (
            json!([cond("company", "DOES_NOT_CONTAIN", json!(["corp"]))]),
            vec![BOB],
        ),
        // Values are data, never SQL.
        (
            json!([cond("name", "EQUAL_TO", json!(["x' OR '1'='1"]))]),
            vec![],
        ),
        (json!([cond("name", "CONTAINS", json!(["%"]))]), vec![]),
        (json!([cond("company", "CONTAINS", json!(["_"]))]), vec![]),
    ];
    check(&app, &admin.token, cases).await;
}

#[tokio::test]
async fn standard_label_date_and_boolean_keys_with_each_operator() {
    let app = spawn_app().await;
    let admin = app.account("Acme").await;
    seed(&app, &admin).await;
    let cases = vec![
        (
            json!([cond("labels", "EQUAL_TO", json!(["VIP"]))]),
            vec![ANN, DEE],
        ),
        (
            json!([cond("labels", "EQUAL_TO", json!(["vip", "beta"]))]),
            vec![ANN, BOB, DEE],
        ),
        (
            json!([cond("labels", "NOT_EQUAL_TO", json!(["vip"]))]),
            vec![BOB, CY],
        ),
        (
            json!([cond("labels", "IS_PRESENT", json!([]))]),
            vec![ANN, BOB, DEE],
        ),
        (
            json!([cond("labels", "IS_NOT_PRESENT", json!([]))]),
            vec![CY],
        ),
        // Dates at day granularity in UTC.
        (
            json!([cond(
                "last_activity_at",
                "IS_GREATER_THAN",
                json!(["2020-03-10"])
            )]),
            vec![BOB, DEE],
        ),
        (
            json!([cond(
                "last_activity_at",
                "IS_LESS_THAN",
                json!(["2020-03-12"])
            )]),
            vec![ANN],
        ),
        (
            json!([cond(
                "last_activity_at",
                "IS_LESS_THAN",
                json!(["2020-03-12T23:30:00-02:00"])
            )]),
            vec![ANN, BOB],
        ),
        (
            json!([cond("last_activity_at", "DAYS_BEFORE", json!([3]))]),
            vec![ANN, BOB],
        ),
        (
            json!([cond("last_activity_at", "DAYS_BEFORE", json!(["3"]))]),
            vec![ANN, BOB],
        ),
        (
            json!([cond("created_at", "IS_GREATER_THAN", json!(["2021-01-01"]))]),
            vec![BOB, CY, DEE],
        ),
        (
            json!([cond("created_at", "IS_LESS_THAN", json!(["2021-01-05"]))]),
            vec![ANN],
        ),
        (
            json!([cond("created_at", "DAYS_BEFORE", json!([1]))]),
            vec![ANN, BOB],
        ),
        // blocked: booleans or their strings.
        (
            json!([cond("blocked", "EQUAL_TO", json!([true]))]),
            vec![BOB],
        ),
        (
            json!([cond("blocked", "EQUAL_TO", json!(["false"]))]),
            vec![ANN, CY, DEE],
        ),
        (
            json!([cond("blocked", "NOT_EQUAL_TO", json!([true]))]),
            vec![ANN, CY, DEE],
        ),
        (
            json!([cond("blocked", "NOT_EQUAL_TO", json!(["FALSE"]))]),
            vec![BOB],
        ),
    ];
    check(&app, &admin.token, cases).await;
}

#[tokio::test]
async fn custom_attributes_compare_by_their_type() {
    let app = spawn_app().await;
    let admin = app.account("Acme").await;
    seed(&app, &admin).await;
    let cases = vec![
        // text: ignoring case; a contact missing the key matches NOT_EQUAL_TO only.
        (json!([cond("plan", "EQUAL_TO", json!(["pro"]))]), vec![ANN]),
        (
            json!([cond("plan", "NOT_EQUAL_TO", json!(["pro"]))]),
            vec![BOB, CY, DEE],
        ),
        (
            json!([cond("plan", "CONTAINS", json!(["PRO"]))]),
            vec![ANN, CY],
        ),
        (
            json!([cond("plan", "DOES_NOT_CONTAIN", json!(["plus"]))]),
            vec![ANN, BOB],
        ),
        (
            json!([cond("plan", "STARTS_WITH", json!(["pro"]))]),
            vec![ANN, CY],
        ),
        (
            json!([cond("plan", "IS_PRESENT", json!([]))]),
            vec![ANN, BOB, CY],
        ),
        (
            json!([cond("plan", "IS_NOT_PRESENT", json!([]))]),
            vec![DEE],
        ),
        (
            json!([cond("website", "CONTAINS", json!(["ACME.IO"]))]),
            vec![ANN],
        ),
        (
            json!([cond("favourite.colour", "EQUAL_TO", json!(["blue"]))]),
            vec![ANN],
        ),
        // number: numerically (as text "10" < "5"); a non-number is no number.
        (
            json!([cond("seats", "IS_GREATER_THAN", json!([5]))]),
            vec![ANN],
        ),
        (
            json!([cond("seats", "IS_LESS_THAN", json!(["3"]))]),
            vec![BOB],
        ),
        (json!([cond("seats", "EQUAL_TO", json!([10]))]), vec![ANN]),
        (
            json!([cond("seats", "EQUAL_TO", json!([2, 10]))]),
            vec![ANN, BOB],
        ),
        (
            json!([cond("seats", "NOT_EQUAL_TO", json!([10]))]),
            vec![BOB, CY, DEE],
        ),
        (
            json!([cond("seats", "IS_PRESENT", json!([]))]),
            vec![ANN, BOB, CY],
        ),
        (
            json!([cond("seats", "IS_NOT_PRESENT", json!([]))]),
            vec![DEE],
        ),
        // currency and percent are numbers too.
        (
            json!([cond("mrr", "IS_GREATER_THAN", json!([100]))]),
            vec![BOB],
        ),
        (
            json!([cond("mrr", "IS_LESS_THAN", json!([100]))]),
            vec![ANN],
        ),
        (json!([cond("mrr", "EQUAL_TO", json!([99.5]))]), vec![ANN]),
        (
            json!([cond("mrr", "IS_NOT_PRESENT", json!([]))]),
            vec![CY, DEE],
        ),
        (
            json!([cond("discount", "IS_GREATER_THAN", json!(["10"]))]),
            vec![ANN],
        ),
        // date: the day of a date or timestamp.
        (
            json!([cond("renewal", "EQUAL_TO", json!(["2024-05-01"]))]),
            vec![ANN],
        ),
        (
            json!([cond("renewal", "EQUAL_TO", json!(["2024-06-15"]))]),
            vec![BOB],
        ),
        (
            json!([cond("renewal", "NOT_EQUAL_TO", json!(["2024-05-01"]))]),
            vec![BOB, CY, DEE],
        ),
        (
            json!([cond("renewal", "IS_GREATER_THAN", json!(["2024-05-01"]))]),
            vec![BOB],
        ),
        (
            json!([cond("renewal", "IS_LESS_THAN", json!(["2024-06-15"]))]),
            vec![ANN],
        ),
        (
            json!([cond("renewal", "DAYS_BEFORE", json!([0]))]),
            vec![ANN, BOB],
        ),
        (
            json!([cond("renewal", "IS_PRESENT", json!([]))]),
            vec![ANN, BOB],
        ),
        (
            json!([cond("renewal", "IS_NOT_PRESENT", json!([]))]),
            vec![CY, DEE],
        ),
        // list: text.
        (
            json!([cond("tier", "EQUAL_TO", json!(["GOLD"]))]),
            vec![ANN],
        ),
        (
            json!([cond("tier", "NOT_EQUAL_TO", json!(["gold"]))]),
            vec![BOB, CY, DEE],
        ),
        (json!([cond("tier", "CONTAINS", json!(["ilv"]))]), vec![BOB]),
        // checkbox: JSON booleans only (Cy's is the string "true").
        (
            json!([cond("vip_support", "EQUAL_TO", json!([true]))]),
            vec![ANN],
        ),
        (
            json!([cond("vip_support", "EQUAL_TO", json!(["false"]))]),
            vec![BOB],
        ),
        (
            json!([cond("vip_support", "NOT_EQUAL_TO", json!([true]))]),
            vec![BOB, CY, DEE],
        ),
        (
            json!([cond("vip_support", "IS_NOT_PRESENT", json!([]))]),
            vec![DEE],
        ),
    ];
    check(&app, &admin.token, cases).await;
}

#[tokio::test]
async fn and_binds_tighter_than_or_on_top_of_resolved_contacts() {
    let app = spawn_app().await;
    let admin = app.account("Acme").await;
    seed(&app, &admin).await;
    let cases = vec![
        // A OR B AND C is A OR (B AND C): (A OR B) AND C would be empty.
        (
            json!([
                or("name", "EQUAL_TO", json!(["ann lee"])),
                and("city", "EQUAL_TO", json!(["berlin"])),
                cond("blocked", "EQUAL_TO", json!([true])),
            ]),
            vec![ANN],
        ),
        // A AND B OR C is (A AND B) OR C: A AND (B OR C) would be Ann alone.
        (
            json!([
                and("email", "CONTAINS", json!(["acme"])),
                or("labels", "EQUAL_TO", json!(["vip"])),
                cond("name", "EQUAL_TO", json!(["bob stone"])),
            ]),
            vec![ANN, BOB],
        ),
        // The default join is AND.
        (
            json!([
                cond("city", "EQUAL_TO", json!(["berlin"])),
                cond("labels", "EQUAL_TO", json!(["beta"])),
            ]),
            vec![ANN],
        ),
        // A NOT_EQUAL_TO of a custom attribute stays bracketed: (missing OR != pro) AND blocked.
        (
            json!([
                cond("plan", "NOT_EQUAL_TO", json!(["pro"])),
                cond("blocked", "EQUAL_TO", json!([false])),
            ]),
            vec![CY, DEE],
        ),
        // The last query operator is ignored.
        (json!([or("name", "EQUAL_TO", json!(["cy"]))]), vec![CY]),
        // Anonymous contacts never match, whichever branch they would satisfy.
        (
            json!([
                or("name", "EQUAL_TO", json!(["nobody"])),
                or("name", "CONTAINS", json!(["anon"])),
                cond("seats", "IS_GREATER_THAN", json!([50])),
            ]),
            vec![],
        ),
        // No conditions: every resolved contact.
        (json!([]), vec![ANN, BOB, CY, DEE]),
    ];
    check(&app, &admin.token, cases).await;
}

#[tokio::test]
async fn invalid_filters_are_refused_with_the_condition_index() {
    let app = spawn_app().await;
    let admin = app.account("Acme").await;
    seed(&app, &admin).await;
    let ok = cond("name", "EQUAL_TO", json!(["x"]));

    // Unknown key: lists the allowed keys, custom ones included.
    for key in ["shoe_size", "priority", "company_name", "Name"] {
        let (extensions, message) = refused(
            &app,
            &admin.token,
            json!([ok.clone(), cond(key, "EQUAL_TO", json!(["9"]))]),
        )
        .await;
        assert_eq!(extensions["conditionIndex"], 1, "{key}: {extensions}");
        assert_eq!(extensions["attributeKey"], key);
        assert_eq!(extensions["field"], "filter");
        for allowed in [
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
            "plan",
            "vip_support",
        ] {
            assert!(
                message.contains(allowed),
                "{key}: {allowed} missing from {message}"
            );
        }
    }

    // An operator the key does not allow: lists the allowed ones.
    let (extensions, message) = refused(
        &app,
        &admin.token,
        json!([cond("identifier", "CONTAINS", json!(["x"]))]),
    )
    .await;
    assert_eq!(extensions["conditionIndex"], 0);
    assert!(message.contains("EQUAL_TO, NOT_EQUAL_TO"), "{message}");
    for (key, op) in [
        ("name", "STARTS_WITH"),
        ("name", "IS_PRESENT"),
        ("email", "IS_GREATER_THAN"),
        ("phone_number", "IS_PRESENT"),
        ("country_code", "CONTAINS"),
        ("city", "STARTS_WITH"),
        ("company", "DAYS_BEFORE"),
        ("labels", "CONTAINS"),
        ("created_at", "EQUAL_TO"),
        ("last_activity_at", "IS_PRESENT"),
        ("blocked", "IS_PRESENT"),
        ("plan", "IS_GREATER_THAN"),
        ("seats", "CONTAINS"),
        ("mrr", "DAYS_BEFORE"),
        ("renewal", "STARTS_WITH"),
        ("vip_support", "IS_LESS_THAN"),
    ] {
        let (extensions, message) = refused(
            &app,
            &admin.token,
            json!([ok.clone(), ok.clone(), cond(key, op, json!(["1"]))]),
        )
        .await;
        assert_eq!(extensions["conditionIndex"], 2, "{key} {op}: {extensions}");
        assert!(message.contains(op), "{key} {op}: {message}");
    }

    // Empty values, and values that do not parse for the type.
    for (condition, what) in [
        (cond("name", "EQUAL_TO", json!([])), "empty"),
        (cond("labels", "NOT_EQUAL_TO", json!([])), "empty"),
        (cond("created_at", "IS_GREATER_THAN", json!([])), "empty"),
        (cond("seats", "EQUAL_TO", json!([])), "empty"),
        (
            cond("created_at", "IS_GREATER_THAN", json!(["yesterday"])),
            "date",
        ),
        (
            cond("last_activity_at", "IS_LESS_THAN", json!([20200101])),
            "date",
        ),
        (cond("renewal", "EQUAL_TO", json!(["2024-13-01"])), "date"),
        (cond("created_at", "DAYS_BEFORE", json!(["-1"])), "days"),
        (cond("created_at", "DAYS_BEFORE", json!([1.5])), "days"),
        (cond("seats", "IS_GREATER_THAN", json!(["lots"])), "number"),
        (cond("mrr", "EQUAL_TO", json!([true])), "number"),
        (cond("blocked", "EQUAL_TO", json!(["yes"])), "boolean"),
        (cond("vip_support", "EQUAL_TO", json!([1])), "boolean"),
        (cond("seats", "IS_GREATER_THAN", json!([1, 2])), "one value"),
    ] {
        let (extensions, message) =
            refused(&app, &admin.token, json!([ok.clone(), condition.clone()])).await;
        assert_eq!(
            extensions["conditionIndex"], 1,
            "{what} {condition}: {extensions}"
        );
        assert_eq!(extensions["attributeKey"], condition["attributeKey"]);
        assert!(!message.is_empty());
    }

    // Only the first invalid condition is reported.
    let (extensions, _) = refused(
        &app,
        &admin.token,
        json!([
            cond("nope", "EQUAL_TO", json!(["1"])),
            cond("name", "EQUAL_TO", json!([]))
        ]),
    )
    .await;
    assert_eq!(extensions["conditionIndex"], 0);
}

#[tokio::test]
async fn a_filter_pages_with_the_total_of_the_whole_result() {
    let app = spawn_app().await;
    let admin = app.account("Acme").await;
    seed(&app, &admin).await;
    let query = "query($f: [ContactFilterCondition!]!, $after: String) { filterContacts(filter: $f, first: 2, after: $after, sort: { field: NAME }) { totalCount nodes { name } pageInfo { hasNextPage hasPreviousPage endCursor } } }";
    let filter = json!([cond("labels", "IS_PRESENT", json!([]))]);
    let first = app
        .data(Some(&admin.token), query, json!({ "f": filter }))
        .await["filterContacts"]
        .clone();
    assert_eq!(first["nodes"], json!([{ "name": ANN }, { "name": BOB }]));
    assert_eq!(first["totalCount"], 3);
    assert_eq!(first["pageInfo"]["hasNextPage"], true);
    assert_eq!(first["pageInfo"]["hasPreviousPage"], false);
    let second = app
        .data(
            Some(&admin.token),
            query,
            json!({ "f": filter, "after": first["pageInfo"]["endCursor"] }),
        )
        .await["filterContacts"]
        .clone();
    assert_eq!(second["nodes"], json!([{ "name": DEE }]));
    assert_eq!(second["totalCount"], 3);
    assert_eq!(second["pageInfo"]["hasNextPage"], false);
    assert_eq!(second["pageInfo"]["hasPreviousPage"], true);

    // The default order (most recently active first) pages too.
    let default = "query($f: [ContactFilterCondition!]!, $after: String) { filterContacts(filter: $f, first: 2, after: $after) { totalCount nodes { name } pageInfo { hasNextPage endCursor } } }";
    let filter = json!([cond("email", "IS_PRESENT", json!([]))]);
    // IS_PRESENT is not allowed on email: the filter is refused, not ignored.
    refused(&app, &admin.token, filter).await;
    let filter = json!([
        or("labels", "IS_PRESENT", json!([])),
        cond("name", "EQUAL_TO", json!(["cy"]))
    ]);
    let first = app
        .data(Some(&admin.token), default, json!({ "f": filter }))
        .await["filterContacts"]
        .clone();
    assert_eq!(first["nodes"], json!([{ "name": DEE }, { "name": BOB }]));
    assert_eq!(first["totalCount"], 4);
    let second = app
        .data(
            Some(&admin.token),
            default,
            json!({ "f": filter, "after": first["pageInfo"]["endCursor"] }),
        )
        .await["filterContacts"]
        .clone();
    assert_eq!(second["nodes"], json!([{ "name": ANN }, { "name": CY }]));
    assert_eq!(second["pageInfo"]["hasNextPage"], false);

    // Page size bounds apply.
    let body = app
        .gql(
            Some(&admin.token),
            "{ filterContacts(filter: [], first: 101) { totalCount } }",
            json!({}),
        )
        .await;
    assert_eq!(crate::helpers::error_code(&body), "BAD_USER_INPUT");
}
