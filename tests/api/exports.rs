//! `exportContacts` and the CSV download: columns, the filter and the label, resolved contacts
//! only, authorization of the download, input errors, and an export of several chunks.

use chrono::{DateTime, Duration, TimeZone, Utc};
use entity::{contact, contact_label, enums::ContactType};
use sea_orm::{ActiveValue::Set, ColumnTrait, EntityTrait, QueryFilter, QueryOrder};
use serde_json::{Value, json};

use crate::{
    contacts::{create_contact, define_attribute, set_labels},
    helpers::{TestApp, error_code, spawn_app},
};

const EXPORT: &str = "mutation($columns: [String!], $filter: [ContactFilterCondition!], $label: String) { \
    exportContacts(columns: $columns, filter: $filter, label: $label) { id rowCount url } }";

/// Requests an export; the request must succeed. Returns `{ id rowCount url }`.
async fn export(app: &TestApp, token: &str, variables: Value) -> Value {
    app.data(Some(token), EXPORT, variables).await["exportContacts"].clone()
}

/// GETs a download URL with an optional bearer token.
async fn fetch(app: &TestApp, url: &str, token: Option<&str>) -> reqwest::Response {
    let mut request = app.http.get(app.url(url));
    if let Some(token) = token {
        request = request.bearer_auth(token);
    }
    request.send().await.expect("download request sent")
}

/// Downloads an export (which must succeed) and parses it: the header, then the rows.
async fn download(app: &TestApp, url: &str, token: &str) -> (Vec<String>, Vec<Vec<String>>) {
    let response = fetch(app, url, Some(token)).await;
    assert_eq!(response.status(), 200);
    let headers = response.headers();
    assert_eq!(headers["content-type"], "text/csv; charset=utf-8");
    assert_eq!(
        headers["content-disposition"],
        "attachment; filename=\"contacts.csv\""
    );
    let body = response.bytes().await.expect("CSV body");
    let mut reader = csv::Reader::from_reader(body.as_ref());
    let header = reader
        .headers()
        .expect("header row")
        .iter()
        .map(str::to_owned)
        .collect();
    let rows = reader
        .records()
        .map(|record| {
            record
                .expect("well-formed row")
                .iter()
                .map(str::to_owned)
                .collect()
        })
        .collect();
    (header, rows)
}

/// Exports with `variables`, downloads, and checks `rowCount` against the rows.
async fn export_rows(app: &TestApp, token: &str, variables: Value) -> Vec<Vec<String>> {
    let export = export(app, token, variables).await;
    let (_, rows) = download(app, export["url"].as_str().unwrap(), token).await;
    assert_eq!(
        export["rowCount"],
        json!(rows.len()),
        "rowCount of {export}"
    );
    rows
}

fn row(cells: &[&str]) -> Vec<String> {
    cells.iter().map(|c| (*c).to_owned()).collect()
}

#[tokio::test]
async fn default_columns_hold_only_resolved_contacts_in_id_order() {
    let app = spawn_app().await;
    let admin = app.account("Acme").await;
    let t = admin.token.as_str();
    let ada = create_contact(
        &app,
        t,
        json!({ "name": "Ada", "email": "ada@example.com" }),
    )
    .await;
    let bob = create_contact(
        &app,
        t,
        json!({ "name": "Bob", "phoneNumber": "+4915112345678" }),
    )
    .await;
    // Anonymous visitors are not exported.
    create_contact(&app, t, json!({ "name": "Visitor" })).await;
    let eve = create_contact(&app, t, json!({ "identifier": "crm-7" })).await;

    let made = export(&app, t, json!({})).await;
    assert_eq!(made["rowCount"], 3);
    let url = made["url"].as_str().unwrap();
    assert!(url.starts_with("/exports/contacts.csv?spec="), "{url}");
    let (header, rows) = download(&app, url, t).await;
    assert_eq!(header, ["id", "name", "email", "phone_number"]);
    assert_eq!(
        rows,
        [
            row(&[&ada, "Ada", "ada@example.com", ""]),
            row(&[&bob, "Bob", "", "+4915112345678"]),
            row(&[&eve, "", "", ""]),
        ]
    );

    // The same export has the same id and URL; another one does not.
    let again = export(&app, t, json!({})).await;
    assert_eq!(again["id"], made["id"]);
    assert_eq!(again["url"], made["url"]);
    let other = export(&app, t, json!({ "label": "vip" })).await;
    assert_ne!(other["id"], made["id"]);
}

