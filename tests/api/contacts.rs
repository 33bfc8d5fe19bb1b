//! Contacts over HTTP: create, read, update, delete, validation, uniqueness, labels, contact
//! inboxes, search, the catalogues (labels, custom attribute definitions) and account scoping.
//!
//! The helpers at the top are shared with `contacts_filter`, `contacts_paging` and `notes`.

use chrono::{DateTime, Utc};
use entity::{contact, contact_inbox, contact_label, note};
use sea_orm::{ColumnTrait, EntityTrait, PaginatorTrait, QueryFilter, sea_query::Expr};
use serde_json::{Value, json};

use crate::helpers::{Session, TestApp, error_code, spawn_app};

// --- shared helpers -----------------------------------------------------------------------------

/// The fields most tests read back.
pub const CONTACT: &str = "id name middleName lastName email phoneNumber identifier blocked \
    contactType avatarUrl location countryCode availabilityStatus customAttributes \
    additionalAttributes lastActivityAt createdAt updatedAt labels";

const CREATE: &str = "mutation($input: CreateContactInput!) { createContact(input: $input) { \
    id name middleName lastName email phoneNumber identifier blocked contactType avatarUrl \
    location countryCode availabilityStatus customAttributes additionalAttributes lastActivityAt \
    createdAt updatedAt labels contactInboxes { inbox { id } sourceId } } }";

const UPDATE: &str = "mutation($id: ID!, $input: UpdateContactInput!) { updateContact(id: $id, input: $input) { \
    id name middleName lastName email phoneNumber identifier blocked contactType avatarUrl \
    location countryCode customAttributes additionalAttributes lastActivityAt updatedAt } }";

/// Creates a contact and returns its id; the request must succeed.
pub async fn create_contact(app: &TestApp, token: &str, input: Value) -> String {
    let data = app
        .data(Some(token), CREATE, json!({ "input": input }))
        .await;
    data["createContact"]["id"]
        .as_str()
        .expect("contact id")
        .to_owned()
}

/// Sends `createContact` and returns the whole response body.
pub async fn try_create(app: &TestApp, token: &str, input: Value) -> Value {
    app.gql(Some(token), CREATE, json!({ "input": input }))
        .await
}

/// Sends `updateContact` and returns the whole response body.
pub async fn try_update(app: &TestApp, token: &str, id: &str, input: Value) -> Value {
    app.gql(Some(token), UPDATE, json!({ "id": id, "input": input }))
        .await
}

/// Creates an inbox (as the account's administrator) and returns its id.
pub async fn create_inbox(app: &TestApp, admin: &Session, name: &str, channel: &str) -> String {
    let data = app
        .data(
            Some(&admin.token),
            "mutation($input: CreateInboxInput!) { createInbox(input: $input) { id } }",
            json!({ "input": { "name": name, "channelType": channel } }),
        )
        .await;
    data["createInbox"]["id"]
        .as_str()
        .expect("inbox id")
        .to_owned()
}

/// Defines a custom contact attribute (as the administrator).
pub async fn define_attribute(app: &TestApp, admin: &Session, key: &str, display_type: &str) {
    let values = if display_type == "LIST" {
        json!(["gold", "silver"])
    } else {
        json!([])
    };
    app.data(
        Some(&admin.token),
        "mutation($input: CreateCustomAttributeDefinitionInput!) { createCustomAttributeDefinition(input: $input) { id } }",
        json!({ "input": { "attributeKey": key, "displayName": key, "displayType": display_type, "values": values } }),
    )
    .await;
}

/// Replaces a contact's labels.
pub async fn set_labels(app: &TestApp, token: &str, id: &str, labels: &[&str]) -> Value {
    let data = app
        .data(
            Some(token),
            "mutation($id: ID!, $labels: [String!]!) { setContactLabels(id: $id, labels: $labels) { labels } }",
            json!({ "id": id, "labels": labels }),
        )
        .await;
    data["setContactLabels"]["labels"].clone()
}

/// One contact by id (`null` when not visible).
pub async fn get_contact(app: &TestApp, token: &str, id: &str) -> Value {
    let query = format!("query($id: ID!) {{ contact(id: $id) {{ {CONTACT} }} }}");
    app.data(Some(token), &query, json!({ "id": id })).await["contact"].clone()
}

/// Sets a contact's `created_at` (RFC 3339) through the test's own connection.
pub async fn backdate(app: &TestApp, id: &str, at: &str) {
    let at: DateTime<Utc> = at.parse().unwrap();
    contact::Entity::update_many()
        .col_expr(contact::Column::CreatedAt, Expr::value(at))
        .filter(contact::Column::Id.eq(id.parse::<i64>().unwrap()))
        .exec(&app.db)
        .await
        .unwrap();
}

/// A `DateTime` field as a point in time (the text may say `Z` or `+00:00`).
pub fn time(value: &Value) -> DateTime<Utc> {
    value
        .as_str()
        .unwrap_or_else(|| panic!("not a DateTime: {value}"))
        .parse()
        .unwrap_or_else(|_| panic!("not RFC 3339: {value}"))
}

/// The ids of a connection's nodes, in order.
pub fn ids(connection: &Value) -> Vec<String> {
    connection["nodes"]
        .as_array()
        .unwrap_or_else(|| panic!("no nodes in {connection}"))
        .iter()
        .map(|node| node["id"].as_str().expect("node id").to_owned())
        .collect()
}

/// The `contacts` connection (ids, total count), with optional extra arguments.
pub async fn list(app: &TestApp, token: &str, variables: Value) -> Value {
    let data = app
        .data(
            Some(token),
            "query($first: Int, $labels: [String!], $sort: ContactSort) { contacts(first: $first, labels: $labels, sort: $sort) { totalCount nodes { id } } }",
            variables,
        )
        .await;
    data["contacts"].clone()
}

/// The ids `searchContacts` finds for `query`, sorted by name.
pub async fn search(app: &TestApp, token: &str, query: &str) -> Vec<String> {
    let data = app
        .data(
            Some(token),
            "query($q: String!) { searchContacts(query: $q, first: 100, sort: { field: NAME }) { totalCount nodes { id } } }",
            json!({ "q": query }),
        )
        .await;
    let found = ids(&data["searchContacts"]);
    assert_eq!(
        data["searchContacts"]["totalCount"],
        json!(found.len()),
        "{data}"
    );
    found
}

/// The `extensions.field` of the first error.
pub fn error_field(body: &Value) -> String {
    body["errors"][0]["extensions"]["field"]
        .as_str()
        .unwrap_or_else(|| panic!("no error field in {body:#}"))
        .to_owned()
}

// --- create and read ----------------------------------------------------------------------------

