//! A socket's timers and access checks: the init deadline and then the token's expiry, the
//! periodic tick (presence heartbeat, ping, the safety re-check of access), and the outcome of a
//! re-check.

use std::pin::Pin;

use axum::extract::ws::Message;
use chrono::Utc;
use futures_util::{
    StreamExt,
    stream::{self, SelectAll},
};
use tokio::time::Sleep;

use super::{Connection, Flow, Item, Operations, PING_EVERY, RECHECK_EVERY, instant_of};
use crate::{
    auth::{access, viewer::Viewer},
    error::AppError,
    presence,
    ws::protocol::close,
};

impl Connection {
    /// The timer: the init deadline before the ack, the token's expiry after.
    pub(super) fn on_deadline(&mut self, deadline: Pin<&mut Sleep>) -> Flow {
        match &self.session {
            None => Flow::Close(
                close::INIT_TIMEOUT,
                "Connection initialisation timeout".into(),
            ),
            Some(session) if Utc::now().timestamp() >= session.expires => {
                Flow::Close(close::FORBIDDEN, "the access token has expired".into())
            }
            Some(session) => {
                deadline.reset(instant_of(session.expires));
                Flow::Continue
            }
        }
    }

    /// Starts a re-read of the viewer's access, polled with the operations (see
    /// [`Connection::subscribe`] for why not awaited here); [`Connection::checked`] acts on it.
    pub(super) fn recheck(&mut self, operations: &mut Operations) {
        let Some(session) = &self.session else {
            return;
        };
        if std::mem::replace(&mut self.checking, true) {
            return;
        }
        let app = self.state.app.clone();
        let viewer = session.viewer;
        // From the database, not the cache: the event that woke this socket may arrive here
        // before the access cache's own listener has dropped the entry it invalidates.
        let check = stream::once(async move { Item::Access(access::fresh(&app, viewer).await) });
        operations
            .get_or_insert_with(SelectAll::new)
            .push(check.boxed());
    }

    /// The outcome of a re-check: access gone closes the socket, a changed role applies to
    /// the next operations, a failed check (database down) keeps the socket.
    pub(super) fn checked(&mut self, checked: Result<Viewer, AppError>) -> Flow {
        match checked {
            Ok(viewer) => {
                if let Some(session) = &mut self.session {
                    session.viewer = viewer;
                }
                Flow::Continue
            }
            Err(AppError::Internal(err)) => {
                tracing::warn!(error = ?err, "websocket access re-check failed; keeping the socket");
                Flow::Continue
            }
            Err(err) => Flow::Close(close::FORBIDDEN, err.message()),
        }
    }

    /// The periodic timer: heartbeat, ping (and legacy `ka`), and the safety re-check.
    pub(super) async fn on_tick(&mut self, ticks: u32, operations: &mut Operations) -> Flow {
        if let Some(session) = &self.session {
            presence::connect(&self.state.app, session.viewer, &session.presence_id).await;
        }
        if ticks.is_multiple_of(RECHECK_EVERY) {
            self.recheck(operations);
        }
        if !ticks.is_multiple_of(PING_EVERY) {
            return Flow::Continue;
        }
        if self.session.is_some()
            && let Some(ka) = self.protocol.keep_alive()
            && let flow @ (Flow::Close(..) | Flow::Stop) = self.send(ka).await
        {
            return flow;
        }
        self.write(Message::Ping(Default::default())).await
    }
}
