//! Conversations and messages over HTTP: creation (contact inboxes, display ids, blocked
//! contacts, a first message), listing and filtering, message paging, posting as a member and as
//! a contact (widget token), status, assignment, labels, typing, and account scoping.

use chrono::{DateTime, Utc};
use serde_json::{Value, json};

use crate::helpers::{Session, TestApp, error_code, spawn_app, spawn_app_configured};

const CONVERSATION: &str = "id displayId status inbox { id } contact { id } \
    contactInbox { id sourceId } assignee { id } labels lastActivityAt createdAt updatedAt";

const MESSAGE: &str = "id content messageType private conversationId createdAt updatedAt \
    conversation { id } sender { __typename ... on User { id } ... on Contact { id } }";

/// An account with an inbox and a contact known in that inbox.
struct Fixture {
    admin: Session,
    inbox: String,
    contact: String,
    contact_inbox: String,
}

async fn create_inbox(app: &TestApp, token: &str, name: &str) -> String {
    let data = app
        .data(
            Some(token),
            "mutation($name: String!) { createInbox(input: { name: $name, channelType: \"api\" }) { id } }",
            json!({ "name": name }),
        )
        .await;
    data["createInbox"]["id"].as_str().unwrap().to_owned()
}

/// Creates a contact; returns its id and its contact inboxes.
async fn create_contact(app: &TestApp, token: &str, input: Value) -> (String, Value) {
    let data = app
        .data(
            Some(token),
            "mutation($input: CreateContactInput!) { createContact(input: $input) { id contactInboxes { id sourceId inbox { id } } } }",
            json!({ "input": input }),
        )
        .await;
    let contact = &data["createContact"];
    (
        contact["id"].as_str().unwrap().to_owned(),
        contact["contactInboxes"].clone(),
    )
}

async fn fixture(app: &TestApp, name: &str) -> Fixture {
    let admin = app.account(name).await;
    let inbox = create_inbox(app, &admin.token, "API").await;
    let (contact, inboxes) = create_contact(
        app,
        &admin.token,
        json!({ "name": "Ann", "email": format!("ann@{}.example", name.to_lowercase()), "inboxId": inbox, "sourceId": "ann-src" }),
    )
    .await;
    let contact_inbox = inboxes[0]["id"].as_str().unwrap().to_owned();
    Fixture {
        admin,
        inbox,
        contact,
        contact_inbox,
    }
}

async fn try_create_conversation(app: &TestApp, token: &str, input: Value) -> Value {
    let query = format!(
        "mutation($input: CreateConversationInput!) {{ createConversation(input: $input) {{ {CONVERSATION} messages {{ totalCount nodes {{ {MESSAGE} }} }} }} }}"
    );
    app.gql(Some(token), &query, json!({ "input": input }))
        .await
}

/// Creates a conversation; the request must succeed.
async fn create_conversation(app: &TestApp, token: &str, input: Value) -> Value {
    let body = try_create_conversation(app, token, input).await;
    assert!(body.get("errors").is_none(), "unexpected errors: {body:#}");
    body["data"]["createConversation"].clone()
}

async fn try_create_message(app: &TestApp, token: &str, input: Value) -> Value {
    let query = format!(
        "mutation($input: CreateMessageInput!) {{ createMessage(input: $input) {{ {MESSAGE} }} }}"
    );
    app.gql(Some(token), &query, json!({ "input": input }))
        .await
}

/// Posts a message; the request must succeed.
async fn create_message(app: &TestApp, token: &str, input: Value) -> Value {
    let body = try_create_message(app, token, input).await;
    assert!(body.get("errors").is_none(), "unexpected errors: {body:#}");
    body["data"]["createMessage"].clone()
}

async fn issue_contact_token(app: &TestApp, token: &str, contact_inbox: &str) -> Value {
    app.gql(
        Some(token),
        "mutation($id: ID!) { issueContactToken(contactInboxId: $id) }",
        json!({ "id": contact_inbox }),
    )
    .await
}

async fn conversation(app: &TestApp, token: &str, id: &str) -> Value {
    let query = format!("query($id: ID!) {{ conversation(id: $id) {{ {CONVERSATION} }} }}");
    app.data(Some(token), &query, json!({ "id": id })).await["conversation"].clone()
}

const LIST: &str = "query($status: ConversationStatus, $inboxId: ID, $assigneeId: ID, $first: Int, $after: String, $last: Int, $before: String) {
    conversations(status: $status, inboxId: $inboxId, assigneeId: $assigneeId, first: $first, after: $after, last: $last, before: $before) {
        totalCount
        pageInfo { hasNextPage hasPreviousPage startCursor endCursor }
        edges { cursor node { id displayId status } }
    } }";

async fn list(app: &TestApp, token: &str, variables: Value) -> Value {
    app.data(Some(token), LIST, variables).await["conversations"].clone()
}

fn ids(connection: &Value) -> Vec<String> {
    connection["edges"]
        .as_array()
        .unwrap()
        .iter()
        .map(|edge| edge["node"]["id"].as_str().unwrap().to_owned())
        .collect()
}

