//! Login, tokens, roles and account scoping.

use base64::Engine;
use serde_json::json;

use crate::helpers::{error_code, spawn_app};

const ME: &str = "{ me { id email role availability accounts { id name role } } }";

#[tokio::test]
async fn login_gives_a_token_that_identifies_the_viewer() {
    let app = spawn_app().await;
    let admin = app.account("Acme").await;
    let data = app.data(Some(&admin.token), ME, json!({})).await;
    assert_eq!(data["me"]["id"], admin.user_id.to_string());
    assert_eq!(data["me"]["email"], admin.email);
    assert_eq!(data["me"]["role"], "ADMINISTRATOR");
    assert_eq!(data["me"]["availability"], "ONLINE");
    assert_eq!(
        data["me"]["accounts"],
        json!([{ "id": admin.account_id.to_string(), "name": "Acme", "role": "ADMINISTRATOR" }])
    );
}

#[tokio::test]
async fn login_refuses_wrong_passwords_and_unknown_users_alike() {
    let app = spawn_app().await;
    let admin = app.account("Acme").await;
    let query = "mutation($e: String!, $p: String!) { login(email: $e, password: $p) { token } }";
    let wrong = app
        .gql(
            None,
            query,
            json!({ "e": admin.email, "p": "wrong password" }),
        )
        .await;
    assert_eq!(error_code(&wrong), "UNAUTHENTICATED");
    let unknown = app
        .gql(
            None,
            query,
            json!({ "e": "nobody@example.com", "p": "wrong password" }),
        )
        .await;
    assert_eq!(error_code(&unknown), "UNAUTHENTICATED");
    assert_eq!(
        wrong["errors"][0]["message"],
        unknown["errors"][0]["message"]
    );
    // Email matching ignores case.
    let upper = app
        .gql(
            None,
            query,
            json!({ "e": admin.email.to_uppercase(), "p": admin.password }),
        )
        .await;
    assert!(upper["data"]["login"]["token"].is_string(), "{upper}");
}

#[tokio::test]
async fn everything_but_login_needs_a_token() {
    let app = spawn_app().await;
    for query in [
        "{ me { id } }",
        "{ agents { id } }",
        "{ inboxes { id } }",
        "mutation { createInbox(input: { name: \"Web\", channelType: \"web\" }) { id } }",
        "mutation { setAvailability(availability: BUSY) { id } }",
        "mutation { createAgent(input: { name: \"A\", email: \"a@example.com\", password: \"password1\" }) { id } }",
    ] {
        let body = app.gql(None, query, json!({})).await;
        assert_eq!(error_code(&body), "UNAUTHENTICATED", "{query}: {body}");
        assert!(body["data"].is_null(), "{query}: {body}");
    }
}

fn sign(claims: &serde_json::Value, secret: &[u8]) -> String {
    let header = jsonwebtoken::Header::new(jsonwebtoken::Algorithm::HS256);
    jsonwebtoken::encode(
        &header,
        &claims,
        &jsonwebtoken::EncodingKey::from_secret(secret),
    )
    .unwrap()
}

