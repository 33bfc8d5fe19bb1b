//! One websocket connection: a single task whose select loop reads the client, forwards the
//! results of its operations, and runs its timers (init deadline then token expiry, heartbeat,
//! ping, access re-check) — no task or timer of its own per operation, so an idle socket stays
//! cheap.
//!
//! Messages are handled in order, and a `ping` is answered only once every earlier
//! `subscribe` of the socket has started: its stream polled once, which subscribes it to the
//! event bus (every subscription resolver subscribes before its first await; see
//! `realtime::gate`). Reading stops while a `pong` waits, so a client (or a test) that
//! gets its `pong` knows that no event published from then on passes its subscriptions by.
//!
//! Access is re-read (`auth::access::current`) when the socket starts an operation, when the
//! registry says it changed, and every [`RECHECK_EVERY`] ticks in case an event was lost; the
//! socket closes with 4403 once it is gone, and its token's expiry closes it the same way.
//!
//! Writes are awaited in the loop: a client that does not read holds up its own socket (its
//! operations are not polled meanwhile, so events wait in the bus's bounded buffer, and a
//! subscriber that falls too far behind skips them), never a growing queue; a write still
//! blocked after `WS_SEND_TIMEOUT_SECS` drops the socket.

use std::{
    collections::HashMap,
    pin::Pin,
    sync::Arc,
    task::{Context, Poll},
    time::Duration,
};

use async_graphql::{Data, Executor as _, Request, Response, ServerError};
use axum::extract::ws::{CloseFrame, Message, WebSocket};
use chrono::Utc;
use futures_util::{
    SinkExt, Stream, StreamExt,
    stream::{self, AbortHandle, BoxStream, SelectAll, SplitSink},
};
use prometheus_client::metrics::gauge::Gauge;
use serde_json::Value;
use tokio::time::{Instant, Sleep};

use super::{
    auth::authenticate_init,
    protocol::{ClientMessage, Invalid, Protocol, close, reason, refused_before_execution},
    registry::Registration,
};
use crate::{
    auth::{
        access,
        viewer::{Auth, Viewer},
    },
    error::{AppError, code},
    http::HttpState,
    presence,
    realtime::gate::PositionCell,
};

/// How often the socket's one timer fires: a presence heartbeat each time (the store's
/// [`presence::store::HEARTBEAT`]), a websocket ping every [`PING_EVERY`] ticks.
const TICK: Duration = presence::store::HEARTBEAT;
/// Ticks between pings: every 32 s, so proxies with the common 60 s idle timeout keep the
/// socket open.
const PING_EVERY: u32 = 4;
/// Ticks between re-reads of the socket's access, in case the event that should have woken it
/// was lost (Redis down, the listener behind): every 32 s.
const RECHECK_EVERY: u32 = 4;
/// The longest the expiry timer sleeps at once (tokio's timer wheel spans about two years, and
/// a token may claim any `exp`): past it, the timer just looks again.
const LONGEST_SLEEP: Duration = Duration::from_secs(24 * 3600);

/// What to do after handling something.
enum Flow {
    Continue,
    /// Close with a code and reason.
    Close(u16, String),
    /// The client is gone (or stuck): end without a close frame.
    Stop,
}

/// What the socket's background work produced.
enum Item {
    /// Operation `id` (its run `key`) produced this.
    Operation {
        key: u64,
        id: Arc<str>,
        output: Output,
    },
    /// A re-check of the socket's access finished.
    Access(Result<Viewer, AppError>),
}

/// The life of one operation: its access check, then its results.
enum Output {
    /// Access checked and the operation's stream polled once (subscribed to the bus): it runs
    /// as this viewer.
    Started(Viewer),
    Next(Box<Response>),
    End,
    /// The viewer has no access any more.
    Refused(String),
    /// Access could not be checked (the database failed); the operation did not start.
    Unchecked,
}

/// A running operation, by its client id.
struct Operation {
    /// Tells this run apart from a later one reusing the id.
    key: u64,
    abort: AbortHandle,
    /// No result sent yet: a refusal before execution becomes an `error` message.
    first: bool,
    /// Counted in the `websocket_operations` gauge once started (see [`Output::Started`]).
    started: Option<Counted>,
}

/// One unit of a gauge, given back when dropped (however the operation ends, or its socket).
struct Counted(Gauge);

impl Counted {
    fn new(gauge: &Gauge) -> Self {
        gauge.inc();
        Self(gauge.clone())
    }
}

impl Drop for Counted {
    fn drop(&mut self) {
        self.0.dec();
    }
}

/// What an acknowledged connection knows about its viewer.
struct Session {
    /// As of the last access check (a lowered role applies to the next operations).
    viewer: Viewer,
    /// The token's `exp` (Unix seconds).
    expires: i64,
    /// This connection's id in the presence store.
    presence_id: String,
    registration: Registration,
}

struct Connection {
    state: HttpState,
    protocol: Protocol,
    sink: SplitSink<WebSocket, Message>,
    send_timeout: Duration,
    max_operations: usize,
    running: HashMap<String, Operation>,
    next_key: u64,
    session: Option<Session>,
    /// A re-check of access is running (never two at once).
    checking: bool,
    /// The payload of a `ping` whose `pong` waits for earlier operations to start; the
    /// client's messages are not read meanwhile.
    held_pong: Option<Option<Value>>,
}

