//! The state every resolver, subscription stream and handler shares: connections, keys, the
//! event bus, caches and the shutdown token. It sits below the domains (next to `context.rs`,
//! which reads it from the GraphQL context), so a domain never reaches the router in `app.rs`;
//! the command line builds it the same way to run work outside a server (`imports/cli.rs`).

use std::{sync::Arc, time::Duration};

use async_graphql::dataloader::DataLoader;
use redis::aio::ConnectionManager;
use sea_orm::DatabaseConnection;
use tokio_util::sync::CancellationToken;

use crate::{
    auth::{cache::AccessCache, jwt::JwtKeys},
    config::Config,
    db,
    events::{self, EventBus, outbox::Outbox},
    loaders::{self, DbLoader},
    presence::store::PresenceStore,
    telemetry::Metrics,
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
    /// Rendered `roomEvents` payloads, shared by this process's subscribers (`realtime/renders.rs`).
    pub room_renders: crate::realtime::renders::Renders,
}

impl AppState {
    /// Connects to the database (migrating it unless told not to) and the event bus.
    pub async fn build(config: Config, migrate: bool) -> anyhow::Result<Arc<Self>> {
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
                let (subscriber, pushes) =
                    events::connect_redis(redis_url, settings.timeout).await?;
                // Commands (history, presence, readiness) on a connection of their own.
                let commands = events::connect_redis_commands(redis_url, settings.timeout).await?;
                let bus = EventBus::redis(
                    subscriber,
                    commands.clone(),
                    pushes,
                    &config.redis_prefix,
                    settings,
                    config.history(),
                    Outbox::new(db.clone()),
                    metrics.clone(),
                    shutdown.clone(),
                )
                .await?;
                (bus, Some(commands))
            }
            None => (
                EventBus::in_process(config.history(), metrics.clone()),
                None,
            ),
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
        Ok(Arc::new(AppState {
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
            room_renders: crate::realtime::renders::Renders::default(),
        }))
    }
}
