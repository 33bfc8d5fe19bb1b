//! The commands besides `serve`: `migrate`, `create-account`, `token`, `export-schema`.

use std::io::Write;

use crate::{
    auth::{
        jwt::JwtKeys,
        repo::{self, NewUser},
        viewer::UserViewer,
    },
    config::{Config, CreateAccountArgs, TokenArgs},
    db,
    error::AppError,
    graphql,
};

fn print_line(line: &str) -> anyhow::Result<()> {
    let mut out = std::io::stdout().lock();
    writeln!(out, "{line}")?;
    Ok(())
}

fn describe(err: AppError) -> anyhow::Error {
    match err {
        // The CLI is the only owner of an error it reports: unwrap the shared cause.
        AppError::Internal(err) => {
            std::sync::Arc::try_unwrap(err).unwrap_or_else(|shared| anyhow::anyhow!("{shared:#}"))
        }
        other => anyhow::anyhow!(other.message()),
    }
}

/// `switchboard migrate`.
pub async fn migrate(config: &Config) -> anyhow::Result<()> {
    db::migrate(&config.database_url()).await?;
    tracing::info!("migrations applied");
    Ok(())
}

/// `switchboard create-account`: prints the new account's id.
pub async fn create_account(config: &Config, args: &CreateAccountArgs) -> anyhow::Result<()> {
    let url = config.database_url();
    db::migrate(&url).await?;
    let conn = db::connect(&url, 2).await?;
    let default_name = args
        .admin_email
        .split('@')
        .next()
        .unwrap_or(&args.admin_email)
        .to_owned();
    let admin = NewUser {
        name: args.admin_name.as_deref().unwrap_or(&default_name),
        email: &args.admin_email,
        password: &args.admin_password,
        role: entity::enums::Role::Administrator,
    };
    let (account, user) = repo::create_account(&conn, &args.name, admin)
        .await
        .map_err(describe)?;
    tracing::info!(
        account_id = account.id,
        user_id = user.id,
        "account created"
    );
    print_line(&account.id.to_string())
}

/// `switchboard token`: prints a token for the user.
pub async fn token(config: &Config, args: &TokenArgs) -> anyhow::Result<()> {
    let conn = db::connect(&config.database_url(), 2).await?;
    let user = repo::user_by_email(&conn, &args.email)
        .await
        .map_err(describe)?
        .ok_or_else(|| anyhow::anyhow!("no user with email {}", args.email))?;
    let membership = match args.account {
        Some(account_id) => repo::membership(&conn, user.id, account_id)
            .await
            .map_err(describe)?,
        None => repo::memberships(&conn, user.id)
            .await
            .map_err(describe)?
            .into_iter()
            .next()
            .map(|(_, m)| m),
    }
    .ok_or_else(|| anyhow::anyhow!("{} is not a member of that account", args.email))?;
    let (secret, _) = config.jwt_secret();
    let keys = JwtKeys::new(secret.as_bytes(), config.token_ttl_secs);
    let viewer = UserViewer {
        user_id: user.id,
        account_id: membership.account_id,
        role: membership.role,
    };
    print_line(&keys.issue_user(&viewer)?)
}

/// `switchboard export-schema`.
pub fn export_schema() -> anyhow::Result<()> {
    let mut out = std::io::stdout().lock();
    out.write_all(graphql::sdl().as_bytes())?;
    Ok(())
}