/// The streams of a socket's operations, created with the first (an idle socket has none).
type Operations = Option<SelectAll<BoxStream<'static, Item>>>;

/// Serves one upgraded socket until it closes.
pub(super) async fn serve(socket: WebSocket, state: HttpState, protocol: Protocol) {
    let metrics = state.app.metrics.clone();
    metrics.websocket_connections.inc();
    let shutdown = state.app.shutdown.clone();
    let config = &state.app.config;
    let init_timeout = Duration::from_secs(config.ws_init_timeout_secs);
    let (sink, mut input) = socket.split();
    let mut conn = Connection {
        send_timeout: Duration::from_secs(config.ws_send_timeout_secs.max(1)),
        max_operations: config.max_subscriptions_per_socket,
        state,
        protocol,
        sink,
        running: HashMap::new(),
        next_key: 0,
        session: None,
        checking: false,
        held_pong: None,
    };
    let mut operations: Operations = None;
    // The init deadline until acknowledged, then the token's expiry: one timer for both.
    let deadline = tokio::time::sleep(init_timeout);
    tokio::pin!(deadline);
    let mut timer = tokio::time::interval_at(Instant::now() + TICK, TICK);
    timer.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    let mut ticks: u32 = 0;

    loop {
        let flow = tokio::select! {
            message = input.next(), if conn.held_pong.is_none() => {
                conn.on_frame(message, &mut operations, deadline.as_mut()).await
            }
            item = next_item(&mut operations), if operations.is_some() => match item {
                Some(item) => conn.on_item(item).await,
                None => {
                    operations = None;
                    Flow::Continue
                }
            },
            () = &mut deadline => conn.on_deadline(deadline.as_mut()),
            () = changed(conn.session.as_ref()), if conn.session.is_some() => {
                conn.recheck(&mut operations);
                Flow::Continue
            }
            _ = timer.tick() => {
                ticks = ticks.wrapping_add(1);
                conn.on_tick(ticks, &mut operations).await
            }
            () = shutdown.cancelled() => Flow::Close(close::GOING_AWAY, "server shutting down".into()),
        };
        let flow = match flow {
            Flow::Continue => conn.release_pong().await,
            other => other,
        };
        match flow {
            Flow::Continue => {}
            Flow::Close(code, text) => {
                conn.close(code, &text).await;
                break;
            }
            Flow::Stop => break,
        }
    }
    // The operations end with the socket (their streams are dropped with `operations`).
    drop(operations);
    if let Some(session) = conn.session.take() {
        presence::disconnect(&conn.state.app, session.viewer, &session.presence_id).await;
    }
    metrics.websocket_connections.dec();
}

async fn next_item(operations: &mut Operations) -> Option<Item> {
    match operations {
        Some(streams) => streams.next().await,
        None => std::future::pending().await,
    }
}

async fn changed(session: Option<&Session>) {
    match session {
        Some(session) => session.registration.changed().await,
        None => std::future::pending().await,
    }
}

/// The instant of a Unix time, at most [`LONGEST_SLEEP`] away.
fn instant_of(unix_secs: i64) -> Instant {
    let secs = unix_secs.saturating_sub(Utc::now().timestamp());
    let wait = Duration::from_secs(u64::try_from(secs).unwrap_or(0)).min(LONGEST_SLEEP);
    Instant::now() + wait
}

impl Connection {
    /// A frame from the client.
    async fn on_frame(
        &mut self,
        frame: Option<Result<Message, axum::Error>>,
        operations: &mut Operations,
        deadline: Pin<&mut Sleep>,
    ) -> Flow {
        let bytes = match frame {
            Some(Ok(Message::Text(text))) => text.as_bytes().to_vec(),
            Some(Ok(Message::Binary(bytes))) => bytes.to_vec(),
            // tungstenite answers pings and a close itself; the next read sends a queued
            // close reply and then ends the stream (stopping here would leave the client a
            // 1006 instead of its clean close).
            Some(Ok(Message::Ping(_) | Message::Pong(_) | Message::Close(_))) => {
                return Flow::Continue;
            }
            Some(Err(_)) | None => return Flow::Stop,
        };
        let message = match self.protocol.parse(&bytes) {
            Ok(message) => message,
            Err(invalid) => return self.on_invalid(invalid).await,
        };
        match message {
            ClientMessage::ConnectionInit { payload } => self.init(&payload, deadline).await,
            ClientMessage::Ping { payload } => {
                self.held_pong = Some(payload);
                self.release_pong().await
            }
            ClientMessage::Pong => Flow::Continue,
            ClientMessage::Subscribe { id, request } => {
                self.subscribe(id, *request, operations).await
            }
            ClientMessage::Complete { id } => {
                if let Some(operation) = self.running.remove(&id) {
                    operation.abort.abort();
                    // The legacy protocol confirms a `stop`; graphql-transport-ws sends nothing
                    // after the client's `complete`.
                    if self.protocol == Protocol::Legacy {
                        return self.send(self.protocol.complete(&id)).await;
                    }
                }
                Flow::Continue
            }
            ClientMessage::Terminate => Flow::Close(close::NORMAL, String::new()),
        }
    }

