//! The command line: create-account, token, export-schema, migrate.

use std::process::Command;

use serde_json::json;

use crate::helpers::spawn_app;

fn switchboard(app: &crate::helpers::TestApp, args: &[&str]) -> String {
    let output = Command::new(env!("CARGO_BIN_EXE_switchboard"))
        .args(args)
        .env("DATABASE_URL", app.config.database_url())
        .env("JWT_SECRET", "test-secret")
        .env_remove("REDIS_URL")
        .env("RUST_LOG", "warn")
        .output()
        .expect("run switchboard");
    assert!(
        output.status.success(),
        "switchboard {args:?} failed: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    String::from_utf8(output.stdout).expect("utf-8 stdout")
}

#[tokio::test]
async fn create_account_then_token_then_query() {
    let app = spawn_app().await;
    let id = switchboard(
        &app,
        &[
            "create-account",
            "--name",
            "Initech",
            "--admin-email",
            "Boss@Initech.com",
            "--admin-password",
            "tps reports",
        ],
    );
    let account_id: i64 = id.trim().parse().expect("prints the account id");
    let token = switchboard(&app, &["token", "--email", "boss@initech.com"])
        .trim()
        .to_owned();
    let me = app
        .data(
            Some(&token),
            "{ me { email role accounts { id name } } }",
            json!({}),
        )
        .await;
    assert_eq!(me["me"]["email"], "boss@initech.com");
    assert_eq!(me["me"]["role"], "ADMINISTRATOR");
    assert_eq!(me["me"]["accounts"][0]["id"], account_id.to_string());
    // The password works for login as well.
    app.login("boss@initech.com", "tps reports").await;
    switchboard(&app, &["migrate"]);
}

#[test]
fn export_schema_prints_the_sdl() {
    let output = Command::new(env!("CARGO_BIN_EXE_switchboard"))
        .arg("export-schema")
        .output()
        .expect("run");
    assert!(output.status.success());
    assert_eq!(
        String::from_utf8(output.stdout).unwrap(),
        switchboard::graphql::sdl()
    );
}
