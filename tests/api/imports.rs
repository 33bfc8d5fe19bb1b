//! CSV imports: the upload over HTTP (GraphQL multipart request), matching and validation, the
//! counts, the failed-rows download, progress, the CLI, and what a restart leaves behind.

use std::{collections::HashMap, process::Command, time::Duration};

use entity::{contact, data_import, enums::ImportStatus};
use sea_orm::{ActiveModelTrait, ColumnTrait, EntityTrait, QueryFilter, Set};
use serde_json::{Value, json};

use crate::helpers::{TestApp, WsClient, error_code, external_backends, spawn_app, spawn_sibling};

const IMPORT: &str = "mutation($file: Upload!) { importContacts(file: $file) { id status } }";
const FIELDS: &str = "id status fileName totalRecords processedRecords createdRecords \
                      updatedRecords failedRecords failureReason failedRecordsUrl createdAt";

/// The GraphQL multipart request of `importContacts` with `csv` as its file.
fn upload_form(csv: &[u8]) -> reqwest::multipart::Form {
    let operations = json!({ "query": IMPORT, "variables": { "file": null } }).to_string();
    reqwest::multipart::Form::new()
        .text("operations", operations)
        .text("map", r#"{"0": ["variables.file"]}"#)
        .part(
            "0",
            reqwest::multipart::Part::bytes(csv.to_vec())
                .file_name("contacts.csv")
                .mime_str("text/csv")
                .unwrap(),
        )
}

/// Uploads a CSV with `importContacts` and returns the response body.
async fn upload(app: &TestApp, token: &str, csv: &[u8]) -> Value {
    let form = upload_form(csv);
    let response = app
        .http
        .post(app.url("/graphql"))
        .header("GraphQL-Require-Preflight", "1")
        .bearer_auth(token)
        .multipart(form)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200);
    response.json().await.unwrap()
}

/// Uploads a CSV and returns the import's id.
async fn start(app: &TestApp, token: &str, csv: &[u8]) -> String {
    let body = upload(app, token, csv).await;
    assert!(body.get("errors").is_none(), "{body:#}");
    assert_eq!(body["data"]["importContacts"]["status"], "PENDING");
    body["data"]["importContacts"]["id"]
        .as_str()
        .unwrap()
        .to_owned()
}

