//! Subscriptions over websockets: both subprotocols, auth in connection_init, timeouts.

use std::time::Duration;

use serde_json::json;

use crate::helpers::{Frame, WsClient, spawn_app, spawn_app_configured};

const PRESENCE: &str = "subscription { presenceUpdated { accountId users { userId availability } contacts { contactId } } }";

#[tokio::test]
async fn graphql_transport_ws_delivers_presence_snapshot_then_changes() {
    let app = spawn_app().await;
    let admin = app.account("Acme").await;
    let other = app.account("Globex").await;
    let mut ws = WsClient::connect(&app, "graphql-transport-ws", &admin.token).await;
    ws.subscribe("1", PRESENCE, json!({})).await;
    let snapshot = ws.next_data("1").await;
    assert_eq!(
        snapshot["data"]["presenceUpdated"]["accountId"],
        admin.account_id.to_string()
    );
    assert_eq!(
        snapshot["data"]["presenceUpdated"]["users"],
        json!([{ "userId": admin.user_id.to_string(), "availability": "ONLINE" }])
    );

    // Another account's change never arrives here.
    app.data(
        Some(&other.token),
        "mutation { setAvailability(availability: BUSY) { id } }",
        json!({}),
    )
    .await;
    app.data(
        Some(&admin.token),
        "mutation { setAvailability(availability: BUSY) { id } }",
        json!({}),
    )
    .await;
    let update = ws.next_data("1").await;
    assert_eq!(
        update["data"]["presenceUpdated"]["accountId"],
        admin.account_id.to_string()
    );
    assert_eq!(
        update["data"]["presenceUpdated"]["users"][0]["availability"],
        "BUSY"
    );

    ws.send(json!({ "id": "1", "type": "complete" })).await;
    ws.send(json!({ "type": "ping" })).await;
    loop {
        let message = ws.next().await;
        if message["type"] == "pong" {
            break;
        }
        assert_eq!(message, json!({ "id": "1", "type": "complete" }));
    }
}

#[tokio::test]
async fn legacy_graphql_ws_protocol_works_too() {
    let app = spawn_app().await;
    let admin = app.account("Acme").await;
    let mut ws = WsClient::connect(&app, "graphql-ws", &admin.token).await;
    ws.subscribe("a", PRESENCE, json!({})).await;
    let snapshot = ws.next_data("a").await;
    assert_eq!(
        snapshot["data"]["presenceUpdated"]["users"][0]["availability"],
        "ONLINE"
    );
    app.data(
        Some(&admin.token),
        "mutation { setAvailability(availability: OFFLINE) { id } }",
        json!({}),
    )
    .await;
    let update = ws.next_data("a").await;
    assert_eq!(
        update["data"]["presenceUpdated"]["users"][0]["availability"],
        "OFFLINE"
    );
}

#[tokio::test]
async fn a_bare_token_field_is_accepted() {
    let app = spawn_app().await;
    let admin = app.account("Acme").await;
    let mut ws = WsClient::open(&app, "graphql-transport-ws").await;
    ws.send(json!({ "type": "connection_init", "payload": { "token": admin.token } }))
        .await;
    assert_eq!(ws.next().await["type"], "connection_ack");
}

#[tokio::test]
async fn refused_tokens_close_the_socket_with_4403() {
    let app = spawn_app().await;
    for payload in [json!({ "authorization": "Bearer nonsense" }), json!({})] {
        let mut ws = WsClient::open(&app, "graphql-transport-ws").await;
        ws.send(json!({ "type": "connection_init", "payload": payload }))
            .await;
        match ws.next_frame().await {
            Frame::Closed(code, _) => assert_eq!(code, 4403, "{payload}"),
            Frame::Json(message) => panic!("expected a close, got {message}"),
        }
    }
}

#[tokio::test]
async fn subscribing_before_init_closes_with_4401() {
    let app = spawn_app().await;
    let mut ws = WsClient::open(&app, "graphql-transport-ws").await;
    ws.subscribe("1", PRESENCE, json!({})).await;
    assert_eq!(ws.closed().await, (4401, "Unauthorized".to_owned()));
}

#[tokio::test]
async fn a_websocket_without_a_graphql_subprotocol_is_refused() {
    let app = spawn_app().await;
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
}