fn time(value: &Value) -> DateTime<Utc> {
    DateTime::parse_from_rfc3339(value.as_str().unwrap())
        .unwrap()
        .with_timezone(&Utc)
}

fn id_of(value: &Value) -> String {
    value["id"].as_str().unwrap().to_owned()
}

// --- creation ------------------------------------------------------------------------------------

#[tokio::test]
async fn create_conversation_reuses_or_creates_the_contact_inbox() {
    let app = spawn_app().await;
    let f = fixture(&app, "Acme").await;
    let token = &f.admin.token;

    // The contact's existing contact inbox in the inbox is used.
    let first = create_conversation(
        &app,
        token,
        json!({ "contactId": f.contact, "inboxId": f.inbox }),
    )
    .await;
    assert_eq!(first["status"], "OPEN");
    assert_eq!(first["inbox"]["id"], f.inbox);
    assert_eq!(first["contact"]["id"], f.contact);
    assert_eq!(first["contactInbox"]["id"], f.contact_inbox);
    assert_eq!(first["contactInbox"]["sourceId"], "ann-src");
    assert_eq!(first["assignee"], Value::Null);
    assert_eq!(first["labels"], json!([]));
    assert_eq!(first["messages"]["totalCount"], 0);

    // The same source id selects the same contact inbox.
    let same = create_conversation(
        &app,
        token,
        json!({ "contactId": f.contact, "inboxId": f.inbox, "sourceId": "ann-src" }),
    )
    .await;
    assert_eq!(same["contactInbox"]["id"], f.contact_inbox);

    // A new source id creates a contact inbox with it.
    let other = create_conversation(
        &app,
        token,
        json!({ "contactId": f.contact, "inboxId": f.inbox, "sourceId": "ann-phone" }),
    )
    .await;
    assert_ne!(other["contactInbox"]["id"], f.contact_inbox);
    assert_eq!(other["contactInbox"]["sourceId"], "ann-phone");

    // An inbox the contact is not known in gets a contact inbox with a generated source id.
    let email = create_inbox(&app, token, "Email").await;
    let fresh = create_conversation(
        &app,
        token,
        json!({ "contactId": f.contact, "inboxId": email, "status": "PENDING" }),
    )
    .await;
    assert_eq!(fresh["status"], "PENDING");
    assert_eq!(fresh["inbox"]["id"], email);
    assert!(
        !fresh["contactInbox"]["sourceId"]
            .as_str()
            .unwrap()
            .is_empty()
    );
    let again = create_conversation(
        &app,
        token,
        json!({ "contactId": f.contact, "inboxId": email }),
    )
    .await;
    assert_eq!(again["contactInbox"]["id"], fresh["contactInbox"]["id"]);

    let data = app
        .data(
            Some(token),
            "query($id: ID!) { contact(id: $id) { contactInboxes { id sourceId } conversations { totalCount } } }",
            json!({ "id": f.contact }),
        )
        .await;
    assert_eq!(
        data["contact"]["contactInboxes"].as_array().unwrap().len(),
        3
    );
    assert_eq!(data["contact"]["conversations"]["totalCount"], 5);

    // A source id another contact holds in the inbox is a conflict.
    let (bob, _) = create_contact(
        &app,
        token,
        json!({ "name": "Bob", "email": "bob@example.com" }),
    )
    .await;
    let taken = try_create_conversation(
        &app,
        token,
        json!({ "contactId": bob, "inboxId": f.inbox, "sourceId": "ann-src" }),
    )
    .await;
    assert_eq!(error_code(&taken), "CONFLICT", "{taken}");
    assert_eq!(taken["errors"][0]["extensions"]["field"], "sourceId");
}

#[tokio::test]
async fn display_ids_are_sequential_per_account() {
    let app = spawn_app().await;
    let acme = fixture(&app, "Acme").await;
    let globex = fixture(&app, "Globex").await;
    let mut acme_ids = Vec::new();
    for _ in 0..3 {
        let created = create_conversation(
            &app,
            &acme.admin.token,
            json!({ "contactId": acme.contact, "inboxId": acme.inbox }),
        )
        .await;
        acme_ids.push(created["displayId"].as_i64().unwrap());
    }
    assert_eq!(acme_ids, [1, 2, 3]);
    let created = create_conversation(
        &app,
        &globex.admin.token,
        json!({ "contactId": globex.contact, "inboxId": globex.inbox }),
    )
    .await;
    assert_eq!(created["displayId"], 1);

    // A creation that fails after taking its number (the source id belongs to another contact)
    // rolls back and gives the number back.
    let (bob, _) = create_contact(
        &app,
        &acme.admin.token,
        json!({ "name": "Bob", "email": "bob@example.com" }),
    )
    .await;
    let failed = try_create_conversation(
        &app,
        &acme.admin.token,
        json!({ "contactId": bob, "inboxId": acme.inbox, "sourceId": "ann-src" }),
    )
    .await;
    assert_eq!(error_code(&failed), "CONFLICT");
    let next = create_conversation(
        &app,
        &acme.admin.token,
        json!({ "contactId": acme.contact, "inboxId": acme.inbox }),
    )
    .await;
    assert_eq!(next["displayId"], 4);
}