/// Polls `dataImport` until the import has ended (bounded).
async fn finished(app: &TestApp, token: &str, id: &str) -> Value {
    let query = format!("query($id: ID!) {{ dataImport(id: $id) {{ {FIELDS} }} }}");
    for _ in 0..400 {
        let data = app.data(Some(token), &query, json!({ "id": id })).await;
        let import = data["dataImport"].clone();
        if import["status"] == "COMPLETED" || import["status"] == "FAILED" {
            return import;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    panic!("import {id} did not finish within 20 s");
}

/// The account's contacts keyed by identifier (or email).
async fn contacts(app: &TestApp, account_id: i64) -> HashMap<String, contact::Model> {
    contact::Entity::find()
        .filter(contact::Column::AccountId.eq(account_id))
        .all(&app.db)
        .await
        .unwrap()
        .into_iter()
        .map(|c| {
            let key = c.identifier.clone().or(c.email.clone()).unwrap_or_default();
            (key, c)
        })
        .collect()
}

/// Import files of a PostgreSQL run live in a per-test temp dir of their own.
fn cleanup(app: &TestApp) {
    if external_backends() {
        let _ = std::fs::remove_dir_all(app.config.import_dir());
    }
}

async fn create_contact(app: &TestApp, token: &str, input: Value) {
    app.data(
        Some(token),
        "mutation($input: CreateContactInput!) { createContact(input: $input) { id } }",
        json!({ "input": input }),
    )
    .await;
}

#[tokio::test]
async fn an_upload_matches_validates_counts_and_reports_failed_rows() {
    let app = spawn_app().await;
    let admin = app.account("Acme").await;
    let token = admin.token.as_str();
    create_contact(&app, token, json!({ "identifier": "c-1", "name": "Old", "customAttributes": { "plan": "free", "seats": "3" } })).await;
    create_contact(
        &app,
        token,
        json!({ "email": "bob@example.com", "name": "Bobby" }),
    )
    .await;
    create_contact(&app, token, json!({ "phoneNumber": "+14155550102" })).await;
    create_contact(&app, token, json!({ "email": "taken@example.com" })).await;

    let mut csv = b"identifier,email,phone_number,first_name,last_name,company,city,plan\n\
        c-1,,,Ann,Lee,Acme,Paris,pro\n\
        ,BOB@Example.com,,Bob,,,,gold\n\
        ,,14155550102,Cy,,,,\n\
        c-4,new@example.com,4155550103,Dee \xf0\x9f\x8e\x89,,,,\n\
        ,New@example.com,,,,Globex,,\n\
        c-6,not-an-email,123abc,Eve,,,,\n\
        c-1,taken@example.com,,,,,,\n\
        ,,,,,,,\n\
        c-8,,,Jos\xe9 \xf0\x9f\x98\x80,,,,\n"
        .to_vec();
    csv.extend_from_slice(b"c-9\n");

    let id = start(&app, token, &csv).await;
    let import = finished(&app, token, &id).await;
    assert_eq!(import["status"], "COMPLETED", "{import:#}");
    assert_eq!(import["fileName"], "contacts.csv");
    assert_eq!(import["totalRecords"], 9, "the blank row is not counted");
    assert_eq!(import["processedRecords"], 9);
    assert_eq!(import["createdRecords"], 3, "{import:#}");
    assert_eq!(import["updatedRecords"], 4, "{import:#}");
    assert_eq!(import["failedRecords"], 2);
    assert_eq!(import["failureReason"], Value::Null);

    let all = contacts(&app, admin.account_id).await;
    assert_eq!(all.len(), 7);
    let ann = &all["c-1"];
    assert_eq!(ann.name.as_deref(), Some("Ann Lee"));
    assert_eq!(ann.last_name.as_deref(), Some("Lee"));
    assert_eq!(ann.email, None, "the conflicting row changed nothing");
    assert_eq!(
        ann.additional_attributes,
        json!({ "company_name": "Acme", "city": "Paris" })
    );
    assert_eq!(
        ann.custom_attributes,
        json!({ "plan": "pro", "seats": "3" }),
        "custom attributes merge, the CSV winning"
    );
    let bob = &all["bob@example.com"];
    assert_eq!(bob.name.as_deref(), Some("Bob"));
    assert_eq!(bob.custom_attributes, json!({ "plan": "gold" }));
    let cy = all
        .values()
        .find(|c| c.phone_number.as_deref() == Some("+14155550102"))
        .unwrap();
    assert_eq!(cy.name.as_deref(), Some("Cy"));
    let dee = &all["c-4"];
    assert_eq!(dee.name.as_deref(), Some("Dee 🎉"));
    assert_eq!(dee.email.as_deref(), Some("new@example.com"));
    assert_eq!(dee.phone_number.as_deref(), Some("+4155550103"));
    assert_eq!(
        dee.additional_attributes,
        json!({ "company_name": "Globex" }),
        "a later row of the file updates the contact an earlier row created"
    );
    assert_eq!(dee.contact_type, entity::enums::ContactType::Lead);
    assert_eq!(all["c-8"].name.as_deref(), Some("Jos 😀"));
    assert_eq!(all["c-8"].contact_type, entity::enums::ContactType::Visitor);
    assert!(all.contains_key("c-9"));
    assert!(!all.contains_key("c-6"));

    // Lead promotion and location show through the API like any contact's.
    let data = app
        .data(
            Some(token),
            "query($id: ID!) { contact(id: $id) { location contactType } }",
            json!({ "id": ann.id.to_string() }),
        )
        .await;
    assert_eq!(data["contact"]["location"], "Paris");

    // The failed rows: the original columns plus `errors`.
    let url = import["failedRecordsUrl"].as_str().unwrap();
    assert_eq!(url, format!("/imports/{id}/failed-rows.csv"));
    let response = app
        .http
        .get(app.url(url))
        .bearer_auth(token)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200);
    assert!(
        response.headers()["content-type"]
            .to_str()
            .unwrap()
            .starts_with("text/csv")
    );
    let text = response.text().await.unwrap();
    let mut reader = csv::Reader::from_reader(text.as_bytes());
    assert_eq!(
        reader.headers().unwrap().iter().collect::<Vec<_>>(),
        [
            "identifier",
            "email",
            "phone_number",
            "first_name",
            "last_name",
            "company",
            "city",
            "plan",
            "errors"
        ]
    );
    let rows: Vec<csv::StringRecord> = reader.records().map(Result::unwrap).collect();
    assert_eq!(rows.len(), 2, "{text}");
    assert_eq!(&rows[0][0], "c-6");
    assert!(
        rows[0][8].contains("email is not a valid email address"),
        "{text}"
    );
    assert!(
        rows[0][8].contains("phone_number must be in E.164"),
        "{text}"
    );
    assert_eq!(&rows[1][1], "taken@example.com");
    assert!(rows[1][8].contains("another contact of this account already has this email"));

    // The download needs the token of an administrator of the account.
    let response = app.http.get(app.url(url)).send().await.unwrap();
    assert_eq!(response.status(), 401);
    let agent = app.agent(&admin, "Agent").await;
    let response = app
        .http
        .get(app.url(url))
        .bearer_auth(&agent.token)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 403);
    let other = app.account("Other").await;
    let response = app
        .http
        .get(app.url(url))
        .bearer_auth(&other.token)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 404);
    let data = app
        .data(
            Some(&other.token),
            "query($id: ID!) { dataImport(id: $id) { id } }",
            json!({ "id": id }),
        )
        .await;
    assert_eq!(data["dataImport"], Value::Null);

    // Agents may neither import (refused before their file is read) nor read imports.
    let response = app
        .http
        .post(app.url("/graphql"))
        .header("GraphQL-Require-Preflight", "1")
        .bearer_auth(&agent.token)
        .multipart(upload_form(b"email\na@example.com\n"))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 403);
    let body: Value = response.json().await.unwrap();
    assert_eq!(error_code(&body), "FORBIDDEN");
    let body = app
        .gql(
            Some(&agent.token),
            "query($id: ID!) { dataImport(id: $id) { id } }",
            json!({ "id": id }),
        )
        .await;
    assert_eq!(error_code(&body), "FORBIDDEN");
    assert_eq!(
        data_import::Entity::find()
            .all(&app.db)
            .await
            .unwrap()
            .len(),
        1
    );
    cleanup(&app);
}

