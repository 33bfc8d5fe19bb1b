//! The application: router and `run(listener, shutdown)` — the seam that `main`, the
//! tests and the benchmarks all start the very same server through.

use std::{
    future::Future,
    sync::Arc,
    time::{Duration, Instant},
};

use axum::{
    Router,
    extract::{DefaultBodyLimit, MatchedPath, Request, State},
    http::{StatusCode, header},
    middleware::{self, Next},
    response::{IntoResponse, Response},
    routing::get,
};
use tokio::{net::TcpListener, sync::Semaphore};
use tower_http::{cors::CorsLayer, limit::RequestBodyLimitLayer, trace::TraceLayer};

use crate::{
    auth::access,
    config::Config,
    db,
    error::code,
    executor::Executor,
    exports, graphiql,
    graphql::build_schema,
    http::{self, HttpState},
    imports,
    state::AppState,
    telemetry::HttpLabels,
    ws,
};

/// A server ready to serve: connections opened, migrations applied.
pub struct App {
    state: HttpState,
    /// The runtime websockets run on, stopped with the app.
    realtime: ws::Realtime,
}

impl App {
    /// Connects to the database (migrating it unless told not to) and the event bus.
    pub async fn build(config: Config, migrate: bool) -> anyhow::Result<Self> {
        let app = AppState::build(config, migrate).await?;
        let executor = Executor::new(build_schema(app.clone()));
        let uploads = Arc::new(Semaphore::new(app.config.max_concurrent_uploads));
        let realtime = ws::Realtime::start(app.config.realtime_threads);
        Ok(Self {
            state: HttpState {
                app,
                executor,
                uploads,
                realtime: realtime.spawner(),
            },
            realtime,
        })
    }

    /// The router with every route and layer.
    pub fn router(&self) -> Router {
        let config = &self.state.app.config;
        // Above the largest multipart request (`operations` and `map` up to MAX_BODY_BYTES
        // each, one file up to MAX_UPLOAD_BYTES, part headers), whose parts the handler
        // bounds itself with messages naming them.
        let body_limit = config
            .max_body_bytes
            .saturating_mul(2)
            .saturating_add(config.max_upload_bytes)
            .saturating_add(256 * 1024);
        Router::new()
            .route("/graphql", get(http::get).post(http::post))
            .route("/graphql/ws", get(ws::handler))
            .route("/graphiql/assets/{name}", get(graphiql::asset))
            .route(exports::spec::PATH, get(http::download::contacts_csv))
            .route(imports::download::PATH, get(http::download::failed_rows))
            .route("/healthz", get(healthz))
            .route("/readyz", get(readyz))
            .route("/metrics", get(metrics))
            // The handlers bound JSON bodies and uploads themselves; this is the outer cap.
            .layer(DefaultBodyLimit::disable())
            .layer(RequestBodyLimitLayer::new(body_limit))
            .layer(middleware::map_response(coded_outer_refusal))
            .layer(CorsLayer::permissive().max_age(std::time::Duration::from_secs(3600)))
            .layer(middleware::from_fn_with_state(self.state.clone(), track))
            .layer(TraceLayer::new_for_http())
            .with_state(self.state.clone())
    }

    /// Serves on `listener` until `shutdown` resolves, then drains HTTP requests and closes
    /// websockets.
    pub async fn run(
        self,
        listener: TcpListener,
        shutdown: impl Future<Output = ()> + Send + 'static,
    ) -> anyhow::Result<()> {
        let token = self.state.app.shutdown.clone();
        // Takes over imports a stopped process left running (resumed, or failed if their file
        // is gone), now and periodically.
        imports::lease::recover(&self.state.app);
        let app = &self.state.app;
        access::spawn_invalidator(&app.bus, app.access.clone(), app.shutdown.clone());
        app.bus.spawn_sweeper(app.shutdown.clone());
        // Wakes open websockets whose user or contact lost access, on every instance.
        ws::registry::listen(&self.state.app);
        let router = self.router();
        tracing::info!(addr = %listener.local_addr()?, "switchboard listening");
        // Without TCP_NODELAY a small write (a websocket frame, a response) waits for the
        // peer's delayed ACK (up to 40 ms) whenever an earlier one is unacknowledged.
        let listener = axum::serve::ListenerExt::tap_io(listener, |tcp| {
            if let Err(err) = tcp.set_nodelay(true) {
                tracing::debug!(%err, "could not set TCP_NODELAY");
            }
        });
        axum::serve(listener, router)
            .with_graceful_shutdown(async move {
                shutdown.await;
                tracing::info!("shutting down");
                token.cancel();
            })
            .await?;
        // axum does not drain upgraded sockets: give them the time of one blocked write to
        // send their 1001.
        let wait = Duration::from_secs(self.state.app.config.ws_send_timeout_secs.max(1));
        self.realtime.shutdown(wait).await;
        self.state.app.db.clone().close().await?;
        Ok(())
    }
}