#[tokio::test]
async fn concurrent_creations_never_share_a_display_id() {
    let app = spawn_app().await;
    let f = fixture(&app, "Acme").await;
    let input = json!({ "contactId": f.contact, "inboxId": f.inbox });
    let created = futures_util::future::join_all(
        (0..8).map(|_| create_conversation(&app, &f.admin.token, input.clone())),
    )
    .await;
    let mut display_ids: Vec<i64> = created
        .iter()
        .map(|c| c["displayId"].as_i64().unwrap())
        .collect();
    display_ids.sort_unstable();
    assert_eq!(display_ids, (1..=8).collect::<Vec<_>>());
}

#[tokio::test]
async fn a_blocked_contact_starts_resolved_and_a_first_message_is_sent() {
    let app = spawn_app().await;
    let f = fixture(&app, "Acme").await;
    let (blocked, _) = create_contact(
        &app,
        &f.admin.token,
        json!({ "name": "Mallory", "email": "mallory@example.com", "blocked": true }),
    )
    .await;
    let created = create_conversation(
        &app,
        &f.admin.token,
        json!({ "contactId": blocked, "inboxId": f.inbox, "status": "OPEN", "message": "Hello there" }),
    )
    .await;
    assert_eq!(created["status"], "RESOLVED");
    assert_eq!(created["messages"]["totalCount"], 1);
    let message = &created["messages"]["nodes"][0];
    assert_eq!(message["content"], "Hello there");
    assert_eq!(message["messageType"], "OUTGOING");
    assert_eq!(message["private"], false);
    assert_eq!(message["conversationId"], created["id"]);
    assert_eq!(message["conversation"]["id"], created["id"]);
    assert_eq!(
        message["sender"],
        json!({ "__typename": "User", "id": f.admin.user_id.to_string() })
    );
}

#[tokio::test]
async fn create_conversation_checks_its_references() {
    let app = spawn_app().await;
    let f = fixture(&app, "Acme").await;
    let other = fixture(&app, "Globex").await;
    let token = &f.admin.token;
    let cases = [
        (
            json!({ "contactId": "999999", "inboxId": f.inbox }),
            "NOT_FOUND",
        ),
        (
            json!({ "contactId": other.contact, "inboxId": f.inbox }),
            "NOT_FOUND",
        ),
        (
            json!({ "contactId": f.contact, "inboxId": other.inbox }),
            "NOT_FOUND",
        ),
        (
            json!({ "contactId": f.contact, "inboxId": f.inbox, "assigneeId": other.admin.user_id.to_string() }),
            "NOT_FOUND",
        ),
        (
            json!({ "contactId": "x", "inboxId": f.inbox }),
            "BAD_USER_INPUT",
        ),
    ];
    for (input, code) in cases {
        let body = try_create_conversation(&app, token, input.clone()).await;
        assert_eq!(error_code(&body), code, "{input} → {body}");
    }
    let assigned = create_conversation(
        &app,
        token,
        json!({ "contactId": f.contact, "inboxId": f.inbox, "assigneeId": f.admin.user_id.to_string() }),
    )
    .await;
    assert_eq!(assigned["assignee"]["id"], f.admin.user_id.to_string());
    // Nothing was left behind by the refused attempts.
    let listed = list(&app, token, json!({})).await;
    assert_eq!(listed["totalCount"], 1);
    assert_eq!(listed["edges"][0]["node"]["displayId"], 1);
}

// --- listing -------------------------------------------------------------------------------------

