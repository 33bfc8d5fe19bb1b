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
//! subscriber that falls too far behind catches up from the history), never a growing queue; a
//! write still blocked after `WS_SEND_TIMEOUT_SECS` drops the socket.
//!
//! Operations live in `connection/operations.rs`, the timers and access checks in
//! `connection/timers.rs`.

mod operations;
mod timers;

use std::{collections::HashMap, pin::Pin, sync::Arc, time::Duration};

use async_graphql::Response;
use axum::extract::ws::{CloseFrame, Message, WebSocket};
use chrono::Utc;
use futures_util::{
    SinkExt, StreamExt,
    stream::{AbortHandle, BoxStream, SelectAll, SplitSink},
};
use prometheus_client::metrics::gauge::Gauge;
use serde_json::Value;
use tokio::time::{Instant, Sleep};

use super::{
    auth::authenticate_init,
    protocol::{ClientMessage, Invalid, Protocol, close, reason},
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
