//! Property tests of hostile input (issue 12, "Fuzzing"): generated filters and variables of
//! every contact mutation, sent to one live server per property. Every input must be answered
//! with data or with errors that all carry `extensions.code` — never a 5xx, a crash or an
//! uncoded error — and the server must still answer `{ __typename }` afterwards.
//!
//! `PROPTEST_CASES` sets the cases per property (default 64, which keeps all of them together
//! well under a minute on a small machine).

use proptest::{
    prelude::*,
    test_runner::{Config, TestCaseError, TestRunner},
};
use serde_json::{Map, Value, json};

use crate::{
    contacts::create_contact,
    helpers::{Session, TestApp, spawn_app},
};

fn cases() -> u32 {
    std::env::var("PROPTEST_CASES")
        .ok()
        .and_then(|cases| cases.parse().ok())
        .unwrap_or(64)
}

fn runner() -> TestRunner {
    TestRunner::new(Config {
        cases: cases(),
        failure_persistence: None,
        ..Config::default()
    })
}

// --- generators -----------------------------------------------------------------------------------

/// Strings a hostile client sends: NUL bytes, unicode that changes length when lower-cased or
/// reverses text, LIKE wildcards, SQL and JSON-path punctuation, huge ones.
fn hostile_string() -> impl Strategy<Value = String> {
    prop_oneof![
        4 => ".{0,40}",
        1 => Just(String::new()),
        1 => Just("\u{0}".to_owned()),
        1 => ".{0,10}".prop_map(|s| format!("{s}\u{0}{s}")),
        1 => Just("İstanbul ß ﬁ \u{130}\u{1E9E}".to_owned()),
        1 => Just("\u{FEFF}\u{202E}\u{200D}\u{FFFF}\u{10FFFF}é\u{301}".to_owned()),
        1 => Just("%_\\' \" $.\"a\" ?$1 --;".to_owned()),
        1 => Just("🎉".repeat(300)),
        1 => (1usize..200_000).prop_map(|n| "x".repeat(n)),
    ]
}

/// JSON values of every type, nested, with hostile strings and keys.
fn hostile_json() -> impl Strategy<Value = Value> {
    let leaf = prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::from),
        any::<i64>().prop_map(Value::from),
        any::<f64>()
            .prop_filter("JSON has no NaN", |f| f.is_finite())
            .prop_map(Value::from),
        hostile_string().prop_map(Value::from),
    ];
    leaf.prop_recursive(6, 64, 8, |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..8).prop_map(Value::Array),
            prop::collection::vec((hostile_string(), inner), 0..8)
                .prop_map(|pairs| Value::Object(pairs.into_iter().collect::<Map<_, _>>())),
        ]
    })
}

/// Very large or very deep values, beyond what the generator above reaches.
fn monster_json() -> impl Strategy<Value = Value> {
    prop_oneof![
        (1usize..100_000).prop_map(|n| Value::Array(vec![json!(0); n])),
        (1usize..100_000)
            .prop_map(|n| Value::Array((0..n).map(|i| json!(format!("l{i}"))).collect())),
        (1usize..200).prop_map(|depth| {
            (0..depth).fold(json!("bottom"), |inner, _| json!({ "a": inner }))
        }),
        (1usize..20_000)
            .prop_map(|n| { Value::Object((0..n).map(|i| (format!("k{i}"), json!(i))).collect()) }),
    ]
}

fn any_json() -> impl Strategy<Value = Value> {
    prop_oneof![6 => hostile_json(), 1 => monster_json()]
}

/// A value of a filter condition's field: mostly well-formed, sometimes anything.
fn filter_condition() -> impl Strategy<Value = Value> {
    let key = prop_oneof![
        4 => prop::sample::select(vec![
            "name", "email", "phone_number", "identifier", "country_code", "city", "company",
            "labels", "created_at", "last_activity_at", "blocked", "plan", "seats", "vip",
        ])
        .prop_map(Value::from),
        1 => any_json(),
    ];
    let operator = prop_oneof![
        4 => prop::sample::select(vec![
            "EQUAL_TO", "NOT_EQUAL_TO", "CONTAINS", "DOES_NOT_CONTAIN", "STARTS_WITH",
            "IS_PRESENT", "IS_NOT_PRESENT", "IS_GREATER_THAN", "IS_LESS_THAN", "DAYS_BEFORE",
        ])
        .prop_map(Value::from),
        1 => any_json(),
    ];
    let values = prop_oneof![
        4 => prop::collection::vec(hostile_json(), 0..6).prop_map(Value::Array),
        1 => any_json(),
    ];
    let joiner = prop_oneof![
        Just(Value::Null),
        Just(json!("AND")),
        Just(json!("OR")),
        any_json(),
    ];
    (key, operator, values, joiner).prop_map(|(key, operator, values, joiner)| {
        json!({
            "attributeKey": key,
            "filterOperator": operator,
            "values": values,
            "queryOperator": joiner,
        })
    })
}