#[tokio::test]
async fn malformed_files_fail_as_a_whole_and_import_nothing() {
    let app = spawn_app().await;
    let admin = app.account("Acme").await;
    let token = admin.token.as_str();
    let cases: [(&[u8], &str); 4] = [
        (
            b"email,name\na@example.com,Ann\nb@example.com,\"Bob\nc@example.com,Cy\n",
            "line 3: a quoted field is never closed",
        ),
        (
            b"email,name\na@example.com,An\"n\n",
            "line 2: a quote inside an unquoted field",
        ),
        (
            b"a@example.com,+14155550100\n",
            "none of the columns identifier, email",
        ),
        (b"", "the file is empty"),
    ];
    for (csv, reason) in cases {
        let id = start(&app, token, csv).await;
        let import = finished(&app, token, &id).await;
        assert_eq!(import["status"], "FAILED", "{import:#}");
        let failure = import["failureReason"].as_str().unwrap();
        assert!(failure.contains(reason), "{failure}");
        assert!(failure.contains("Nothing was imported"), "{failure}");
        assert_eq!(import["processedRecords"], 0);
        assert_eq!(import["failedRecordsUrl"], Value::Null);
    }
    assert!(contacts(&app, admin.account_id).await.is_empty());
    cleanup(&app);
}