#[tokio::test]
async fn refuses_expired_tampered_foreign_unsigned_and_malformed_tokens() {
    let app = spawn_app().await;
    let admin = app.account("Acme").await;
    let now = chrono::Utc::now().timestamp();
    let claims = |exp: i64| json!({ "sub": format!("user:{}", admin.user_id), "account": admin.account_id, "role": "administrator", "iat": now, "exp": exp });
    let engine = base64::engine::general_purpose::URL_SAFE_NO_PAD;

    let expired = sign(&claims(now - 3600), b"test-secret");
    let wrong_key = sign(&claims(now + 3600), b"some-other-secret");
    let valid = sign(&claims(now + 3600), b"test-secret");
    let mut parts: Vec<String> = valid.split('.').map(str::to_owned).collect();
    parts[1] = engine.encode(
        claims(now + 3600)
            .to_string()
            .replace("administrator", "agent"),
    );
    let tampered = parts.join(".");
    let unsigned = format!(
        "{}.{}.",
        engine.encode(r#"{"alg":"none","typ":"JWT"}"#),
        engine.encode(claims(now + 3600).to_string())
    );

    // The valid token works, so the refusals below are about the token alone.
    assert!(
        app.gql(Some(&valid), "{ me { id } }", json!({}))
            .await
            .get("errors")
            .is_none()
    );
    for (name, token) in [
        ("expired", &expired),
        ("wrong key", &wrong_key),
        ("tampered", &tampered),
        ("alg none", &unsigned),
        ("garbage", &"abc".to_owned()),
    ] {
        let body = app.gql(Some(token), "{ me { id } }", json!({})).await;
        assert_eq!(error_code(&body), "UNAUTHENTICATED", "{name}: {body}");
    }
    let expired_body = app.gql(Some(&expired), "{ me { id } }", json!({})).await;
    assert!(
        expired_body["errors"][0]["message"]
            .as_str()
            .unwrap()
            .contains("expired")
    );

    let response = app
        .http
        .post(app.url("/graphql"))
        .header("Authorization", format!("Basic {valid}"))
        .json(&json!({ "query": "{ me { id } }" }))
        .send()
        .await
        .unwrap();
    let body: serde_json::Value = response.json().await.unwrap();
    assert_eq!(error_code(&body), "UNAUTHENTICATED");
}

#[tokio::test]
async fn agents_cannot_do_administrator_work() {
    let app = spawn_app().await;
    let admin = app.account("Acme").await;
    let agent = app.agent(&admin, "Agatha").await;
    let me = app
        .data(Some(&agent.token), "{ me { role } }", json!({}))
        .await;
    assert_eq!(me["me"]["role"], "AGENT");
    for query in [
        "mutation { createInbox(input: { name: \"Web\", channelType: \"web\" }) { id } }",
        "mutation { createAgent(input: { name: \"B\", email: \"b@example.com\", password: \"password1\" }) { id } }",
    ] {
        let body = app.gql(Some(&agent.token), query, json!({})).await;
        assert_eq!(error_code(&body), "FORBIDDEN", "{query}: {body}");
    }
    // Members can read the account.
    let agents = app
        .data(Some(&agent.token), "{ agents { id role } }", json!({}))
        .await;
    assert_eq!(agents["agents"].as_array().unwrap().len(), 2);
}

#[tokio::test]
async fn create_agent_validates_and_refuses_duplicates() {
    let app = spawn_app().await;
    let admin = app.account("Acme").await;
    let query =
        "mutation($input: CreateAgentInput!) { createAgent(input: $input) { id email role } }";
    let bad_email = app
        .gql(
            Some(&admin.token),
            query,
            json!({ "input": { "name": "A", "email": "not-an-email", "password": "password1" } }),
        )
        .await;
    assert_eq!(error_code(&bad_email), "BAD_USER_INPUT");
    assert_eq!(bad_email["errors"][0]["extensions"]["field"], "email");
    let short = app
        .gql(
            Some(&admin.token),
            query,
            json!({ "input": { "name": "A", "email": "a@example.com", "password": "short" } }),
        )
        .await;
    assert_eq!(short["errors"][0]["extensions"]["field"], "password");
    let created = app.data(Some(&admin.token), query, json!({ "input": { "name": "A", "email": " A@Example.com ", "password": "password1" } })).await;
    assert_eq!(created["createAgent"]["email"], "a@example.com");
    assert_eq!(created["createAgent"]["role"], "AGENT");
    let again = app
        .gql(
            Some(&admin.token),
            query,
            json!({ "input": { "name": "A", "email": "a@example.com", "password": "password1" } }),
        )
        .await;
    assert_eq!(error_code(&again), "CONFLICT");
}

#[tokio::test]
async fn every_read_is_scoped_to_the_viewers_account() {
    let app = spawn_app().await;
    let acme = app.account("Acme").await;
    let globex = app.account("Globex").await;
    let created = app
        .data(Some(&acme.token), "mutation { createInbox(input: { name: \"Acme web\", channelType: \"Web\" }) { id channelType } }", json!({}))
        .await;
    assert_eq!(created["createInbox"]["channelType"], "web");
    let inbox_id = created["createInbox"]["id"].as_str().unwrap().to_owned();

    let acme_inboxes = app
        .data(Some(&acme.token), "{ inboxes { id name } }", json!({}))
        .await;
    assert_eq!(acme_inboxes["inboxes"].as_array().unwrap().len(), 1);
    let globex_inboxes = app
        .data(Some(&globex.token), "{ inboxes { id } }", json!({}))
        .await;
    assert_eq!(globex_inboxes["inboxes"], json!([]));

    // Another account's record is simply absent, never FORBIDDEN.
    let query = "query($id: ID!) { inbox(id: $id) { id name } }";
    let own = app
        .data(Some(&acme.token), query, json!({ "id": inbox_id }))
        .await;
    assert_eq!(own["inbox"]["name"], "Acme web");
    let foreign = app
        .data(Some(&globex.token), query, json!({ "id": inbox_id }))
        .await;
    assert!(foreign["inbox"].is_null());

    let agents = app
        .data(Some(&globex.token), "{ agents { email } }", json!({}))
        .await;
    assert_eq!(agents["agents"], json!([{ "email": globex.email }]));

    // A token cannot be had for an account the user is not a member of.
    let login = app
        .gql(None, "mutation($e: String!, $p: String!, $a: ID) { login(email: $e, password: $p, accountId: $a) { token } }", json!({ "e": acme.email, "p": acme.password, "a": globex.account_id.to_string() }))
        .await;
    assert_eq!(error_code(&login), "UNAUTHENTICATED");
}

#[tokio::test]
async fn set_availability_changes_the_viewers_membership() {
    let app = spawn_app().await;
    let admin = app.account("Acme").await;
    let data = app
        .data(
            Some(&admin.token),
            "mutation { setAvailability(availability: BUSY) { availability } }",
            json!({}),
        )
        .await;
    assert_eq!(data["setAvailability"]["availability"], "BUSY");
    let me = app
        .data(Some(&admin.token), "{ me { availability } }", json!({}))
        .await;
    assert_eq!(me["me"]["availability"], "BUSY");
}

#[tokio::test]
async fn login_returns_the_logged_in_user_with_its_own_fields() {
    let app = spawn_app().await;
    let acme = app.account("Acme").await;
    let globex = app.account("Globex").await;
    // Acme's administrator is an agent of Globex too (invited, and accepted).
    app.data(
        Some(&globex.token),
        "mutation($input: CreateAgentInput!) { createAgent(input: $input) { id } }",
        json!({ "input": { "name": "Acme admin", "email": acme.email, "password": "ignored-password" } }),
    )
    .await;
    app.data(
        Some(&acme.token),
        "mutation($a: ID!) { acceptInvitation(accountId: $a) { id } }",
        json!({ "a": globex.account_id.to_string() }),
    )
    .await;
    let login = "mutation($e: String!, $p: String!, $a: ID) { login(email: $e, password: $p, accountId: $a) { token user { id name email role accounts { id name role } } } }";
    let variables =
        json!({ "e": acme.email, "p": acme.password, "a": acme.account_id.to_string() });
    let expected_accounts = json!([
        { "id": acme.account_id.to_string(), "name": "Acme", "role": "ADMINISTRATOR" },
        { "id": globex.account_id.to_string(), "name": "Globex", "role": "AGENT" },
    ]);

    // Anonymous, as a login is.
    let body = app.gql(None, login, variables.clone()).await;
    assert!(body.get("errors").is_none(), "{body}");
    let user = &body["data"]["login"]["user"];
    assert_eq!(user["id"], acme.user_id.to_string());
    assert!(user["name"].is_string(), "{body}");
    assert_eq!(user["email"], acme.email);
    assert_eq!(user["role"], "ADMINISTRATOR");
    assert_eq!(user["accounts"], expected_accounts);

    // The user that logged in is who reads them, whatever token the request carries: not the
    // holder of another user's token (who would see the shared account only).
    let body = app.gql(Some(&globex.token), login, variables).await;
    assert!(body.get("errors").is_none(), "{body}");
    assert_eq!(body["data"]["login"]["user"]["email"], acme.email);
    assert_eq!(body["data"]["login"]["user"]["accounts"], expected_accounts);

    // Other users' private fields stay closed to anonymous callers.
    for query in ["{ agents { email } }", "{ me { accounts { id } } }"] {
        let body = app.gql(None, query, json!({})).await;
        assert_eq!(error_code(&body), "UNAUTHENTICATED", "{query}: {body}");
    }
}