fn filter() -> impl Strategy<Value = Value> {
    prop_oneof![
        8 => prop::collection::vec(filter_condition(), 0..8).prop_map(Value::Array),
        1 => (1usize..5_000).prop_map(|n| {
            Value::Array(vec![json!({ "attributeKey": "name", "filterOperator": "CONTAINS", "values": ["a"] }); n])
        }),
        1 => any_json(),
    ]
}

/// An input object for createContact/updateContact: every field, each possibly hostile.
fn contact_input() -> impl Strategy<Value = Value> {
    let field = || prop_oneof![3 => hostile_string().prop_map(Value::from), 1 => any_json()];
    (
        prop::collection::vec(
            prop::sample::select(vec![
                "name",
                "middleName",
                "lastName",
                "email",
                "phoneNumber",
                "identifier",
                "avatarUrl",
                "sourceId",
                "lastActivityAt",
                "contactType",
                "blocked",
                "inboxId",
            ]),
            0..6,
        ),
        prop::collection::vec(field(), 6),
        prop::option::of(any_json()),
        prop::option::of(any_json()),
    )
        .prop_map(|(keys, values, custom, additional)| {
            let mut input: Map<String, Value> = keys
                .into_iter()
                .zip(values)
                .map(|(k, v)| (k.to_owned(), v))
                .collect();
            if let Some(custom) = custom {
                input.insert("customAttributes".into(), custom);
            }
            if let Some(additional) = additional {
                input.insert("additionalAttributes".into(), additional);
            }
            Value::Object(input)
        })
}

/// A list argument: strings mostly, sometimes huge or of the wrong type.
fn string_list() -> impl Strategy<Value = Value> {
    prop_oneof![
        4 => prop::collection::vec(hostile_string(), 0..10)
            .prop_map(|items| Value::Array(items.into_iter().map(Value::from).collect())),
        1 => any_json(),
    ]
}

/// An id: the real one, another number, or garbage.
fn id(real: String) -> impl Strategy<Value = Value> {
    prop_oneof![
        3 => Just(Value::from(real)),
        1 => any::<i64>().prop_map(|n| Value::from(n.to_string())),
        1 => any_json(),
    ]
}

// --- the oracle -----------------------------------------------------------------------------------

/// Sends one request and checks the answer: not a 5xx, JSON, and either data or errors that
/// all carry a code.
async fn answered(
    app: &TestApp,
    token: &str,
    query: &str,
    variables: &Value,
) -> Result<(), String> {
    let response = app
        .http
        .post(app.url("/graphql"))
        .bearer_auth(token)
        .json(&json!({ "query": query, "variables": variables }))
        .send()
        .await
        .map_err(|err| format!("no answer (did the server die?): {err}"))?;
    let status = response.status();
    let text = response.text().await.map_err(|err| err.to_string())?;
    if status.is_server_error() {
        return Err(format!("{status}: {text}"));
    }
    let body: Value =
        serde_json::from_str(&text).map_err(|_| format!("{status}, not JSON: {text}"))?;
    match body.get("errors").and_then(Value::as_array) {
        Some(errors) => {
            for error in errors {
                let code = error["extensions"]["code"].as_str().unwrap_or_default();
                if code.is_empty() || code == "INTERNAL_SERVER_ERROR" {
                    return Err(format!("{status}: an uncoded or internal error: {body:#}"));
                }
            }
            Ok(())
        }
        None if body.get("data").is_some() => Ok(()),
        None => Err(format!("{status}: neither data nor errors: {body:#}")),
    }
}

