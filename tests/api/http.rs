//! GraphQL over HTTP: methods, media types, limits, error codes, GraphiQL.

use std::time::Duration;

use serde_json::{Value, json};
use tokio::io::{AsyncReadExt, AsyncWriteExt};

use crate::helpers::{TestApp, error_code, spawn_app, spawn_app_configured};

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

    let admin = app.account("Acme").await;
    let response = app
        .http
        .post(app.url("/graphql"))
        .header("GraphQL-Require-Preflight", "1")
        .bearer_auth(&admin.token)
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
        .bearer_auth(&admin.token)
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
    let body: Value = response.json().await.unwrap();
    assert_eq!(error_code(&body), "PAYLOAD_TOO_LARGE");

    // A declared length above every limit is refused before anything is read, with a code.
    let mut stream = tokio::net::TcpStream::connect(app.addr).await.unwrap();
    let head = format!(
        "POST /graphql HTTP/1.1\r\nHost: {}\r\nContent-Type: application/json\r\n\
         Content-Length: {}\r\n\r\n{{",
        app.addr,
        1u64 << 40
    );
    stream.write_all(head.as_bytes()).await.unwrap();
    let response = read_response(&mut stream).await;
    assert!(response.starts_with("HTTP/1.1 413"), "{response}");
    assert!(response.contains("PAYLOAD_TOO_LARGE"), "{response}");
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
    // Deeper than the library's own recursion limit: the same refusal, the same code.
    for levels in [40, 200] {
        let nested = format!(
            "{{ __schema {{ types {{ fields {{ type {}name{} }} }} }} }}",
            "{ ofType ".repeat(levels),
            " }".repeat(levels)
        );
        let body = app.gql(None, &nested, json!({})).await;
        assert_eq!(error_code(&body), "QUERY_TOO_DEEP", "{levels}: {body}");
    }

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

/// The start of a multipart request whose headers announce `content_length` bytes, written on
/// a raw connection so that the test decides how much of the body the server ever gets.
async fn start_multipart(
    app: &TestApp,
    token: Option<&str>,
    content_length: usize,
    body_start: &str,
) -> tokio::net::TcpStream {
    let mut stream = tokio::net::TcpStream::connect(app.addr).await.unwrap();
    let authorization = token
        .map(|token| format!("Authorization: Bearer {token}\r\n"))
        .unwrap_or_default();
    let head = format!(
        "POST /graphql HTTP/1.1\r\nHost: {}\r\nContent-Type: multipart/form-data; boundary=XyZ\r\n\
         GraphQL-Require-Preflight: 1\r\n{authorization}Content-Length: {content_length}\r\n\r\n",
        app.addr
    );
    stream.write_all(head.as_bytes()).await.unwrap();
    stream.write_all(body_start.as_bytes()).await.unwrap();
    stream
}

/// The status line and body of the response on a raw connection, read while the rest of the
/// request body is still unsent.
async fn read_response(stream: &mut tokio::net::TcpStream) -> String {
    let mut response = Vec::new();
    let mut buf = [0u8; 4096];
    loop {
        let read = tokio::time::timeout(Duration::from_secs(5), stream.read(&mut buf))
            .await
            .expect("the server answers without waiting for the rest of the body")
            .unwrap_or(0);
        response.extend_from_slice(&buf[..read]);
        let text = String::from_utf8_lossy(&response);
        if read == 0 || text.contains("\r\n\r\n{") && text.ends_with('}') {
            return text.into_owned();
        }
    }
}

const OPERATIONS_START: &str = "--XyZ\r\nContent-Disposition: form-data; name=\"operations\"\r\n\r\n\
     {\"query\": \"{ __typename }\", \"variables\": {\"padding\": \"xxxxxxxx";

