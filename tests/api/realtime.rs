//! The realtime gateway end to end: events over websockets, recipients, Redis failures.

use std::time::Duration;

use serde_json::json;

use crate::helpers::{RedisServer, WsClient, spawn_app, spawn_app_with_redis};

const CONTACT_CHANGED: &str =
    "subscription { contactChanged { kind contactId contact { id name email } } }";
const CREATE_CONTACT: &str =
    "mutation($input: CreateContactInput!) { createContact(input: $input) { id } }";

#[tokio::test]
async fn contact_mutations_reach_agents_of_the_account_only() {
    let app = spawn_app().await;
    let admin = app.account("Acme").await;
    let agent = app.agent(&admin, "Agatha").await;
    let other = app.account("Globex").await;
    let mut agent_ws = WsClient::connect(&app, "graphql-transport-ws", &agent.token).await;
    let mut other_ws = WsClient::connect(&app, "graphql-transport-ws", &other.token).await;
    agent_ws.subscribe("c", CONTACT_CHANGED, json!({})).await;
    other_ws.subscribe("c", CONTACT_CHANGED, json!({})).await;
    // Subscriptions start asynchronously; a round trip makes sure both are registered.
    tokio::time::sleep(Duration::from_millis(200)).await;

    let created = app
        .data(
            Some(&admin.token),
            CREATE_CONTACT,
            json!({ "input": { "name": "Ann", "email": "ann@example.com" } }),
        )
        .await;
    let id = created["createContact"]["id"].as_str().unwrap().to_owned();
    let event = agent_ws.next_data("c").await;
    assert_eq!(
        event["data"]["contactChanged"],
        json!({ "kind": "CREATED", "contactId": id, "contact": { "id": id, "name": "Ann", "email": "ann@example.com" } })
    );

    app.data(
        Some(&admin.token),
        "mutation($id: ID!) { deleteContact(id: $id) }",
        json!({ "id": id }),
    )
    .await;
    let event = agent_ws.next_data("c").await;
    assert_eq!(
        event["data"]["contactChanged"],
        json!({ "kind": "DELETED", "contactId": id, "contact": null })
    );

    other_ws.expect_silence(Duration::from_millis(300)).await;
}

#[tokio::test]
async fn room_events_speak_chatwoot() {
    let app = spawn_app().await;
    let admin = app.account("Acme").await;
    let mut ws = WsClient::connect(&app, "graphql-transport-ws", &admin.token).await;
    ws.subscribe("r", "subscription { roomEvents { event data } }", json!({}))
        .await;
    let first = ws.next_data("r").await;
    assert_eq!(first["data"]["roomEvents"]["event"], "presence.update");
    let users = &first["data"]["roomEvents"]["data"]["users"];
    assert_eq!(users[admin.user_id.to_string()], "online", "{first}");

    app.data(
        Some(&admin.token),
        CREATE_CONTACT,
        json!({ "input": { "name": "Ann", "email": "ann@example.com" } }),
    )
    .await;
    let event = ws.next_data("r").await;
    assert_eq!(event["data"]["roomEvents"]["event"], "contact.created");
    assert_eq!(
        event["data"]["roomEvents"]["data"]["email"],
        "ann@example.com"
    );
    assert_eq!(event["data"]["roomEvents"]["data"]["type"], "contact");
}

#[tokio::test]
async fn presence_follows_connections() {
    let app = spawn_app().await;
    let admin = app.account("Acme").await;
    let agent = app.agent(&admin, "Agatha").await;
    let presence = "subscription { presenceUpdated { users { userId availability } } }";
    let mut ws = WsClient::connect(&app, "graphql-transport-ws", &admin.token).await;
    ws.subscribe("p", presence, json!({})).await;
    let availability = |update: &serde_json::Value, user: i64| {
        update["data"]["presenceUpdated"]["users"]
            .as_array()
            .unwrap()
            .iter()
            .find(|u| u["userId"].as_str() == Some(user.to_string().as_str()))
            .map(|u| u["availability"].as_str().unwrap().to_owned())
            .unwrap()
    };
    let snapshot = ws.next_data("p").await;
    assert_eq!(availability(&snapshot, admin.user_id), "ONLINE");
    assert_eq!(availability(&snapshot, agent.user_id), "OFFLINE");

    // The agent connects: pushed, not polled.
    let agent_ws = WsClient::connect(&app, "graphql-transport-ws", &agent.token).await;
    let update = ws.next_data("p").await;
    assert_eq!(availability(&update, agent.user_id), "ONLINE");
    drop(agent_ws);
    let update = ws.next_data("p").await;
    assert_eq!(availability(&update, agent.user_id), "OFFLINE");
}

