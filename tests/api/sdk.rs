//! The typed SDK check: the committed `schema.graphql` generates a working typed Rust client.
//!
//! `graphql_client` reads the schema and the operations in `tests/sdk/*.graphql` at compile time,
//! so an operation that no longer validates against the committed contract fails the build, and a
//! response that no longer fits the generated types fails deserialisation here. The tests then
//! use only the generated types against a live server: log in, create contacts (one with JSON
//! attributes), filter them, and read typed errors.

use std::collections::HashMap;

use graphql_client::{GraphQLQuery, Response};
use serde_json::{Value, json};

use crate::helpers::{TestApp, spawn_app};

// The schema's custom scalars the operations use, under their `normalization = "rust"` names
// (`ID` is built in, as `String`).
type Json = Value;
type DateTime = chrono::DateTime<chrono::Utc>;

#[derive(GraphQLQuery)]
#[graphql(
    schema_path = "schema.graphql",
    query_path = "tests/sdk/login.graphql",
    response_derives = "Debug, PartialEq",
    normalization = "rust"
)]
struct Login;

#[derive(GraphQLQuery)]
#[graphql(
    schema_path = "schema.graphql",
    query_path = "tests/sdk/create_contact.graphql",
    response_derives = "Debug, PartialEq",
    variables_derives = "Default",
    skip_serializing_none,
    normalization = "rust"
)]
struct CreateContact;

#[derive(GraphQLQuery)]
#[graphql(
    schema_path = "schema.graphql",
    query_path = "tests/sdk/filter_contacts.graphql",
    response_derives = "Debug, PartialEq",
    skip_serializing_none,
    normalization = "rust"
)]
struct FilterContacts;

use create_contact::{ContactType, CreateContactInput};
use filter_contacts::{ContactFilterCondition, FilterOperator, QueryOperator};

/// Posts a typed operation (the generated `QueryBody`) and reads the typed response.
async fn send<Q: GraphQLQuery>(
    app: &TestApp,
    token: Option<&str>,
    variables: Q::Variables,
) -> Response<Q::ResponseData> {
    let mut request = app
        .http
        .post(app.url("/graphql"))
        .json(&Q::build_query(variables));
    if let Some(token) = token {
        request = request.bearer_auth(token);
    }
    let response = request.send().await.expect("request sent");
    assert_eq!(response.status(), 200);
    let body = response.text().await.expect("body");
    serde_json::from_str(&body)
        .unwrap_or_else(|e| panic!("the body does not fit the generated types ({e}): {body}"))
}

/// The data of a response that must have succeeded.
fn data<T: std::fmt::Debug>(response: Response<T>) -> T {
    assert!(
        response.errors.is_none(),
        "unexpected errors: {response:#?}"
    );
    response.data.expect("data")
}

/// The extensions of the only error of a response that must have failed as a whole.
fn refused<T: std::fmt::Debug>(response: Response<T>) -> HashMap<String, Value> {
    assert!(
        response.data.is_none(),
        "no data on a refusal: {response:#?}"
    );
    let mut errors = response.errors.unwrap_or_default();
    assert_eq!(errors.len(), 1, "{errors:#?}");
    errors.remove(0).extensions.expect("extensions")
}

/// `createContact` through the typed client, which must succeed.
async fn create(
    app: &TestApp,
    token: &str,
    input: CreateContactInput,
) -> create_contact::CreateContactCreateContact {
    let variables = create_contact::Variables { input };
    data(send::<CreateContact>(app, Some(token), variables).await).create_contact
}

/// A condition on a standard key, joined to the next one by `query_operator`.
fn condition(
    key: &str,
    operator: FilterOperator,
    value: &str,
    query_operator: Option<QueryOperator>,
) -> ContactFilterCondition {
    ContactFilterCondition {
        attribute_key: key.to_owned(),
        filter_operator: operator,
        query_operator,
        values: vec![json!(value)],
    }
}

/// `filterContacts` through the typed client: the matching contacts' ids and names, by name.
async fn filter(
    app: &TestApp,
    token: &str,
    filter: Vec<ContactFilterCondition>,
) -> Vec<(String, Option<String>)> {
    let variables = filter_contacts::Variables { filter };
    let connection =
        data(send::<FilterContacts>(app, Some(token), variables).await).filter_contacts;
    assert_eq!(connection.total_count, connection.nodes.len() as i64);
    connection
        .nodes
        .into_iter()
        .map(|node| (node.id, node.name))
        .collect()
}

