//! Automatic persisted queries (Apollo's protocol): a client sends a query's SHA-256 instead of
//! its text once the server has seen the text with that hash.

use serde_json::{Value, json};
use sha2::{Digest, Sha256};

use crate::helpers::{TestApp, error_code, spawn_app};

fn sha256(query: &str) -> String {
    format!("{:x}", Sha256::digest(query.as_bytes()))
}

fn persisted(hash: &str) -> Value {
    json!({ "persistedQuery": { "version": 1, "sha256Hash": hash } })
}

async fn post(app: &TestApp, token: &str, body: Value) -> Value {
    let response = app
        .http
        .post(app.url("/graphql"))
        .bearer_auth(token)
        .json(&body)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200);
    response.json().await.unwrap()
}

async fn get(app: &TestApp, token: &str, params: &[(&str, String)]) -> reqwest::Response {
    app.http
        .get(app.url("/graphql"))
        .query(params)
        .bearer_auth(token)
        .send()
        .await
        .unwrap()
}

#[tokio::test]
async fn a_hash_runs_the_query_registered_with_it() {
    let app = spawn_app().await;
    let admin = app.account("Acme").await;
    let query = "query Me { me { email } }";
    let hash = sha256(query);

    // Unknown hash: the client is told to send the query.
    let body = post(
        &app,
        &admin.token,
        json!({ "extensions": persisted(&hash) }),
    )
    .await;
    assert_eq!(error_code(&body), "PERSISTED_QUERY_NOT_FOUND", "{body:#}");
    assert_eq!(body["errors"][0]["message"], "PersistedQueryNotFound");

    // Query and hash: run and remembered.
    let body = post(
        &app,
        &admin.token,
        json!({ "query": query, "extensions": persisted(&hash) }),
    )
    .await;
    assert_eq!(body["data"]["me"]["email"], admin.email, "{body:#}");

    // Hash alone, over POST and over GET.
    let body = post(
        &app,
        &admin.token,
        json!({ "extensions": persisted(&hash) }),
    )
    .await;
    assert_eq!(body["data"]["me"]["email"], admin.email, "{body:#}");
    let response = get(
        &app,
        &admin.token,
        &[("extensions", persisted(&hash).to_string())],
    )
    .await;
    assert_eq!(response.status(), 200);
    let body: Value = response.json().await.unwrap();
    assert_eq!(body["data"]["me"]["email"], admin.email, "{body:#}");
}

#[tokio::test]
async fn a_hash_must_match_its_query() {
    let app = spawn_app().await;
    let admin = app.account("Acme").await;
    let body = post(
        &app,
        &admin.token,
        json!({ "query": "{ me { email } }", "extensions": persisted(&sha256("{ me { id } }")) }),
    )
    .await;
    assert!(body["data"].is_null(), "{body:#}");
    assert_eq!(
        body["errors"][0]["message"],
        "provided sha does not match query"
    );
    assert_eq!(error_code(&body), "BAD_USER_INPUT");

    let body = post(
        &app,
        &admin.token,
        json!({ "extensions": { "persistedQuery": { "version": 2, "sha256Hash": "00" } } }),
    )
    .await;
    assert_eq!(error_code(&body), "BAD_USER_INPUT", "{body:#}");
}

#[tokio::test]
async fn a_persisted_mutation_is_refused_over_get() {
    let app = spawn_app().await;
    let admin = app.account("Acme").await;
    let mutation = "mutation { setAvailability(availability: BUSY) { id } }";
    let hash = sha256(mutation);
    // Registered over POST (which also runs it), then back to ONLINE.
    post(
        &app,
        &admin.token,
        json!({ "query": mutation, "extensions": persisted(&hash) }),
    )
    .await;
    app.data(
        Some(&admin.token),
        "mutation { setAvailability(availability: ONLINE) { id } }",
        json!({}),
    )
    .await;

    let response = get(
        &app,
        &admin.token,
        &[("extensions", persisted(&hash).to_string())],
    )
    .await;
    assert_eq!(response.status(), 405);
    let me = app
        .data(Some(&admin.token), "{ me { availability } }", json!({}))
        .await;
    assert_eq!(
        me["me"]["availability"], "ONLINE",
        "the mutation did not run"
    );
}