#[tokio::test]
async fn conversations_are_filtered_and_paged() {
    let app = spawn_app().await;
    let f = fixture(&app, "Acme").await;
    let token = &f.admin.token;
    let agent = app.agent(&f.admin, "Agnes").await;
    let email = create_inbox(&app, token, "Email").await;
    let agent_id = agent.user_id.to_string();
    let specs = [
        (f.inbox.as_str(), "OPEN", None),
        (f.inbox.as_str(), "RESOLVED", Some(agent_id.as_str())),
        (email.as_str(), "OPEN", Some(agent_id.as_str())),
        (email.as_str(), "PENDING", None),
        (f.inbox.as_str(), "OPEN", Some(agent_id.as_str())),
    ];
    let mut created = Vec::new();
    for (inbox, status, assignee) in specs {
        let c = create_conversation(
            &app,
            token,
            json!({ "contactId": f.contact, "inboxId": inbox, "status": status, "assigneeId": assignee }),
        )
        .await;
        created.push(id_of(&c));
    }
    // Most recently active first.
    let newest_first: Vec<String> = created.iter().rev().cloned().collect();
    let all = list(&app, token, json!({})).await;
    assert_eq!(all["totalCount"], 5);
    assert_eq!(ids(&all), newest_first);

    let open = list(&app, token, json!({ "status": "OPEN" })).await;
    assert_eq!(open["totalCount"], 3);
    assert_eq!(
        ids(&open),
        [
            created[4].as_str(),
            created[2].as_str(),
            created[0].as_str()
        ]
    );
    let in_email = list(&app, token, json!({ "inboxId": email })).await;
    assert_eq!(ids(&in_email), [created[3].as_str(), created[2].as_str()]);
    let assigned = list(&app, token, json!({ "assigneeId": agent_id })).await;
    assert_eq!(
        ids(&assigned),
        [
            created[4].as_str(),
            created[2].as_str(),
            created[1].as_str()
        ]
    );
    let combined = list(
        &app,
        token,
        json!({ "status": "OPEN", "inboxId": f.inbox, "assigneeId": agent_id }),
    )
    .await;
    assert_eq!(ids(&combined), [created[4].as_str()]);
    assert_eq!(combined["totalCount"], 1);

    // Forwards two at a time.
    let mut seen = Vec::new();
    let mut after = Value::Null;
    loop {
        let page = list(&app, token, json!({ "first": 2, "after": after })).await;
        assert_eq!(page["totalCount"], 5);
        seen.extend(ids(&page));
        if !page["pageInfo"]["hasNextPage"].as_bool().unwrap() {
            break;
        }
        after = page["pageInfo"]["endCursor"].clone();
    }
    assert_eq!(seen, newest_first);

    // Backwards from the end.
    let last = list(&app, token, json!({ "last": 2 })).await;
    assert_eq!(ids(&last), [created[1].as_str(), created[0].as_str()]);
    assert_eq!(last["pageInfo"]["hasPreviousPage"], true);
    let before = list(
        &app,
        token,
        json!({ "last": 2, "before": last["pageInfo"]["startCursor"] }),
    )
    .await;
    assert_eq!(ids(&before), [created[3].as_str(), created[2].as_str()]);

    // A new message makes its conversation the most recently active.
    create_message(
        &app,
        token,
        json!({ "conversationId": created[0], "content": "bump" }),
    )
    .await;
    let all = list(&app, token, json!({ "first": 1 })).await;
    assert_eq!(ids(&all), [created[0].as_str()]);

    let bad = app
        .gql(Some(token), LIST, json!({ "after": "not-a-cursor" }))
        .await;
    assert_eq!(error_code(&bad), "BAD_USER_INPUT");
}

// --- messages ------------------------------------------------------------------------------------

const MESSAGES: &str = "query($id: ID!, $first: Int, $after: String, $last: Int, $before: String) {
    conversation(id: $id) { messages(first: $first, after: $after, last: $last, before: $before) {
        totalCount
        pageInfo { hasNextPage hasPreviousPage startCursor endCursor }
        nodes { content }
    } } }";

async fn messages(app: &TestApp, token: &str, variables: Value) -> Value {
    app.data(Some(token), MESSAGES, variables).await["conversation"]["messages"].clone()
}

fn contents(connection: &Value) -> Vec<String> {
    connection["nodes"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| m["content"].as_str().unwrap().to_owned())
        .collect()
}

#[tokio::test]
async fn messages_page_in_order_with_the_newest_last() {
    let app = spawn_app().await;
    let f = fixture(&app, "Acme").await;
    let token = &f.admin.token;
    let c = create_conversation(
        &app,
        token,
        json!({ "contactId": f.contact, "inboxId": f.inbox, "message": "m1" }),
    )
    .await;
    let id = id_of(&c);
    for n in 2..=5 {
        create_message(
            &app,
            token,
            json!({ "conversationId": id, "content": format!("m{n}") }),
        )
        .await;
    }

    let mut seen = Vec::new();
    let mut after = Value::Null;
    let mut pages = 0;
    loop {
        let page = messages(&app, token, json!({ "id": id, "first": 2, "after": after })).await;
        assert_eq!(page["totalCount"], 5);
        assert_eq!(page["pageInfo"]["hasPreviousPage"], pages > 0);
        seen.extend(contents(&page));
        pages += 1;
        if !page["pageInfo"]["hasNextPage"].as_bool().unwrap() {
            break;
        }
        after = page["pageInfo"]["endCursor"].clone();
    }
    assert_eq!(pages, 3);
    assert_eq!(seen, ["m1", "m2", "m3", "m4", "m5"]);

    // `last` gives the newest, still oldest first within the page; `before` goes further back.
    let newest = messages(&app, token, json!({ "id": id, "last": 2 })).await;
    assert_eq!(contents(&newest), ["m4", "m5"]);
    assert_eq!(newest["pageInfo"]["hasPreviousPage"], true);
    assert_eq!(newest["pageInfo"]["hasNextPage"], false);
    let older = messages(
        &app,
        token,
        json!({ "id": id, "last": 2, "before": newest["pageInfo"]["startCursor"] }),
    )
    .await;
    assert_eq!(contents(&older), ["m2", "m3"]);
    assert_eq!(older["pageInfo"]["hasNextPage"], true);

    let everything = messages(&app, token, json!({ "id": id })).await;
    assert_eq!(contents(&everything).len(), 5);
    let too_many = app
        .gql(Some(token), MESSAGES, json!({ "id": id, "first": 101 }))
        .await;
    assert_eq!(error_code(&too_many), "BAD_USER_INPUT");
}

