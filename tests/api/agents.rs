//! Managing members (`updateAgent`, `removeAgent`), access that ends when membership does, and
//! invitations of existing users (`createAgent` with their e-mail, `invitations`,
//! `acceptInvitation`).

use std::{
    sync::atomic::{AtomicUsize, Ordering},
    time::{Duration, Instant},
};

use serde_json::{Value, json};

use crate::helpers::{
    Session, TestApp, error_code, require_redis, spawn_app, spawn_app_configured, spawn_sibling,
};

const UPDATE: &str = "mutation($id: ID!, $input: UpdateAgentInput!) { \
    updateAgent(id: $id, input: $input) { id name role availability } }";
const REMOVE: &str = "mutation($id: ID!) { removeAgent(id: $id) }";
const CREATE_AGENT: &str = "mutation($input: CreateAgentInput!) { \
    createAgent(input: $input) { id name email role accounts { id } } }";
const CREATE_CONTACT: &str =
    "mutation($input: CreateContactInput!) { createContact(input: $input) { id } }";
const DELETE_CONTACT: &str = "mutation($id: ID!) { deleteContact(id: $id) }";
const EXPORT: &str = "mutation { exportContacts { id url } }";
const INVITATIONS: &str = "{ invitations { account { id name } role } }";
const ACCEPT: &str = "mutation($a: ID!) { acceptInvitation(accountId: $a) { id name role } }";
const LOGIN: &str = "mutation($e: String!, $p: String!, $a: ID) { \
    login(email: $e, password: $p, accountId: $a) { token user { id name role } } }";

/// A cache TTL far longer than any test, so that only invalidation explains a refusal.
const LONG_TTL_MS: u64 = 600_000;

/// A second administrator of `admin`'s account, logged in.
async fn second_admin(app: &TestApp, admin: &Session) -> Session {
    let agent = app.agent(admin, "Second").await;
    app.data(
        Some(&admin.token),
        UPDATE,
        json!({ "id": agent.user_id.to_string(), "input": { "role": "ADMINISTRATOR" } }),
    )
    .await;
    agent
}

fn id(user: &Session) -> Value {
    json!({ "id": user.user_id.to_string() })
}

/// The error code of each administrator operation done with `token`, or "ok".
async fn admin_operations(app: &TestApp, token: &str) -> Vec<String> {
    static CONTACTS: AtomicUsize = AtomicUsize::new(0);
    let n = CONTACTS.fetch_add(1, Ordering::Relaxed);
    let mut outcomes = Vec::new();
    let created = app
        .gql(
            Some(token),
            CREATE_CONTACT,
            json!({ "input": { "name": "Ann", "email": format!("ann-{n}@example.com") } }),
        )
        .await;
    let outcome = |body: &Value| match body.get("errors") {
        None => "ok".to_owned(),
        Some(_) => error_code(body),
    };
    outcomes.push(outcome(&created));
    let export = app.gql(Some(token), EXPORT, json!({})).await;
    outcomes.push(outcome(&export));
    outcomes
}

