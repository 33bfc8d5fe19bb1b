//! `mergeContacts` over HTTP: the field and attribute rules, what moves to the base, the
//! mergee's deletion, the events, self merges, account scoping, and all-or-nothing.

use std::time::Duration;

use sea_orm::{ConnectionTrait, DbBackend};
use serde_json::{Value, json};

use crate::{
    contacts::{CONTACT, create_inbox, set_labels, time},
    helpers::{Session, TestApp, WsClient, error_code, spawn_app},
};

/// A contact with everything a merge moves.
const DETAIL: &str = "notes { id } contactInboxes { id } conversations { totalCount }";

const CONTACT_CHANGED: &str =
    "subscription { contactChanged { kind contactId contact { id name email } } }";

fn merge_query() -> String {
    format!(
        "mutation($base: ID!, $mergee: ID!) {{ mergeContacts(baseContactId: $base, mergeeContactId: $mergee) {{ {CONTACT} {DETAIL} }} }}"
    )
}

async fn try_merge(app: &TestApp, token: &str, base: &str, mergee: &str) -> Value {
    app.gql(
        Some(token),
        &merge_query(),
        json!({ "base": base, "mergee": mergee }),
    )
    .await
}

/// A contact with its labels, notes, contact inboxes and conversation count (null when gone).
async fn snapshot(app: &TestApp, token: &str, id: &str) -> Value {
    let query = format!("query($id: ID!) {{ contact(id: $id) {{ {CONTACT} {DETAIL} }} }}");
    app.data(Some(token), &query, json!({ "id": id })).await["contact"].clone()
}

/// A conversation's contact and the senders of its messages.
async fn conversation(app: &TestApp, token: &str, id: &str) -> Value {
    app.data(
        Some(token),
        "query($id: ID!) { conversation(id: $id) { contact { id } messages { nodes { sender { ... on Contact { id } } } } } }",
        json!({ "id": id }),
    )
    .await["conversation"]
        .clone()
}

/// Creates a contact registered in an inbox; returns its id and its contact inbox's id.
async fn create(app: &TestApp, token: &str, input: Value) -> (String, String) {
    let data = app
        .data(
            Some(token),
            "mutation($input: CreateContactInput!) { createContact(input: $input) { id contactInboxes { id } } }",
            json!({ "input": input }),
        )
        .await;
    let contact = &data["createContact"];
    (
        contact["id"].as_str().unwrap().to_owned(),
        contact["contactInboxes"][0]["id"]
            .as_str()
            .unwrap()
            .to_owned(),
    )
}

/// A base (a visitor with a name and identifier) and a mergee (email, phone number, a note, a
/// conversation with a message it sent), each with labels, attributes and a contact inbox.
struct Fixture {
    admin: Session,
    base: String,
    mergee: String,
    contact_inboxes: Vec<String>,
    note: String,
    conversation: String,
}

async fn fixture(app: &TestApp) -> Fixture {
    let admin = app.account("Acme").await;
    let token = admin.token.clone();
    let inbox = create_inbox(app, &admin, "Web", "api").await;
    let (base, base_inbox) = create(
        app,
        &token,
        json!({
            "name": "Ann", "identifier": "ann-1", "inboxId": inbox, "sourceId": "base-src",
            "customAttributes": { "plan": "gold", "prefs": { "color": "red", "empty": "" }, "blank": "" },
            "additionalAttributes": { "city": "Paris" },
        }),
    )
    .await;
    let (mergee, mergee_inbox) = create(
        app,
        &token,
        json!({
            "name": "Ann B.", "identifier": "ann-2", "email": "ann@example.com",
            "phoneNumber": "+15550002", "inboxId": inbox, "sourceId": "mergee-src",
            "customAttributes": { "plan": "silver", "prefs": { "color": "blue", "size": "L" }, "blank": "filled", "extra": "" },
            "additionalAttributes": { "city": "Berlin", "company_name": "Globex" },
        }),
    )
    .await;
    set_labels(app, &token, &base, &["vip", "beta"]).await;
    set_labels(app, &token, &mergee, &["beta", "churned"]).await;
    let note = app
        .data(
            Some(&token),
            "mutation($c: ID!) { createNote(contactId: $c, content: \"Called\") { id } }",
            json!({ "c": mergee }),
        )
        .await["createNote"]["id"]
        .as_str()
        .unwrap()
        .to_owned();
    let conversation = app
        .data(
            Some(&token),
            "mutation($input: CreateConversationInput!) { createConversation(input: $input) { id } }",
            json!({ "input": { "contactId": mergee, "inboxId": inbox, "sourceId": "mergee-src" } }),
        )
        .await["createConversation"]["id"]
        .as_str()
        .unwrap()
        .to_owned();
    let widget = app
        .data(
            Some(&token),
            "mutation($id: ID!) { issueContactToken(contactInboxId: $id) }",
            json!({ "id": mergee_inbox }),
        )
        .await["issueContactToken"]
        .as_str()
        .unwrap()
        .to_owned();
    app.data(
        Some(&widget),
        "mutation($input: CreateMessageInput!) { createMessage(input: $input) { id } }",
        json!({ "input": { "conversationId": conversation, "content": "Hi", "messageType": "INCOMING" } }),
    )
    .await;
    let mut contact_inboxes = vec![base_inbox, mergee_inbox];
    contact_inboxes.sort();
    Fixture {
        admin,
        base,
        mergee,
        contact_inboxes,
        note,
        conversation,
    }
}