#[tokio::test]
async fn chosen_columns_render_attributes_labels_and_types() {
    let app = spawn_app().await;
    let admin = app.account("Acme").await;
    let t = admin.token.as_str();
    define_attribute(&app, &admin, "plan", "TEXT").await;
    define_attribute(&app, &admin, "seats", "NUMBER").await;
    define_attribute(&app, &admin, "trial", "CHECKBOX").await;
    let id = create_contact(
        &app,
        t,
        json!({
            "name": "=HYPERLINK(\"http://evil\")",
            "email": "ada@example.com",
            "phoneNumber": "+441234567890",
            "blocked": true,
            "customAttributes": { "plan": "gold", "seats": 12, "trial": false },
            "additionalAttributes": {
                "company_name": "Analytical Engines", "city": "London", "country": "United Kingdom",
                "country_code": "gb"
            },
            "lastActivityAt": "2024-03-04T05:06:07Z"
        }),
    )
    .await;
    set_labels(&app, t, &id, &["vip", "beta"]).await;
    let plain = create_contact(&app, t, json!({ "email": "plain@example.com" })).await;
    let created = crate::contacts::get_contact(&app, t, &id).await["createdAt"].clone();
    let created: DateTime<Utc> = created.as_str().unwrap().parse().unwrap();

    let columns = [
        "email",
        "name",
        "phone_number",
        "labels",
        "plan",
        "seats",
        "trial",
        "company",
        "city",
        "country",
        "location",
        "country_code",
        "blocked",
        "contact_type",
        "last_activity_at",
        "created_at",
        "id",
    ];
    let export = export(&app, t, json!({ "columns": columns })).await;
    let (header, rows) = download(&app, export["url"].as_str().unwrap(), t).await;
    assert_eq!(header, columns);
    assert_eq!(rows.len(), 2);
    let created_cell: DateTime<Utc> = rows[0][15].parse().expect("created_at is RFC 3339");
    assert_eq!(created_cell, created);
    assert_eq!(
        rows[0],
        row(&[
            "ada@example.com",
            // Formula-looking text is defused for spreadsheets; phone numbers are left alone.
            "'=HYPERLINK(\"http://evil\")",
            "+441234567890",
            "beta,vip",
            "gold",
            "12",
            "false",
            "Analytical Engines",
            "London",
            "United Kingdom",
            "London, United Kingdom",
            "GB",
            "true",
            "lead",
            "2024-03-04T05:06:07Z",
            &rows[0][15],
            &id,
        ])
    );
    assert_eq!(
        rows[1],
        row(&[
            "plain@example.com",
            "",
            "",
            "",
            "",
            "",
            "",
            "",
            "",
            "",
            "",
            "",
            "false",
            "lead",
            "",
            &rows[1][15],
            &plain,
        ])
    );
}