#[tokio::test]
async fn a_removed_members_token_stops_working_at_once() {
    let app = spawn_app_configured(|config| config.access_cache_ttl_ms = LONG_TTL_MS).await;
    let admin = app.account("Acme").await;
    let other = second_admin(&app, &admin).await;
    let contact = app
        .data(
            Some(&admin.token),
            CREATE_CONTACT,
            json!({ "input": { "name": "Bo", "email": "bo@example.com" } }),
        )
        .await["createContact"]["id"]
        .clone();
    // Everything works while they are a member (and fills the access cache).
    assert_eq!(admin_operations(&app, &other.token).await, ["ok", "ok"]);
    let export = app.data(Some(&other.token), EXPORT, json!({})).await;
    let url = export["exportContacts"]["url"].as_str().unwrap().to_owned();

    let removed = app.data(Some(&admin.token), REMOVE, id(&other)).await;
    assert_eq!(removed["removeAgent"], other.user_id.to_string());

    let codes = admin_operations(&app, &other.token).await;
    assert_eq!(codes, ["UNAUTHENTICATED", "UNAUTHENTICATED"]);
    let delete = app
        .gql(Some(&other.token), DELETE_CONTACT, json!({ "id": contact }))
        .await;
    assert_eq!(error_code(&delete), "UNAUTHENTICATED", "{delete}");
    let me = app
        .gql(Some(&other.token), "{ me { id } }", json!({}))
        .await;
    assert_eq!(error_code(&me), "UNAUTHENTICATED");
    let download = app
        .http
        .get(app.url(&url))
        .bearer_auth(&other.token)
        .send()
        .await
        .unwrap();
    assert_eq!(download.status(), 401);

    // They are gone from the account, and cannot log in to it any more.
    let agents = app
        .data(Some(&admin.token), "{ agents { id } }", json!({}))
        .await;
    assert_eq!(
        agents["agents"],
        json!([{ "id": admin.user_id.to_string() }])
    );
    let login = app
        .gql(
            None,
            LOGIN,
            json!({ "e": other.email, "p": other.password, "a": admin.account_id.to_string() }),
        )
        .await;
    assert_eq!(error_code(&login), "UNAUTHENTICATED");
    // Removing them again: they are not a member.
    let again = app.gql(Some(&admin.token), REMOVE, id(&other)).await;
    assert_eq!(error_code(&again), "NOT_FOUND");
}

#[tokio::test]
async fn a_demoted_administrator_loses_administrator_operations_at_once() {
    let app = spawn_app_configured(|config| config.access_cache_ttl_ms = LONG_TTL_MS).await;
    let admin = app.account("Acme").await;
    let other = second_admin(&app, &admin).await;
    let me = app
        .data(Some(&other.token), "{ me { role } }", json!({}))
        .await;
    assert_eq!(me["me"]["role"], "ADMINISTRATOR");
    assert_eq!(admin_operations(&app, &other.token).await, ["ok", "ok"]);

    let demoted = app
        .data(
            Some(&admin.token),
            UPDATE,
            json!({ "id": other.user_id.to_string(), "input": { "role": "AGENT" } }),
        )
        .await;
    assert_eq!(demoted["updateAgent"]["role"], "AGENT");

    // Still a member (members' work goes on), no longer an administrator.
    assert_eq!(
        admin_operations(&app, &other.token).await,
        ["ok", "FORBIDDEN"]
    );
    let me = app
        .data(Some(&other.token), "{ me { role } }", json!({}))
        .await;
    assert_eq!(me["me"]["role"], "AGENT");
    let promote = app
        .gql(
            Some(&other.token),
            UPDATE,
            json!({ "id": other.user_id.to_string(), "input": { "role": "ADMINISTRATOR" } }),
        )
        .await;
    assert_eq!(error_code(&promote), "FORBIDDEN");
}

#[tokio::test]
#[ignore = "needs REDIS_URL (instances share events through Redis): run in the PostgreSQL + Redis pass with --include-ignored"]
async fn revocation_reaches_every_instance_within_a_second() {
    require_redis();
    let a = spawn_app_configured(|config| config.access_cache_ttl_ms = LONG_TTL_MS).await;
    let b = spawn_sibling(&a).await;
    let admin = a.account("Acme").await;
    let other = second_admin(&a, &admin).await;
    // Instance B caches their membership. (`agents` trusts the access check alone; `me`
    // would read the membership again by itself.)
    b.data(Some(&other.token), "{ agents { id } }", json!({}))
        .await;

    a.data(Some(&admin.token), REMOVE, id(&other)).await;
    let removed_at = Instant::now();
    loop {
        let body = b
            .gql(Some(&other.token), "{ agents { id } }", json!({}))
            .await;
        if body.get("errors").is_some() {
            assert_eq!(error_code(&body), "UNAUTHENTICATED");
            break;
        }
        assert!(
            removed_at.elapsed() < Duration::from_secs(1),
            "instance B still accepts the removed member's token"
        );
        tokio::task::yield_now().await;
    }
}