#[tokio::test]
async fn create_contact_normalises_and_derives_fields() {
    let app = spawn_app().await;
    let admin = app.account("Acme").await;
    let body = try_create(
        &app,
        &admin.token,
        json!({
            "name": "  Ann Lee ",
            "middleName": "Marie",
            "lastName": "Lee",
            "email": "  Ann.Lee@Example.COM ",
            "phoneNumber": " +14155550100 ",
            "identifier": "crm-1",
            "blocked": true,
            "avatarUrl": "https://example.com/a.png",
            "customAttributes": { "plan": "pro", "seats": 3 },
            "additionalAttributes": { "city": " Berlin ", "country": "Germany", "country_code": "de", "company_name": "Acme" },
            "lastActivityAt": "2024-02-03T04:05:06.789Z",
        }),
    )
    .await;
    assert!(body.get("errors").is_none(), "{body:#}");
    let contact = &body["data"]["createContact"];
    assert_eq!(contact["name"], "Ann Lee");
    assert_eq!(contact["middleName"], "Marie");
    assert_eq!(contact["lastName"], "Lee");
    assert_eq!(contact["email"], "ann.lee@example.com");
    assert_eq!(contact["phoneNumber"], "+14155550100");
    assert_eq!(contact["identifier"], "crm-1");
    assert_eq!(contact["blocked"], true);
    assert_eq!(
        contact["contactType"], "LEAD",
        "a visitor with an email is a lead"
    );
    assert_eq!(contact["avatarUrl"], "https://example.com/a.png");
    assert_eq!(contact["location"], "Berlin, Germany");
    assert_eq!(contact["countryCode"], "DE");
    assert_eq!(contact["availabilityStatus"], "OFFLINE");
    assert_eq!(
        contact["customAttributes"],
        json!({ "plan": "pro", "seats": 3 })
    );
    assert_eq!(contact["additionalAttributes"]["company_name"], "Acme");
    assert_eq!(
        time(&contact["lastActivityAt"]),
        time(&json!("2024-02-03T04:05:06.789Z"))
    );
    assert_eq!(contact["labels"], json!([]));
    assert_eq!(contact["contactInboxes"], json!([]));

    // Read back by id: the same values.
    let id = contact["id"].as_str().unwrap();
    let read = get_contact(&app, &admin.token, id).await;
    for field in [
        "name",
        "email",
        "phoneNumber",
        "identifier",
        "location",
        "countryCode",
        "contactType",
        "customAttributes",
        "additionalAttributes",
        "lastActivityAt",
        "createdAt",
    ] {
        assert_eq!(read[field], contact[field], "{field}");
    }
}

#[tokio::test]
async fn contact_type_promotion_to_lead_and_never_back() {
    let app = spawn_app().await;
    let admin = app.account("Acme").await;
    let create_type = |input: Value| {
        let app = &app;
        let token = admin.token.clone();
        async move {
            let body = try_create(app, &token, input).await;
            assert!(body.get("errors").is_none(), "{body:#}");
            (
                body["data"]["createContact"]["id"]
                    .as_str()
                    .unwrap()
                    .to_owned(),
                body["data"]["createContact"]["contactType"].clone(),
            )
        }
    };
    let (visitor, kind) = create_type(json!({ "name": "Vic" })).await;
    assert_eq!(kind, "VISITOR");
    let (_, kind) = create_type(json!({ "name": "Pat", "phoneNumber": "+4915112345678" })).await;
    assert_eq!(kind, "LEAD", "a phone number promotes");
    let (_, kind) = create_type(json!({ "name": "Sol", "additionalAttributes": { "social_profiles": { "twitter": "sol" } } })).await;
    assert_eq!(kind, "LEAD", "a social profile promotes");
    let (_, kind) = create_type(json!({ "name": "Ida", "identifier": "ida" })).await;
    assert_eq!(kind, "VISITOR", "an identifier alone does not promote");
    let (customer, kind) =
        create_type(json!({ "email": "c@example.com", "contactType": "CUSTOMER" })).await;
    assert_eq!(kind, "CUSTOMER", "customers are not turned into leads");

    // Gaining an email later promotes the visitor; losing it does not demote.
    let body = try_update(
        &app,
        &admin.token,
        &visitor,
        json!({ "email": "vic@example.com" }),
    )
    .await;
    assert_eq!(
        body["data"]["updateContact"]["contactType"], "LEAD",
        "{body:#}"
    );
    let body = try_update(&app, &admin.token, &visitor, json!({ "email": null })).await;
    assert_eq!(
        body["data"]["updateContact"]["email"],
        Value::Null,
        "{body:#}"
    );
    assert_eq!(body["data"]["updateContact"]["contactType"], "LEAD");
    // An explicit change back to visitor is honoured when nothing would promote it again.
    let body = try_update(
        &app,
        &admin.token,
        &visitor,
        json!({ "contactType": "VISITOR" }),
    )
    .await;
    assert_eq!(
        body["data"]["updateContact"]["contactType"], "VISITOR",
        "{body:#}"
    );
    let body = try_update(&app, &admin.token, &customer, json!({ "name": "Cleo" })).await;
    assert_eq!(
        body["data"]["updateContact"]["contactType"], "CUSTOMER",
        "{body:#}"
    );
}

#[tokio::test]
async fn create_contact_with_an_inbox_registers_a_contact_inbox() {
    let app = spawn_app().await;
    let admin = app.account("Acme").await;
    let inbox = create_inbox(&app, &admin, "API", "api").await;
    let body = try_create(
        &app,
        &admin.token,
        json!({ "email": "ann@example.com", "inboxId": inbox, "sourceId": "visitor-1" }),
    )
    .await;
    assert!(body.get("errors").is_none(), "{body:#}");
    assert_eq!(
        body["data"]["createContact"]["contactInboxes"],
        json!([{ "inbox": { "id": inbox }, "sourceId": "visitor-1" }])
    );
    // Without a source id one is generated.
    let body = try_create(
        &app,
        &admin.token,
        json!({ "email": "bob@example.com", "inboxId": inbox }),
    )
    .await;
    let generated = body["data"]["createContact"]["contactInboxes"][0]["sourceId"]
        .as_str()
        .unwrap_or_else(|| panic!("{body:#}"));
    assert!(!generated.is_empty());
    assert_ne!(generated, "visitor-1");

    // A source id without an inbox is refused, and nothing is written.
    let body = try_create(
        &app,
        &admin.token,
        json!({ "email": "cy@example.com", "sourceId": "visitor-2" }),
    )
    .await;
    assert_eq!(error_code(&body), "BAD_USER_INPUT", "{body:#}");
    assert_eq!(error_field(&body), "inboxId");
    // The same source id again in that inbox is a conflict, and the contact is not created.
    let body = try_create(
        &app,
        &admin.token,
        json!({ "email": "dee@example.com", "inboxId": inbox, "sourceId": "visitor-1" }),
    )
    .await;
    assert_eq!(error_code(&body), "CONFLICT", "{body:#}");
    assert_eq!(error_field(&body), "sourceId");
    // Another account's inbox is not found.
    let other = app.account("Globex").await;
    let foreign = create_inbox(&app, &other, "Theirs", "api").await;
    let body = try_create(
        &app,
        &admin.token,
        json!({ "email": "eve@example.com", "inboxId": foreign }),
    )
    .await;
    assert_eq!(error_code(&body), "NOT_FOUND", "{body:#}");

    let all = list(&app, &admin.token, json!({})).await;
    assert_eq!(all["totalCount"], 2, "only ann and bob were created: {all}");
}