    /// A message the protocol does not allow: graphql-transport-ws closes with 4400, the legacy
    /// protocol answers an `error` and carries on (as `subscriptions-transport-ws` does).
    async fn on_invalid(&mut self, invalid: Invalid) -> Flow {
        match self.protocol {
            Protocol::TransportWs => Flow::Close(close::BAD_REQUEST, invalid.reason),
            Protocol::Legacy => {
                let message = serde_json::json!({
                    "type": "error",
                    "id": invalid.id,
                    "payload": {
                        "message": invalid.reason,
                        "extensions": { "code": code::BAD_REQUEST },
                    },
                });
                self.send(message.to_string()).await
            }
        }
    }

    /// `connection_init`: authenticate, acknowledge, start presence and expiry.
    async fn init(&mut self, payload: &Value, deadline: Pin<&mut Sleep>) -> Flow {
        if self.session.is_some() {
            return self
                .refuse(
                    close::TOO_MANY_INITIALISATIONS,
                    "Too many initialisation requests",
                )
                .await;
        }
        let app = self.state.app.clone();
        let (auth, expires) = authenticate_init(&app, payload);
        let viewer = match access::resolve(&app, auth).await {
            Auth::Authenticated(viewer) => viewer,
            Auth::Refused(reason) => return self.refuse(close::FORBIDDEN, &reason).await,
            Auth::Anonymous => {
                return self
                    .refuse(
                        close::FORBIDDEN,
                        "connection_init must carry a token: {\"authorization\": \"Bearer <token>\"}",
                    )
                    .await;
            }
        };
        // Registered before the ack, so a change made once the client knows it is in wakes it.
        let max = app.config.max_sockets_per_user;
        let Some(registration) = app.sockets.register(viewer, max) else {
            let why = format!(
                "Too many connections: this user already holds {max} on this server \
                 (MAX_SOCKETS_PER_USER)"
            );
            return self.refuse(close::TOO_MANY_INITIALISATIONS, &why).await;
        };
        if let flow @ (Flow::Close(..) | Flow::Stop) = self.send(self.protocol.ack()).await {
            return flow;
        }
        let presence_id = format!("{:016x}", rand::random::<u64>());
        presence::connect(&app, viewer, &presence_id).await;
        deadline.reset(instant_of(expires));
        self.session = Some(Session {
            viewer,
            expires,
            presence_id,
            registration,
        });
        Flow::Continue
    }

    /// Closes a connection it cannot accept; the legacy protocol says why first.
    async fn refuse(&mut self, code: u16, why: &str) -> Flow {
        if let Some(message) = self.protocol.connection_error(why)
            && let flow @ (Flow::Close(..) | Flow::Stop) = self.send(message).await
        {
            return flow;
        }
        Flow::Close(code, why.to_owned())
    }

    /// `subscribe`: checks the id and the cap, then starts the operation, which re-reads the
    /// viewer's access before it runs (refused: the socket closes with 4403).
    async fn subscribe(
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
    async fn on_item(&mut self, item: Item) -> Flow {
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
    async fn release_pong(&mut self) -> Flow {
        if self.held_pong.is_none() || self.running.values().any(|op| op.started.is_none()) {
            return Flow::Continue;
        }
        match self.held_pong.take() {
            Some(payload) => self.send(self.protocol.pong(payload)).await,
            None => Flow::Continue,
        }
    }

    /// Forgets operation `id` and stops its stream.
    fn stop(&mut self, id: &str) {
        if let Some(operation) = self.running.remove(id) {
            operation.abort.abort();
        }
    }

    /// The timer: the init deadline before the ack, the token's expiry after.
    fn on_deadline(&mut self, deadline: Pin<&mut Sleep>) -> Flow {
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
    fn recheck(&mut self, operations: &mut Operations) {
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
    fn checked(&mut self, checked: Result<Viewer, AppError>) -> Flow {
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
    async fn on_tick(&mut self, ticks: u32, operations: &mut Operations) -> Flow {
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

    async fn send(&mut self, text: String) -> Flow {
        self.write(Message::Text(text.into())).await
    }

    /// Writes a frame, waiting at most the send timeout for a client that does not read.
    async fn write(&mut self, message: Message) -> Flow {
        match tokio::time::timeout(self.send_timeout, self.sink.send(message)).await {
            Ok(Ok(())) => Flow::Continue,
            Ok(Err(_)) => Flow::Stop,
            Err(_) => {
                tracing::info!("websocket client stopped reading; dropping the socket");
                Flow::Stop
            }
        }
    }

    async fn close(&mut self, code: u16, text: &str) {
        let frame = CloseFrame {
            code,
            reason: reason(text).into(),
        };
        let _ = self.write(Message::Close(Some(frame))).await;
    }
}

/// A GraphQL error with a code, for `error` messages.
fn coded(message: String, error_code: &str) -> ServerError {
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