#[tokio::test]
async fn the_last_administrator_can_be_neither_demoted_nor_removed() {
    let app = spawn_app().await;
    let admin = app.account("Acme").await;
    let demote = app
        .gql(
            Some(&admin.token),
            UPDATE,
            json!({ "id": admin.user_id.to_string(), "input": { "role": "AGENT" } }),
        )
        .await;
    assert_eq!(error_code(&demote), "CONFLICT", "{demote}");
    assert_eq!(demote["errors"][0]["extensions"]["field"], "role");
    let remove = app.gql(Some(&admin.token), REMOVE, id(&admin)).await;
    assert_eq!(error_code(&remove), "CONFLICT", "{remove}");
    let me = app
        .data(Some(&admin.token), "{ me { role } }", json!({}))
        .await;
    assert_eq!(me["me"]["role"], "ADMINISTRATOR");

    // With a second administrator, one may step down or leave.
    let other = second_admin(&app, &admin).await;
    let left = app.data(Some(&other.token), REMOVE, id(&other)).await;
    assert_eq!(left["removeAgent"], other.user_id.to_string());
    let me = app
        .gql(Some(&other.token), "{ me { id } }", json!({}))
        .await;
    assert_eq!(error_code(&me), "UNAUTHENTICATED");

    // Agents may not manage members; other accounts' users are not found.
    let agent = app.agent(&admin, "Agatha").await;
    let forbidden = app.gql(Some(&agent.token), REMOVE, id(&admin)).await;
    assert_eq!(error_code(&forbidden), "FORBIDDEN");
    let globex = app.account("Globex").await;
    for (query, variables) in [
        (REMOVE, id(&globex)),
        (
            UPDATE,
            json!({ "id": globex.user_id.to_string(), "input": { "name": "Hacked" } }),
        ),
    ] {
        let body = app.gql(Some(&admin.token), query, variables).await;
        assert_eq!(error_code(&body), "NOT_FOUND", "{body}");
    }
    let bad_id = app
        .gql(Some(&admin.token), REMOVE, json!({ "id": "abc" }))
        .await;
    assert_eq!(error_code(&bad_id), "BAD_USER_INPUT");
    assert_eq!(bad_id["errors"][0]["extensions"]["field"], "id");
}

#[tokio::test]
async fn two_administrators_demoting_each_other_at_once_leave_one() {
    let app = spawn_app().await;
    let first = app.account("Acme").await;
    let second = second_admin(&app, &first).await;
    for round in 0..4 {
        let variables = |whom: &Session| json!({ "id": whom.user_id.to_string(), "input": { "role": "AGENT" } });
        let (a, b) = tokio::join!(
            app.gql(Some(&first.token), UPDATE, variables(&second)),
            app.gql(Some(&second.token), UPDATE, variables(&first)),
        );
        let outcomes = [&a, &b].map(|body| match body.get("errors") {
            None => "ok".to_owned(),
            Some(_) => error_code(body),
        });
        // One wins; the other either finds the winner to be the last administrator, or (when
        // it started after the winner committed) is no longer an administrator itself.
        let mut sorted = outcomes.clone();
        sorted.sort();
        assert!(
            sorted == ["CONFLICT", "ok"] || sorted == ["FORBIDDEN", "ok"],
            "round {round}: {a} {b}"
        );
        let agents = app
            .data(Some(&first.token), "{ agents { role } }", json!({}))
            .await;
        let admins = agents["agents"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|user| user["role"] == "ADMINISTRATOR")
            .count();
        assert_eq!(admins, 1, "round {round}");
        // Whoever is left promotes the other again for the next round.
        let (left, demoted) = if outcomes[0] == "ok" {
            (&first, &second)
        } else {
            (&second, &first)
        };
        app.data(
            Some(&left.token),
            UPDATE,
            json!({ "id": demoted.user_id.to_string(), "input": { "role": "ADMINISTRATOR" } }),
        )
        .await;
    }
}

