//! Conversations: a contact's threads of messages in one inbox — reads, creation, status,
//! assignment, labels, and the widget tokens contacts use to take part.

pub mod repo;
pub mod schema;
pub mod types;
pub mod write;

use crate::{
    events::{Event, EventPayload},
    state::AppState,
};

/// Publishes an event of the account. Call it only after the transaction has committed.
pub async fn publish(state: &AppState, account_id: i64, payload: EventPayload) {
    state
        .bus
        .publish(Event {
            account_id,
            payload,
        })
        .await;
}