#[tokio::test]
async fn multipart_without_a_user_token_is_refused_before_its_body_is_read() {
    let app = spawn_app().await;
    // 60 MB announced, a few bytes sent: the answer must not wait for the rest.
    let mut stream = start_multipart(&app, None, 60 * 1024 * 1024, OPERATIONS_START).await;
    let response = read_response(&mut stream).await;
    assert!(response.starts_with("HTTP/1.1 401"), "{response}");
    assert!(response.contains("UNAUTHENTICATED"), "{response}");

    let mut stream = start_multipart(
        &app,
        Some("not-a-token"),
        60 * 1024 * 1024,
        OPERATIONS_START,
    )
    .await;
    let response = read_response(&mut stream).await;
    assert!(response.starts_with("HTTP/1.1 401"), "{response}");
    assert!(response.contains("UNAUTHENTICATED"), "{response}");

    // Members who are not administrators have no operation taking a file.
    let admin = app.account("Acme").await;
    let agent = app.agent(&admin, "Agent").await;
    let mut stream =
        start_multipart(&app, Some(&agent.token), 60 * 1024 * 1024, OPERATIONS_START).await;
    let response = read_response(&mut stream).await;
    assert!(response.starts_with("HTTP/1.1 403"), "{response}");
    assert!(response.contains("FORBIDDEN"), "{response}");
}

/// POSTs a multipart request of `operations`, `map` and optional file as `token`.
async fn post_multipart(
    app: &TestApp,
    token: &str,
    operations: String,
    map: String,
    file: Option<Vec<u8>>,
) -> reqwest::Response {
    let mut form = reqwest::multipart::Form::new()
        .text("operations", operations)
        .text("map", map);
    if let Some(file) = file {
        form = form.part(
            "0",
            reqwest::multipart::Part::bytes(file).file_name("contacts.csv"),
        );
    }
    app.http
        .post(app.url("/graphql"))
        .header("GraphQL-Require-Preflight", "1")
        .bearer_auth(token)
        .multipart(form)
        .send()
        .await
        .unwrap()
}