#[tokio::test]
async fn the_filter_and_the_label_narrow_the_rows() {
    let app = spawn_app().await;
    let admin = app.account("Acme").await;
    let t = admin.token.as_str();
    define_attribute(&app, &admin, "seats", "NUMBER").await;
    let a = create_contact(
        &app,
        t,
        json!({ "email": "a@acme.test", "customAttributes": { "seats": 5 } }),
    )
    .await;
    let b = create_contact(&app, t, json!({ "email": "b@acme.test", "blocked": true })).await;
    let c = create_contact(
        &app,
        t,
        json!({ "email": "c@other.test", "customAttributes": { "seats": 50 } }),
    )
    .await;
    set_labels(&app, t, &b, &["vip"]).await;
    set_labels(&app, t, &c, &["VIP", "late"]).await;
    let ids = |rows: Vec<Vec<String>>| rows.into_iter().map(|r| r[0].clone()).collect::<Vec<_>>();
    let acme =
        json!([{ "attributeKey": "email", "filterOperator": "CONTAINS", "values": ["acme"] }]);

    let rows = export_rows(&app, t, json!({ "columns": ["id"], "filter": acme })).await;
    assert_eq!(ids(rows), [a.clone(), b.clone()]);
    let rows = export_rows(&app, t, json!({ "columns": ["id"], "label": " Vip " })).await;
    assert_eq!(ids(rows), [b.clone(), c.clone()]);
    let both = json!({ "columns": ["id"], "filter": acme, "label": "vip" });
    assert_eq!(
        ids(export_rows(&app, t, both).await),
        std::slice::from_ref(&b)
    );
    let none = json!({ "columns": ["id"], "label": "nobody" });
    assert!(export_rows(&app, t, none).await.is_empty());
    // Typed values survive the URL: numbers, booleans, and AND/OR.
    let typed = json!([
        { "attributeKey": "seats", "filterOperator": "IS_GREATER_THAN", "values": [10], "queryOperator": "OR" },
        { "attributeKey": "blocked", "filterOperator": "EQUAL_TO", "values": [true] }
    ]);
    let rows = export_rows(&app, t, json!({ "columns": ["id"], "filter": typed })).await;
    assert_eq!(ids(rows), [b.clone(), c.clone()]);
    // An empty filter is no filter.
    let all = json!({ "columns": ["id"], "filter": [] });
    assert_eq!(ids(export_rows(&app, t, all).await), [a, b, c]);
}

#[tokio::test]
async fn downloads_need_an_administrator_of_the_same_account() {
    let app = spawn_app().await;
    let admin = app.account("Acme").await;
    let agent = app.agent(&admin, "Agent").await;
    create_contact(&app, &admin.token, json!({ "email": "secret@acme.test" })).await;
    let url = export(&app, &admin.token, json!({})).await["url"]
        .as_str()
        .unwrap()
        .to_owned();

    let response = fetch(&app, &url, None).await;
    assert_eq!(response.status(), 401);
    let body: Value = response.json().await.unwrap();
    assert_eq!(error_code(&body), "UNAUTHENTICATED");

    let response = fetch(&app, &url, Some("not-a-token")).await;
    assert_eq!(response.status(), 401);
    assert_eq!(
        error_code(&response.json().await.unwrap()),
        "UNAUTHENTICATED"
    );

    let response = fetch(&app, &url, Some(&agent.token)).await;
    assert_eq!(response.status(), 403);
    assert_eq!(error_code(&response.json().await.unwrap()), "FORBIDDEN");

    // Another account's administrator gets neither this account's rows nor their own.
    let other = app.account("Globex").await;
    create_contact(&app, &other.token, json!({ "email": "own@globex.test" })).await;
    let response = fetch(&app, &url, Some(&other.token)).await;
    assert_eq!(response.status(), 404);
    let text = response.text().await.unwrap();
    assert!(!text.contains("secret@acme.test") && !text.contains("own@globex.test"));
    assert_eq!(
        error_code(&serde_json::from_str(&text).unwrap()),
        "NOT_FOUND"
    );

    // Agents may not request exports either.
    let body = app.gql(Some(&agent.token), EXPORT, json!({})).await;
    assert_eq!(error_code(&body), "FORBIDDEN");
    assert!(body["data"].is_null());
    let body = app.gql(None, EXPORT, json!({})).await;
    assert_eq!(error_code(&body), "UNAUTHENTICATED");
}