#[tokio::test]
async fn create_contact_inbox_generates_ids_and_refuses_duplicate_source_ids() {
    let app = spawn_app().await;
    let admin = app.account("Acme").await;
    let agent = app.agent(&admin, "Agatha").await;
    let web = create_inbox(&app, &admin, "Web", "web").await;
    let api = create_inbox(&app, &admin, "API", "api").await;
    let ann = create_contact(&app, &admin.token, json!({ "email": "ann@example.com" })).await;
    let bob = create_contact(&app, &admin.token, json!({ "email": "bob@example.com" })).await;
    let query = "mutation($c: ID!, $i: ID!, $s: String) { createContactInbox(contactId: $c, inboxId: $i, sourceId: $s) { id sourceId inbox { id } contact { id } } }";

    let made = app
        .data(
            Some(&agent.token),
            query,
            json!({ "c": ann, "i": web, "s": "s-1" }),
        )
        .await;
    assert_eq!(made["createContactInbox"]["sourceId"], "s-1");
    assert_eq!(made["createContactInbox"]["inbox"]["id"], web);
    assert_eq!(made["createContactInbox"]["contact"]["id"], ann);
    let generated = app
        .data(Some(&agent.token), query, json!({ "c": ann, "i": api }))
        .await;
    let generated_id = generated["createContactInbox"]["sourceId"]
        .as_str()
        .unwrap();
    assert!(generated_id.len() >= 16, "{generated}");

    // The same source id in the same inbox: CONFLICT, whichever contact asks.
    for contact in [&ann, &bob] {
        let body = app
            .gql(
                Some(&agent.token),
                query,
                json!({ "c": contact, "i": web, "s": "s-1" }),
            )
            .await;
        assert_eq!(error_code(&body), "CONFLICT", "{body:#}");
        assert_eq!(error_field(&body), "sourceId");
    }
    // The same source id in another inbox is fine.
    app.data(
        Some(&agent.token),
        query,
        json!({ "c": bob, "i": api, "s": "s-1" }),
    )
    .await;

    let contact = app
        .data(
            Some(&agent.token),
            "query($id: ID!) { contact(id: $id) { contactInboxes { inbox { id } sourceId } } }",
            json!({ "id": ann }),
        )
        .await;
    assert_eq!(
        contact["contact"]["contactInboxes"],
        json!([
            { "inbox": { "id": web }, "sourceId": "s-1" },
            { "inbox": { "id": api }, "sourceId": generated_id },
        ])
    );

    // Unknown contact or inbox, or another account's: NOT_FOUND.
    let other = app.account("Globex").await;
    let foreign_inbox = create_inbox(&app, &other, "Theirs", "api").await;
    let foreign_contact =
        create_contact(&app, &other.token, json!({ "email": "x@example.com" })).await;
    for (c, i) in [
        (&ann, &foreign_inbox),
        (&foreign_contact, &web),
        (&"999999".to_owned(), &web),
    ] {
        let body = app
            .gql(Some(&agent.token), query, json!({ "c": c, "i": i }))
            .await;
        assert_eq!(error_code(&body), "NOT_FOUND", "{c} {i}: {body:#}");
    }
}

#[tokio::test]
async fn contactable_inboxes_depend_on_channel_and_contact() {
    let app = spawn_app().await;
    let admin = app.account("Acme").await;
    let api = create_inbox(&app, &admin, "API", "api").await;
    let email = create_inbox(&app, &admin, "Mail", "Email").await;
    let web_known = create_inbox(&app, &admin, "Site", "web").await;
    let web_unknown = create_inbox(&app, &admin, "Other site", "web").await;
    let sms = create_inbox(&app, &admin, "SMS", "sms").await;

    let with_email = create_contact(
        &app,
        &admin.token,
        json!({ "email": "ann@example.com", "inboxId": web_known }),
    )
    .await;
    let with_phone =
        create_contact(&app, &admin.token, json!({ "phoneNumber": "+14155550100" })).await;
    let bare = create_contact(&app, &admin.token, json!({ "identifier": "bare" })).await;

    let query =
        "query($id: ID!) { contact(id: $id) { contactableInboxes { id name channelType } } }";
    let inboxes_of = |id: String| {
        let app = &app;
        let token = admin.token.clone();
        async move {
            let data = app.data(Some(&token), query, json!({ "id": id })).await;
            ids_of(&data["contact"]["contactableInboxes"])
        }
    };
    assert_eq!(
        inboxes_of(with_email).await,
        vec![api.clone(), email.clone(), web_known.clone()]
    );
    assert_eq!(inboxes_of(with_phone).await, vec![api.clone(), sms.clone()]);
    assert_eq!(inboxes_of(bare.clone()).await, vec![api.clone()]);
    // Once known in the other site, it is contactable there too.
    app.data(
        Some(&admin.token),
        "mutation($c: ID!, $i: ID!) { createContactInbox(contactId: $c, inboxId: $i) { id } }",
        json!({ "c": bare, "i": web_unknown }),
    )
    .await;
    assert_eq!(inboxes_of(bare).await, vec![api, web_unknown]);
}

fn ids_of(list: &Value) -> Vec<String> {
    list.as_array()
        .unwrap_or_else(|| panic!("not a list: {list}"))
        .iter()
        .map(|item| item["id"].as_str().unwrap().to_owned())
        .collect()
}

#[tokio::test]
async fn contact_lists_its_labels_notes_and_conversations() {
    let app = spawn_app().await;
    let admin = app.account("Acme").await;
    let ann = create_contact(&app, &admin.token, json!({ "email": "ann@example.com" })).await;
    set_labels(&app, &admin.token, &ann, &["vip", "beta"]).await;
    let note = app
        .data(
            Some(&admin.token),
            "mutation($c: ID!) { createNote(contactId: $c, content: \"Called\") { id } }",
            json!({ "c": ann }),
        )
        .await;
    let data = app
        .data(
            Some(&admin.token),
            "query($id: ID!) { contact(id: $id) { labels notes { id content } conversations { totalCount nodes { id } pageInfo { hasNextPage } } } }",
            json!({ "id": ann }),
        )
        .await;
    assert_eq!(data["contact"]["labels"], json!(["beta", "vip"]));
    assert_eq!(
        data["contact"]["notes"],
        json!([{ "id": note["createNote"]["id"], "content": "Called" }])
    );
    assert_eq!(
        data["contact"]["conversations"],
        json!({ "totalCount": 0, "nodes": [], "pageInfo": { "hasNextPage": false } })
    );
}

// --- update -------------------------------------------------------------------------------------

