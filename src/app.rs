//! The application: state, router, and `run(listener, shutdown)` — the seam that `main`, the
//! tests and the benchmarks all start the very same server through.

use std::{
    future::Future,
    sync::Arc,
    time::{Duration, Instant},
};

use async_graphql::dataloader::DataLoader;
use axum::{
    Router,
    extract::{DefaultBodyLimit, MatchedPath, Request, State},
    http::{StatusCode, header},
    middleware::{self, Next},
    response::{IntoResponse, Response},
    routing::get,
};
use redis::aio::ConnectionManager;
use sea_orm::DatabaseConnection;
use tokio::{net::TcpListener, sync::Semaphore};
use tokio_util::sync::CancellationToken;
use tower_http::{cors::CorsLayer, limit::RequestBodyLimitLayer, trace::TraceLayer};

use crate::{
    auth::{access, cache::AccessCache, jwt::JwtKeys},
    config::Config,
    db,
    error::code,
    events::{self, EventBus},
    executor::Executor,
    exports, graphiql,
    graphql::build_schema,
    http, imports,
    loaders::{self, DbLoader},
    presence::store::PresenceStore,
    telemetry::{HttpLabels, Metrics},
    ws,
};

/// What every request handler and resolver shares.
pub struct AppState {
    pub db: DatabaseConnection,
    /// Batches parent→child loads (no cache, so one instance serves every request).
    pub loader: DataLoader<DbLoader>,
    pub keys: JwtKeys,
    /// Recent answers of the per-request access check (`auth::access`), at most a second old.
    pub access: Arc<AccessCache>,
    pub bus: EventBus,
    /// Who is connected: Redis with expiry, or memory for the embedded default.
    pub presence: PresenceStore,
    /// Redis for commands (presence, readiness); the event bus holds its own subscriber.
    pub redis: Option<ConnectionManager>,
    pub metrics: Arc<Metrics>,
    pub config: Config,
    /// Cancelled when the server shuts down; long-lived streams end on it.
    pub shutdown: CancellationToken,
    /// Open websockets by whose access they hold, woken when it changes (`ws::registry`).
    pub sockets: ws::registry::Registry,
}

/// The router's state: the shared state plus the executable schema.
#[derive(Clone)]
pub struct HttpState {
    pub app: Arc<AppState>,
    pub executor: Executor,
    /// Slots of multipart uploads being read (`MAX_CONCURRENT_UPLOADS`).
    pub uploads: Arc<Semaphore>,
}

/// A server ready to serve: connections opened, migrations applied.
pub struct App {
    state: HttpState,
}

impl App {
    /// Connects to the database (migrating it unless told not to) and the event bus.
    pub async fn build(config: Config, migrate: bool) -> anyhow::Result<Self> {
        let url = config.database_url();
        if migrate {
            db::migrate(&url).await?;
        }
        let mut db = db::connect(&url, config.database_pool_size).await?;
        let metrics = Metrics::new();
        crate::telemetry::instrument(&mut db, metrics.clone());
        let shutdown = CancellationToken::new();
        let (bus, redis) = match config.redis_url() {
            Some(redis_url) => {
                let settings = events::RedisSettings {
                    timeout: Duration::from_millis(config.redis_timeout_ms),
                    queue: config.publish_queue_length,
                };
                let (conn, pushes) = events::connect_redis(redis_url, settings.timeout).await?;
                let bus = EventBus::redis(
                    conn,
                    pushes,
                    &config.redis_prefix,
                    settings,
                    metrics.clone(),
                    shutdown.clone(),
                )
                .await?;
                // Commands (presence, readiness) on a connection of their own.
                let commands = events::connect_redis_commands(redis_url, settings.timeout).await?;
                (bus, Some(commands))
            }
            None => (EventBus::in_process(metrics.clone()), None),
        };
        let (secret, development) = config.jwt_secret();
        if development {
            tracing::warn!(
                "JWT_SECRET is not set: tokens are signed with a public development secret. \
                 Set JWT_SECRET before exposing this server."
            );
        }
        let keys = JwtKeys::new(secret.as_bytes(), config.token_ttl_secs);
        let loader = loaders::build(db.clone());
        let presence = match &redis {
            Some(conn) => PresenceStore::redis(
                conn.clone(),
                &config.redis_prefix,
                Duration::from_millis(config.redis_timeout_ms),
            ),
            None => PresenceStore::memory(),
        };
        let access = Arc::new(AccessCache::new(
            std::time::Duration::from_millis(config.access_cache_ttl_ms),
            config.access_cache_capacity,
        ));
        let app = Arc::new(AppState {
            db,
            loader,
            presence,
            keys,
            access,
            bus,
            redis,
            metrics,
            config,
            shutdown,
            sockets: ws::registry::Registry::default(),
        });
        let executor = Executor::new(build_schema(app.clone()));
        let uploads = Arc::new(Semaphore::new(app.config.max_concurrent_uploads));
        Ok(Self {
            state: HttpState {
                app,
                executor,
                uploads,
            },
        })
    }

    /// The shared state (for CLI commands run against a built app).
    pub fn state(&self) -> &Arc<AppState> {
        &self.state.app
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
            .route(exports::spec::PATH, get(exports::download::contacts_csv))
            .route(imports::download::PATH, get(imports::download::failed_rows))
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
        imports::run::recover(&self.state.app);
        let app = &self.state.app;
        access::spawn_invalidator(&app.bus, app.access.clone(), app.shutdown.clone());
        // Wakes open websockets whose user or contact lost access, on every instance.
        ws::registry::listen(&self.state.app);
        let router = self.router();
        tracing::info!(addr = %listener.local_addr()?, "switchboard listening");
        axum::serve(listener, router)
            .with_graceful_shutdown(async move {
                shutdown.await;
                tracing::info!("shutting down");
                token.cancel();
            })
            .await?;
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