#[tokio::test]
async fn typed_client_logs_in_creates_and_filters_contacts() {
    let app = spawn_app().await;
    let session = app.account("Acme").await;

    // Log in: the token comes from the typed response.
    let variables = login::Variables {
        email: session.email.clone(),
        password: session.password.clone(),
    };
    let login = data(send::<Login>(&app, None, variables).await).login;
    assert_eq!(login.user.id, session.user_id.to_string());
    assert_eq!(login.user.email, session.email);
    assert_eq!(login.user.role, login::Role::Administrator);
    let token = login.token.as_str();

    // A contact with JSON attributes: they come back as sent, and the derived fields agree.
    let additional = json!({ "company_name": "Acme Corp", "city": "Berlin", "country": "Germany", "country_code": "de" });
    let custom = json!({ "plan": "pro", "seats": 3, "flags": { "beta": true } });
    let before = chrono::Utc::now() - chrono::Duration::seconds(5);
    let ann = create(
        &app,
        token,
        CreateContactInput {
            name: Some("Ann Lee".into()),
            email: Some(" Ann@Acme.IO ".into()),
            additional_attributes: Some(additional.clone()),
            custom_attributes: Some(custom.clone()),
            ..Default::default()
        },
    )
    .await;
    assert_eq!(ann.additional_attributes, additional);
    assert_eq!(ann.custom_attributes, custom);
    assert_eq!(ann.email.as_deref(), Some("ann@acme.io"));
    assert_eq!(ann.contact_type, ContactType::Lead);
    assert_eq!(ann.location.as_deref(), Some("Berlin, Germany"));
    assert_eq!(ann.country_code.as_deref(), Some("DE"));
    assert!(ann.created_at > before, "{ann:#?}");

    let bob = create(
        &app,
        token,
        CreateContactInput {
            name: Some("Bob Stone".into()),
            email: Some("bob@globex.com".into()),
            additional_attributes: Some(json!({ "company_name": "Globex", "city": "London" })),
            ..Default::default()
        },
    )
    .await;
    let cy = create(
        &app,
        token,
        CreateContactInput {
            name: Some("Cy".into()),
            phone_number: Some("+14155550101".into()),
            contact_type: Some(ContactType::Customer),
            additional_attributes: Some(json!({ "city": "berlin" })),
            ..Default::default()
        },
    )
    .await;
    assert_eq!(cy.contact_type, ContactType::Customer);

    // One condition: the two Berliners, whatever the case, and not Bob.
    let berliners = filter(
        &app,
        token,
        vec![condition("city", FilterOperator::EqualTo, "BERLIN", None)],
    )
    .await;
    assert_eq!(
        berliners,
        [
            (ann.id.clone(), ann.name.clone()),
            (cy.id.clone(), cy.name.clone())
        ]
    );

    // OR then AND (AND binds tighter): Globex, or a Berliner whose email contains "acme".
    let conditions = vec![
        condition(
            "company",
            FilterOperator::EqualTo,
            "globex",
            Some(QueryOperator::Or),
        ),
        condition(
            "city",
            FilterOperator::EqualTo,
            "berlin",
            Some(QueryOperator::And),
        ),
        condition("email", FilterOperator::Contains, "acme", None),
    ];
    let matched = filter(&app, token, conditions).await;
    assert_eq!(matched, [(ann.id, ann.name), (bob.id, bob.name)]);
}

#[tokio::test]
async fn typed_client_reads_errors_without_data() {
    let app = spawn_app().await;
    let session = app.account("Acme").await;
    let token = session.token.as_str();
    let ann = || CreateContactInput {
        name: Some("Ann Lee".into()),
        email: Some("ann@acme.io".into()),
        ..Default::default()
    };
    create(&app, token, ann()).await;

    // The same email again (any case): CONFLICT on `email`, and no data.
    let duplicate = CreateContactInput {
        email: Some("ANN@acme.io".into()),
        ..ann()
    };
    let variables = create_contact::Variables { input: duplicate };
    let extensions = refused(send::<CreateContact>(&app, Some(token), variables).await);
    assert_eq!(extensions["code"], "CONFLICT", "{extensions:?}");
    assert_eq!(extensions["field"], "email", "{extensions:?}");

    // An operator the key does not allow: BAD_USER_INPUT naming the condition, and no data.
    let conditions = vec![
        condition("email", FilterOperator::Contains, "acme", None),
        condition("created_at", FilterOperator::StartsWith, "2024", None),
    ];
    let variables = filter_contacts::Variables { filter: conditions };
    let extensions = refused(send::<FilterContacts>(&app, Some(token), variables).await);
    assert_eq!(extensions["code"], "BAD_USER_INPUT", "{extensions:?}");
    assert_eq!(extensions["conditionIndex"], 1, "{extensions:?}");
    assert_eq!(extensions["attributeKey"], "created_at", "{extensions:?}");
}
