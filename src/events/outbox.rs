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
//! Each row keeps the event's publish id (given before its first attempt, `events/redis.rs`), so
//! an event whose first publish ran although its answer never came, or a row published again
//! because deleting it failed, keeps the one position it was given (`events/scripts.rs`).
//!
//! What it does not cover: an event still in an instance's in-memory queue when that process
//! dies (a window of milliseconds while Redis answers).

use chrono::Utc;
use entity::event_outbox;
use sea_orm::{
    ActiveModelTrait, ActiveValue::Set, ColumnTrait, ConnectionTrait, DatabaseBackend,
    DatabaseConnection, DbErr, EntityTrait, QueryFilter, QueryOrder, QuerySelect, Statement,
    TransactionTrait,
};

use serde::{Deserialize, Serialize};

use super::Event;

/// An outbox row's payload: the event and its publish id.
#[derive(Serialize, Deserialize)]
struct Row {
    /// Absent in rows written before publish ids existed; those use the row's id.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    publish_id: Option<String>,
    #[serde(flatten)]
    event: Event,
}

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

    /// Keeps an event, and the publish id it was first tried with, for later.
    pub async fn push(&self, event: Event, publish_id: String) -> Result<(), DbErr> {
        let account_id = event.account_id;
        let payload = serde_json::to_string(&Row {
            publish_id: Some(publish_id),
            event,
        })
        .map_err(|err| DbErr::Custom(format!("event serialisation failed: {err}")))?;
        event_outbox::ActiveModel {
            account_id: Set(account_id),
            payload: Set(payload),
            created_at: Set(Utc::now()),
            ..Default::default()
        }
        .insert(&self.db)
        .await?;
        Ok(())
    }

    /// Publishes the oldest rows with `publish` (the event and its publish id) until one fails
    /// or the table is empty; the published rows are deleted in the same transaction.
    pub async fn drain<F, Fut>(&self, mut publish: F) -> Result<Drained, DbErr>
    where
        F: FnMut(Event, String) -> Fut,
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
                match serde_json::from_str::<Row>(&row.payload) {
                    Ok(Row { publish_id, event }) => {
                        let publish_id = publish_id.unwrap_or_else(|| format!("outbox-{}", row.id));
                        if !publish(event, publish_id).await {
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

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::{Event, Row};
    use crate::events::{ContactChange, EventPayload};

    fn event() -> Event {
        Event {
            account_id: 7,
            payload: EventPayload::ContactChanged {
                kind: ContactChange::Updated,
                contact_id: 3,
            },
        }
    }

    #[test]
    fn rows_keep_the_publish_id_beside_the_event() {
        let json = serde_json::to_string(&Row {
            publish_id: Some("ab-1".into()),
            event: event(),
        })
        .unwrap();
        let row: Row = serde_json::from_str(&json).unwrap();
        assert_eq!(row.publish_id.as_deref(), Some("ab-1"));
        assert_eq!(row.event, event());
    }

    #[test]
    fn rows_written_before_publish_ids_still_decode() {
        let row: Row = serde_json::from_str(&serde_json::to_string(&event()).unwrap()).unwrap();
        assert_eq!(row.publish_id, None);
        assert_eq!(row.event, event());
    }
}
