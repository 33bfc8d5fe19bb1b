//! Subscriptions over websockets: both subprotocols, auth in connection_init, timeouts.

use std::time::Duration;

use serde_json::json;

use crate::helpers::{Frame, WsClient, spawn_app};

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
async fn subscribing_before_init_is_refused() {
    let app = spawn_app().await;
    let mut ws = WsClient::open(&app, "graphql-transport-ws").await;
    ws.subscribe("1", PRESENCE, json!({})).await;
    match ws.next_frame().await {
        Frame::Closed(code, _) => assert!(code >= 1000, "closed with {code}"),
        Frame::Json(message) => panic!("expected a close, got {message}"),
    }
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
async fn events_cross_instances_through_redis() {
    if !crate::helpers::external_backends() {
        // Two embedded servers share nothing but a file; the cross-instance path needs Redis.
        return;
    }
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