#[tokio::test]
async fn update_agent_changes_name_and_availability() {
    let app = spawn_app().await;
    let admin = app.account("Acme").await;
    let agent = app.agent(&admin, "Agatha").await;
    let updated = app
        .data(
            Some(&admin.token),
            UPDATE,
            json!({ "id": agent.user_id.to_string(), "input": { "name": " Agatha C. ", "availability": "BUSY" } }),
        )
        .await;
    assert_eq!(
        updated["updateAgent"],
        json!({ "id": agent.user_id.to_string(), "name": "Agatha C.", "role": "AGENT", "availability": "BUSY" })
    );
    let me = app
        .data(
            Some(&agent.token),
            "{ me { name availability } }",
            json!({}),
        )
        .await;
    assert_eq!(
        me["me"],
        json!({ "name": "Agatha C.", "availability": "BUSY" })
    );
    let empty = app
        .gql(
            Some(&admin.token),
            UPDATE,
            json!({ "id": agent.user_id.to_string(), "input": { "name": "  " } }),
        )
        .await;
    assert_eq!(error_code(&empty), "BAD_USER_INPUT");
    assert_eq!(empty["errors"][0]["extensions"]["field"], "name");
}

/// A user of Globex, created there with a name and password Acme's administrator does not know.
async fn globex_user(app: &TestApp) -> (Session, String) {
    let globex = app.account("Globex").await;
    let email = "gloria@globex.test";
    let password = "gloria's own password";
    let data = app
        .data(
            Some(&globex.token),
            CREATE_AGENT,
            json!({ "input": { "name": "Gloria Secret", "email": email, "password": password } }),
        )
        .await;
    let user_id = data["createAgent"]["id"].as_str().unwrap().parse().unwrap();
    let token = app.login(email, password).await;
    let gloria = Session {
        account_id: globex.account_id,
        user_id,
        email: email.to_owned(),
        password: password.to_owned(),
        token,
    };
    (gloria, globex.token)
}

#[tokio::test]
async fn create_agent_with_another_accounts_email_reveals_nothing_and_grants_nothing() {
    let app = spawn_app().await;
    let acme = app.account("Acme").await;
    let (gloria, _) = globex_user(&app).await;

    let body = app
        .data(
            Some(&acme.token),
            CREATE_AGENT,
            json!({ "input": { "name": "Whoever", "email": " GLORIA@globex.test", "password": "attacker password", "role": "ADMINISTRATOR" } }),
        )
        .await;
    let user = &body["createAgent"];
    // Only what the caller supplied, and an id that is no user's.
    assert_eq!(user["name"], "Whoever");
    assert_eq!(user["email"], "gloria@globex.test");
    assert_eq!(user["role"], "ADMINISTRATOR");
    assert_eq!(user["accounts"], json!([]));
    let opaque = user["id"].as_str().unwrap();
    assert_ne!(opaque, gloria.user_id.to_string());
    assert!(opaque.parse::<i64>().is_err(), "{opaque}");
    assert!(!body.to_string().contains("Gloria Secret"), "{body}");

    // She is not a member of Acme: not listed, no token for it, and no access with the
    // password the administrator chose (which did not replace hers).
    let agents = app
        .data(Some(&acme.token), "{ agents { id name } }", json!({}))
        .await;
    assert_eq!(agents["agents"].as_array().unwrap().len(), 1, "{agents}");
    let acme_id = acme.account_id.to_string();
    let into_acme = app
        .gql(
            None,
            LOGIN,
            json!({ "e": gloria.email, "p": gloria.password, "a": acme_id }),
        )
        .await;
    assert_eq!(error_code(&into_acme), "UNAUTHENTICATED");
    let attackers = app
        .gql(
            None,
            LOGIN,
            json!({ "e": gloria.email, "p": "attacker password" }),
        )
        .await;
    assert_eq!(error_code(&attackers), "UNAUTHENTICATED");
    app.login(&gloria.email, &gloria.password).await;

    // The opaque id manages no one.
    let update = app
        .gql(
            Some(&acme.token),
            UPDATE,
            json!({ "id": opaque, "input": { "name": "x" } }),
        )
        .await;
    assert_eq!(error_code(&update), "BAD_USER_INPUT");
}

