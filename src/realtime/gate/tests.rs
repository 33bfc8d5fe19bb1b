//! Unit tests of the gate: catching up from the history, falling behind beyond it, and
//! resuming after a position.

use entity::enums::Role;

use super::*;
use crate::{
    auth::viewer::UserViewer,
    config::Config,
    events::{ContactChange, Event, EventPayload, LOCAL_BUFFER},
};

async fn state(history_length: u32) -> (Arc<AppState>, tempfile::TempDir) {
    let dir = tempfile::tempdir().unwrap();
    let url = format!("sqlite://{}?mode=rwc", dir.path().join("t.db").display());
    let mut config = Config::for_tests(url, None, "gate".into());
    config.event_history_length = history_length;
    (AppState::build(config, true).await.unwrap(), dir)
}

const AGENT: Viewer = Viewer::User(UserViewer {
    user_id: 1,
    account_id: 1,
    role: Role::Agent,
});

async fn publish(state: &AppState, count: usize) {
    for id in 0..count {
        state
            .bus
            .publish(Event {
                account_id: 1,
                payload: EventPayload::ContactChanged {
                    kind: ContactChange::Created,
                    contact_id: id as i64,
                },
            })
            .await;
    }
}

fn contact_id(delivery: &Delivery) -> i64 {
    match delivery.event.payload {
        EventPayload::ContactChanged { contact_id, .. } => contact_id,
        _ => -1,
    }
}

/// More events than the bus buffers arrive while the subscriber does not read: it catches
/// up from the history, every event once and in order.
#[tokio::test]
async fn a_subscriber_that_falls_behind_catches_up_from_the_history() {
    let (state, _dir) = state(5000).await;
    let gate = open(&state, AGENT, None, PositionCell::default())
        .await
        .unwrap();
    let count = LOCAL_BUFFER + 100;
    publish(&state, count).await;
    let got: Vec<i64> = gate
        .into_stream()
        .take(count)
        .map(|delivery| contact_id(&delivery.unwrap()))
        .collect()
        .await;
    assert_eq!(got, (0..count as i64).collect::<Vec<_>>());
    assert_eq!(state.metrics.subscriber_catch_ups.get(), 1);
}

/// Falling behind further than the history keeps ends the feed with HISTORY_EXPIRED,
/// never a silent skip.
#[tokio::test]
async fn falling_behind_beyond_the_history_is_an_error_not_a_skip() {
    let (state, _dir) = state(100).await;
    let gate = open(&state, AGENT, None, PositionCell::default())
        .await
        .unwrap();
    publish(&state, LOCAL_BUFFER + 100).await;
    let first = Box::pin(gate.into_stream()).next().await.unwrap();
    assert!(matches!(first, Err(AppError::HistoryExpired)), "{first:?}");
}

/// Events published between `open` and the first read are neither lost nor repeated, and
/// the cell follows the deliveries.
#[tokio::test]
async fn resuming_after_a_position_replays_then_goes_live() {
    let (state, _dir) = state(5000).await;
    publish(&state, 3).await;
    let start = state.bus.head(1).await.unwrap().at(1);
    let cell = PositionCell::default();
    let gate = open(&state, AGENT, Some(&start.to_string()), cell.clone())
        .await
        .unwrap();
    publish(&state, 2).await;
    let mut stream = Box::pin(gate.into_stream());
    let mut got = Vec::new();
    for _ in 0..4 {
        got.push(contact_id(&stream.next().await.unwrap().unwrap()));
    }
    // Offsets 2 and 3 from the history (contact ids 1, 2), then 4 and 5 live (0, 1).
    assert_eq!(got, [1, 2, 0, 1]);
    assert_eq!(cell.get(), Some(start.at(5).to_string()));
}