#[tokio::test]
async fn update_contact_merges_attributes_clears_nulls_and_keeps_omitted_fields() {
    let app = spawn_app().await;
    let admin = app.account("Acme").await;
    let agent = app.agent(&admin, "Agatha").await;
    let id = create_contact(
        &app,
        &admin.token,
        json!({
            "name": "Ann", "middleName": "M", "lastName": "Lee", "email": "ann@example.com",
            "phoneNumber": "+14155550100", "identifier": "crm-1", "avatarUrl": "https://a.example/x.png",
            "lastActivityAt": "2024-01-01T00:00:00Z",
            "customAttributes": { "a": 1, "b": 2 },
            "additionalAttributes": { "city": "Berlin", "country": "Germany" },
        }),
    )
    .await;

    let body = try_update(
        &app,
        &agent.token,
        &id,
        json!({
            "name": "Annie",
            "lastName": null,
            "identifier": "",
            "blocked": true,
            "customAttributes": { "b": 3, "c": { "nested": true } },
            "additionalAttributes": { "city": "Paris", "country_code": "fr" },
            "lastActivityAt": null,
        }),
    )
    .await;
    assert!(body.get("errors").is_none(), "{body:#}");
    let updated = &body["data"]["updateContact"];
    assert_eq!(updated["name"], "Annie");
    assert_eq!(updated["middleName"], "M", "omitted: kept");
    assert_eq!(updated["lastName"], Value::Null, "null: cleared");
    assert_eq!(updated["identifier"], Value::Null, "empty string: cleared");
    assert_eq!(updated["email"], "ann@example.com");
    assert_eq!(updated["phoneNumber"], "+14155550100");
    assert_eq!(updated["avatarUrl"], "https://a.example/x.png");
    assert_eq!(updated["blocked"], true);
    assert_eq!(updated["lastActivityAt"], Value::Null);
    assert_eq!(
        updated["customAttributes"],
        json!({ "a": 1, "b": 3, "c": { "nested": true } })
    );
    assert_eq!(
        updated["additionalAttributes"],
        json!({ "city": "Paris", "country": "Germany", "country_code": "fr" })
    );
    assert_eq!(updated["location"], "Paris, Germany");
    assert_eq!(updated["countryCode"], "FR");

    // Persisted, not just echoed.
    let read = get_contact(&app, &admin.token, &id).await;
    assert_eq!(read["customAttributes"], updated["customAttributes"]);
    assert_eq!(read["lastName"], Value::Null);
    assert_eq!(read["middleName"], "M");

    // An empty update changes nothing but is fine.
    let body = try_update(&app, &agent.token, &id, json!({})).await;
    assert_eq!(body["data"]["updateContact"]["name"], "Annie", "{body:#}");
    assert_eq!(
        body["data"]["updateContact"]["customAttributes"],
        updated["customAttributes"]
    );
}

#[tokio::test]
async fn delete_custom_attributes_and_avatar() {
    let app = spawn_app().await;
    let admin = app.account("Acme").await;
    let agent = app.agent(&admin, "Agatha").await;
    let id = create_contact(
        &app,
        &admin.token,
        json!({ "email": "ann@example.com", "avatarUrl": "https://a.example/x.png", "customAttributes": { "a": 1, "b": 2, "c": 3 } }),
    )
    .await;
    let data = app
        .data(
            Some(&agent.token),
            "mutation($id: ID!, $keys: [String!]!) { deleteContactCustomAttributes(id: $id, keys: $keys) { customAttributes avatarUrl } }",
            json!({ "id": id, "keys": ["a", "c", "missing"] }),
        )
        .await;
    assert_eq!(
        data["deleteContactCustomAttributes"],
        json!({ "customAttributes": { "b": 2 }, "avatarUrl": "https://a.example/x.png" })
    );
    let data = app
        .data(
            Some(&agent.token),
            "mutation($id: ID!) { deleteContactAvatar(id: $id) { avatarUrl customAttributes } }",
            json!({ "id": id }),
        )
        .await;
    assert_eq!(
        data["deleteContactAvatar"],
        json!({ "avatarUrl": null, "customAttributes": { "b": 2 } })
    );
    let read = get_contact(&app, &admin.token, &id).await;
    assert_eq!(read["avatarUrl"], Value::Null);
    assert_eq!(read["customAttributes"], json!({ "b": 2 }));
}

// --- validation and uniqueness ------------------------------------------------------------------

#[tokio::test]
async fn invalid_input_is_refused_naming_the_field_and_nothing_is_written() {
    let app = spawn_app().await;
    let admin = app.account("Acme").await;
    let long = "x".repeat(256);
    let cases = [
        (json!({ "email": "ann" }), "email"),
        (json!({ "email": "ann@" }), "email"),
        (json!({ "email": "@example.com" }), "email"),
        (json!({ "email": "a nn@example.com" }), "email"),
        (json!({ "email": "a@b@example.com" }), "email"),
        (json!({ "phoneNumber": "14155550100" }), "phoneNumber"),
        (json!({ "phoneNumber": "+04155550100" }), "phoneNumber"),
        (json!({ "phoneNumber": "+1415555O100" }), "phoneNumber"),
        (json!({ "phoneNumber": "+1 415 555 0100" }), "phoneNumber"),
        (json!({ "phoneNumber": "x+14155550100" }), "phoneNumber"),
        (json!({ "phoneNumber": "+1415555010012345" }), "phoneNumber"),
        (json!({ "phoneNumber": "+1" }), "phoneNumber"),
        (json!({ "identifier": "i", "name": long }), "name"),
        (json!({ "identifier": "i", "lastName": long }), "lastName"),
        (json!({ "identifier": long }), "identifier"),
        (
            json!({ "identifier": "i", "customAttributes": [1, 2] }),
            "customAttributes",
        ),
        (
            json!({ "identifier": "i", "customAttributes": "plan" }),
            "customAttributes",
        ),
        (
            json!({ "identifier": "i", "additionalAttributes": 3 }),
            "additionalAttributes",
        ),
    ];
    for (input, field) in &cases {
        let body = try_create(&app, &admin.token, input.clone()).await;
        assert_eq!(error_code(&body), "BAD_USER_INPUT", "{input}: {body:#}");
        assert_eq!(&error_field(&body), field, "{input}: {body:#}");
    }
    // 255 characters are fine.
    let body = try_create(
        &app,
        &admin.token,
        json!({ "identifier": "ok", "name": "é".repeat(255) }),
    )
    .await;
    assert!(body.get("errors").is_none(), "{body:#}");
    let all = list(&app, &admin.token, json!({})).await;
    assert_eq!(all["totalCount"], 1, "only the valid contact: {all}");

    // The update path validates alike, and writes nothing on failure.
    let id = all["nodes"][0]["id"].as_str().unwrap().to_owned();
    for (input, field) in &cases {
        let body = try_update(&app, &admin.token, &id, input.clone()).await;
        assert_eq!(error_code(&body), "BAD_USER_INPUT", "{input}: {body:#}");
        assert_eq!(&error_field(&body), field, "{input}: {body:#}");
    }
    let body = try_update(
        &app,
        &admin.token,
        &id,
        json!({ "name": "Changed", "email": "not an email" }),
    )
    .await;
    assert_eq!(error_field(&body), "email");
    let read = get_contact(&app, &admin.token, &id).await;
    assert_eq!(read["name"], "é".repeat(255));
    assert_eq!(read["identifier"], "ok");
    assert_eq!(read["customAttributes"], json!({}));
}

