//! Database connections (SQLite file or PostgreSQL) and migrations.

use std::time::Duration;

use migrations::{Migrator, sea_orm_migration::MigratorTrait};
use sea_orm::{
    ColumnTrait, ConnectOptions, ConnectionTrait, Database, DatabaseBackend, DatabaseConnection,
    DbErr, EntityTrait, PrimaryKeyTrait, QueryFilter, Statement,
    sqlx::sqlite::{SqliteJournalMode, SqliteSynchronous},
};

/// The advisory lock key taken around migrations on PostgreSQL ("SWTCHBRD" as ASCII).
const MIGRATION_LOCK_KEY: i64 = 0x5357_5443_4842_5244;

/// Opens the connection pool.
///
/// SQLite gets WAL (readers never block the writer), a busy timeout instead of immediate
/// `SQLITE_BUSY`, and foreign keys. sea-orm would force a single SQLite connection when the pool
/// size is unset, which deadlocks a resolver that reads while a transaction holds it, so the size
/// is always explicit.
pub async fn connect(url: &str, pool_size: u32) -> anyhow::Result<DatabaseConnection> {
    let mut options = ConnectOptions::new(url.to_owned());
    options
        .max_connections(pool_size.max(2))
        .min_connections(1)
        .connect_timeout(Duration::from_secs(10))
        .acquire_timeout(Duration::from_secs(10))
        .sqlx_logging(false)
        .map_sqlx_sqlite_opts(|opts| {
            opts.journal_mode(SqliteJournalMode::Wal)
                .synchronous(SqliteSynchronous::Normal)
                .busy_timeout(Duration::from_secs(10))
                .foreign_keys(true)
        });
    Ok(Database::connect(options).await?)
}

/// Applies pending migrations. On PostgreSQL a session advisory lock is held on a dedicated
/// connection for the duration, so instances starting together migrate one after another.
pub async fn migrate(url: &str) -> anyhow::Result<()> {
    let mut options = ConnectOptions::new(url.to_owned());
    options
        .max_connections(1)
        .min_connections(1)
        .sqlx_logging(false);
    let conn = Database::connect(options).await?;
    let postgres = conn.get_database_backend() == DatabaseBackend::Postgres;
    if postgres {
        conn.execute_raw(Statement::from_string(
            DatabaseBackend::Postgres,
            format!("SELECT pg_advisory_lock({MIGRATION_LOCK_KEY})"),
        ))
        .await?;
    }
    let result = Migrator::up(&conn, None).await;
    if postgres {
        conn.execute_raw(Statement::from_string(
            DatabaseBackend::Postgres,
            format!("SELECT pg_advisory_unlock({MIGRATION_LOCK_KEY})"),
        ))
        .await?;
    }
    conn.close().await?;
    result?;
    Ok(())
}

/// Whether the database answers.
pub async fn is_ready(db: &DatabaseConnection) -> bool {
    db.ping().await.is_ok()
}

/// Row `id` of the entity of `account`, its account column, if that row belongs to the account:
/// the domains' by-id reads, so that a record of another account is never found (it is
/// NOT_FOUND, docs/design.md §2).
pub async fn find_in_account<C>(
    db: &impl ConnectionTrait,
    account: C,
    account_id: i64,
    id: i64,
) -> Result<Option<<C::EntityName as EntityTrait>::Model>, DbErr>
where
    C: ColumnTrait,
    C::EntityName: EntityTrait,
    i64: Into<<<C::EntityName as EntityTrait>::PrimaryKey as PrimaryKeyTrait>::ValueType>,
{
    <C::EntityName as EntityTrait>::find_by_id(id)
        .filter(account.eq(account_id))
        .one(db)
        .await
}