#[tokio::test]
async fn members_post_messages_of_any_kind() {
    let app = spawn_app().await;
    let f = fixture(&app, "Acme").await;
    let token = &f.admin.token;
    let c = create_conversation(
        &app,
        token,
        json!({ "contactId": f.contact, "inboxId": f.inbox }),
    )
    .await;
    let id = id_of(&c);

    let outgoing = create_message(
        &app,
        token,
        json!({ "conversationId": id, "content": "  How can we help?\n" }),
    )
    .await;
    assert_eq!(outgoing["messageType"], "OUTGOING");
    assert_eq!(outgoing["private"], false);
    assert_eq!(outgoing["content"], "  How can we help?\n");
    assert_eq!(
        outgoing["sender"],
        json!({ "__typename": "User", "id": f.admin.user_id.to_string() })
    );
    let note = create_message(
        &app,
        token,
        json!({ "conversationId": id, "content": "VIP, be nice", "private": true }),
    )
    .await;
    assert_eq!(note["private"], true);
    for kind in ["INCOMING", "ACTIVITY", "TEMPLATE"] {
        let m = create_message(
            &app,
            token,
            json!({ "conversationId": id, "content": kind, "messageType": kind }),
        )
        .await;
        assert_eq!(m["messageType"], kind);
    }

    // Posting marks the conversation, and for incoming messages the contact, active.
    let after = conversation(&app, token, &id).await;
    assert!(time(&after["lastActivityAt"]) > time(&c["lastActivityAt"]));
    let contact = app
        .data(
            Some(token),
            "query($id: ID!) { contact(id: $id) { lastActivityAt } }",
            json!({ "id": f.contact }),
        )
        .await;
    assert!(contact["contact"]["lastActivityAt"].is_string());

    // Content is required and bounded.
    for content in [String::new(), "  \n ".to_owned(), "x".repeat(150_001)] {
        let body = try_create_message(
            &app,
            token,
            json!({ "conversationId": id, "content": content }),
        )
        .await;
        assert_eq!(error_code(&body), "BAD_USER_INPUT");
        assert_eq!(body["errors"][0]["extensions"]["field"], "content");
    }
    let longest = create_message(
        &app,
        token,
        json!({ "conversationId": id, "content": "x".repeat(150_000) }),
    )
    .await;
    assert_eq!(longest["content"].as_str().unwrap().len(), 150_000);
    let missing = try_create_message(
        &app,
        token,
        json!({ "conversationId": "999999", "content": "hi" }),
    )
    .await;
    assert_eq!(error_code(&missing), "NOT_FOUND");
    let anonymous = app
        .gql(
            None,
            "mutation($input: CreateMessageInput!) { createMessage(input: $input) { id } }",
            json!({ "input": { "conversationId": id, "content": "hi" } }),
        )
        .await;
    assert_eq!(error_code(&anonymous), "UNAUTHENTICATED");

    // Editing a message.
    let edited = app
        .data(
            Some(token),
            "mutation($id: ID!) { updateMessage(id: $id, content: \"How may we help?\") { id content createdAt updatedAt } }",
            json!({ "id": outgoing["id"] }),
        )
        .await;
    assert_eq!(edited["updateMessage"]["content"], "How may we help?");
    assert_eq!(edited["updateMessage"]["createdAt"], outgoing["createdAt"]);
}

// --- contact tokens ------------------------------------------------------------------------------

