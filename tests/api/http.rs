//! GraphQL over HTTP: methods, media types, limits, error codes, GraphiQL.

use serde_json::{Value, json};

use crate::helpers::{error_code, spawn_app};

#[tokio::test]
async fn get_runs_queries_and_refuses_mutations() {
    let app = spawn_app().await;
    let admin = app.account("Acme").await;
    let response = app
        .http
        .get(app.url("/graphql"))
        .query(&[("query", "{ me { email } }")])
        .bearer_auth(&admin.token)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200);
    let body: Value = response.json().await.unwrap();
    assert_eq!(body["data"]["me"]["email"], admin.email);

    let response = app
        .http
        .get(app.url("/graphql"))
        .query(&[(
            "query",
            "mutation { setAvailability(availability: BUSY) { id } }",
        )])
        .bearer_auth(&admin.token)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 405);
    assert_eq!(response.headers()["allow"], "POST");
    // And it did not run.
    let me = app
        .data(Some(&admin.token), "{ me { availability } }", json!({}))
        .await;
    assert_eq!(me["me"]["availability"], "ONLINE");
}

#[tokio::test]
async fn only_json_and_multipart_bodies_are_accepted() {
    let app = spawn_app().await;
    let admin = app.account("Acme").await;
    for content_type in [
        "text/plain",
        "application/x-www-form-urlencoded",
        "application/graphql",
    ] {
        let response = app
            .http
            .post(app.url("/graphql"))
            .header("content-type", content_type)
            .bearer_auth(&admin.token)
            .body(r#"{"query":"mutation { setAvailability(availability: BUSY) { id } }"}"#)
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), 415, "{content_type}");
    }
    let me = app
        .data(Some(&admin.token), "{ me { availability } }", json!({}))
        .await;
    assert_eq!(me["me"]["availability"], "ONLINE");

    let response = app
        .http
        .post(app.url("/graphql"))
        .header("content-type", "application/json")
        .body("{not json")
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 400);
    let body: Value = response.json().await.unwrap();
    assert_eq!(error_code(&body), "BAD_REQUEST");
}

#[tokio::test]
async fn multipart_needs_a_preflight_header_and_bounded_uploads() {
    let app = spawn_app().await;
    let operations = json!({ "query": "{ __typename }", "variables": {} }).to_string();
    let form = || {
        reqwest::multipart::Form::new()
            .text("operations", operations.clone())
            .text("map", "{}")
    };
    let response = app
        .http
        .post(app.url("/graphql"))
        .multipart(form())
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 400);
    let body: Value = response.json().await.unwrap();
    assert!(
        body["errors"][0]["message"]
            .as_str()
            .unwrap()
            .contains("Preflight"),
        "{body}"
    );

    let response = app
        .http
        .post(app.url("/graphql"))
        .header("GraphQL-Require-Preflight", "1")
        .multipart(form())
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200);
    let body: Value = response.json().await.unwrap();
    assert_eq!(body["data"]["__typename"], "Query");

    // Two files where one is allowed.
    let operations =
        json!({ "query": "{ __typename }", "variables": { "a": null, "b": null } }).to_string();
    let form = reqwest::multipart::Form::new()
        .text("operations", operations)
        .text("map", r#"{"0": ["variables.a"], "1": ["variables.b"]}"#)
        .part(
            "0",
            reqwest::multipart::Part::bytes(b"a".to_vec()).file_name("a.csv"),
        )
        .part(
            "1",
            reqwest::multipart::Part::bytes(b"b".to_vec()).file_name("b.csv"),
        );
    let response = app
        .http
        .post(app.url("/graphql"))
        .header("GraphQL-Require-Preflight", "1")
        .multipart(form)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 400);
}

#[tokio::test]
async fn oversized_json_bodies_are_refused() {
    let app = spawn_app().await;
    let padding = "x".repeat(app.config.max_body_bytes + 1);
    let response = app
        .http
        .post(app.url("/graphql"))
        .json(&json!({ "query": "{ __typename }", "variables": { "padding": padding } }))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 413);
}