#[tokio::test]
async fn shutdown_closes_open_sockets() {
    let mut app = spawn_app().await;
    let admin = app.account("Acme").await;
    let mut ws = WsClient::connect(&app, "graphql-transport-ws", &admin.token).await;
    ws.subscribe("1", PRESENCE, json!({})).await;
    ws.next_data("1").await;
    let stop = app.stop();
    let closed = async {
        loop {
            if let Frame::Closed(code, _) = ws.next_frame().await {
                return code;
            }
        }
    };
    let ((), code) = tokio::join!(stop, closed);
    assert_eq!(code, 1001);
    ws.expect_silence(Duration::from_millis(10)).await;
}

#[tokio::test]
#[ignore = "needs REDIS_URL (instances share events through Redis): run in the PostgreSQL + Redis pass with --include-ignored"]
async fn events_cross_instances_through_redis() {
    crate::helpers::require_redis();
    let a = spawn_app().await;
    let b = crate::helpers::spawn_sibling(&a).await;
    let admin = a.account("Acme").await;
    let mut ws = WsClient::connect(&b, "graphql-transport-ws", &admin.token).await;
    ws.subscribe("1", PRESENCE, json!({})).await;
    assert_eq!(
        ws.next_data("1").await["data"]["presenceUpdated"]["users"][0]["availability"],
        "ONLINE"
    );
    a.data(
        Some(&admin.token),
        "mutation { setAvailability(availability: BUSY) { id } }",
        json!({}),
    )
    .await;
    let update = ws.next_data("1").await;
    assert_eq!(
        update["data"]["presenceUpdated"]["users"][0]["availability"],
        "BUSY"
    );
}

/// Sends `raw` as a text frame on a fresh socket (acknowledged first when `init`) and returns
/// how the server closed it.
async fn close_after(app: &crate::helpers::TestApp, token: Option<&str>, raw: &[&str]) -> u16 {
    let mut ws = match token {
        Some(token) => WsClient::connect(app, "graphql-transport-ws", token).await,
        None => WsClient::open(app, "graphql-transport-ws").await,
    };
    for text in raw {
        ws.send_text(text).await;
    }
    ws.closed().await.0
}

#[tokio::test]
async fn invalid_messages_close_with_4400() {
    let app = spawn_app().await;
    let admin = app.account("Acme").await;
    for raw in [
        "not json",
        r#"{"type":"whatever"}"#,
        r#"{"type":"subscribe","payload":{"query":"{ me { id } }"}}"#,
        r#"{"type":"subscribe","id":"1"}"#,
        r#"{"type":"start","id":"1","payload":{"query":"{ me { id } }"}}"#,
        r#"[1, 2]"#,
    ] {
        assert_eq!(
            close_after(&app, Some(&admin.token), &[raw]).await,
            4400,
            "{raw}"
        );
    }
    // Before the ack too.
    assert_eq!(close_after(&app, None, &["{"]).await, 4400);
}

#[tokio::test]
async fn a_duplicate_operation_id_closes_with_4409() {
    let app = spawn_app().await;
    let admin = app.account("Acme").await;
    let mut ws = WsClient::connect(&app, "graphql-transport-ws", &admin.token).await;
    ws.subscribe("dup", PRESENCE, json!({})).await;
    ws.next_data("dup").await;
    ws.subscribe("dup", PRESENCE, json!({})).await;
    assert_eq!(
        ws.closed().await,
        (4409, "Subscriber for dup already exists".to_owned())
    );
}

#[tokio::test]
async fn a_second_connection_init_closes_with_4429() {
    let app = spawn_app().await;
    let admin = app.account("Acme").await;
    let mut ws = WsClient::connect(&app, "graphql-transport-ws", &admin.token).await;
    ws.send(json!({ "type": "connection_init", "payload": { "token": admin.token } }))
        .await;
    assert_eq!(
        ws.closed().await,
        (4429, "Too many initialisation requests".to_owned())
    );
}