#[tokio::test]
async fn a_contact_token_posts_incoming_messages_to_its_own_conversations_only() {
    let app = spawn_app().await;
    let f = fixture(&app, "Acme").await;
    let token = &f.admin.token;
    let own = id_of(
        &create_conversation(
            &app,
            token,
            json!({ "contactId": f.contact, "inboxId": f.inbox }),
        )
        .await,
    );
    // The same contact through another contact inbox, and another contact altogether.
    let other_inbox = id_of(
        &create_conversation(
            &app,
            token,
            json!({ "contactId": f.contact, "inboxId": f.inbox, "sourceId": "ann-other-browser" }),
        )
        .await,
    );
    let (bob, _) = create_contact(
        &app,
        token,
        json!({ "name": "Bob", "email": "bob@example.com" }),
    )
    .await;
    let bobs = id_of(
        &create_conversation(&app, token, json!({ "contactId": bob, "inboxId": f.inbox })).await,
    );

    let issued = issue_contact_token(&app, token, &f.contact_inbox).await;
    let widget = issued["data"]["issueContactToken"]
        .as_str()
        .unwrap_or_else(|| panic!("{issued}"))
        .to_owned();

    let incoming = create_message(
        &app,
        &widget,
        json!({ "conversationId": own, "content": "Hi, I need help", "messageType": "INCOMING" }),
    )
    .await;
    assert_eq!(incoming["messageType"], "INCOMING");
    assert_eq!(incoming["private"], false);
    assert_eq!(
        incoming["sender"],
        json!({ "__typename": "Contact", "id": f.contact })
    );

    // The default type (OUTGOING), other types and private notes are forbidden.
    for input in [
        json!({ "conversationId": own, "content": "x" }),
        json!({ "conversationId": own, "content": "x", "messageType": "OUTGOING" }),
        json!({ "conversationId": own, "content": "x", "messageType": "ACTIVITY" }),
        json!({ "conversationId": own, "content": "x", "messageType": "INCOMING", "private": true }),
    ] {
        let body = try_create_message(&app, &widget, input.clone()).await;
        assert_eq!(error_code(&body), "FORBIDDEN", "{input} → {body}");
    }
    // Other conversations do not exist for the contact.
    for conversation in [&other_inbox, &bobs, &"999999".to_owned()] {
        let body = try_create_message(
            &app,
            &widget,
            json!({ "conversationId": conversation, "content": "x", "messageType": "INCOMING" }),
        )
        .await;
        assert_eq!(error_code(&body), "NOT_FOUND", "{body}");
    }

    // Typing: own conversation only, and never a private note.
    let typing = "mutation($id: ID!, $private: Boolean) { setTyping(conversationId: $id, typing: true, private: $private) }";
    let ok = app.data(Some(&widget), typing, json!({ "id": own })).await;
    assert_eq!(ok["setTyping"], true);
    let private = app
        .gql(Some(&widget), typing, json!({ "id": own, "private": true }))
        .await;
    assert_eq!(error_code(&private), "FORBIDDEN");
    let elsewhere = app.gql(Some(&widget), typing, json!({ "id": bobs })).await;
    assert_eq!(error_code(&elsewhere), "NOT_FOUND");
    let member = app
        .data(Some(token), typing, json!({ "id": bobs, "private": true }))
        .await;
    assert_eq!(member["setTyping"], true);

    // Member-only operations are forbidden to the contact.
    let member_only = [
        ("{ contacts { totalCount } }", json!({})),
        ("{ conversations { totalCount } }", json!({})),
        (
            "query($id: ID!) { conversation(id: $id) { id } }",
            json!({ "id": own }),
        ),
        (
            "mutation($id: ID!) { updateConversationStatus(id: $id, status: RESOLVED) { id } }",
            json!({ "id": own }),
        ),
        (
            "mutation($id: ID!) { issueContactToken(contactInboxId: $id) }",
            json!({ "id": f.contact_inbox }),
        ),
    ];
    for (query, variables) in member_only {
        let body = app.gql(Some(&widget), query, variables).await;
        assert_eq!(error_code(&body), "FORBIDDEN", "{query} → {body}");
    }

    // The contact's message made both the conversation and the contact active.
    let contact = app
        .data(
            Some(token),
            "query($id: ID!) { contact(id: $id) { lastActivityAt } }",
            json!({ "id": f.contact }),
        )
        .await;
    assert!(contact["contact"]["lastActivityAt"].is_string());
    let listed = list(&app, token, json!({ "first": 1 })).await;
    assert_eq!(ids(&listed), [own.as_str()]);
}

#[tokio::test]
async fn a_contact_sees_no_private_notes_or_activity() {
    let app = spawn_app().await;
    let f = fixture(&app, "Acme").await;
    let token = &f.admin.token;
    let id = id_of(
        &create_conversation(
            &app,
            token,
            json!({ "contactId": f.contact, "inboxId": f.inbox, "message": "public" }),
        )
        .await,
    );
    create_message(
        &app,
        token,
        json!({ "conversationId": id, "content": "secret", "private": true }),
    )
    .await;
    create_message(
        &app,
        token,
        json!({ "conversationId": id, "content": "assigned", "messageType": "ACTIVITY" }),
    )
    .await;
    let widget =
        issue_contact_token(&app, token, &f.contact_inbox).await["data"]["issueContactToken"]
            .as_str()
            .unwrap()
            .to_owned();
    let query = "mutation($id: ID!) { createMessage(input: { conversationId: $id, content: \"reply\", messageType: INCOMING }) {
        conversation { messages { totalCount nodes { content } } } } }";
    let data = app.data(Some(&widget), query, json!({ "id": id })).await;
    let seen = &data["createMessage"]["conversation"]["messages"];
    assert_eq!(seen["totalCount"], 2);
    assert_eq!(contents(seen), ["public", "reply"]);
    let labels = app
        .gql(
            Some(&widget),
            "mutation($id: ID!) { createMessage(input: { conversationId: $id, content: \"x\", messageType: INCOMING }) { conversation { labels } } }",
            json!({ "id": id }),
        )
        .await;
    assert_eq!(error_code(&labels), "FORBIDDEN");
    // The member sees everything.
    let all = messages(&app, token, json!({ "id": id })).await;
    assert_eq!(all["totalCount"], 5);
}

