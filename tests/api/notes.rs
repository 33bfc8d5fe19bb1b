//! Notes on contacts over HTTP (docs/design.md §5).

use serde_json::{Value, json};

use crate::{
    contacts::{create_contact, error_field, time},
    helpers::{TestApp, error_code, spawn_app},
};

const CREATE: &str = "mutation($c: ID!, $content: String!) { createNote(contactId: $c, content: $content) { id content contact { id } user { id name } createdAt updatedAt } }";
const UPDATE: &str = "mutation($id: ID!, $content: String!) { updateNote(id: $id, content: $content) { id content contact { id } user { id name } createdAt updatedAt } }";
const DELETE: &str = "mutation($id: ID!) { deleteNote(id: $id) }";
const NOTES: &str = "query($id: ID!) { contact(id: $id) { notes { id content user { id } } } }";

async fn create_note(app: &TestApp, token: &str, contact: &str, content: &str) -> Value {
    app.data(
        Some(token),
        CREATE,
        json!({ "c": contact, "content": content }),
    )
    .await["createNote"]
        .clone()
}

async fn notes(app: &TestApp, token: &str, contact: &str) -> Value {
    app.data(Some(token), NOTES, json!({ "id": contact })).await["contact"]["notes"].clone()
}

fn ids(notes: &Value) -> Vec<String> {
    notes
        .as_array()
        .unwrap()
        .iter()
        .map(|n| n["id"].as_str().unwrap().to_owned())
        .collect()
}

#[tokio::test]
async fn notes_are_listed_newest_first_and_any_member_may_edit_keeping_the_author() {
    let app = spawn_app().await;
    let admin = app.account("Acme").await;
    let agent = app.agent(&admin, "Agatha").await;
    let ann = create_contact(&app, &admin.token, json!({ "email": "ann@example.com" })).await;
    let bob = create_contact(&app, &admin.token, json!({ "name": "Anonymous Bob" })).await;

    let first = create_note(&app, &admin.token, &ann, "  Called, left a message  ").await;
    assert_eq!(first["content"], "Called, left a message");
    assert_eq!(first["contact"]["id"], ann);
    assert_eq!(
        first["user"],
        json!({ "id": admin.user_id.to_string(), "name": "Admin" })
    );
    assert_eq!(first["createdAt"], first["updatedAt"]);
    let second = create_note(&app, &agent.token, &ann, "Called back").await;
    assert_eq!(second["user"]["id"], agent.user_id.to_string());
    let third = create_note(&app, &admin.token, &ann, "Sent the quote").await;
    // Notes on anonymous contacts are fine too.
    let on_bob = create_note(&app, &agent.token, &bob, "Chatted").await;

    let listed = notes(&app, &agent.token, &ann).await;
    assert_eq!(
        ids(&listed),
        vec![
            third["id"].as_str().unwrap().to_owned(),
            second["id"].as_str().unwrap().to_owned(),
            first["id"].as_str().unwrap().to_owned(),
        ],
        "newest first"
    );
    assert_eq!(
        ids(&notes(&app, &agent.token, &bob).await),
        ids(&json!([on_bob]))
    );

    // An agent edits the administrator's note: the author stays, the update time moves.
    let edited = app
        .data(
            Some(&agent.token),
            UPDATE,
            json!({ "id": first["id"], "content": "Called twice" }),
        )
        .await["updateNote"]
        .clone();
    assert_eq!(edited["content"], "Called twice");
    assert_eq!(
        edited["user"]["id"],
        admin.user_id.to_string(),
        "the author stays the author"
    );
    assert_eq!(edited["contact"]["id"], ann);
    assert_eq!(edited["createdAt"], first["createdAt"]);
    assert_ne!(edited["updatedAt"], first["updatedAt"]);
    assert!(time(&edited["updatedAt"]) > time(&first["updatedAt"]));
    let listed = notes(&app, &admin.token, &ann).await;
    assert_eq!(
        listed[2]["content"], "Called twice",
        "editing does not reorder: {listed}"
    );
    assert_eq!(listed[2]["user"]["id"], admin.user_id.to_string());

    // Any member deletes any note.
    let deleted = app
        .data(Some(&admin.token), DELETE, json!({ "id": second["id"] }))
        .await;
    assert_eq!(deleted["deleteNote"], second["id"]);
    assert_eq!(
        ids(&notes(&app, &agent.token, &ann).await),
        vec![
            third["id"].as_str().unwrap().to_owned(),
            first["id"].as_str().unwrap().to_owned(),
        ]
    );
    for query in [DELETE, UPDATE] {
        let body = app
            .gql(
                Some(&agent.token),
                query,
                json!({ "id": second["id"], "content": "x" }),
            )
            .await;
        assert_eq!(error_code(&body), "NOT_FOUND", "{query}: {body:#}");
    }
}