#[tokio::test]
async fn progress_streams_to_completed() {
    let app = spawn_app().await;
    let admin = app.account("Acme").await;
    let mut csv = String::from("email,name,plan\n");
    for i in 0..2500 {
        csv.push_str(&format!("person{i}@example.com,Person {i},p{}\n", i % 7));
    }
    let id = start(&app, &admin.token, csv.as_bytes()).await;
    let mut ws = WsClient::connect(&app, "graphql-transport-ws", &admin.token).await;
    ws.subscribe(
        "1",
        "subscription($id: ID!) { dataImportProgress(id: $id) { id status totalRecords processedRecords createdRecords } }",
        json!({ "id": id }),
    )
    .await;
    let mut seen = Vec::new();
    loop {
        let message = ws.next().await;
        match message["type"].as_str() {
            Some("next") => seen.push(message["payload"]["data"]["dataImportProgress"].clone()),
            Some("complete") => break,
            other => panic!("unexpected {other:?}: {message}"),
        }
    }
    let last = seen.last().unwrap();
    assert_eq!(last["status"], "COMPLETED", "{seen:#?}");
    assert_eq!(last["totalRecords"], 2500);
    assert_eq!(last["createdRecords"], 2500);
    let processed: Vec<i64> = seen
        .iter()
        .map(|s| s["processedRecords"].as_i64().unwrap())
        .collect();
    assert!(processed.windows(2).all(|w| w[0] <= w[1]), "{processed:?}");

    // Agents may not follow imports.
    let agent = app.agent(&admin, "Agent").await;
    let mut ws = WsClient::connect(&app, "graphql-transport-ws", &agent.token).await;
    ws.subscribe(
        "2",
        "subscription($id: ID!) { dataImportProgress(id: $id) { id } }",
        json!({ "id": id }),
    )
    .await;
    let message = ws.next().await;
    let errors = if message["type"] == "error" {
        message["payload"].clone()
    } else {
        message["payload"]["errors"].clone()
    };
    assert_eq!(errors[0]["extensions"]["code"], "FORBIDDEN", "{message}");
    cleanup(&app);
}

fn switchboard(app: &TestApp, args: &[&str]) -> std::process::Output {
    Command::new(env!("CARGO_BIN_EXE_switchboard"))
        .args(args)
        .env("DATABASE_URL", app.config.database_url())
        .env("IMPORT_DIR", app.config.import_dir())
        .env("JWT_SECRET", "test-secret")
        .env_remove("REDIS_URL")
        .env("RUST_LOG", "warn")
        .output()
        .expect("run switchboard")
}