#[tokio::test]
async fn library_errors_carry_codes() {
    let app = spawn_app().await;
    let admin = app.account("Acme").await;
    let parse = app.gql(Some(&admin.token), "{ me { id ", json!({})).await;
    assert_eq!(error_code(&parse), "GRAPHQL_PARSE_FAILED");
    let validation = app
        .gql(Some(&admin.token), "{ me { nope } }", json!({}))
        .await;
    assert_eq!(error_code(&validation), "GRAPHQL_VALIDATION_FAILED");
    let variables = app
        .gql(
            Some(&admin.token),
            "query($id: ID!) { inbox(id: $id) { id } }",
            json!({}),
        )
        .await;
    assert!(
        variables["errors"][0]["extensions"]["code"].is_string(),
        "{variables}"
    );
    let bad_id = app
        .gql(
            Some(&admin.token),
            "{ inbox(id: \"abc\") { id } }",
            json!({}),
        )
        .await;
    assert_eq!(error_code(&bad_id), "BAD_USER_INPUT");
    assert_eq!(bad_id["errors"][0]["extensions"]["field"], "id");
}

/// The executor keeps parsed documents by their text; a document it has seen is still
/// validated against each request's variables, with the same error as the first time.
#[tokio::test]
async fn cached_documents_are_validated_against_each_requests_variables() {
    let app = spawn_app().await;
    let admin = app.account("Acme").await;
    let query = "query($first: Int) { contacts(first: $first) { edges { node { id } } } }";
    let bad = || async {
        app.http
            .post(app.url("/graphql"))
            .bearer_auth(&admin.token)
            .header("accept", "application/graphql-response+json")
            .json(&json!({ "query": query, "variables": { "first": "many" } }))
            .send()
            .await
            .unwrap()
    };
    let first = bad().await;
    assert_eq!(first.status(), 400);
    let first: Value = first.json().await.unwrap();
    assert_eq!(error_code(&first), "GRAPHQL_VALIDATION_FAILED", "{first}");
    for _ in 0..2 {
        let ok = app
            .gql(Some(&admin.token), query, json!({ "first": 5 }))
            .await;
        assert!(ok["errors"].is_null(), "{ok}");
        assert!(ok["data"]["contacts"]["edges"].is_array(), "{ok}");
    }
    let again = bad().await;
    assert_eq!(again.status(), 400);
    let again: Value = again.json().await.unwrap();
    assert_eq!(again, first);
}

#[tokio::test]
async fn depth_limit_refuses_deep_queries_but_lets_introspection_through() {
    let app = spawn_app().await;
    let nested = format!(
        "{{ __schema {{ types {{ fields {{ type {}name{} }} }} }} }}",
        "{ ofType ".repeat(16),
        " }".repeat(16)
    );
    let body = app.gql(None, &nested, json!({})).await;
    assert_eq!(error_code(&body), "QUERY_TOO_DEEP", "{body}");

    let introspection = include_str!("introspection.graphql");
    let body = app.gql(None, introspection, json!({})).await;
    assert!(body.get("errors").is_none(), "{body}");
    let types = body["data"]["__schema"]["types"].as_array().unwrap();
    assert!(types.iter().any(|t| t["name"] == "User"));
}

#[tokio::test]
async fn negotiates_graphql_response_json() {
    let app = spawn_app().await;
    let response = app
        .http
        .post(app.url("/graphql"))
        .header("accept", "application/graphql-response+json")
        .json(&json!({ "query": "{ __typename }" }))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200);
    assert_eq!(
        response.headers()["content-type"],
        "application/graphql-response+json"
    );

    let response = app
        .http
        .post(app.url("/graphql"))
        .header("accept", "application/graphql-response+json")
        .json(&json!({ "query": "{ __typename" }))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 400);

    let response = app
        .http
        .post(app.url("/graphql"))
        .header("accept", "application/json")
        .json(&json!({ "query": "{ __typename" }))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200);
    assert_eq!(response.headers()["content-type"], "application/json");
}

