//! The subscription websocket at `/graphql/ws`.
//!
//! Written around `async_graphql::http::WebSocket` instead of `GraphQLSubscription`, which can
//! neither authenticate nor bound an idle socket:
//! - the token comes in the `connection_init` payload (`{"authorization": "Bearer …"}` or
//!   `{"token": "…"}`); a refused one closes the socket with 4403, the protocol's
//!   "Forbidden" (the npm `graphql-ws` client retries it like any close: give it a
//!   `connectionParams` function that fetches a fresh token);
//! - a socket that has not sent `connection_init` within [`INIT_TIMEOUT`] is closed with 4408;
//! - the server sends a websocket ping every [`PING_EVERY`] × [`TICK`] so proxies keep the socket
//!   open;
//! - small buffers keep an idle socket cheap (tungstenite's 128 KiB default read buffer costs
//!   about 50 KB resident per connection; [`READ_BUFFER`] is 1 KiB);
//! - on shutdown every socket is closed with 1001, since axum does not drain upgraded sockets.

use std::{
    str::FromStr,
    sync::{Arc, Mutex, OnceLock},
    time::Duration,
};

use async_graphql::{
    Data,
    http::{ALL_WEBSOCKET_PROTOCOLS, WebSocketProtocols, WsMessage},
};
use axum::{
    extract::{
        State, WebSocketUpgrade,
        ws::{CloseFrame, Message, WebSocket},
    },
    http::{HeaderMap, StatusCode, header},
    response::{IntoResponse, Response},
};
use futures_util::{SinkExt, StreamExt, future};

use crate::{
    app::HttpState,
    auth::{
        access,
        jwt::bearer,
        viewer::{Auth, Viewer},
    },
    presence,
};

/// How long a client may take to send `connection_init`.
pub const INIT_TIMEOUT: Duration = Duration::from_secs(10);
/// How often the socket's one timer fires: a presence heartbeat each time (the store's
/// [`presence::store::HEARTBEAT`]), a websocket ping every [`PING_EVERY`] ticks.
const TICK: Duration = presence::store::HEARTBEAT;
/// Ticks between pings: every 32 s, so proxies with the common 60 s idle timeout keep the
/// socket open.
const PING_EVERY: u32 = 4;
/// Bytes tungstenite reads at a time, and the buffer it keeps per socket. Clients send little
/// (`connection_init`, `subscribe`, `complete`, pongs): 1 KiB holds a usual `subscribe` whole,
/// a larger message grows the buffer as it arrives, and an idle socket costs 1 KiB instead of
/// 4 (or 128, tungstenite's default). (512 bytes measured no smaller per socket.)
const READ_BUFFER: usize = 1024;
/// Bytes buffered before a write; every message is flushed as it is sent anyway.
const WRITE_BUFFER: usize = 4 * 1024;
/// Largest accepted client message.
const MAX_MESSAGE: usize = 64 * 1024;

/// `GET /graphql/ws`.
pub async fn handler(
    State(state): State<HttpState>,
    headers: HeaderMap,
    upgrade: WebSocketUpgrade,
) -> Response {
    let protocol = headers
        .get(header::SEC_WEBSOCKET_PROTOCOL)
        .and_then(|value| value.to_str().ok())
        .and_then(|value| {
            value
                .split(',')
                .find_map(|p| WebSocketProtocols::from_str(p.trim()).ok())
        });
    let Some(protocol) = protocol else {
        return (
            StatusCode::BAD_REQUEST,
            "request the `graphql-transport-ws` (or legacy `graphql-ws`) websocket subprotocol",
        )
            .into_response();
    };
    upgrade
        .protocols(ALL_WEBSOCKET_PROTOCOLS)
        .read_buffer_size(READ_BUFFER)
        .write_buffer_size(WRITE_BUFFER)
        .max_message_size(MAX_MESSAGE)
        .max_frame_size(MAX_MESSAGE)
        .on_upgrade(move |socket| async move {
            let threads = state.app.config.realtime_threads;
            let connection = serve(socket, state, protocol);
            // Spawned either way, so this task only holds the handle (not the connection's
            // state, which would add its size to every idle socket).
            let task = match realtime_runtime(threads) {
                Some(runtime) => runtime.spawn(connection),
                None => tokio::spawn(connection),
            };
            // Awaiting the handle keeps the connection's lifetime in this task as before.
            if let Err(err) = task.await {
                tracing::error!(error = %err, "websocket task failed");
            }
        })
}

/// The runtime websockets run on, apart from the one serving HTTP requests. An event fanned
/// out to thousands of subscribers wakes thousands of tasks at once; on a shared runtime a
/// request arriving then waits behind all of them in the run queue (the interference benchmark
/// measured query p99 at 13× with 5,000 subscribers receiving 10 events/s; 7× with its own
/// runtime of 2 threads, 3× with 1 on 2 cores). Apart, the request's runtime has an empty
/// queue and the kernel shares the CPU between the two; by default it gets half the cores.
/// Built on first use and kept for the life of the process; `None` (websockets then run on
/// the caller's runtime) if its threads cannot be started.
fn realtime_runtime(threads: usize) -> Option<&'static tokio::runtime::Runtime> {
    static RUNTIME: OnceLock<Option<tokio::runtime::Runtime>> = OnceLock::new();
    RUNTIME
        .get_or_init(|| {
            let threads = if threads == 0 {
                let cores = std::thread::available_parallelism().map_or(1, std::num::NonZero::get);
                (cores / 2).max(1)
            } else {
                threads
            };
            tokio::runtime::Builder::new_multi_thread()
                .worker_threads(threads)
                .thread_name("realtime")
                .enable_all()
                .build()
                .inspect_err(|err| tracing::error!(error = %err, "realtime runtime not started"))
                .ok()
        })
        .as_ref()
}