#[tokio::test]
async fn the_cli_imports_a_file_and_fails_loudly() {
    let app = spawn_app().await;
    let admin = app.account("Acme").await;
    create_contact(&app, &admin.token, json!({ "email": "k0@example.com" })).await;
    let dir = tempfile::tempdir().unwrap();
    let good = dir.path().join("good.csv");
    // The last three rows move an email from a stored contact to a new one: the batch ends
    // before the row taking it, so no statement ever holds it twice.
    std::fs::write(
        &good,
        "identifier,email,phone_number\nk1,k1@example.com,4155550111\nk2,,\nk1,,\nk3,bad,\n\
         k0,K0@example.com,\nk0,k0-new@example.com,\nk9,k0@example.com,\n",
    )
    .unwrap();
    let account = admin.account_id.to_string();
    let output = switchboard(
        &app,
        &["import", "--account", &account, good.to_str().unwrap()],
    );
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    assert!(
        stdout.contains("completed: 7 rows, 3 created, 3 updated, 1 failed"),
        "{stdout}"
    );
    let all = contacts(&app, admin.account_id).await;
    assert_eq!(all["k1"].phone_number.as_deref(), Some("+4155550111"));
    assert_eq!(all["k0"].email.as_deref(), Some("k0-new@example.com"));
    assert_eq!(all["k9"].email.as_deref(), Some("k0@example.com"));
    assert_eq!(all.len(), 4);

    // The server sees the CLI's import, and serves its failed rows.
    let import = data_import::Entity::find()
        .one(&app.db)
        .await
        .unwrap()
        .unwrap();
    let id = import.id.to_string();
    let done = finished(&app, &admin.token, &id).await;
    assert_eq!(done["status"], "COMPLETED");
    let response = app
        .http
        .get(app.url(done["failedRecordsUrl"].as_str().unwrap()))
        .bearer_auth(&admin.token)
        .send()
        .await
        .unwrap();
    assert_eq!(
        response.text().await.unwrap(),
        "identifier,email,phone_number,errors\nk3,bad,,email is not a valid email address\n"
    );

    let bad = dir.path().join("bad.csv");
    std::fs::write(&bad, "email\n\"unclosed@example.com\n").unwrap();
    let output = switchboard(
        &app,
        &["import", "--account", &account, bad.to_str().unwrap()],
    );
    assert!(!output.status.success());
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(stderr.contains("never closed"), "{stderr}");

    let output = switchboard(
        &app,
        &["import", "--account", "999999", good.to_str().unwrap()],
    );
    assert!(!output.status.success());
    cleanup(&app);
}

/// A PROCESSING import as a killed process leaves it: its lease long expired.
async fn abandoned(app: &TestApp, account_id: i64, processed: i64) -> data_import::Model {
    let import = switchboard::imports::repo::create(&app.db, account_id, None, None)
        .await
        .unwrap();
    let mut model: data_import::ActiveModel = import.into();
    model.status = Set(ImportStatus::Processing);
    model.total_records = Set(3);
    model.processed_records = Set(processed);
    model.created_records = Set(processed);
    model.updated_at = Set(chrono::Utc::now() - chrono::TimeDelta::hours(1));
    model.update(&app.db).await.unwrap()
}

#[tokio::test]
async fn a_restart_resumes_imports_whose_file_is_kept_and_fails_the_others() {
    let app = spawn_app().await;
    let admin = app.account("Acme").await;
    // The first row landed before the "crash".
    create_contact(
        &app,
        &admin.token,
        json!({ "identifier": "x1", "name": "One" }),
    )
    .await;
    let resumable = abandoned(&app, admin.account_id, 1).await;
    let dir = app.config.import_dir();
    std::fs::create_dir_all(&dir).unwrap();
    std::fs::write(
        switchboard::imports::files::source_path(&dir, resumable.id),
        "identifier,name\nx1,One\nx2,Two\nx1,Uno\n",
    )
    .unwrap();
    let lost = abandoned(&app, admin.account_id, 0).await;

    // Another instance starting on the same database takes both over.
    let sibling = spawn_sibling(&app).await;
    let resumed = finished(&sibling, &admin.token, &resumable.id.to_string()).await;
    assert_eq!(resumed["status"], "COMPLETED", "{resumed:#}");
    assert_eq!(resumed["processedRecords"], 3);
    assert_eq!(resumed["createdRecords"], 2);
    assert_eq!(resumed["updatedRecords"], 1);
    let all = contacts(&app, admin.account_id).await;
    assert_eq!(all.len(), 2);
    assert_eq!(all["x1"].name.as_deref(), Some("Uno"));
    assert!(
        !switchboard::imports::files::source_path(&dir, resumable.id).exists(),
        "the file goes once the import ends"
    );

    let failed = finished(&sibling, &admin.token, &lost.id.to_string()).await;
    assert_eq!(failed["status"], "FAILED");
    assert!(
        failed["failureReason"]
            .as_str()
            .unwrap()
            .contains("interrupted by a restart"),
        "{failed:#}"
    );
    cleanup(&app);
}
