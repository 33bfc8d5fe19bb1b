//! The error boundary end to end: text carrying a NUL character (U+0000), which PostgreSQL
//! refuses in text and JSON columns, is the client's mistake on every backend and over both
//! transports — BAD_USER_INPUT naming the argument path, and nothing written.

use serde_json::{Value, json};

use crate::{
    contacts::{create_contact, error_field},
    helpers::{WsClient, error_code, spawn_app},
};

const CREATE: &str =
    "mutation($input: CreateContactInput!) { createContact(input: $input) { id } }";
const UPDATE: &str = "mutation($id: ID!, $input: UpdateContactInput!) { updateContact(id: $id, input: $input) { id name } }";
const NOTE: &str =
    "mutation($c: ID!, $content: String!) { createNote(contactId: $c, content: $content) { id } }";
const FILTER: &str =
    "query($f: [ContactFilterCondition!]!) { filterContacts(filter: $f) { totalCount } }";
const COUNT: &str = "{ contacts { totalCount } }";

/// Asserts a refusal of NUL naming `field`, with no data.
fn assert_refused(body: &Value, field: &str) {
    assert_eq!(error_code(body), "BAD_USER_INPUT", "{body:#}");
    assert_eq!(error_field(body), field, "{body:#}");
    assert!(body["data"].is_null(), "nothing runs: {body:#}");
}

#[tokio::test]
async fn nul_characters_are_refused_naming_the_field_and_nothing_is_written() {
    let app = spawn_app().await;
    let admin = app.account("Acme").await;
    let token = Some(admin.token.as_str());
    let ann = create_contact(&app, &admin.token, json!({ "name": "Ann" })).await;

    for (input, field) in [
        (json!({ "name": "A\u{0}nn" }), "input.name"),
        (
            json!({ "name": "Bob", "customAttributes": { "pl\u{0}an": "gold" } }),
            "input.customAttributes",
        ),
        (
            json!({ "name": "Bob", "customAttributes": { "plan": "go\u{0}ld" } }),
            "input.customAttributes.plan",
        ),
        (
            json!({ "name": "Bob", "additionalAttributes": { "tags": ["ok", "\u{0}"] } }),
            "input.additionalAttributes.tags[1]",
        ),
    ] {
        let body = app.gql(token, CREATE, json!({ "input": input })).await;
        assert_refused(&body, field);
    }
    // The same in a literal of the document.
    let literal = r#"mutation { createContact(input: { name: "Bo\u0000b" }) { id } }"#;
    assert_refused(&app.gql(token, literal, json!({})).await, "input.name");
    let count = app.data(token, COUNT, json!({})).await;
    assert_eq!(count["contacts"]["totalCount"], 0, "nothing was created");

    let update =
        json!({ "id": ann, "input": { "name": "Ann\u{0}e", "customAttributes": { "k": "v" } } });
    assert_refused(&app.gql(token, UPDATE, update).await, "input.name");
    let named = app
        .data(
            token,
            "query($id: ID!) { contact(id: $id) { name customAttributes } }",
            json!({ "id": ann }),
        )
        .await;
    assert_eq!(named["contact"]["name"], "Ann", "nothing was updated");
    assert_eq!(named["contact"]["customAttributes"], json!({}));

    let note = json!({ "c": ann, "content": "called\u{0}" });
    assert_refused(&app.gql(token, NOTE, note).await, "content");

    let filter = json!({ "f": [{ "attributeKey": "name", "filterOperator": "EQUAL_TO", "values": ["x", "\u{0}"] }] });
    assert_refused(&app.gql(token, FILTER, filter).await, "filter[0].values[1]");

    // Clean input still works, on the same contact.
    let clean = json!({ "id": ann, "input": { "name": "Anne" } });
    assert_eq!(
        app.data(token, UPDATE, clean).await["updateContact"]["name"],
        "Anne"
    );
}

#[tokio::test]
async fn nul_characters_are_refused_over_websockets_too() {
    let app = spawn_app().await;
    let admin = app.account("Acme").await;
    let ann = create_contact(&app, &admin.token, json!({ "name": "Ann" })).await;
    let mut ws = WsClient::connect(&app, "graphql-transport-ws", &admin.token).await;
    ws.subscribe("n", NOTE, json!({ "c": ann, "content": "hi\u{0}" }))
        .await;
    let message = loop {
        let message = ws.next().await;
        if message["id"] == "n" {
            break message;
        }
    };
    // Refused before execution: graphql-transport-ws's `error` message, its payload the list of
    // GraphQL errors.
    assert_eq!(message["type"], "error", "{message}");
    let error = &message["payload"][0];
    assert_eq!(error["extensions"]["code"], "BAD_USER_INPUT", "{message}");
    assert_eq!(error["extensions"]["field"], "content", "{message}");
    let notes = app
        .data(
            Some(&admin.token),
            "query($id: ID!) { contact(id: $id) { notes { id } } }",
            json!({ "id": ann }),
        )
        .await;
    assert_eq!(notes["contact"]["notes"], json!([]), "nothing was written");
}