#[tokio::test]
async fn batches_are_bounded() {
    let app = spawn_app().await;
    let one = json!({ "query": "{ __typename }" });
    let response = app
        .http
        .post(app.url("/graphql"))
        .json(&json!([one, one]))
        .send()
        .await
        .unwrap();
    let body: Value = response.json().await.unwrap();
    assert_eq!(body.as_array().unwrap().len(), 2);
    let many: Vec<Value> = (0..11).map(|_| one.clone()).collect();
    let response = app
        .http
        .post(app.url("/graphql"))
        .json(&many)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 400);
}

#[tokio::test]
async fn graphiql_is_served_with_its_assets() {
    let app = spawn_app().await;
    let response = app
        .http
        .get(app.url("/graphql"))
        .header("accept", "text/html,application/xhtml+xml")
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200);
    assert!(
        response.headers()["content-type"]
            .to_str()
            .unwrap()
            .starts_with("text/html")
    );
    let html = response.text().await.unwrap();
    assert!(html.contains("/graphiql/assets/graphiql.min.js"));
    assert!(
        !html.contains("esm.sh") && !html.contains("unpkg") && !html.contains("jsdelivr"),
        "loads from a CDN"
    );
    for asset in [
        "graphiql.min.js",
        "graphiql.min.css",
        "react.production.min.js",
        "react-dom.production.min.js",
    ] {
        let response = app
            .http
            .get(app.url(&format!("/graphiql/assets/{asset}")))
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), 200, "{asset}");
        assert!(response.bytes().await.unwrap().len() > 1000, "{asset}");
    }
    let missing = app
        .http
        .get(app.url("/graphiql/assets/secret.txt"))
        .send()
        .await
        .unwrap();
    assert_eq!(missing.status(), 404);
}

/// What graphql-http's GraphQL-over-HTTP audit (`examples/web/run-checks.sh`) checks beyond
/// the status codes above: a request error has no `data` entry, and a body without `query`
/// is not a GraphQL request.
#[tokio::test]
async fn request_errors_have_no_data_and_a_query_is_required() {
    let app = spawn_app().await;
    let admin = app.account("Acme").await;
    for (accept, status) in [
        ("application/graphql-response+json", 400),
        ("application/json", 200),
    ] {
        for query in ["{", "{ nope }"] {
            let response = app
                .http
                .post(app.url("/graphql"))
                .header("accept", accept)
                .json(&json!({ "query": query }))
                .send()
                .await
                .unwrap();
            assert_eq!(response.status(), status, "{accept} {query}");
            let body: Value = response.json().await.unwrap();
            assert!(body.get("data").is_none(), "{accept} {query}: {body}");
            assert!(body["errors"][0]["message"].is_string(), "{body}");
        }
    }

    // Execution began: `data` stays, null or not.
    let body = app.gql(None, "{ me { id } }", json!({})).await;
    assert_eq!(error_code(&body), "UNAUTHENTICATED", "{body}");
    assert!(body.get("data").is_some(), "{body}");

    // In a batch, per response.
    let response = app
        .http
        .post(app.url("/graphql"))
        .json(&json!([{ "query": "{ __typename }" }, { "query": "{" }]))
        .send()
        .await
        .unwrap();
    let body: Value = response.json().await.unwrap();
    assert_eq!(body[0]["data"]["__typename"], "Query", "{body}");
    assert!(body[1].get("data").is_none(), "{body}");

    // No query at all: 400, whatever the client accepts; GET too.
    for accept in ["application/json", "application/graphql-response+json"] {
        let response = app
            .http
            .post(app.url("/graphql"))
            .header("accept", accept)
            .bearer_auth(&admin.token)
            .json(&json!({ "qeury": "{ __typename }" }))
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), 400, "{accept}");
        let body: Value = response.json().await.unwrap();
        assert_eq!(error_code(&body), "BAD_REQUEST", "{body}");
    }
    let response = app
        .http
        .get(app.url("/graphql"))
        .query(&[("variables", "{}")])
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 400);
}