#[tokio::test]
async fn an_invited_user_sees_accepts_and_logs_in() {
    let app = spawn_app().await;
    let acme = app.account("Acme").await;
    let (gloria, globex_token) = globex_user(&app).await;
    let invite = json!({ "input": { "name": "Gloria", "email": gloria.email, "password": "whatever password" } });
    let first = app
        .data(Some(&acme.token), CREATE_AGENT, invite.clone())
        .await;
    // Inviting again is harmless and answers the same.
    let second = app
        .data(Some(&acme.token), CREATE_AGENT, invite.clone())
        .await;
    assert_eq!(first, second);

    let acme_id = acme.account_id.to_string();
    let invitations = app.data(Some(&gloria.token), INVITATIONS, json!({})).await;
    assert_eq!(
        invitations["invitations"],
        json!([{ "account": { "id": acme_id, "name": "Acme" }, "role": "AGENT" }])
    );
    // Nobody else can see or accept it.
    let stranger = app.account("Initech").await;
    let theirs = app
        .data(Some(&stranger.token), INVITATIONS, json!({}))
        .await;
    assert_eq!(theirs["invitations"], json!([]));
    let stolen = app
        .gql(Some(&stranger.token), ACCEPT, json!({ "a": acme_id }))
        .await;
    assert_eq!(error_code(&stolen), "NOT_FOUND");
    let anonymous = app.gql(None, ACCEPT, json!({ "a": acme_id })).await;
    assert_eq!(error_code(&anonymous), "UNAUTHENTICATED");

    let accepted = app
        .data(Some(&gloria.token), ACCEPT, json!({ "a": acme_id }))
        .await;
    assert_eq!(
        accepted["acceptInvitation"],
        json!({ "id": acme_id, "name": "Acme", "role": "AGENT" })
    );
    let invitations = app.data(Some(&gloria.token), INVITATIONS, json!({})).await;
    assert_eq!(invitations["invitations"], json!([]));
    let again = app
        .gql(Some(&gloria.token), ACCEPT, json!({ "a": acme_id }))
        .await;
    assert_eq!(error_code(&again), "NOT_FOUND");

    // Her own password, unchanged, now opens Acme; her name is still her own.
    let login = app
        .data(
            None,
            LOGIN,
            json!({ "e": gloria.email, "p": gloria.password, "a": acme_id }),
        )
        .await;
    assert_eq!(login["login"]["user"]["role"], "AGENT");
    assert_eq!(login["login"]["user"]["name"], "Gloria Secret");
    let token = login["login"]["token"].as_str().unwrap();
    let me = app
        .data(Some(token), "{ me { accounts { name } } }", json!({}))
        .await;
    assert_eq!(
        me["me"]["accounts"],
        json!([{ "name": "Globex" }, { "name": "Acme" }])
    );
    let agents = app
        .data(Some(&acme.token), "{ agents { id } }", json!({}))
        .await;
    assert_eq!(agents["agents"].as_array().unwrap().len(), 2);
    // A member passed again is a conflict, as before.
    let member = app.gql(Some(&acme.token), CREATE_AGENT, invite).await;
    assert_eq!(error_code(&member), "CONFLICT");
    // Her Globex token still works for Globex.
    let globex_agents = app
        .data(Some(&globex_token), "{ agents { id } }", json!({}))
        .await;
    assert_eq!(globex_agents["agents"].as_array().unwrap().len(), 2);
}