fn ids_of(list: &Value) -> Vec<String> {
    let mut ids: Vec<String> = list
        .as_array()
        .unwrap_or_else(|| panic!("not a list: {list}"))
        .iter()
        .map(|item| item["id"].as_str().unwrap().to_owned())
        .collect();
    ids.sort();
    ids
}

#[tokio::test]
async fn merge_moves_everything_to_the_base_and_deletes_the_mergee() {
    let app = spawn_app().await;
    let f = fixture(&app).await;
    let agent = app.agent(&f.admin, "Agatha").await;
    let token = agent.token.as_str();
    let before = snapshot(&app, token, &f.base).await;
    assert_eq!(before["contactType"], "VISITOR");

    let mut contacts_ws = WsClient::connect(&app, "graphql-transport-ws", token).await;
    contacts_ws
        .subscribe_and_wait("c", CONTACT_CHANGED, json!({}))
        .await;
    let mut conversations_ws = WsClient::connect(&app, "graphql-transport-ws", token).await;
    conversations_ws
        .subscribe_and_wait(
            "u",
            "subscription($id: ID) { conversationUpdated(conversationId: $id) { id contact { id } } }",
            json!({ "id": f.conversation }),
        )
        .await;

    let body = try_merge(&app, token, &f.base, &f.mergee).await;
    assert!(body.get("errors").is_none(), "unexpected errors: {body:#}");
    let merged = &body["data"]["mergeContacts"];
    assert_eq!(merged["id"], f.base.as_str());
    // The base's name and identifier win; the mergee's email and phone fill the empty ones
    // (released by the mergee first), which makes the visitor a lead.
    assert_eq!(merged["name"], "Ann");
    assert_eq!(merged["identifier"], "ann-1");
    assert_eq!(merged["email"], "ann@example.com");
    assert_eq!(merged["phoneNumber"], "+15550002");
    assert_eq!(merged["contactType"], "LEAD");
    assert_eq!(
        merged["customAttributes"],
        json!({ "plan": "gold", "prefs": { "color": "red", "empty": "", "size": "L" }, "blank": "", "extra": "" })
    );
    assert_eq!(
        merged["additionalAttributes"],
        json!({ "city": "Paris", "company_name": "Globex" })
    );
    assert_eq!(merged["labels"], json!(["beta", "churned", "vip"]));
    assert_eq!(ids_of(&merged["notes"]), vec![f.note.clone()]);
    assert_eq!(ids_of(&merged["contactInboxes"]), f.contact_inboxes);
    assert_eq!(merged["conversations"]["totalCount"], 1);
    assert!(time(&merged["updatedAt"]) > time(&before["updatedAt"]));

    assert_eq!(snapshot(&app, token, &f.base).await, *merged);
    assert_eq!(snapshot(&app, token, &f.mergee).await, Value::Null);
    assert_eq!(
        conversation(&app, token, &f.conversation).await,
        json!({ "contact": { "id": f.base }, "messages": { "nodes": [{ "sender": { "id": f.base } }] } })
    );

    let event = contacts_ws.next_data("c").await;
    assert_eq!(
        event["data"]["contactChanged"],
        json!({ "kind": "MERGED", "contactId": f.base, "contact": { "id": f.base, "name": "Ann", "email": "ann@example.com" } })
    );
    let event = contacts_ws.next_data("c").await;
    assert_eq!(
        event["data"]["contactChanged"],
        json!({ "kind": "DELETED", "contactId": f.mergee, "contact": null })
    );
    let event = conversations_ws.next_data("u").await;
    assert_eq!(
        event["data"]["conversationUpdated"],
        json!({ "id": f.conversation, "contact": { "id": f.base } })
    );
}

