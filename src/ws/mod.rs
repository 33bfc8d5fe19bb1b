//! The subscription websocket at `/graphql/ws`: our own implementation of both GraphQL
//! subprotocols (`protocol`), one task per socket (`connection`), and revocation of open
//! sockets (`registry`). Every operation runs through [`crate::executor::Executor`].
//!
//! - the token comes in the `connection_init` payload (`{"authorization": "Bearer …"}` or
//!   `{"token": "…"}`); a refused one closes the socket with 4403, the protocol's
//!   "Forbidden" (the npm `graphql-ws` client retries it like any close: give it a
//!   `connectionParams` function that fetches a fresh token);
//! - access is re-read for every operation, when the registry says it changed, and
//!   periodically; the token's expiry or lost access closes the socket with 4403;
//! - a socket that has not sent `connection_init` within `WS_INIT_TIMEOUT_SECS` is closed
//!   with 4408; other protocol violations close with the graphql-transport-ws codes
//!   (`protocol::close`);
//! - at most `MAX_SUBSCRIPTIONS_PER_SOCKET` operations run per socket;
//! - the server sends a websocket ping every 32 s so proxies keep the socket open;
//! - small buffers keep an idle socket cheap (tungstenite's 128 KiB default read buffer costs
//!   about 50 KB resident per connection; [`READ_BUFFER`] is 1 KiB);
//! - on shutdown every socket is closed with 1001, since axum does not drain upgraded sockets.

mod auth;
mod connection;
pub mod protocol;
pub mod registry;

use std::{future::Future, str::FromStr, time::Duration};

use axum::{
    extract::{State, WebSocketUpgrade},
    http::{HeaderMap, StatusCode, header},
    response::{IntoResponse, Response},
};

use tokio_util::task::TaskTracker;

use self::protocol::{PROTOCOL_NAMES, Protocol};
use crate::http::HttpState;

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
                .find_map(|p| Protocol::from_str(p.trim()).ok())
        });
    let Some(protocol) = protocol else {
        return (
            StatusCode::BAD_REQUEST,
            "request the `graphql-transport-ws` (or legacy `graphql-ws`) websocket subprotocol",
        )
            .into_response();
    };
    upgrade
        .protocols(PROTOCOL_NAMES)
        .read_buffer_size(READ_BUFFER)
        .write_buffer_size(WRITE_BUFFER)
        .max_message_size(MAX_MESSAGE)
        .max_frame_size(MAX_MESSAGE)
        .on_upgrade(move |socket| async move {
            let spawner = state.realtime.clone();
            let connection = connection::serve(socket, state, protocol);
            // Spawned either way, so this task only holds the handle (not the connection's
            // state, which would add its size to every idle socket).
            let task = spawner.spawn(connection);
            // Awaiting the handle keeps the connection's lifetime in this upgrade task.
            // Cancelled: the server stopped its realtime runtime.
            if let Err(err) = task.await
                && !err.is_cancelled()
            {
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
///
/// Owned by the [`crate::App`] (each server its own, sized by its own `REALTIME_THREADS`)
/// and shut down with it: [`Realtime::shutdown`] lets the sockets send their 1001 first.
pub struct Realtime {
    /// `None` if its threads could not be started: websockets then run on the caller's
    /// runtime.
    runtime: Option<tokio::runtime::Runtime>,
    spawner: Spawner,
}

/// What a socket needs to start its task on the realtime runtime: cheap to clone (a runtime
/// handle and the tracker's `Arc`), kept in the router's state.
#[derive(Clone)]
pub struct Spawner {
    handle: Option<tokio::runtime::Handle>,
    /// The open sockets' tasks, which shutdown waits for.
    tasks: TaskTracker,
}

impl Realtime {
    /// Starts the runtime's `threads` workers (0: half the cores, at least 1).
    pub fn start(threads: usize) -> Self {
        let threads = if threads == 0 {
            let cores = std::thread::available_parallelism().map_or(1, std::num::NonZero::get);
            (cores / 2).max(1)
        } else {
            threads
        };
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(threads)
            .thread_name("realtime")
            .enable_all()
            .build()
            .inspect_err(|err| tracing::error!(error = %err, "realtime runtime not started"))
            .ok();
        let spawner = Spawner {
            handle: runtime.as_ref().map(|runtime| runtime.handle().clone()),
            tasks: TaskTracker::new(),
        };
        Self { runtime, spawner }
    }

    /// Where sockets start their tasks.
    pub fn spawner(&self) -> Spawner {
        self.spawner.clone()
    }

    /// Waits up to `wait` for the open sockets to finish (they close with 1001 once the
    /// server's shutdown token is cancelled), then stops the runtime.
    pub async fn shutdown(mut self, wait: Duration) {
        self.spawner.tasks.close();
        if tokio::time::timeout(wait, self.spawner.tasks.wait())
            .await
            .is_err()
        {
            tracing::warn!(
                open = self.spawner.tasks.len(),
                "websockets still open at shutdown; dropping them"
            );
        }
        if let Some(runtime) = self.runtime.take() {
            runtime.shutdown_background();
        }
    }
}

impl Drop for Realtime {
    /// An app dropped without [`Realtime::shutdown`] (a command that never served, an aborted
    /// server task) still stops its threads; dropping a runtime the ordinary way would block,
    /// which tokio refuses inside async code.
    fn drop(&mut self) {
        if let Some(runtime) = self.runtime.take() {
            runtime.shutdown_background();
        }
    }
}

impl Spawner {
    /// Runs a socket's task on the realtime runtime (or the caller's, without one).
    fn spawn<F>(&self, task: F) -> tokio::task::JoinHandle<F::Output>
    where
        F: Future + Send + 'static,
        F::Output: Send + 'static,
    {
        match &self.handle {
            Some(handle) => self.tasks.spawn_on(task, handle),
            None => self.tasks.spawn(task),
        }
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    /// Each server sizes its own runtime (a process-wide one kept the first server's size for
    /// every later server) and stops it when it shuts down.
    #[tokio::test]
    async fn each_app_has_its_own_realtime_runtime() {
        for threads in [1, 3] {
            let realtime = Realtime::start(threads);
            let spawner = realtime.spawner();
            let workers = spawner
                .spawn(async { tokio::runtime::Handle::current().metrics().num_workers() })
                .await
                .unwrap();
            assert_eq!(workers, threads);
            realtime.shutdown(Duration::from_secs(1)).await;
            let after = spawner.spawn(async {}).await;
            assert!(after.is_err_and(|err| err.is_cancelled()));
        }
    }
}