/// Reads the token of a `connection_init` payload.
fn authenticate_init(state: &HttpState, payload: &serde_json::Value) -> Auth {
    let field = |name: &str| {
        payload
            .as_object()
            .and_then(|obj| obj.iter().find(|(key, _)| key.eq_ignore_ascii_case(name)))
            .and_then(|(_, value)| value.as_str())
    };
    let token = match (field("authorization"), field("token")) {
        (Some(value), _) => bearer(value).or(Some(value.trim())),
        (None, Some(token)) => Some(token.trim()),
        (None, None) => None,
    };
    match token {
        None => Auth::Anonymous,
        Some(token) => match state.app.keys.decode(token) {
            Ok(viewer) => Auth::Authenticated(viewer),
            Err(err) => Auth::Refused(err.to_string()),
        },
    }
}

async fn serve(socket: WebSocket, state: HttpState, protocol: WebSocketProtocols) {
    let metrics = state.app.metrics.clone();
    metrics.websocket_connections.inc();
    let shutdown = state.app.shutdown.clone();
    let (mut sink, stream) = socket.split();
    let input = stream
        .take_while(|msg| future::ready(msg.is_ok()))
        .filter_map(|msg| {
            future::ready(match msg {
                Ok(msg @ (Message::Text(_) | Message::Binary(_))) => Some(msg.into_data()),
                _ => None,
            })
        });
    let init_state = state.clone();
    // The viewer authenticated by connection_init, for presence once the connection is acked.
    let viewer_slot = Arc::new(Mutex::new(None::<Viewer>));
    let init_slot = viewer_slot.clone();
    let graphql = async_graphql::http::WebSocket::new(state.executor.clone(), input, protocol)
        .on_connection_init(move |payload| async move {
            let auth = authenticate_init(&init_state, &payload);
            match access::resolve(&init_state.app, auth).await {
                Auth::Authenticated(viewer) => {
                    if let Ok(mut slot) = init_slot.lock() {
                        *slot = Some(viewer);
                    }
                    let mut data = Data::default();
                    data.insert(Auth::Authenticated(viewer));
                    Ok(data)
                }
                Auth::Refused(reason) => Err(async_graphql::Error::new(reason)),
                Auth::Anonymous => Err(async_graphql::Error::new(
                    "connection_init must carry a token: {\"authorization\": \"Bearer <token>\"}",
                )),
            }
        });
    futures_util::pin_mut!(graphql);

    let mut acknowledged = false;
    // Ends presence tracking however this function returns.
    // The viewer and connection id this socket keeps present, once acknowledged. Heartbeats
    // and pings share one timer in this task rather than tasks or timers of their own: an idle
    // socket should cost little.
    let mut present: Option<(Viewer, String)> = None;
    let mut timer = tokio::time::interval_at(tokio::time::Instant::now() + TICK, TICK);
    timer.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    let mut ticks: u32 = 0;
    let init_deadline = tokio::time::sleep(INIT_TIMEOUT);
    futures_util::pin_mut!(init_deadline);

    loop {
        let outgoing = tokio::select! {
            msg = graphql.next() => match msg {
                Some(WsMessage::Text(text)) => {
                    if !acknowledged && text.contains("\"connection_ack\"") {
                        acknowledged = true;
                        let viewer = viewer_slot.lock().ok().and_then(|mut slot| slot.take());
                        if let Some(viewer) = viewer {
                            let connection = format!("{:016x}", rand::random::<u64>());
                            presence::connect(&state.app, viewer, &connection).await;
                            present = Some((viewer, connection));
                        }
                    }
                    Message::Text(text.into())
                }
                Some(WsMessage::Close(code, reason)) => {
                    // A refused connection_init is 1002 in async-graphql; the protocol says 4403.
                    let code = if !acknowledged && code == 1002 { 4403 } else { code };
                    close(&mut sink, code, &reason).await;
                    break;
                }
                None => break,
            },
            () = &mut init_deadline, if !acknowledged => {
                close(&mut sink, 4408, "Connection initialisation timeout").await;
                break;
            }
            _ = timer.tick() => {
                if let Some((viewer, connection)) = &present {
                    presence::connect(&state.app, *viewer, connection).await;
                }
                ticks = ticks.wrapping_add(1);
                if !ticks.is_multiple_of(PING_EVERY) {
                    continue;
                }
                Message::Ping(Default::default())
            }
            () = shutdown.cancelled() => {
                close(&mut sink, 1001, "server shutting down").await;
                break;
            }
        };
        if sink.send(outgoing).await.is_err() {
            break;
        }
    }
    if let Some((viewer, connection)) = present {
        presence::disconnect(&state.app, viewer, &connection).await;
    }
    metrics.websocket_connections.dec();
}

async fn close(
    sink: &mut futures_util::stream::SplitSink<WebSocket, Message>,
    code: u16,
    reason: &str,
) {
    let frame = CloseFrame {
        code,
        reason: reason.to_owned().into(),
    };
    let _ = sink.send(Message::Close(Some(frame))).await;
}