#[tokio::test]
async fn issue_contact_token_is_for_contact_inboxes_of_the_account() {
    let app = spawn_app().await;
    let acme = fixture(&app, "Acme").await;
    let globex = fixture(&app, "Globex").await;
    let agent = app.agent(&acme.admin, "Agnes").await;
    let issued = issue_contact_token(&app, &agent.token, &acme.contact_inbox).await;
    let token = issued["data"]["issueContactToken"].as_str().unwrap();
    assert_eq!(token.split('.').count(), 3, "a JWT");
    for id in [&globex.contact_inbox, &"999999".to_owned()] {
        let body = issue_contact_token(&app, &acme.admin.token, id).await;
        assert_eq!(error_code(&body), "NOT_FOUND", "{body}");
    }
    let anonymous = app
        .gql(
            None,
            "mutation($id: ID!) { issueContactToken(contactInboxId: $id) }",
            json!({ "id": acme.contact_inbox }),
        )
        .await;
    assert_eq!(error_code(&anonymous), "UNAUTHENTICATED");
}

// --- status, assignment, labels ------------------------------------------------------------------

#[tokio::test]
async fn status_assignment_and_labels() {
    let app = spawn_app().await;
    let f = fixture(&app, "Acme").await;
    let other = fixture(&app, "Globex").await;
    let token = &f.admin.token;
    let agent = app.agent(&f.admin, "Agnes").await;
    let c = create_conversation(
        &app,
        token,
        json!({ "contactId": f.contact, "inboxId": f.inbox }),
    )
    .await;
    let id = id_of(&c);

    let status = "mutation($id: ID!, $status: ConversationStatus!) { updateConversationStatus(id: $id, status: $status) { id status updatedAt } }";
    let resolved = app
        .data(
            Some(&agent.token),
            status,
            json!({ "id": id, "status": "RESOLVED" }),
        )
        .await;
    assert_eq!(resolved["updateConversationStatus"]["status"], "RESOLVED");
    let snoozed = app
        .data(
            Some(token),
            status,
            json!({ "id": id, "status": "SNOOZED" }),
        )
        .await;
    assert_eq!(snoozed["updateConversationStatus"]["status"], "SNOOZED");
    let bad = app
        .gql(Some(token), status, json!({ "id": id, "status": "CLOSED" }))
        .await;
    assert!(bad["errors"].is_array(), "{bad}");
    assert_eq!(conversation(&app, token, &id).await["status"], "SNOOZED");

    let assign = "mutation($id: ID!, $assignee: ID) { assignConversation(id: $id, assigneeId: $assignee) { id assignee { id name } } }";
    let assigned = app
        .data(
            Some(token),
            assign,
            json!({ "id": id, "assignee": agent.user_id.to_string() }),
        )
        .await;
    assert_eq!(
        assigned["assignConversation"]["assignee"],
        json!({ "id": agent.user_id.to_string(), "name": "Agnes" })
    );
    let foreign = app
        .gql(
            Some(token),
            assign,
            json!({ "id": id, "assignee": other.admin.user_id.to_string() }),
        )
        .await;
    assert_eq!(error_code(&foreign), "NOT_FOUND");
    let nobody = app
        .gql(
            Some(token),
            assign,
            json!({ "id": id, "assignee": "999999" }),
        )
        .await;
    assert_eq!(error_code(&nobody), "NOT_FOUND");
    // Still assigned to the agent after the refused attempts.
    assert_eq!(
        conversation(&app, token, &id).await["assignee"]["id"],
        agent.user_id.to_string()
    );
    let unassigned = app
        .data(Some(token), assign, json!({ "id": id, "assignee": null }))
        .await;
    assert_eq!(unassigned["assignConversation"]["assignee"], Value::Null);

    let labels = "mutation($id: ID!, $labels: [String!]!) { setConversationLabels(id: $id, labels: $labels) { id labels } }";
    let set = app
        .data(
            Some(token),
            labels,
            json!({ "id": id, "labels": ["Billing", "vip", "billing"] }),
        )
        .await;
    assert_eq!(
        set["setConversationLabels"]["labels"],
        json!(["billing", "vip"])
    );
    let replaced = app
        .data(
            Some(token),
            labels,
            json!({ "id": id, "labels": ["urgent"] }),
        )
        .await;
    assert_eq!(
        replaced["setConversationLabels"]["labels"],
        json!(["urgent"])
    );
    let invalid = app
        .gql(
            Some(token),
            labels,
            json!({ "id": id, "labels": ["no spaces"] }),
        )
        .await;
    assert_eq!(error_code(&invalid), "BAD_USER_INPUT");
    let cleared = app
        .data(Some(token), labels, json!({ "id": id, "labels": [] }))
        .await;
    assert_eq!(cleared["setConversationLabels"]["labels"], json!([]));
}