#[tokio::test]
async fn email_phone_and_identifier_are_unique_per_account() {
    let app = spawn_app().await;
    let acme = app.account("Acme").await;
    let globex = app.account("Globex").await;
    let ann = create_contact(
        &app,
        &acme.token,
        json!({ "email": "A@x.com", "phoneNumber": "+14155550100", "identifier": "CRM-1" }),
    )
    .await;
    let read = get_contact(&app, &acme.token, &ann).await;
    assert_eq!(read["email"], "a@x.com");

    for (input, field) in [
        (json!({ "email": "a@x.com" }), "email"),
        (json!({ "email": " A@X.COM " }), "email"),
        (json!({ "phoneNumber": "+14155550100" }), "phoneNumber"),
        (json!({ "identifier": "CRM-1" }), "identifier"),
    ] {
        let body = try_create(&app, &acme.token, input.clone()).await;
        assert_eq!(error_code(&body), "CONFLICT", "{input}: {body:#}");
        assert_eq!(error_field(&body), field, "{input}: {body:#}");
    }
    // Identifiers are case-sensitive.
    let other = create_contact(&app, &acme.token, json!({ "identifier": "crm-1" })).await;
    // Updates run into the same indexes.
    for (input, field) in [
        (json!({ "email": "A@X.com" }), "email"),
        (json!({ "phoneNumber": "+14155550100" }), "phoneNumber"),
        (json!({ "identifier": "CRM-1" }), "identifier"),
    ] {
        let body = try_update(&app, &acme.token, &other, input.clone()).await;
        assert_eq!(error_code(&body), "CONFLICT", "{input}: {body:#}");
        assert_eq!(error_field(&body), field, "{input}: {body:#}");
    }
    let read = get_contact(&app, &acme.token, &other).await;
    assert_eq!(read["email"], Value::Null);
    assert_eq!(read["identifier"], "crm-1");
    // Updating a contact to its own values is no conflict.
    let body = try_update(
        &app,
        &acme.token,
        &ann,
        json!({ "email": "a@x.com", "identifier": "CRM-1" }),
    )
    .await;
    assert!(body.get("errors").is_none(), "{body:#}");

    // The same values are fine in another account.
    let body = try_create(
        &app,
        &globex.token,
        json!({ "email": "a@x.com", "phoneNumber": "+14155550100", "identifier": "CRM-1" }),
    )
    .await;
    assert!(body.get("errors").is_none(), "{body:#}");
    assert_eq!(list(&app, &acme.token, json!({})).await["totalCount"], 2);
    assert_eq!(list(&app, &globex.token, json!({})).await["totalCount"], 1);
}

// --- resolved and anonymous contacts, active contacts -------------------------------------------

#[tokio::test]
async fn anonymous_contacts_are_only_reachable_by_id() {
    let app = spawn_app().await;
    let admin = app.account("Acme").await;
    let anon = create_contact(&app, &admin.token, json!({ "name": "Anna Nym" })).await;
    let by_email = create_contact(
        &app,
        &admin.token,
        json!({ "name": "Ann E", "email": "e@example.com" }),
    )
    .await;
    let by_phone = create_contact(
        &app,
        &admin.token,
        json!({ "name": "Ann P", "phoneNumber": "+14155550100" }),
    )
    .await;
    let by_identifier = create_contact(
        &app,
        &admin.token,
        json!({ "name": "Ann I", "identifier": "i-1" }),
    )
    .await;

    let all = list(&app, &admin.token, json!({ "sort": { "field": "NAME" } })).await;
    assert_eq!(
        ids(&all),
        vec![by_email.clone(), by_identifier.clone(), by_phone.clone()]
    );
    assert_eq!(all["totalCount"], 3);
    assert_eq!(
        search(&app, &admin.token, "ann").await,
        vec![by_email, by_identifier, by_phone.clone()]
    );
    let read = get_contact(&app, &admin.token, &anon).await;
    assert_eq!(read["name"], "Anna Nym");
    assert_eq!(read["contactType"], "VISITOR");

    // Losing the last way to reach a contact makes it anonymous.
    try_update(
        &app,
        &admin.token,
        &by_phone,
        json!({ "phoneNumber": null }),
    )
    .await;
    assert_eq!(list(&app, &admin.token, json!({})).await["totalCount"], 2);
}

#[tokio::test]
async fn active_contacts_is_empty_while_nobody_is_online() {
    let app = spawn_app().await;
    let admin = app.account("Acme").await;
    create_contact(&app, &admin.token, json!({ "email": "ann@example.com" })).await;
    create_contact(&app, &admin.token, json!({ "name": "Anon" })).await;
    let data = app
        .data(
            Some(&admin.token),
            "{ activeContacts { totalCount nodes { id } pageInfo { hasNextPage hasPreviousPage } } }",
            json!({}),
        )
        .await;
    assert_eq!(
        data["activeContacts"],
        json!({ "totalCount": 0, "nodes": [], "pageInfo": { "hasNextPage": false, "hasPreviousPage": false } })
    );
    let body = app
        .gql(
            Some(&admin.token),
            "{ activeContacts(first: 0) { totalCount } }",
            json!({}),
        )
        .await;
    assert_eq!(error_code(&body), "BAD_USER_INPUT");
}

// --- search -------------------------------------------------------------------------------------

#[tokio::test]
async fn search_matches_name_email_phone_company_and_exact_identifier() {
    let app = spawn_app().await;
    let admin = app.account("Acme").await;
    let ann = create_contact(
        &app,
        &admin.token,
        json!({ "name": "Ann Lee", "email": "ann@initech.io", "phoneNumber": "+14155550101", "identifier": "CRM-42" }),
    )
    .await;
    let bob = create_contact(
        &app,
        &admin.token,
        json!({ "name": "Bob Stone", "email": "bob@mail.io", "phoneNumber": "+442071838750", "additionalAttributes": { "company_name": "Initech Ltd" } }),
    )
    .await;
    let cy = create_contact(
        &app,
        &admin.token,
        json!({ "name": "Cy 100%", "identifier": "cy_1" }),
    )
    .await;
    // Anonymous: never found.
    create_contact(
        &app,
        &admin.token,
        json!({ "name": "Ann Anon", "additionalAttributes": { "company_name": "Initech" } }),
    )
    .await;

    assert_eq!(
        search(&app, &admin.token, "ANN").await,
        vec![ann.clone()],
        "name, ignoring case"
    );
    assert_eq!(
        search(&app, &admin.token, "MAIL.IO").await,
        vec![bob.clone()],
        "email, ignoring case"
    );
    assert_eq!(
        search(&app, &admin.token, "5550").await,
        vec![ann.clone()],
        "phone substring"
    );
    assert_eq!(search(&app, &admin.token, "+44").await, vec![bob.clone()]);
    assert_eq!(
        search(&app, &admin.token, "initech").await,
        vec![ann.clone(), bob.clone()],
        "email of one, company of the other"
    );
    assert_eq!(
        search(&app, &admin.token, "ltd").await,
        vec![bob.clone()],
        "company, ignoring case"
    );
    assert_eq!(
        search(&app, &admin.token, "CRM-4").await,
        vec![ann.clone()],
        "identifier"
    );
    assert_eq!(
        search(&app, &admin.token, "crm-4").await,
        Vec::<String>::new(),
        "identifier is case-sensitive"
    );
    // LIKE wildcards are literal.
    assert_eq!(search(&app, &admin.token, "100%").await, vec![cy.clone()]);
    assert_eq!(search(&app, &admin.token, "%").await, vec![cy.clone()]);
    assert_eq!(search(&app, &admin.token, "y_").await, vec![cy.clone()]);
    assert_eq!(
        search(&app, &admin.token, "nobody").await,
        Vec::<String>::new()
    );

    for empty in ["", "   "] {
        let body = app
            .gql(
                Some(&admin.token),
                "query($q: String!) { searchContacts(query: $q) { totalCount } }",
                json!({ "q": empty }),
            )
            .await;
        assert_eq!(error_code(&body), "BAD_USER_INPUT", "{empty:?}: {body:#}");
        assert_eq!(error_field(&body), "query");
    }

    // Search pages like the list.
    let data = app
        .data(
            Some(&admin.token),
            "{ searchContacts(query: \"initech\", first: 1, sort: { field: NAME, direction: DESC }) { totalCount nodes { id } pageInfo { hasNextPage endCursor } } }",
            json!({}),
        )
        .await;
    assert_eq!(ids(&data["searchContacts"]), vec![bob]);
    assert_eq!(data["searchContacts"]["totalCount"], 2);
    assert_eq!(data["searchContacts"]["pageInfo"]["hasNextPage"], true);
    let after = data["searchContacts"]["pageInfo"]["endCursor"].clone();
    let data = app
        .data(
            Some(&admin.token),
            "query($after: String) { searchContacts(query: \"initech\", first: 1, after: $after, sort: { field: NAME, direction: DESC }) { nodes { id } pageInfo { hasNextPage } } }",
            json!({ "after": after }),
        )
        .await;
    assert_eq!(ids(&data["searchContacts"]), vec![ann]);
    assert_eq!(data["searchContacts"]["pageInfo"]["hasNextPage"], false);
}

