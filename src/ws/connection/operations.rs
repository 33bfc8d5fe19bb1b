//! A socket's operations: starting one (`subscribe`: the id, the cap, the access check, the
//! position cell behind `extensions.position`), forwarding its results, ending it, and the
//! held `pong` that waits until every earlier operation has started.

use std::{
    pin::Pin,
    sync::Arc,
    task::{Context, Poll},
};

use async_graphql::{Data, Executor as _, Request, ServerError};
use futures_util::{
    Stream, StreamExt,
    stream::{self, BoxStream, SelectAll},
};

use super::{Connection, Counted, Flow, Item, Operation, Operations, Output};
use crate::{
    auth::{
        access,
        viewer::{Auth, Viewer},
    },
    error::{AppError, code},
    realtime::gate::PositionCell,
    ws::protocol::{Protocol, close, refused_before_execution},
};

impl Connection {
    /// `subscribe`: checks the id and the cap, then starts the operation, which re-reads the
    /// viewer's access before it runs (refused: the socket closes with 4403).
    pub(super) async fn subscribe(
        &mut self,
        id: String,
        request: Request,
        operations: &mut Operations,
    ) -> Flow {
        let Some(session) = &self.session else {
            return Flow::Close(close::UNAUTHORIZED, "Unauthorized".into());
        };
        let viewer = session.viewer;
        if let Some(previous) = self.running.get(&id) {
            match self.protocol {
                Protocol::TransportWs => {
                    return Flow::Close(
                        close::SUBSCRIBER_EXISTS,
                        format!("Subscriber for {id} already exists"),
                    );
                }
                // subscriptions-transport-ws replaces the operation of that id.
                Protocol::Legacy => {
                    previous.abort.abort();
                    self.running.remove(&id);
                }
            }
        }
        if self.running.len() >= self.max_operations {
            let message = format!(
                "this socket already runs {} operations (MAX_SUBSCRIPTIONS_PER_SOCKET); \
                 complete one first",
                self.running.len()
            );
            let error = coded(message, code::TOO_MANY_SUBSCRIPTIONS);
            return self.send(self.protocol.error(&id, &[error])).await;
        }
        // Access is checked inside the operation's stream, which the loop polls with the
        // others: awaiting the database here would stall the socket's running operations,
        // which may hold the pool's connections this check waits for.
        let app = self.state.app.clone();
        let executor = self.state.executor.clone();
        let outputs = stream::once(async move {
            match access::current(&app, viewer).await {
                Ok(viewer) => {
                    let mut data = Data::default();
                    data.insert(Auth::Authenticated(viewer));
                    // The gate writes the position of each event it delivers; the response it
                    // becomes carries it as `extensions.position` (the executor resolves one
                    // event at a time, so the cell holds this response's event).
                    let position = PositionCell::default();
                    data.insert(position.clone());
                    let results = executor
                        .execute_stream(request, Some(Arc::new(data)))
                        .map(move |mut response| {
                            if let Some(position) = position.get() {
                                response.extensions.insert(
                                    "position".into(),
                                    async_graphql::Value::String(position),
                                );
                            }
                            Output::Next(Box::new(response))
                        })
                        .chain(stream::iter([Output::End]));
                    StartedOnFirstPoll::new(viewer, results.boxed()).boxed()
                }
                Err(AppError::Internal(err)) => {
                    tracing::error!(error = ?err, "access check failed");
                    stream::iter([Output::Unchecked]).boxed()
                }
                Err(err) => stream::iter([Output::Refused(err.message())]).boxed(),
            }
        })
        .flatten();
        let (outputs, abort) = stream::abortable(outputs);
        let key = self.next_key;
        self.next_key = self.next_key.wrapping_add(1);
        let tag: Arc<str> = Arc::from(id.as_str());
        let tagged = outputs
            .map(move |output| Item::Operation {
                key,
                id: tag.clone(),
                output,
            })
            .boxed();
        operations.get_or_insert_with(SelectAll::new).push(tagged);
        self.running.insert(
            id,
            Operation {
                key,
                abort,
                first: true,
                started: None,
            },
        );
        Flow::Continue
    }