// --- account scoping -----------------------------------------------------------------------------

#[tokio::test]
async fn another_accounts_conversations_do_not_exist() {
    let app = spawn_app().await;
    let acme = fixture(&app, "Acme").await;
    let globex = fixture(&app, "Globex").await;
    let c = create_conversation(
        &app,
        &acme.admin.token,
        json!({ "contactId": acme.contact, "inboxId": acme.inbox, "message": "hello" }),
    )
    .await;
    let id = id_of(&c);
    let message_id = id_of(&c["messages"]["nodes"][0]);
    let token = &globex.admin.token;

    assert_eq!(conversation(&app, token, &id).await, Value::Null);
    assert_eq!(list(&app, token, json!({})).await["totalCount"], 0);
    assert_eq!(
        list(&app, token, json!({ "inboxId": acme.inbox })).await["totalCount"],
        0
    );
    let attempts = [
        (
            "mutation($id: ID!) { createMessage(input: { conversationId: $id, content: \"x\" }) { id } }",
            json!({ "id": id }),
        ),
        (
            "mutation($id: ID!) { updateMessage(id: $id, content: \"x\") { id } }",
            json!({ "id": message_id }),
        ),
        (
            "mutation($id: ID!) { updateConversationStatus(id: $id, status: RESOLVED) { id } }",
            json!({ "id": id }),
        ),
        (
            "mutation($id: ID!) { assignConversation(id: $id, assigneeId: null) { id } }",
            json!({ "id": id }),
        ),
        (
            "mutation($id: ID!) { setConversationLabels(id: $id, labels: [\"x\"]) { id } }",
            json!({ "id": id }),
        ),
        (
            "mutation($id: ID!) { setTyping(conversationId: $id, typing: true) }",
            json!({ "id": id }),
        ),
    ];
    for (query, variables) in attempts {
        let body = app.gql(Some(token), query, variables).await;
        assert_eq!(error_code(&body), "NOT_FOUND", "{query} → {body}");
    }

    // A widget token of one account cannot reach the other's conversations either.
    let widget =
        issue_contact_token(&app, token, &globex.contact_inbox).await["data"]["issueContactToken"]
            .as_str()
            .unwrap()
            .to_owned();
    let body = try_create_message(
        &app,
        &widget,
        json!({ "conversationId": id, "content": "x", "messageType": "INCOMING" }),
    )
    .await;
    assert_eq!(error_code(&body), "NOT_FOUND");

    // Acme's conversation is untouched.
    let still = conversation(&app, &acme.admin.token, &id).await;
    assert_eq!(still["status"], "OPEN");
    assert_eq!(
        messages(&app, &acme.admin.token, json!({ "id": id })).await["totalCount"],
        1
    );
}

// --- batching ------------------------------------------------------------------------------------

#[tokio::test]
async fn pages_of_conversations_and_messages_cost_a_constant_number_of_statements() {
    // The membership is read on every request (no access cache), so an entry expiring between
    // two pages cannot change their statement counts.
    let app = spawn_app_configured(|config| config.access_cache_ttl_ms = 0).await;
    let f = fixture(&app, "Acme").await;
    let token = &f.admin.token;
    let widget =
        issue_contact_token(&app, token, &f.contact_inbox).await["data"]["issueContactToken"]
            .as_str()
            .unwrap()
            .to_owned();
    let id = id_of(
        &create_conversation(
            &app,
            token,
            json!({ "contactId": f.contact, "inboxId": f.inbox, "assigneeId": f.admin.user_id.to_string() }),
        )
        .await,
    );
    for n in 0..20 {
        let input =
            json!({ "conversationId": id, "content": format!("m{n}"), "messageType": "INCOMING" });
        create_message(&app, if n % 2 == 0 { token } else { &widget }, input).await;
        create_conversation(
            &app,
            token,
            json!({ "contactId": f.contact, "inboxId": f.inbox, "assigneeId": f.admin.user_id.to_string() }),
        )
        .await;
    }
    let messages_page = "query($id: ID!, $first: Int!) { conversation(id: $id) { messages(first: $first) {
        nodes { id conversation { id displayId } sender { ... on User { id name } ... on Contact { id name } } } } } }";
    let conversations_page = "query($first: Int!) { conversations(first: $first) { nodes {
        id inbox { id } contact { id name } contactInbox { id } assignee { id } labels } } }";
    let mut costs = Vec::new();
    for (query, variables) in [
        (messages_page, json!({ "id": id, "first": 2 })),
        (messages_page, json!({ "id": id, "first": 20 })),
        (conversations_page, json!({ "first": 2 })),
        (conversations_page, json!({ "first": 20 })),
    ] {
        let before = app.statements().await;
        app.data(Some(token), query, variables).await;
        costs.push(app.statements().await - before);
    }
    assert_eq!(costs[0], costs[1], "messages: {costs:?}");
    assert_eq!(costs[2], costs[3], "conversations: {costs:?}");
}