// --- labels -------------------------------------------------------------------------------------

#[tokio::test]
async fn contact_labels_are_replaced_added_lower_cased_and_de_duplicated() {
    let app = spawn_app().await;
    let admin = app.account("Acme").await;
    let agent = app.agent(&admin, "Agatha").await;
    let ann = create_contact(&app, &admin.token, json!({ "email": "ann@example.com" })).await;
    let bob = create_contact(&app, &admin.token, json!({ "email": "bob@example.com" })).await;
    let cy = create_contact(&app, &admin.token, json!({ "email": "cy@example.com" })).await;

    assert_eq!(
        set_labels(&app, &agent.token, &ann, &["VIP", "vip", " Beta ", "beta"]).await,
        json!(["beta", "vip"])
    );
    assert_eq!(
        set_labels(&app, &agent.token, &ann, &["Churn-Risk"]).await,
        json!(["churn-risk"]),
        "replaces"
    );
    let add = "mutation($id: ID!, $labels: [String!]!) { addContactLabels(id: $id, labels: $labels) { labels } }";
    let added = app
        .data(
            Some(&agent.token),
            add,
            json!({ "id": ann, "labels": ["VIP", "churn-risk", "vip"] }),
        )
        .await;
    assert_eq!(
        added["addContactLabels"]["labels"],
        json!(["churn-risk", "vip"]),
        "appends"
    );
    let added = app
        .data(
            Some(&agent.token),
            add,
            json!({ "id": bob, "labels": ["Trial"] }),
        )
        .await;
    assert_eq!(added["addContactLabels"]["labels"], json!(["trial"]));
    assert_eq!(
        get_contact(&app, &agent.token, &ann).await["labels"],
        json!(["churn-risk", "vip"])
    );

    // Bad label names are refused.
    let body = app
        .gql(
            Some(&agent.token),
            "mutation($id: ID!, $labels: [String!]!) { setContactLabels(id: $id, labels: $labels) { labels } }",
            json!({ "id": cy, "labels": ["ok", "not ok"] }),
        )
        .await;
    assert_eq!(error_code(&body), "BAD_USER_INPUT", "{body:#}");
    assert_eq!(error_field(&body), "labels");
    assert_eq!(
        get_contact(&app, &agent.token, &cy).await["labels"],
        json!([])
    );

    // The list narrows by any of the labels, ignoring case.
    let sort = json!({ "field": "EMAIL" });
    let vip = list(
        &app,
        &agent.token,
        json!({ "labels": ["VIP"], "sort": sort }),
    )
    .await;
    assert_eq!(ids(&vip), vec![ann.clone()]);
    assert_eq!(vip["totalCount"], 1);
    let either = list(
        &app,
        &agent.token,
        json!({ "labels": ["vip", "trial", "nope"], "sort": sort }),
    )
    .await;
    assert_eq!(ids(&either), vec![ann.clone(), bob.clone()]);
    assert_eq!(either["totalCount"], 2);
    let none = list(&app, &agent.token, json!({ "labels": ["nope"] })).await;
    assert_eq!(ids(&none), Vec::<String>::new());
    let all = list(&app, &agent.token, json!({ "labels": [], "sort": sort })).await;
    assert_eq!(
        ids(&all),
        vec![ann.clone(), bob, cy.clone()],
        "no labels: no narrowing"
    );

    // Clearing.
    assert_eq!(set_labels(&app, &agent.token, &ann, &[]).await, json!([]));
}

#[tokio::test]
async fn label_catalogue_is_managed_by_administrators() {
    let app = spawn_app().await;
    let admin = app.account("Acme").await;
    let agent = app.agent(&admin, "Agatha").await;
    let other = app.account("Globex").await;
    let create = "mutation($input: CreateLabelInput!) { createLabel(input: $input) { id title description color showOnSidebar } }";
    let vip = app
        .data(
            Some(&admin.token),
            create,
            json!({ "input": { "title": "VIP", "description": "Big spenders", "color": "#ff0000", "showOnSidebar": false } }),
        )
        .await;
    assert_eq!(vip["createLabel"]["title"], "vip");
    assert_eq!(vip["createLabel"]["description"], "Big spenders");
    assert_eq!(vip["createLabel"]["color"], "#ff0000");
    assert_eq!(vip["createLabel"]["showOnSidebar"], false);
    let beta = app
        .data(
            Some(&admin.token),
            create,
            json!({ "input": { "title": "beta" } }),
        )
        .await;
    assert_eq!(beta["createLabel"]["color"], "#1f93ff");
    assert_eq!(beta["createLabel"]["showOnSidebar"], true);

    let again = app
        .gql(
            Some(&admin.token),
            create,
            json!({ "input": { "title": "Vip" } }),
        )
        .await;
    assert_eq!(error_code(&again), "CONFLICT", "{again:#}");
    assert_eq!(error_field(&again), "title");
    let bad = app
        .gql(
            Some(&admin.token),
            create,
            json!({ "input": { "title": "two words" } }),
        )
        .await;
    assert_eq!(error_code(&bad), "BAD_USER_INPUT", "{bad:#}");
    let forbidden = app
        .gql(
            Some(&agent.token),
            create,
            json!({ "input": { "title": "mine" } }),
        )
        .await;
    assert_eq!(error_code(&forbidden), "FORBIDDEN", "{forbidden:#}");

    let labels = app
        .data(Some(&agent.token), "{ labels { id title } }", json!({}))
        .await;
    assert_eq!(
        labels["labels"],
        json!([
            { "id": beta["createLabel"]["id"], "title": "beta" },
            { "id": vip["createLabel"]["id"], "title": "vip" },
        ])
    );
    // The same title in another account is its own label.
    app.data(
        Some(&other.token),
        create,
        json!({ "input": { "title": "vip" } }),
    )
    .await;
    let theirs = app
        .data(Some(&other.token), "{ labels { title } }", json!({}))
        .await;
    assert_eq!(theirs["labels"], json!([{ "title": "vip" }]));
}