#[tokio::test]
async fn bad_columns_filters_and_specs_are_bad_user_input() {
    let app = spawn_app().await;
    let admin = app.account("Acme").await;
    let t = admin.token.as_str();
    define_attribute(&app, &admin, "plan", "TEXT").await;

    let body = app
        .gql(Some(t), EXPORT, json!({ "columns": ["id", "nope"] }))
        .await;
    assert_eq!(error_code(&body), "BAD_USER_INPUT");
    let error = &body["errors"][0];
    assert_eq!(error["extensions"]["field"], "columns");
    let message = error["message"].as_str().unwrap();
    assert!(
        message.contains("nope") && message.contains("phone_number") && message.contains("plan")
    );

    for columns in [json!([]), json!(["id", "id"])] {
        let body = app
            .gql(Some(t), EXPORT, json!({ "columns": columns }))
            .await;
        assert_eq!(error_code(&body), "BAD_USER_INPUT", "{columns}");
        assert_eq!(body["errors"][0]["extensions"]["field"], "columns");
    }

    let filter = json!([
        { "attributeKey": "email", "filterOperator": "CONTAINS", "values": ["a"] },
        { "attributeKey": "shoe_size", "filterOperator": "EQUAL_TO", "values": ["9"] }
    ]);
    let body = app.gql(Some(t), EXPORT, json!({ "filter": filter })).await;
    assert_eq!(error_code(&body), "BAD_USER_INPUT");
    assert_eq!(body["errors"][0]["extensions"]["field"], "filter");
    assert_eq!(body["errors"][0]["extensions"]["conditionIndex"], 1);
    let bad_operator =
        json!([{ "attributeKey": "blocked", "filterOperator": "CONTAINS", "values": [true] }]);
    let body = app
        .gql(Some(t), EXPORT, json!({ "filter": bad_operator }))
        .await;
    assert_eq!(error_code(&body), "BAD_USER_INPUT");

    let body = app.gql(Some(t), EXPORT, json!({ "label": " " })).await;
    assert_eq!(error_code(&body), "BAD_USER_INPUT");
    assert_eq!(body["errors"][0]["extensions"]["field"], "label");

    // A hand-made spec whose label carries a NUL (the executor's guard never saw it).
    let spec = base64::Engine::encode(
        &base64::engine::general_purpose::URL_SAFE_NO_PAD,
        serde_json::to_vec(&json!({ "v": 1, "account": admin.account_id, "label": "a\u{0}" }))
            .unwrap(),
    );
    let response = fetch(&app, &format!("/exports/contacts.csv?spec={spec}"), Some(t)).await;
    assert_eq!(response.status(), 400);
    let body: Value = response.json().await.unwrap();
    assert_eq!(error_code(&body), "BAD_USER_INPUT", "{body}");
    assert_eq!(body["errors"][0]["extensions"]["field"], "label");

    // A tampered or missing spec.
    for url in [
        "/exports/contacts.csv?spec=garbage",
        "/exports/contacts.csv",
    ] {
        let response = fetch(&app, url, Some(t)).await;
        assert_eq!(response.status(), 400, "{url}");
        let body: Value = response.json().await.unwrap();
        assert_eq!(error_code(&body), "BAD_USER_INPUT");
        assert_eq!(body["errors"][0]["extensions"]["field"], "spec");
    }

    // A column whose custom attribute was deleted after the export was made.
    let definition = app
        .data(
            Some(t),
            "mutation($input: CreateCustomAttributeDefinitionInput!) { createCustomAttributeDefinition(input: $input) { id } }",
            json!({ "input": { "attributeKey": "tier", "displayName": "Tier", "displayType": "TEXT" } }),
        )
        .await["createCustomAttributeDefinition"]["id"]
        .clone();
    let url = export(&app, t, json!({ "columns": ["id", "tier"] })).await["url"]
        .as_str()
        .unwrap()
        .to_owned();
    app.data(
        Some(t),
        "mutation($id: ID!) { deleteCustomAttributeDefinition(id: $id) }",
        json!({ "id": definition }),
    )
    .await;
    let response = fetch(&app, &url, Some(t)).await;
    assert_eq!(response.status(), 400);
    let body: Value = response.json().await.unwrap();
    assert_eq!(body["errors"][0]["extensions"]["field"], "columns");
}