/// Runs `strategy` through `check` against one live server, then checks it still answers.
fn property<S: Strategy>(
    strategy: S,
    check: impl Fn(&tokio::runtime::Runtime, &TestApp, &Session, &str, S::Value) -> Result<(), String>,
) {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .unwrap();
    let app = runtime.block_on(spawn_app());
    let admin = runtime.block_on(app.account("Fuzz"));
    let contact = runtime.block_on(create_contact(&app, &admin.token, json!({ "name": "Ann" })));
    let result = runner().run(&strategy, |value| {
        check(&runtime, &app, &admin, &contact, value).map_err(TestCaseError::fail)
    });
    if let Err(failure) = result {
        panic!("{failure}");
    }
    let alive = runtime.block_on(app.data(None, "{ __typename }", json!({})));
    assert_eq!(alive["__typename"], "Query");
    drop(app);
    runtime.shutdown_timeout(std::time::Duration::from_secs(5));
}

// --- properties -----------------------------------------------------------------------------------

#[test]
fn every_filter_is_answered_with_data_or_a_coded_error() {
    property(filter(), |runtime, app, admin, _, filter| {
        runtime.block_on(async {
            let variables = json!({ "f": filter });
            answered(
                app,
                &admin.token,
                "query($f: [ContactFilterCondition!]!) { filterContacts(filter: $f) { totalCount nodes { id } } }",
                &variables,
            )
            .await?;
            answered(
                app,
                &admin.token,
                "mutation($f: [ContactFilterCondition!]) { exportContacts(filter: $f) { rowCount } }",
                &variables,
            )
            .await
        })
    });
}

#[test]
fn every_contact_mutation_answers_hostile_variables_with_data_or_a_coded_error() {
    let mutations = (
        contact_input(),
        contact_input(),
        string_list(),
        string_list(),
        string_list(),
        prop::option::of(hostile_string()),
        0usize..9,
    );
    property(mutations, |runtime, app, admin, contact, generated| {
        let (create, update, labels, more_labels, keys, source, which) = generated;
        let real = Value::from(contact.to_owned());
        let (query, variables) = match which {
            0 => (
                "mutation($input: CreateContactInput!) { createContact(input: $input) { id } }",
                json!({ "input": create }),
            ),
            1 => (
                "mutation($id: ID!, $input: UpdateContactInput!) { updateContact(id: $id, input: $input) { id customAttributes } }",
                json!({ "id": real, "input": update }),
            ),
            2 => (
                "mutation($id: ID!, $l: [String!]!) { setContactLabels(id: $id, labels: $l) { labels } }",
                json!({ "id": real, "l": labels }),
            ),
            3 => (
                "mutation($id: ID!, $l: [String!]!) { addContactLabels(id: $id, labels: $l) { labels } }",
                json!({ "id": real, "l": more_labels }),
            ),
            4 => (
                "mutation($id: ID!, $k: [String!]!) { deleteContactCustomAttributes(id: $id, keys: $k) { id } }",
                json!({ "id": real, "k": keys }),
            ),
            5 => (
                "mutation($id: ID!) { deleteContactAvatar(id: $id) { id } }",
                json!({ "id": source.map_or(real, Value::from) }),
            ),
            6 => (
                "mutation($c: ID!, $i: ID!, $s: String) { createContactInbox(contactId: $c, inboxId: $i, sourceId: $s) { id } }",
                json!({ "c": real, "i": "1", "s": source }),
            ),
            7 => (
                "mutation($b: ID!, $m: ID!) { mergeContacts(baseContactId: $b, mergeeContactId: $m) { id } }",
                json!({ "b": real, "m": source.unwrap_or_default() }),
            ),
            _ => (
                "mutation($id: ID!) { deleteContact(id: $id) }",
                json!({ "id": source.unwrap_or_default() }),
            ),
        };
        runtime.block_on(answered(app, &admin.token, query, &variables))
    });
}

#[test]
fn ids_of_every_shape_are_answered_with_data_or_a_coded_error() {
    let strategy = id("1".to_owned()).prop_flat_map(|bogus| (Just(bogus), hostile_json()));
    property(strategy, |runtime, app, admin, _, (bogus, attributes)| {
        runtime.block_on(answered(
            app,
            &admin.token,
            "mutation($id: ID!, $input: UpdateContactInput!) { updateContact(id: $id, input: $input) { id } }",
            &json!({ "id": bogus, "input": { "customAttributes": attributes } }),
        ))
    });
}