/// Refusals made below our handlers carry no code: the outer body cap's plain-text 413, the
/// router's empty 404 and 405, axum's plain-text rejections. Give each the JSON body and the
/// `extensions.code` of its status, like every other refusal (headers such as `Allow` kept).
async fn coded_outer_refusal(response: Response) -> Response {
    let status = response.status();
    let uncoded = response
        .headers()
        .get(header::CONTENT_TYPE)
        .is_none_or(|value| value.as_bytes().starts_with(b"text/plain"));
    if !(status.is_client_error() || status.is_server_error()) || !uncoded {
        return response;
    }
    let error_code = match status {
        StatusCode::NOT_FOUND => code::NOT_FOUND,
        StatusCode::METHOD_NOT_ALLOWED => code::METHOD_NOT_ALLOWED,
        StatusCode::PAYLOAD_TOO_LARGE => code::PAYLOAD_TOO_LARGE,
        StatusCode::UNSUPPORTED_MEDIA_TYPE => code::UNSUPPORTED_MEDIA_TYPE,
        StatusCode::SERVICE_UNAVAILABLE => code::SERVICE_UNAVAILABLE,
        status if status.is_server_error() => code::INTERNAL_SERVER_ERROR,
        _ => code::BAD_REQUEST,
    };
    let (parts, body) = response.into_parts();
    // Keep a short plain-text explanation (the websocket upgrade's, axum's rejections); an
    // empty body gets the status's own words.
    let text = axum::body::to_bytes(body, 4096).await.unwrap_or_default();
    let message = match std::str::from_utf8(&text).map(str::trim) {
        Ok(text) if !text.is_empty() => text.to_owned(),
        _ => status
            .canonical_reason()
            .unwrap_or("refused")
            .to_lowercase(),
    };
    let message = if status == StatusCode::PAYLOAD_TOO_LARGE {
        "the request body is too large".to_owned()
    } else {
        message
    };
    let mut coded = http::request_error(status, error_code, &message);
    for (name, value) in &parts.headers {
        if name != header::CONTENT_TYPE && name != header::CONTENT_LENGTH {
            coded.headers_mut().insert(name.clone(), value.clone());
        }
    }
    coded
}

async fn healthz() -> &'static str {
    "ok"
}

/// Ready when the database and (if configured) Redis answer, each within
/// `READINESS_TIMEOUT_MS`; both are asked at once, so the answer comes within that time even
/// while one hangs (a pool acquiring a connection to a dead database would wait much longer).
async fn readyz(State(state): State<HttpState>) -> Response {
    let timeout = Duration::from_millis(state.app.config.readiness_timeout_ms);
    let (database, bus) = tokio::join!(
        tokio::time::timeout(timeout, db::is_ready(&state.app.db)),
        tokio::time::timeout(timeout, state.app.bus.is_ready()),
    );
    let (database, bus) = (database.unwrap_or(false), bus.unwrap_or(false));
    let body = serde_json::json!({
        "database": if database { "ok" } else { "unavailable" },
        "events": if bus { "ok" } else { "unavailable" },
    });
    let status = if database && bus {
        StatusCode::OK
    } else {
        StatusCode::SERVICE_UNAVAILABLE
    };
    (status, axum::Json(body)).into_response()
}

async fn metrics(State(state): State<HttpState>) -> Response {
    (
        [(
            header::CONTENT_TYPE,
            "application/openmetrics-text; version=1.0.0; charset=utf-8",
        )],
        state.app.metrics.render(),
    )
        .into_response()
}

/// Counts and times every request by its route (not its raw path, to bound label cardinality).
async fn track(State(state): State<HttpState>, request: Request, next: Next) -> Response {
    let started = Instant::now();
    let path = request
        .extensions()
        .get::<MatchedPath>()
        .map_or_else(|| "unmatched".to_owned(), |p| p.as_str().to_owned());
    let method = request.method().to_string();
    let response = next.run(request).await;
    let metrics = &state.app.metrics;
    metrics
        .http_duration
        .observe(started.elapsed().as_secs_f64());
    metrics
        .http_requests
        .get_or_create(&HttpLabels {
            path,
            method,
            status: response.status().as_u16(),
        })
        .inc();
    response
}
