//! The outbox: where an event waits when Redis cannot take it, so that nothing committed is
//! lost (docs/design.md §3, "Nothing committed is lost").
//!
//! The chosen shape is a spill, not a write on every mutation: while Redis answers, events go
//! straight from the publish queue to Redis (no database write on the hot path). The first
//! publish that fails or times out sends that event, and every later one of this instance, to
//! the `event_outbox` table, in order, until a drain finds the table empty. Draining runs under
//! a PostgreSQL advisory lock, one drainer at a time across instances, oldest row first, so the
//! events of one instance keep their order, and an instance that died with rows in the table
//! has them published by the others (each instance looks for rows now and then).
//!
//! What it does not cover: an event still in an instance's in-memory queue when that process
//! dies (a window of milliseconds while Redis answers), and a publish whose answer was lost
//! although Redis ran it (the event may then be published twice, at two positions).

use chrono::Utc;
use entity::event_outbox;
use sea_orm::{
    ActiveModelTrait, ActiveValue::Set, ColumnTrait, ConnectionTrait, DatabaseBackend,
    DatabaseConnection, DbErr, EntityTrait, QueryFilter, QueryOrder, QuerySelect, Statement,
    TransactionTrait,
};

use super::Event;

/// Rows published per drain transaction.
const DRAIN_BATCH: u64 = 100;
/// The advisory lock that makes one drainer at a time (an arbitrary constant: "sb-outbox").
const DRAIN_LOCK: i64 = 0x7362_2d6f_7574_626f;

/// The `event_outbox` table.
#[derive(Clone)]
pub struct Outbox {
    db: DatabaseConnection,
}

/// What a drain did.
#[derive(Debug, PartialEq, Eq)]
pub enum Drained {
    /// The table is empty: publish directly again.
    Empty,
    /// Rows remain (Redis failed again, or another instance holds the lock).
    Pending,
}

impl Outbox {
    pub fn new(db: DatabaseConnection) -> Self {
        Self { db }
    }

    /// Keeps an event for later.
    pub async fn push(&self, event: &Event) -> Result<(), DbErr> {
        let payload = serde_json::to_string(event)
            .map_err(|err| DbErr::Custom(format!("event serialisation failed: {err}")))?;
        event_outbox::ActiveModel {
            account_id: Set(event.account_id),
            payload: Set(payload),
            created_at: Set(Utc::now()),
            ..Default::default()
        }
        .insert(&self.db)
        .await?;
        Ok(())
    }

    /// Publishes the oldest rows with `publish` until one fails or the table is empty; the
    /// published rows are deleted in the same transaction.
    pub async fn drain<F, Fut>(&self, mut publish: F) -> Result<Drained, DbErr>
    where
        F: FnMut(Event) -> Fut,
        Fut: Future<Output = bool>,
    {
        loop {
            let txn = self.db.begin().await?;
            if txn.get_database_backend() == DatabaseBackend::Postgres {
                let locked = txn
                    .query_one_raw(Statement::from_sql_and_values(
                        DatabaseBackend::Postgres,
                        "SELECT pg_try_advisory_xact_lock($1) AS locked",
                        [DRAIN_LOCK.into()],
                    ))
                    .await?
                    .map(|row| row.try_get::<bool>("", "locked"))
                    .transpose()?
                    .unwrap_or(false);
                if !locked {
                    txn.commit().await?;
                    return Ok(Drained::Pending);
                }
            }
            let rows = event_outbox::Entity::find()
                .order_by_asc(event_outbox::Column::Id)
                .limit(DRAIN_BATCH)
                .all(&txn)
                .await?;
            if rows.is_empty() {
                txn.commit().await?;
                return Ok(Drained::Empty);
            }
            let full = rows.len() as u64 == DRAIN_BATCH;
            let mut published = Vec::with_capacity(rows.len());
            let mut failed = false;
            for row in rows {
                match serde_json::from_str::<Event>(&row.payload) {
                    Ok(event) => {
                        if !publish(event).await {
                            failed = true;
                            break;
                        }
                    }
                    // A row this version cannot read is dropped rather than block the rest.
                    Err(err) => {
                        tracing::error!(error = %err, id = row.id, "undecodable outbox row dropped");
                    }
                }
                published.push(row.id);
            }
            if !published.is_empty() {
                event_outbox::Entity::delete_many()
                    .filter(event_outbox::Column::Id.is_in(published))
                    .exec(&txn)
                    .await?;
            }
            txn.commit().await?;
            if failed {
                return Ok(Drained::Pending);
            }
            if !full {
                return Ok(Drained::Empty);
            }
        }
    }
}