/// Scoping by construction: every key of the shared dataloader names an account, and a key
/// naming another account than the row's finds nothing, whatever a caller forgets to check.
#[tokio::test]
async fn a_dataloader_key_of_another_account_finds_nothing() {
    use switchboard::loaders::{
        self, ContactById, ContactInboxById, ContactInboxesOfContact, ConversationById, InboxById,
        LabelsOfContact, LabelsOfConversation, Member, NotesOfContact,
    };

    let app = spawn_app().await;
    let acme = app.account("Acme").await;
    let other = app.account("Other").await;
    let token = Some(acme.token.as_str());
    let inbox = app
        .data(
            token,
            r#"mutation { createInbox(input: { name: "Web", channelType: "web" }) { id } }"#,
            json!({}),
        )
        .await["createInbox"]["id"]
        .clone();
    let contact = create_contact(&app, &acme.token, json!({ "name": "Ann" })).await;
    app.data(
        token,
        "mutation($id: ID!) { setContactLabels(id: $id, labels: [\"vip\"]) { id } }",
        json!({ "id": contact }),
    )
    .await;
    app.data(token, NOTE, json!({ "c": contact, "content": "called" }))
        .await;
    let conversation = app
        .data(
            token,
            "mutation($input: CreateConversationInput!) { createConversation(input: $input) { id contactInbox { id } } }",
            json!({ "input": { "contactId": contact, "inboxId": inbox } }),
        )
        .await["createConversation"]
        .clone();
    app.data(
        token,
        "mutation($id: ID!) { setConversationLabels(id: $id, labels: [\"billing\"]) { id } }",
        json!({ "id": conversation["id"] }),
    )
    .await;
    let id = |value: &Value| value.as_str().unwrap().parse::<i64>().unwrap();
    let (contact, inbox) = (id(&json!(contact)), id(&inbox));
    let contact_inbox = id(&conversation["contactInbox"]["id"]);
    let conversation = id(&conversation["id"]);

    let loader = loaders::build(app.db.clone());
    for (account_id, found) in [(acme.account_id, true), (other.account_id, false)] {
        let contact_row = loader
            .load_one(ContactById {
                account_id,
                id: contact,
            })
            .await
            .unwrap();
        assert_eq!(
            contact_row.is_some(),
            found,
            "contact, account {account_id}"
        );
        let inbox_row = loader
            .load_one(InboxById {
                account_id,
                id: inbox,
            })
            .await
            .unwrap();
        assert_eq!(inbox_row.is_some(), found, "inbox, account {account_id}");
        let conversation_row = loader
            .load_one(ConversationById {
                account_id,
                id: conversation,
            })
            .await
            .unwrap();
        assert_eq!(conversation_row.is_some(), found, "conversation");
        let contact_inbox_row = loader
            .load_one(ContactInboxById {
                account_id,
                id: contact_inbox,
            })
            .await
            .unwrap();
        assert_eq!(contact_inbox_row.is_some(), found, "contact inbox");
        let member = loader
            .load_one(Member {
                account_id,
                user_id: acme.user_id,
            })
            .await
            .unwrap();
        assert_eq!(member.is_some(), found, "membership");

        let children = [
            loader
                .load_one(LabelsOfContact {
                    account_id,
                    id: contact,
                })
                .await
                .unwrap()
                .unwrap_or_default()
                .len(),
            loader
                .load_one(LabelsOfConversation {
                    account_id,
                    id: conversation,
                })
                .await
                .unwrap()
                .unwrap_or_default()
                .len(),
            loader
                .load_one(NotesOfContact {
                    account_id,
                    id: contact,
                })
                .await
                .unwrap()
                .unwrap_or_default()
                .len(),
            loader
                .load_one(ContactInboxesOfContact {
                    account_id,
                    id: contact,
                })
                .await
                .unwrap()
                .unwrap_or_default()
                .len(),
        ];
        let expected = if found { [1, 1, 1, 1] } else { [0, 0, 0, 0] };
        assert_eq!(children, expected, "labels, labels, notes, contact inboxes");
    }
}