#[tokio::test]
async fn events_flow_again_after_redis_restarts() {
    let Some(mut redis) = RedisServer::start().await else {
        eprintln!("redis-server is not installed; skipping");
        return;
    };
    let app = spawn_app_with_redis(&redis.url()).await;
    let admin = app.account("Acme").await;
    let mut ws = WsClient::connect(&app, "graphql-transport-ws", &admin.token).await;
    ws.subscribe("c", CONTACT_CHANGED, json!({})).await;
    tokio::time::sleep(Duration::from_millis(200)).await;
    app.data(
        Some(&admin.token),
        CREATE_CONTACT,
        json!({ "input": { "name": "Before", "email": "before@example.com" } }),
    )
    .await;
    assert_eq!(
        ws.next_data("c").await["data"]["contactChanged"]["contact"]["name"],
        "Before"
    );

    redis.restart().await;
    // Readiness reports Redis back once the connection manager has reconnected.
    let mut ready = false;
    for _ in 0..100 {
        let response = app.http.get(app.url("/readyz")).send().await.unwrap();
        if response.status() == 200 {
            ready = true;
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert!(ready, "the server reconnects to Redis by itself");
    // Resubscription happens right after the reconnect; give it a moment.
    let mut delivered = false;
    for attempt in 0..20 {
        let email = format!("after{attempt}@example.com");
        app.data(
            Some(&admin.token),
            CREATE_CONTACT,
            json!({ "input": { "name": "After", "email": email } }),
        )
        .await;
        if let Ok(message) =
            tokio::time::timeout(Duration::from_millis(500), ws.next_data("c")).await
        {
            assert_eq!(
                message["data"]["contactChanged"]["contact"]["name"],
                "After"
            );
            delivered = true;
            break;
        }
    }
    assert!(
        delivered,
        "events flow again on the same websocket after Redis restarted"
    );
}

/// An account with an inbox, a contact with a contact inbox, and a conversation.
struct Room {
    conversation_id: String,
    contact_token: String,
}

async fn room(app: &crate::helpers::TestApp, token: &str) -> Room {
    let inbox = app
        .data(
            Some(token),
            "mutation { createInbox(input: { name: \"Web\", channelType: \"web\" }) { id } }",
            json!({}),
        )
        .await["createInbox"]["id"]
        .clone();
    let contact = app
        .data(Some(token), CREATE_CONTACT, json!({ "input": { "name": "Carl", "email": "carl@example.com", "inboxId": inbox, "sourceId": "visitor-1" } }))
        .await["createContact"]["id"]
        .clone();
    let conversation = app
        .data(
            Some(token),
            "mutation($input: CreateConversationInput!) { createConversation(input: $input) { id contactInbox { id } } }",
            json!({ "input": { "contactId": contact, "inboxId": inbox, "sourceId": "visitor-1" } }),
        )
        .await;
    let contact_inbox = conversation["createConversation"]["contactInbox"]["id"].clone();
    let contact_token = app
        .data(
            Some(token),
            "mutation($id: ID!) { issueContactToken(contactInboxId: $id) }",
            json!({ "id": contact_inbox }),
        )
        .await["issueContactToken"]
        .as_str()
        .unwrap()
        .to_owned();
    Room {
        conversation_id: conversation["createConversation"]["id"]
            .as_str()
            .unwrap()
            .to_owned(),
        contact_token,
    }
}

const MESSAGE_CREATED: &str = "subscription($c: ID) { messageCreated(conversationId: $c) { id content private messageType sender { __typename ... on User { id } ... on Contact { id } } } }";
const POST: &str = "mutation($input: CreateMessageInput!) { createMessage(input: $input) { id } }";

#[tokio::test]
async fn messages_reach_agents_and_the_contact_but_private_notes_stay_internal() {
    let app = spawn_app().await;
    let admin = app.account("Acme").await;
    let agent = app.agent(&admin, "Agatha").await;
    let room = room(&app, &admin.token).await;
    let mut agent_ws = WsClient::connect(&app, "graphql-transport-ws", &agent.token).await;
    let mut contact_ws = WsClient::connect(&app, "graphql-transport-ws", &room.contact_token).await;
    agent_ws
        .subscribe("m", MESSAGE_CREATED, json!({ "c": room.conversation_id }))
        .await;
    contact_ws
        .subscribe("m", MESSAGE_CREATED, json!({ "c": room.conversation_id }))
        .await;
    tokio::time::sleep(Duration::from_millis(200)).await;

    app.data(Some(&admin.token), POST, json!({ "input": { "conversationId": room.conversation_id, "content": "internal", "private": true } })).await;
    app.data(
        Some(&admin.token),
        POST,
        json!({ "input": { "conversationId": room.conversation_id, "content": "hello Carl" } }),
    )
    .await;
    app.data(Some(&room.contact_token), POST, json!({ "input": { "conversationId": room.conversation_id, "content": "hi!", "messageType": "INCOMING" } })).await;

    let got: Vec<String> = [
        agent_ws.next_data("m").await,
        agent_ws.next_data("m").await,
        agent_ws.next_data("m").await,
    ]
    .iter()
    .map(|m| {
        m["data"]["messageCreated"]["content"]
            .as_str()
            .unwrap()
            .to_owned()
    })
    .collect();
    assert_eq!(got, ["internal", "hello Carl", "hi!"]);

    let first = contact_ws.next_data("m").await;
    assert_eq!(first["data"]["messageCreated"]["content"], "hello Carl");
    assert_eq!(
        first["data"]["messageCreated"]["sender"]["__typename"],
        "User"
    );
    let second = contact_ws.next_data("m").await;
    assert_eq!(second["data"]["messageCreated"]["content"], "hi!");
    assert_eq!(
        second["data"]["messageCreated"]["sender"]["__typename"],
        "Contact"
    );
    contact_ws.expect_silence(Duration::from_millis(300)).await;
}

#[tokio::test]
async fn typing_never_echoes_and_private_typing_never_reaches_the_contact() {
    let app = spawn_app().await;
    let admin = app.account("Acme").await;
    let agent = app.agent(&admin, "Agatha").await;
    let room = room(&app, &admin.token).await;
    let typing = "subscription($c: ID!) { typingStatusChanged(conversationId: $c) { conversationId typing private sender { __typename } } }";
    let mut admin_ws = WsClient::connect(&app, "graphql-transport-ws", &admin.token).await;
    let mut agent_ws = WsClient::connect(&app, "graphql-ws", &agent.token).await;
    let mut contact_ws = WsClient::connect(&app, "graphql-transport-ws", &room.contact_token).await;
    for ws in [&mut admin_ws, &mut agent_ws, &mut contact_ws] {
        ws.subscribe("t", typing, json!({ "c": room.conversation_id }))
            .await;
    }
    tokio::time::sleep(Duration::from_millis(200)).await;
    let set = "mutation($c: ID!, $p: Boolean) { setTyping(conversationId: $c, typing: true, private: $p) }";
    app.data(
        Some(&admin.token),
        set,
        json!({ "c": room.conversation_id, "p": true }),
    )
    .await;
    app.data(
        Some(&admin.token),
        set,
        json!({ "c": room.conversation_id, "p": false }),
    )
    .await;

    let private = agent_ws.next_data("t").await;
    assert_eq!(private["data"]["typingStatusChanged"]["private"], true);
    let public = agent_ws.next_data("t").await;
    assert_eq!(
        public["data"]["typingStatusChanged"],
        json!({ "conversationId": room.conversation_id, "typing": true, "private": false, "sender": { "__typename": "User" } })
    );
    let seen = contact_ws.next_data("t").await;
    assert_eq!(seen["data"]["typingStatusChanged"]["private"], false);
    admin_ws.expect_silence(Duration::from_millis(300)).await;
    contact_ws.expect_silence(Duration::from_millis(100)).await;
}

#[tokio::test]
async fn contact_tokens_reach_only_their_own_conversations() {
    let app = spawn_app().await;
    let admin = app.account("Acme").await;
    let room = room(&app, &admin.token).await;
    let mut ws = WsClient::connect(&app, "graphql-transport-ws", &room.contact_token).await;
    // Contacts get users' presence, never other contacts'.
    ws.subscribe(
        "p",
        "subscription { presenceUpdated { users { userId } contacts { contactId } } }",
        json!({}),
    )
    .await;
    let snapshot = ws.next_data("p").await;
    assert_eq!(snapshot["data"]["presenceUpdated"]["contacts"], json!([]));
    // Member-only subscriptions are refused.
    ws.subscribe("c", CONTACT_CHANGED, json!({})).await;
    let refused = loop {
        let message = ws.next().await;
        if message["id"] == "c" {
            break message;
        }
    };
    assert_eq!(
        refused["payload"]["errors"][0]["extensions"]["code"], "FORBIDDEN",
        "{refused}"
    );
}

#[tokio::test]
async fn a_subscriber_on_one_instance_sees_messages_posted_on_another() {
    if !crate::helpers::external_backends() {
        return;
    }
    let a = spawn_app().await;
    let b = crate::helpers::spawn_sibling(&a).await;
    let admin = a.account("Acme").await;
    let agent = a.agent(&admin, "Agatha").await;
    let room = room(&a, &admin.token).await;
    let mut ws = WsClient::connect(&b, "graphql-transport-ws", &agent.token).await;
    ws.subscribe("m", MESSAGE_CREATED, json!({ "c": room.conversation_id }))
        .await;
    ws.subscribe(
        "p",
        "subscription { presenceUpdated { contacts { contactId } } }",
        json!({}),
    )
    .await;
    let snapshot = ws.next_data("p").await;
    assert_eq!(snapshot["data"]["presenceUpdated"]["contacts"], json!([]));
    // The contact connects to instance A: instance B's subscriber sees it online.
    let _contact_ws = WsClient::connect(&a, "graphql-transport-ws", &room.contact_token).await;
    let update = ws.next_data("p").await;
    assert_eq!(
        update["data"]["presenceUpdated"]["contacts"]
            .as_array()
            .unwrap()
            .len(),
        1
    );
    a.data(
        Some(&admin.token),
        POST,
        json!({ "input": { "conversationId": room.conversation_id, "content": "across" } }),
    )
    .await;
    assert_eq!(
        ws.next_data("m").await["data"]["messageCreated"]["content"],
        "across"
    );
}

#[tokio::test]
async fn contact_tokens_cannot_read_team_data_through_nested_fields() {
    let app = spawn_app().await;
    let admin = app.account("Acme").await;
    let room = room(&app, &admin.token).await;
    let query = "mutation($input: CreateMessageInput!) { createMessage(input: $input) { id conversation { contact { name notes { id } } } } }";
    let body = app
        .gql(Some(&room.contact_token), query, json!({ "input": { "conversationId": room.conversation_id, "content": "hi", "messageType": "INCOMING" } }))
        .await;
    assert_eq!(crate::helpers::error_code(&body), "FORBIDDEN", "{body}");
    assert_eq!(
        body["errors"][0]["path"],
        json!(["createMessage", "conversation", "contact", "notes"])
    );
    let query = "mutation($input: CreateMessageInput!) { createMessage(input: $input) { sender { ... on Contact { name } } } }";
    let body = app
        .gql(Some(&room.contact_token), query, json!({ "input": { "conversationId": room.conversation_id, "content": "again", "messageType": "INCOMING" } }))
        .await;
    assert_eq!(
        body["data"]["createMessage"]["sender"]["name"], "Carl",
        "{body}"
    );
}