/// The cap on operations per socket would mean little if one token could open sockets without
/// end: a user holds at most `MAX_SOCKETS_PER_USER` on an instance.
#[tokio::test]
async fn a_user_beyond_the_socket_cap_is_refused_and_the_others_keep_working() {
    let app = spawn_app_configured(|config| config.max_sockets_per_user = 2).await;
    let admin = app.account("Acme").await;
    let mut first = WsClient::connect(&app, "graphql-transport-ws", &admin.token).await;
    let _second = WsClient::connect(&app, "graphql-transport-ws", &admin.token).await;
    let mut third = WsClient::open(&app, "graphql-transport-ws").await;
    third
        .send(json!({ "type": "connection_init", "payload": { "token": admin.token } }))
        .await;
    let (code, reason) = third.closed().await;
    assert_eq!(code, 4429);
    assert!(reason.contains("MAX_SOCKETS_PER_USER"), "{reason}");
    first.subscribe("p", PRESENCE, json!({})).await;
    first.next_data("p").await;
    // Another user of the account is not counted against this one.
    let agent = app.agent(&admin, "Agatha").await;
    let _agent = WsClient::connect(&app, "graphql-transport-ws", &agent.token).await;
    // A closed socket frees its place.
    drop(first);
    let deadline = tokio::time::Instant::now() + std::time::Duration::from_secs(5);
    loop {
        let mut again = WsClient::open(&app, "graphql-transport-ws").await;
        again
            .send(json!({ "type": "connection_init", "payload": { "token": admin.token } }))
            .await;
        if let crate::helpers::Frame::Json(message) = again.next_frame().await {
            assert_eq!(message["type"], "connection_ack", "{message}");
            break;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "the closed socket kept its place"
        );
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
}

#[tokio::test]
async fn a_socket_without_connection_init_closes_with_4408() {
    let app = spawn_app_configured(|config| config.ws_init_timeout_secs = 1).await;
    let mut ws = WsClient::open(&app, "graphql-transport-ws").await;
    // A ping does not count as initialisation.
    ws.send(json!({ "type": "ping" })).await;
    assert_eq!(ws.next().await, json!({ "type": "pong" }));
    assert_eq!(ws.closed().await.0, 4408);
}

#[tokio::test]
async fn ping_pong_error_and_complete_have_the_protocols_shapes() {
    let app = spawn_app().await;
    let admin = app.account("Acme").await;
    let mut ws = WsClient::connect(&app, "graphql-transport-ws", &admin.token).await;
    ws.send(json!({ "type": "ping", "payload": { "at": 1 } }))
        .await;
    assert_eq!(
        ws.next().await,
        json!({ "type": "pong", "payload": { "at": 1 } })
    );

    // An operation refused before it runs: `error` with an array of GraphQL errors, no complete.
    ws.subscribe("bad", "subscription { noSuchField }", json!({}))
        .await;
    let error = ws.next().await;
    assert_eq!(error["type"], "error", "{error}");
    assert_eq!(error["id"], "bad");
    assert_eq!(
        error["payload"][0]["extensions"]["code"], "GRAPHQL_VALIDATION_FAILED",
        "{error}"
    );
    // A query over the socket: one `next`, then `complete`.
    ws.subscribe("q", "{ me { id } }", json!({})).await;
    let next = ws.next().await;
    assert_eq!(next["type"], "next", "{next}");
    assert_eq!(
        next["payload"]["data"]["me"]["id"],
        admin.user_id.to_string()
    );
    assert_eq!(ws.next().await, json!({ "id": "q", "type": "complete" }));

    // The client's complete stops the subscription: no more results, no echo.
    ws.subscribe("p", PRESENCE, json!({})).await;
    ws.next_data("p").await;
    ws.send(json!({ "id": "p", "type": "complete" })).await;
    ws.send(json!({ "type": "ping" })).await;
    assert_eq!(ws.next().await, json!({ "type": "pong" }));
    app.data(
        Some(&admin.token),
        "mutation { setAvailability(availability: BUSY) { id } }",
        json!({}),
    )
    .await;
    ws.expect_silence(Duration::from_millis(500)).await;
}

#[tokio::test]
async fn subscriptions_beyond_the_cap_get_a_coded_error_and_the_rest_keep_delivering() {
    let app = spawn_app().await;
    let admin = app.account("Acme").await;
    let mut ws = WsClient::connect(&app, "graphql-transport-ws", &admin.token).await;
    let cap = app.config.max_subscriptions_per_socket;
    assert_eq!(cap, 100, "the default");
    for i in 0..cap {
        ws.subscribe(&i.to_string(), PRESENCE, json!({})).await;
    }
    // Every one of them runs: each sends its snapshot (a presence push may follow some).
    let mut running = std::collections::HashSet::new();
    while running.len() < cap {
        let message = ws.next().await;
        assert_eq!(message["type"], "next", "{message}");
        running.insert(message["id"].as_str().unwrap().to_owned());
    }
    ws.subscribe("one-too-many", PRESENCE, json!({})).await;
    let error = ws.next().await;
    assert_eq!(error["type"], "error", "{error}");
    assert_eq!(error["id"], "one-too-many");
    assert_eq!(
        error["payload"][0]["extensions"]["code"],
        "TOO_MANY_SUBSCRIPTIONS"
    );

    // The socket and its subscriptions stay up.
    app.data(
        Some(&admin.token),
        "mutation { setAvailability(availability: BUSY) { id } }",
        json!({}),
    )
    .await;
    let mut updated = std::collections::HashSet::new();
    while updated.len() < cap {
        let message = ws.next().await;
        assert_eq!(message["type"], "next", "{message}");
        let users = &message["payload"]["data"]["presenceUpdated"]["users"];
        if users[0]["availability"] == "BUSY" {
            updated.insert(message["id"].as_str().unwrap().to_owned());
        }
    }
    // Completing one frees a place.
    ws.send(json!({ "id": "0", "type": "complete" })).await;
    ws.subscribe("one-too-many", PRESENCE, json!({})).await;
    let snapshot = ws.next_data("one-too-many").await;
    assert_eq!(
        snapshot["data"]["presenceUpdated"]["users"][0]["availability"],
        "BUSY"
    );
}

#[tokio::test]
async fn the_legacy_protocol_answers_errors_and_keeps_the_socket() {
    let app = spawn_app().await;
    let admin = app.account("Acme").await;
    let mut ws = WsClient::connect(&app, "graphql-ws", &admin.token).await;
    ws.send_text("not json").await;
    let error = ws.next().await;
    assert_eq!(error["type"], "error", "{error}");
    assert_eq!(
        error["payload"]["extensions"]["code"], "BAD_REQUEST",
        "{error}"
    );
    ws.subscribe("a", PRESENCE, json!({})).await;
    ws.next_data("a").await;
    ws.send(json!({ "id": "a", "type": "stop" })).await;
    assert_eq!(ws.next().await, json!({ "id": "a", "type": "complete" }));
    ws.send(json!({ "type": "connection_terminate" })).await;
    assert_eq!(ws.closed().await.0, 1000);
}

/// The graphql-ws client closes an idle lazy connection itself; the server must answer the
/// close, or the client sees 1006 and fails the operation it starts next.
#[tokio::test]
async fn a_client_close_gets_its_close_reply() {
    let app = spawn_app().await;
    let admin = app.account("Acme").await;
    let mut ws = WsClient::connect(&app, "graphql-transport-ws", &admin.token).await;
    ws.close_normally().await;
    assert_eq!(ws.closed().await.0, 1000);
}

#[tokio::test]
async fn a_pong_comes_once_every_earlier_subscription_has_started() {
    const CONTACT_CHANGED: &str = "subscription { contactChanged { kind contactId } }";
    const SUBSCRIPTIONS: usize = 20;
    let app = spawn_app().await;
    let admin = app.account("Acme").await;
    let mut ws = WsClient::connect(&app, "graphql-transport-ws", &admin.token).await;
    for i in 0..SUBSCRIPTIONS {
        ws.subscribe(&i.to_string(), CONTACT_CHANGED, json!({}))
            .await;
    }
    ws.ping().await;
    // Every one of them is subscribed to events by now, with nothing else waited for.
    assert_eq!(
        app.metric("switchboard_websocket_operations").await,
        SUBSCRIPTIONS as f64
    );
    app.data(
        Some(&admin.token),
        "mutation($input: CreateContactInput!) { createContact(input: $input) { id } }",
        json!({ "input": { "name": "Ann" } }),
    )
    .await;
    let mut delivered = std::collections::HashSet::new();
    while delivered.len() < SUBSCRIPTIONS {
        let message = ws.next().await;
        assert_eq!(message["type"], "next", "{message}");
        assert_eq!(
            message["payload"]["data"]["contactChanged"]["kind"],
            "CREATED"
        );
        delivered.insert(message["id"].as_str().unwrap().to_owned());
    }

    // Completed operations are no longer counted.
    for i in 0..SUBSCRIPTIONS {
        ws.send(json!({ "id": i.to_string(), "type": "complete" }))
            .await;
    }
    ws.ping().await;
    assert_eq!(app.metric("switchboard_websocket_operations").await, 0.0);
}