// --- custom attribute definitions ---------------------------------------------------------------

#[tokio::test]
async fn custom_attribute_definitions_are_managed_by_administrators() {
    let app = spawn_app().await;
    let admin = app.account("Acme").await;
    let agent = app.agent(&admin, "Agatha").await;
    let other = app.account("Globex").await;
    let create = "mutation($input: CreateCustomAttributeDefinitionInput!) { createCustomAttributeDefinition(input: $input) { id attributeKey displayName displayType model values } }";
    let plan = app
        .data(
            Some(&admin.token),
            create,
            json!({ "input": { "attributeKey": "plan", "displayName": "Plan", "displayType": "LIST", "values": ["free", "pro"] } }),
        )
        .await;
    assert_eq!(
        plan["createCustomAttributeDefinition"]["model"], "CONTACT_ATTRIBUTE",
        "contacts by default"
    );
    assert_eq!(
        plan["createCustomAttributeDefinition"]["values"],
        json!(["free", "pro"])
    );
    assert_eq!(
        plan["createCustomAttributeDefinition"]["displayType"],
        "LIST"
    );
    let plan_id = plan["createCustomAttributeDefinition"]["id"]
        .as_str()
        .unwrap()
        .to_owned();
    let priority = app
        .data(
            Some(&admin.token),
            create,
            json!({ "input": { "attributeKey": "priority", "displayName": "Priority", "displayType": "NUMBER", "model": "CONVERSATION_ATTRIBUTE" } }),
        )
        .await;
    let priority_id = priority["createCustomAttributeDefinition"]["id"]
        .as_str()
        .unwrap()
        .to_owned();

    // Reserved keys, duplicates, bad lists and agents are refused.
    for key in ["email", "company", "company_name", "labels", "created_at"] {
        let body = app
            .gql(
                Some(&admin.token),
                create,
                json!({ "input": { "attributeKey": key, "displayName": "X", "displayType": "TEXT" } }),
            )
            .await;
        assert_eq!(error_code(&body), "BAD_USER_INPUT", "{key}: {body:#}");
        assert_eq!(error_field(&body), "attributeKey", "{key}");
    }
    let body = app
        .gql(
            Some(&admin.token),
            create,
            json!({ "input": { "attributeKey": "plan", "displayName": "Plan again", "displayType": "TEXT" } }),
        )
        .await;
    assert_eq!(error_code(&body), "CONFLICT", "{body:#}");
    let body = app
        .gql(
            Some(&admin.token),
            create,
            json!({ "input": { "attributeKey": "tier", "displayName": "Tier", "displayType": "LIST" } }),
        )
        .await;
    assert_eq!(error_code(&body), "BAD_USER_INPUT", "{body:#}");
    assert_eq!(error_field(&body), "values");
    let body = app
        .gql(
            Some(&agent.token),
            create,
            json!({ "input": { "attributeKey": "mine", "displayName": "Mine", "displayType": "TEXT" } }),
        )
        .await;
    assert_eq!(error_code(&body), "FORBIDDEN", "{body:#}");

    let list = "query($model: AttributeModel) { customAttributeDefinitions(model: $model) { id attributeKey } }";
    let all = app.data(Some(&agent.token), list, json!({})).await;
    assert_eq!(
        all["customAttributeDefinitions"],
        json!([{ "id": plan_id, "attributeKey": "plan" }, { "id": priority_id, "attributeKey": "priority" }])
    );
    let contacts_only = app
        .data(
            Some(&agent.token),
            list,
            json!({ "model": "CONTACT_ATTRIBUTE" }),
        )
        .await;
    assert_eq!(
        contacts_only["customAttributeDefinitions"],
        json!([{ "id": plan_id, "attributeKey": "plan" }])
    );
    let theirs = app.data(Some(&other.token), list, json!({})).await;
    assert_eq!(theirs["customAttributeDefinitions"], json!([]));

    // Deleting: administrators of the account only.
    let delete = "mutation($id: ID!) { deleteCustomAttributeDefinition(id: $id) }";
    let body = app
        .gql(Some(&agent.token), delete, json!({ "id": plan_id }))
        .await;
    assert_eq!(error_code(&body), "FORBIDDEN", "{body:#}");
    let body = app
        .gql(Some(&other.token), delete, json!({ "id": plan_id }))
        .await;
    assert_eq!(error_code(&body), "NOT_FOUND", "{body:#}");
    let deleted = app
        .data(Some(&admin.token), delete, json!({ "id": plan_id }))
        .await;
    assert_eq!(deleted["deleteCustomAttributeDefinition"], plan_id);
    let body = app
        .gql(Some(&admin.token), delete, json!({ "id": plan_id }))
        .await;
    assert_eq!(error_code(&body), "NOT_FOUND", "{body:#}");
    let all = app.data(Some(&agent.token), list, json!({})).await;
    assert_eq!(
        all["customAttributeDefinitions"],
        json!([{ "id": priority_id, "attributeKey": "priority" }])
    );
}

// --- delete -------------------------------------------------------------------------------------