#[tokio::test]
async fn note_content_is_required_and_bounded() {
    let app = spawn_app().await;
    let admin = app.account("Acme").await;
    let ann = create_contact(&app, &admin.token, json!({ "email": "ann@example.com" })).await;
    for content in [String::new(), "   \n ".to_owned(), "x".repeat(20_001)] {
        let body = app
            .gql(
                Some(&admin.token),
                CREATE,
                json!({ "c": ann, "content": content }),
            )
            .await;
        assert_eq!(
            error_code(&body),
            "BAD_USER_INPUT",
            "{} chars: {body:#}",
            content.len()
        );
        assert_eq!(error_field(&body), "content");
    }
    assert_eq!(
        notes(&app, &admin.token, &ann).await,
        json!([]),
        "nothing was written"
    );

    // Exactly 20 000 characters (not bytes) is fine.
    let longest = "é".repeat(20_000);
    let note = create_note(&app, &admin.token, &ann, &longest).await;
    assert_eq!(note["content"].as_str().unwrap().chars().count(), 20_000);

    // Edits are held to the same rules, and a refused edit changes nothing.
    for content in [String::new(), "x".repeat(20_001)] {
        let body = app
            .gql(
                Some(&admin.token),
                UPDATE,
                json!({ "id": note["id"], "content": content }),
            )
            .await;
        assert_eq!(error_code(&body), "BAD_USER_INPUT", "{body:#}");
        assert_eq!(error_field(&body), "content");
    }
    let listed = notes(&app, &admin.token, &ann).await;
    assert_eq!(listed[0]["content"], json!(longest));

    // A note needs an existing contact.
    let body = app
        .gql(
            Some(&admin.token),
            CREATE,
            json!({ "c": "987654", "content": "hello" }),
        )
        .await;
    assert_eq!(error_code(&body), "NOT_FOUND", "{body:#}");
}

#[tokio::test]
async fn notes_of_another_account_are_not_found() {
    let app = spawn_app().await;
    let acme = app.account("Acme").await;
    let globex = app.account("Globex").await;
    let theirs = create_contact(&app, &globex.token, json!({ "email": "zed@globex.com" })).await;
    let note = create_note(&app, &globex.token, &theirs, "Secret").await;
    let ours = create_contact(&app, &acme.token, json!({ "email": "ann@acme.com" })).await;

    let body = app
        .gql(
            Some(&acme.token),
            CREATE,
            json!({ "c": theirs, "content": "hi" }),
        )
        .await;
    assert_eq!(error_code(&body), "NOT_FOUND", "{body:#}");
    for query in [UPDATE, DELETE] {
        let body = app
            .gql(
                Some(&acme.token),
                query,
                json!({ "id": note["id"], "content": "hacked" }),
            )
            .await;
        assert_eq!(error_code(&body), "NOT_FOUND", "{query}: {body:#}");
    }
    let listed = notes(&app, &globex.token, &theirs).await;
    assert_eq!(
        listed,
        json!([{ "id": note["id"], "content": "Secret", "user": { "id": globex.user_id.to_string() } }])
    );
    assert_eq!(notes(&app, &acme.token, &ours).await, json!([]));
}