#[tokio::test]
async fn merging_with_itself_or_across_accounts_changes_nothing() {
    let app = spawn_app().await;
    let admin = app.account("Acme").await;
    let other = app.account("Globex").await;
    let (ann, _) = create(
        &app,
        &admin.token,
        json!({ "name": "Ann", "email": "ann@example.com", "inboxId": create_inbox(&app, &admin, "Web", "api").await }),
    )
    .await;
    let (eve, _) = create(
        &app,
        &other.token,
        json!({ "name": "Eve", "email": "eve@example.com", "inboxId": create_inbox(&app, &other, "Web", "api").await }),
    )
    .await;
    let mut ws = WsClient::connect(&app, "graphql-transport-ws", &admin.token).await;
    ws.subscribe_and_wait("c", CONTACT_CHANGED, json!({})).await;
    let before = snapshot(&app, &admin.token, &ann).await;

    let body = try_merge(&app, &admin.token, &ann, &ann).await;
    assert!(body.get("errors").is_none(), "unexpected errors: {body:#}");
    assert_eq!(body["data"]["mergeContacts"], before);

    for (base, mergee) in [(&ann, &eve), (&eve, &ann), (&eve, &eve)] {
        let body = try_merge(&app, &admin.token, base, mergee).await;
        assert_eq!(error_code(&body), "NOT_FOUND", "{base} <- {mergee}");
    }
    assert_eq!(snapshot(&app, &admin.token, &ann).await, before);
    assert_eq!(snapshot(&app, &other.token, &eve).await["name"], "Eve");
    ws.expect_silence(Duration::from_millis(300)).await;
}

/// Makes every delete of a contact fail. A merge deletes the mergee last, after all its other
/// writes; no client request can make a merge fail (the mergee's unique values are released
/// before the base takes them), so the failure is planted in the database.
async fn refuse_contact_deletes(app: &TestApp) {
    let statements: &[&str] = match app.db.get_database_backend() {
        DbBackend::Postgres => &[
            "CREATE FUNCTION refuse_contact_delete() RETURNS trigger LANGUAGE plpgsql AS \
             $$ BEGIN RAISE EXCEPTION 'contact deletes refused'; END $$",
            "CREATE TRIGGER refuse_contact_delete BEFORE DELETE ON contacts \
             FOR EACH ROW EXECUTE FUNCTION refuse_contact_delete()",
        ],
        _ => &[
            "CREATE TRIGGER refuse_contact_delete BEFORE DELETE ON contacts \
             BEGIN SELECT RAISE(ABORT, 'contact deletes refused'); END",
        ],
    };
    for statement in statements {
        app.db.execute_unprepared(statement).await.unwrap();
    }
}

#[tokio::test]
async fn a_merge_failing_at_its_last_step_leaves_both_contacts_as_they_were() {
    let app = spawn_app().await;
    let f = fixture(&app).await;
    let token = f.admin.token.as_str();
    let base = snapshot(&app, token, &f.base).await;
    let mergee = snapshot(&app, token, &f.mergee).await;
    let thread = conversation(&app, token, &f.conversation).await;
    let mut ws = WsClient::connect(&app, "graphql-transport-ws", token).await;
    ws.subscribe_and_wait("c", CONTACT_CHANGED, json!({})).await;
    refuse_contact_deletes(&app).await;

    let body = try_merge(&app, token, &f.base, &f.mergee).await;
    assert_eq!(error_code(&body), "INTERNAL_SERVER_ERROR");

    assert_eq!(snapshot(&app, token, &f.base).await, base);
    assert_eq!(snapshot(&app, token, &f.mergee).await, mergee);
    assert_eq!(mergee["email"], "ann@example.com");
    assert_eq!(ids_of(&mergee["notes"]), vec![f.note.clone()]);
    assert_eq!(conversation(&app, token, &f.conversation).await, thread);
    assert_eq!(thread["contact"]["id"], f.mergee.as_str());
    ws.expect_silence(Duration::from_millis(300)).await;
}