#[tokio::test]
async fn delete_contact_is_for_administrators_and_cascades() {
    let app = spawn_app().await;
    let admin = app.account("Acme").await;
    let agent = app.agent(&admin, "Agatha").await;
    let inbox = create_inbox(&app, &admin, "API", "api").await;
    let ann = create_contact(
        &app,
        &admin.token,
        json!({ "email": "ann@example.com", "inboxId": inbox, "sourceId": "ann-source" }),
    )
    .await;
    let bob = create_contact(&app, &admin.token, json!({ "email": "bob@example.com" })).await;
    set_labels(&app, &admin.token, &ann, &["vip"]).await;
    set_labels(&app, &admin.token, &bob, &["vip"]).await;
    let note = app
        .data(
            Some(&agent.token),
            "mutation($c: ID!) { createNote(contactId: $c, content: \"hello\") { id } }",
            json!({ "c": ann }),
        )
        .await["createNote"]["id"]
        .as_str()
        .unwrap()
        .to_owned();
    app.data(
        Some(&agent.token),
        "mutation($c: ID!) { createNote(contactId: $c, content: \"bob's\") { id } }",
        json!({ "c": bob }),
    )
    .await;

    let delete = "mutation($id: ID!) { deleteContact(id: $id) }";
    let body = app
        .gql(Some(&agent.token), delete, json!({ "id": ann }))
        .await;
    assert_eq!(error_code(&body), "FORBIDDEN", "{body:#}");
    assert!(
        !get_contact(&app, &admin.token, &ann).await.is_null(),
        "still there"
    );

    let deleted = app
        .data(Some(&admin.token), delete, json!({ "id": ann }))
        .await;
    assert_eq!(deleted["deleteContact"], ann);
    assert!(get_contact(&app, &admin.token, &ann).await.is_null());
    let body = app
        .gql(Some(&admin.token), delete, json!({ "id": ann }))
        .await;
    assert_eq!(error_code(&body), "NOT_FOUND", "{body:#}");

    // Its notes, contact inboxes and labels are gone; bob's stay.
    let contact_id: i64 = ann.parse().unwrap();
    let bob_id: i64 = bob.parse().unwrap();
    let notes = |id: i64| {
        note::Entity::find()
            .filter(note::Column::ContactId.eq(id))
            .count(&app.db)
    };
    let inboxes = |id: i64| {
        contact_inbox::Entity::find()
            .filter(contact_inbox::Column::ContactId.eq(id))
            .count(&app.db)
    };
    let labels = |id: i64| {
        contact_label::Entity::find()
            .filter(contact_label::Column::ContactId.eq(id))
            .count(&app.db)
    };
    assert_eq!(notes(contact_id).await.unwrap(), 0);
    assert_eq!(inboxes(contact_id).await.unwrap(), 0);
    assert_eq!(labels(contact_id).await.unwrap(), 0);
    assert_eq!(notes(bob_id).await.unwrap(), 1);
    assert_eq!(labels(bob_id).await.unwrap(), 1);
    let body = app
        .gql(
            Some(&agent.token),
            "mutation($id: ID!) { updateNote(id: $id, content: \"again\") { id } }",
            json!({ "id": note }),
        )
        .await;
    assert_eq!(error_code(&body), "NOT_FOUND", "{body:#}");
    // The source id is free again.
    app.data(
        Some(&agent.token),
        "mutation($c: ID!, $i: ID!) { createContactInbox(contactId: $c, inboxId: $i, sourceId: \"ann-source\") { id } }",
        json!({ "c": bob, "i": inbox }),
    )
    .await;
    let vip = list(&app, &admin.token, json!({ "labels": ["vip"] })).await;
    assert_eq!(ids(&vip), vec![bob]);
}

// --- account scoping ----------------------------------------------------------------------------

#[tokio::test]
async fn another_accounts_contacts_are_invisible_and_untouchable() {
    let app = spawn_app().await;
    let acme = app.account("Acme").await;
    let globex = app.account("Globex").await;
    let acme_agent = app.agent(&acme, "Agatha").await;
    let theirs = create_contact(
        &app,
        &globex.token,
        json!({ "name": "Zed", "email": "zed@globex.com", "identifier": "zed" }),
    )
    .await;
    let ours = create_contact(
        &app,
        &acme.token,
        json!({ "name": "Ann", "email": "ann@acme.com" }),
    )
    .await;
    let acme_inbox = create_inbox(&app, &acme, "API", "api").await;

    assert!(get_contact(&app, &acme.token, &theirs).await.is_null());
    assert!(get_contact(&app, &globex.token, &ours).await.is_null());
    assert!(!get_contact(&app, &globex.token, &theirs).await.is_null());

    let not_found: [(&str, Value); 8] = [
        (
            "mutation($id: ID!) { updateContact(id: $id, input: { name: \"Hacked\" }) { id } }",
            json!({ "id": theirs }),
        ),
        (
            "mutation($id: ID!) { deleteContact(id: $id) }",
            json!({ "id": theirs }),
        ),
        (
            "mutation($id: ID!) { createNote(contactId: $id, content: \"hi\") { id } }",
            json!({ "id": theirs }),
        ),
        (
            "mutation($id: ID!) { deleteContactCustomAttributes(id: $id, keys: [\"a\"]) { id } }",
            json!({ "id": theirs }),
        ),
        (
            "mutation($id: ID!) { deleteContactAvatar(id: $id) { id } }",
            json!({ "id": theirs }),
        ),
        (
            "mutation($id: ID!) { setContactLabels(id: $id, labels: [\"x\"]) { id } }",
            json!({ "id": theirs }),
        ),
        (
            "mutation($id: ID!) { addContactLabels(id: $id, labels: [\"x\"]) { id } }",
            json!({ "id": theirs }),
        ),
        (
            "mutation($id: ID!, $i: ID!) { createContactInbox(contactId: $id, inboxId: $i) { id } }",
            json!({ "id": theirs, "i": acme_inbox }),
        ),
    ];
    for (query, variables) in &not_found {
        // Agents may not delete contacts at all, so only the administrator asks for that one.
        let tokens = if query.contains("deleteContact(") {
            vec![&acme.token]
        } else {
            vec![&acme.token, &acme_agent.token]
        };
        for token in tokens {
            let body = app.gql(Some(token), query, variables.clone()).await;
            assert_eq!(error_code(&body), "NOT_FOUND", "{query}: {body:#}");
        }
    }
    // Unchanged.
    let read = get_contact(&app, &globex.token, &theirs).await;
    assert_eq!(read["name"], "Zed");
    assert_eq!(read["labels"], json!([]));
    let notes = app
        .data(
            Some(&globex.token),
            "query($id: ID!) { contact(id: $id) { notes { id } contactInboxes { id } } }",
            json!({ "id": theirs }),
        )
        .await;
    assert_eq!(
        notes["contact"],
        json!({ "notes": [], "contactInboxes": [] })
    );

    // Not listed, searched or filtered.
    assert_eq!(
        ids(&list(&app, &acme.token, json!({})).await),
        vec![ours.clone()]
    );
    assert_eq!(search(&app, &acme.token, "zed").await, Vec::<String>::new());
    assert_eq!(
        search(&app, &globex.token, "zed").await,
        vec![theirs.clone()]
    );
    let filter = "query($f: [ContactFilterCondition!]!) { filterContacts(filter: $f) { totalCount nodes { id } } }";
    let filtered = app
        .data(
            Some(&acme.token),
            filter,
            json!({ "f": [{ "attributeKey": "identifier", "filterOperator": "EQUAL_TO", "values": ["zed"] }] }),
        )
        .await;
    assert_eq!(
        filtered["filterContacts"],
        json!({ "totalCount": 0, "nodes": [] })
    );
    let filtered = app
        .data(
            Some(&globex.token),
            filter,
            json!({ "f": [{ "attributeKey": "identifier", "filterOperator": "EQUAL_TO", "values": ["zed"] }] }),
        )
        .await;
    assert_eq!(ids(&filtered["filterContacts"]), vec![theirs]);
}

#[tokio::test]
async fn malformed_ids_are_bad_input() {
    let app = spawn_app().await;
    let admin = app.account("Acme").await;
    for id in ["abc", "-1", "0"] {
        let body = app
            .gql(
                Some(&admin.token),
                "query($id: ID!) { contact(id: $id) { id } }",
                json!({ "id": id }),
            )
            .await;
        assert_eq!(error_code(&body), "BAD_USER_INPUT", "{id}: {body:#}");
        assert_eq!(error_field(&body), "id");
    }
    let missing = app
        .data(
            Some(&admin.token),
            "{ contact(id: \"424242\") { id } }",
            json!({}),
        )
        .await;
    assert!(missing["contact"].is_null());
}