#[tokio::test]
async fn multipart_operations_and_map_are_bounded_by_the_body_limit() {
    let app = spawn_app_configured(|config| config.max_upload_bytes = 2 * 1024 * 1024).await;
    let admin = app.account("Acme").await;
    let limit = app.config.max_body_bytes;

    let padding = "x".repeat(limit + 1);
    let operations =
        json!({ "query": "{ __typename }", "variables": { "padding": padding } }).to_string();
    let response = post_multipart(&app, &admin.token, operations, "{}".into(), None).await;
    assert_eq!(response.status(), 413);
    let body: Value = response.json().await.unwrap();
    assert_eq!(error_code(&body), "PAYLOAD_TOO_LARGE");
    assert!(
        body["errors"][0]["message"]
            .as_str()
            .unwrap()
            .contains("operations"),
        "{body}"
    );

    let operations = json!({ "query": "{ __typename }", "variables": {} }).to_string();
    let map = format!(r#"{{"{}": ["variables.a"]}}"#, "k".repeat(limit + 1));
    let response = post_multipart(&app, &admin.token, operations.clone(), map, None).await;
    assert_eq!(response.status(), 413);
    let body: Value = response.json().await.unwrap();
    assert_eq!(error_code(&body), "PAYLOAD_TOO_LARGE");

    // A file is bounded by MAX_UPLOAD_BYTES instead.
    let import = json!({
        "query": "mutation($file: Upload!) { importContacts(file: $file) { id } }",
        "variables": { "file": null }
    })
    .to_string();
    let map = r#"{"0": ["variables.file"]}"#.to_owned();
    let big = vec![b'a'; app.config.max_upload_bytes + 1];
    let response = post_multipart(&app, &admin.token, import, map, Some(big)).await;
    assert_eq!(response.status(), 413);
    let body: Value = response.json().await.unwrap();
    assert_eq!(error_code(&body), "PAYLOAD_TOO_LARGE");

    // Under the limits, a request still runs.
    let response = post_multipart(&app, &admin.token, operations, "{}".into(), None).await;
    assert_eq!(response.status(), 200);
    let body: Value = response.json().await.unwrap();
    assert_eq!(body["data"]["__typename"], "Query");
}

#[tokio::test]
async fn concurrent_uploads_are_capped() {
    let app = spawn_app_configured(|config| config.max_concurrent_uploads = 1).await;
    let admin = app.account("Acme").await;
    let operations = json!({ "query": "{ __typename }", "variables": {} }).to_string();

    // One upload in flight: its file is being sent, slowly.
    let held = format!(
        "--XyZ\r\nContent-Disposition: form-data; name=\"operations\"\r\n\r\n{operations}\r\n\
         --XyZ\r\nContent-Disposition: form-data; name=\"map\"\r\n\r\n{{\"0\": [\"variables.file\"]}}\r\n\
         --XyZ\r\nContent-Disposition: form-data; name=\"0\"; filename=\"a.csv\"\r\n\r\nemail\n"
    );
    let stream = start_multipart(&app, Some(&admin.token), 10 * 1024 * 1024, &held).await;

    // Another is refused while it holds the only slot (polled: the first takes its slot once
    // the server has read its headers).
    let mut refused = None;
    for _ in 0..200 {
        let response =
            post_multipart(&app, &admin.token, operations.clone(), "{}".into(), None).await;
        if response.status() == 503 {
            refused = Some(response);
            break;
        }
        assert_eq!(response.status(), 200);
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    let response = refused.expect("a second concurrent upload is refused");
    assert!(response.headers().contains_key("retry-after"));
    let body: Value = response.json().await.unwrap();
    assert_eq!(error_code(&body), "SERVICE_UNAVAILABLE");

    // JSON requests are not uploads: unaffected.
    let data = app
        .data(Some(&admin.token), "{ __typename }", json!({}))
        .await;
    assert_eq!(data["__typename"], "Query");

    // The slot is freed when the held upload is abandoned.
    drop(stream);
    let mut accepted = false;
    for _ in 0..200 {
        let response =
            post_multipart(&app, &admin.token, operations.clone(), "{}".into(), None).await;
        if response.status() == 200 {
            accepted = true;
            break;
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    assert!(accepted, "an abandoned upload gives its slot back");
}

/// Refusals made below the GraphQL handlers (unknown paths, methods, a websocket upgrade without
/// a subprotocol) carry a JSON body with a code too, never an empty or plain-text one.
#[tokio::test]
async fn refusals_of_the_router_carry_a_code() {
    let app = spawn_app().await;
    let cases = [
        (reqwest::Method::GET, "/no-such-path", 404, "NOT_FOUND"),
        (reqwest::Method::PUT, "/graphql", 405, "METHOD_NOT_ALLOWED"),
        (
            reqwest::Method::DELETE,
            "/exports/contacts.csv",
            405,
            "METHOD_NOT_ALLOWED",
        ),
        (reqwest::Method::GET, "/graphql/ws", 400, "BAD_REQUEST"),
    ];
    for (method, path, status, code) in cases {
        let response = app
            .http
            .request(method.clone(), app.url(path))
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), status, "{method} {path}");
        let body: Value = response.json().await.unwrap();
        assert_eq!(error_code(&body), code, "{method} {path}: {body}");
        assert!(
            body["errors"][0]["message"]
                .as_str()
                .is_some_and(|m| !m.is_empty())
        );
    }
    // The upgrade's own explanation is kept.
    let response = app
        .http
        .get(app.url("/graphql/ws"))
        .header("connection", "upgrade")
        .header("upgrade", "websocket")
        .header("sec-websocket-version", "13")
        .header("sec-websocket-key", "dGhlIHNhbXBsZSBub25jZQ==")
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 400);
    let body: Value = response.json().await.unwrap();
    assert_eq!(error_code(&body), "BAD_REQUEST");
    assert!(
        body["errors"][0]["message"]
            .as_str()
            .unwrap()
            .contains("subprotocol"),
        "{body}"
    );
}