    /// A result or the end of an operation (ignored when the client completed it already).
    pub(super) async fn on_item(&mut self, item: Item) -> Flow {
        let (key, id, output) = match item {
            Item::Operation { key, id, output } => (key, id, output),
            Item::Access(checked) => {
                self.checking = false;
                return self.checked(checked);
            }
        };
        let Some(operation) = self.running.get_mut(&*id).filter(|op| op.key == key) else {
            return Flow::Continue;
        };
        match output {
            Output::Started(viewer) => {
                operation.started =
                    Some(Counted::new(&self.state.app.metrics.websocket_operations));
                if let Some(session) = &mut self.session {
                    session.viewer = viewer;
                }
                Flow::Continue
            }
            Output::Next(response) => {
                let first = std::mem::replace(&mut operation.first, false);
                if first && let Some(errors) = refused_before_execution(&response) {
                    // Refused before it ran: `error` ends the operation, no `complete` follows.
                    let message = self.protocol.error(&id, errors);
                    self.stop(&id);
                    return self.send(message).await;
                }
                self.send(self.protocol.next(&id, &response)).await
            }
            Output::End => {
                self.running.remove(&*id);
                self.send(self.protocol.complete(&id)).await
            }
            // The close ends the socket's other operations too.
            Output::Refused(reason) => Flow::Close(close::FORBIDDEN, reason),
            Output::Unchecked => {
                self.stop(&id);
                let error = coded(
                    "access could not be checked; try again".into(),
                    code::INTERNAL_SERVER_ERROR,
                );
                self.send(self.protocol.error(&id, &[error])).await
            }
        }
    }

    /// Sends the held `pong` once every running operation has started (the ones that ended
    /// or failed are no longer running).
    pub(super) async fn release_pong(&mut self) -> Flow {
        if self.held_pong.is_none() || self.running.values().any(|op| op.started.is_none()) {
            return Flow::Continue;
        }
        match self.held_pong.take() {
            Some(payload) => self.send(self.protocol.pong(payload)).await,
            None => Flow::Continue,
        }
    }

    /// Forgets operation `id` and stops its stream.
    pub(super) fn stop(&mut self, id: &str) {
        if let Some(operation) = self.running.remove(id) {
            operation.abort.abort();
        }
    }
}

/// A GraphQL error with a code, for `error` messages.
pub(super) fn coded(message: String, error_code: &str) -> ServerError {
    let mut error = ServerError::new(message, None);
    error
        .extensions
        .get_or_insert_with(Default::default)
        .set("code", error_code);
    error
}

/// An operation's results, preceded by [`Output::Started`] once they have been polled once:
/// the first poll runs the resolver up to its first await, which for a subscription is after it
/// subscribed to the event bus. (Before the first poll nothing is subscribed yet.)
struct StartedOnFirstPoll {
    /// Until `Started` is sent.
    viewer: Option<Viewer>,
    results: BoxStream<'static, Output>,
    /// What the first poll produced, sent after `Started`.
    held: Option<Option<Output>>,
}

impl StartedOnFirstPoll {
    fn new(viewer: Viewer, results: BoxStream<'static, Output>) -> Self {
        Self {
            viewer: Some(viewer),
            results,
            held: None,
        }
    }
}

impl Stream for StartedOnFirstPoll {
    type Item = Output;

    fn poll_next(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Output>> {
        if let Some(held) = self.held.take() {
            return Poll::Ready(held);
        }
        let Some(viewer) = self.viewer.take() else {
            return self.results.poll_next_unpin(cx);
        };
        // Pending leaves the results' waker registered, so they are polled again when ready.
        if let Poll::Ready(first) = self.results.poll_next_unpin(cx) {
            self.held = Some(first);
        }
        Poll::Ready(Some(Output::Started(viewer)))
    }
}