/// More contacts than one chunk (1,000 per query), seeded directly, with anonymous visitors and
/// another account's contacts interleaved: the CSV holds exactly the account's resolved ones.
#[tokio::test]
async fn an_export_of_several_chunks_is_complete_and_exact() {
    const RESOLVED: usize = 2_100;
    let app = spawn_app().await;
    let admin = app.account("Acme").await;
    let other = app.account("Globex").await;
    let base = Utc.with_ymd_and_hms(2024, 1, 1, 0, 0, 0).unwrap();
    let model = |account_id: i64, n: usize, email: Option<String>| {
        let at = base + Duration::seconds(n as i64);
        contact::ActiveModel {
            account_id: Set(account_id),
            name: Set(Some(format!("Contact, \"{n}\"\nsecond line"))),
            email: Set(email),
            contact_type: Set(ContactType::Lead),
            blocked: Set(n.is_multiple_of(2)),
            additional_attributes: Set(json!({ "city": format!("City {n}") })),
            custom_attributes: Set(json!({})),
            created_at: Set(at),
            updated_at: Set(at),
            ..Default::default()
        }
    };
    let mut models = Vec::new();
    for n in 0..RESOLVED {
        models.push(model(admin.account_id, n, Some(format!("c{n}@acme.test"))));
        if n.is_multiple_of(10) {
            models.push(model(admin.account_id, n, None));
            models.push(model(
                other.account_id,
                n,
                Some(format!("c{n}@globex.test")),
            ));
        }
    }
    // Batches stay under SQLite's limit on bound parameters.
    for batch in models.chunks(300) {
        contact::Entity::insert_many(batch.to_vec())
            .exec(&app.db)
            .await
            .unwrap();
    }
    let seeded = contact::Entity::find()
        .filter(contact::Column::AccountId.eq(admin.account_id))
        .filter(contact::Column::Email.is_not_null())
        .order_by_asc(contact::Column::Id)
        .all(&app.db)
        .await
        .unwrap();
    assert_eq!(seeded.len(), RESOLVED);
    let labels: Vec<contact_label::ActiveModel> = seeded
        .iter()
        .step_by(7)
        .flat_map(|c| {
            ["gold", "alpha"].map(|name| contact_label::ActiveModel {
                contact_id: Set(c.id),
                name: Set(name.to_owned()),
                account_id: Set(admin.account_id),
            })
        })
        .collect();
    for batch in labels.chunks(300) {
        contact_label::Entity::insert_many(batch.to_vec())
            .exec(&app.db)
            .await
            .unwrap();
    }

    let columns = [
        "id",
        "name",
        "email",
        "blocked",
        "city",
        "created_at",
        "labels",
    ];
    let export = export(&app, &admin.token, json!({ "columns": columns })).await;
    assert_eq!(export["rowCount"], RESOLVED);
    let (header, rows) = download(&app, export["url"].as_str().unwrap(), &admin.token).await;
    assert_eq!(header, columns);
    let expected: Vec<Vec<String>> = seeded
        .iter()
        .enumerate()
        .map(|(i, c)| {
            let n = c.email.as_deref().unwrap()[1..]
                .split('@')
                .next()
                .unwrap()
                .to_owned();
            vec![
                c.id.to_string(),
                format!("Contact, \"{n}\"\nsecond line"),
                format!("c{n}@acme.test"),
                c.blocked.to_string(),
                format!("City {n}"),
                c.created_at.format("%Y-%m-%dT%H:%M:%SZ").to_string(),
                if i.is_multiple_of(7) {
                    "alpha,gold".to_owned()
                } else {
                    String::new()
                },
            ]
        })
        .collect();
    assert_eq!(rows.len(), expected.len());
    assert!(rows == expected, "the CSV differs from the seeded contacts");
}
