//! Structured logs (tracing) and Prometheus metrics.

use std::sync::Arc;

use prometheus_client::{
    encoding::{EncodeLabelSet, text::encode},
    metrics::{counter::Counter, family::Family, gauge::Gauge, histogram::Histogram},
    registry::Registry,
};
use tracing_subscriber::{EnvFilter, fmt, prelude::*};

use crate::config::LogFormat;

/// Installs the global tracing subscriber. `RUST_LOG` overrides the default filter.
///
/// SQLx logs every statement at INFO; the default filter keeps it at WARN (slow statements).
pub fn init_tracing(format: LogFormat) {
    let filter = EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| EnvFilter::new("info,sqlx=warn,sea_orm=warn,tower_http=info"));
    let registry = tracing_subscriber::registry().with(filter);
    let result = match format {
        LogFormat::Json => registry
            .with(fmt::layer().json().with_current_span(false))
            .try_init(),
        LogFormat::Text => registry
            .with(fmt::layer().with_writer(std::io::stderr))
            .try_init(),
    };
    // A second init (tests start many servers in one process) is harmless.
    drop(result);
}

/// Labels of the HTTP request counter.
#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct HttpLabels {
    pub path: String,
    pub method: String,
    pub status: u16,
}

/// Labels of the GraphQL operation counter.
#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct OperationLabels {
    pub kind: &'static str,
    pub outcome: &'static str,
}

/// The server's metrics, one registry per server (no globals, so tests can run many servers).
pub struct Metrics {
    registry: Registry,
    pub http_requests: Family<HttpLabels, Counter>,
    pub http_duration: Histogram,
    pub graphql_operations: Family<OperationLabels, Counter>,
    pub websocket_connections: Gauge,
    /// Operations (mostly subscriptions) running on websockets, from when their stream starts.
    pub websocket_operations: Gauge,
    pub events_published: Counter,
    pub events_received: Counter,
    /// Subscriptions that fell behind the bus and caught up from the history.
    pub subscriber_catch_ups: Counter,
    /// Events a subscription read from the history (resume or catch-up).
    pub events_replayed: Counter,
    pub db_statements: Counter,
    pub db_statement_errors: Counter,
    pub db_duration: Histogram,
}

impl Metrics {
    pub fn new() -> Arc<Self> {
        let mut registry = Registry::with_prefix("switchboard");
        let http_requests = Family::<HttpLabels, Counter>::default();
        registry.register(
            "http_requests",
            "HTTP requests served",
            http_requests.clone(),
        );
        let http_duration = Histogram::new([
            0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0,
        ]);
        registry.register(
            "http_request_duration_seconds",
            "HTTP request latency",
            http_duration.clone(),
        );
        let graphql_operations = Family::<OperationLabels, Counter>::default();
        registry.register(
            "graphql_operations",
            "GraphQL operations executed",
            graphql_operations.clone(),
        );
        let websocket_connections = Gauge::default();
        registry.register(
            "websocket_connections",
            "Open subscription websockets",
            websocket_connections.clone(),
        );
        let websocket_operations = Gauge::default();
        registry.register(
            "websocket_operations",
            "Operations running on websockets (subscribed to events once started)",
            websocket_operations.clone(),
        );
        let events_published = Counter::default();
        registry.register(
            "events_published",
            "Events published to the bus",
            events_published.clone(),
        );
        let events_received = Counter::default();
        registry.register(
            "events_received",
            "Events received from the bus and fanned out locally",
            events_received.clone(),
        );
        let subscriber_catch_ups = Counter::default();
        registry.register(
            "subscriber_catch_ups",
            "Subscriptions that fell behind the bus and caught up from the history",
            subscriber_catch_ups.clone(),
        );
        let events_replayed = Counter::default();
        registry.register(
            "events_replayed",
            "Events subscriptions read from the history (resume or catch-up)",
            events_replayed.clone(),
        );
        let db_statements = Counter::default();
        registry.register(
            "db_statements",
            "SQL statements executed",
            db_statements.clone(),
        );
        let db_statement_errors = Counter::default();
        registry.register(
            "db_statement_errors",
            "SQL statements that failed",
            db_statement_errors.clone(),
        );
        let db_duration = Histogram::new([
            0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 1.0,
        ]);
        registry.register(
            "db_statement_duration_seconds",
            "SQL statement latency",
            db_duration.clone(),
        );
        Arc::new(Self {
            registry,
            http_requests,
            http_duration,
            graphql_operations,
            websocket_connections,
            websocket_operations,
            events_published,
            events_received,
            subscriber_catch_ups,
            events_replayed,
            db_statements,
            db_statement_errors,
            db_duration,
        })
    }

    /// The Prometheus text exposition of every metric.
    pub fn render(&self) -> String {
        let mut out = String::new();
        if encode(&mut out, &self.registry).is_err() {
            tracing::error!("metrics encoding failed");
        }
        out
    }
}

/// Statements slower than this are logged (their SQL only: values are never logged).
const SLOW_STATEMENT: std::time::Duration = std::time::Duration::from_millis(200);

/// Counts and times every statement of a connection pool (and the transactions begun from it).
pub fn instrument(db: &mut sea_orm::DatabaseConnection, metrics: Arc<Metrics>) {
    db.set_metric_callback(move |info| {
        metrics.db_statements.inc();
        metrics.db_duration.observe(info.elapsed.as_secs_f64());
        if info.failed {
            metrics.db_statement_errors.inc();
        }
        if info.elapsed > SLOW_STATEMENT {
            tracing::warn!(elapsed_ms = info.elapsed.as_millis() as u64, sql = %info.statement.sql, "slow statement");
        }
    });
}

/// A log line repeated by many tasks (every websocket's heartbeat during a Redis outage)
/// written at most once per interval per process; the occurrences in between are counted and
/// reported with the next line written.
pub struct Throttle {
    interval: std::time::Duration,
    state: std::sync::Mutex<ThrottleState>,
}

struct ThrottleState {
    last: Option<std::time::Instant>,
    suppressed: u64,
}

impl Throttle {
    /// At most one line per `interval`.
    pub const fn new(interval: std::time::Duration) -> Self {
        Self {
            interval,
            state: std::sync::Mutex::new(ThrottleState {
                last: None,
                suppressed: 0,
            }),
        }
    }

    /// `Some(occurrences suppressed since the last line)` when this one is to be logged.
    pub fn allow(&self) -> Option<u64> {
        self.allow_at(std::time::Instant::now())
    }

    fn allow_at(&self, now: std::time::Instant) -> Option<u64> {
        // A poisoned lock only means a panic elsewhere mid-update of two counters: log anyway.
        let mut state = self
            .state
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        match state.last {
            Some(last) if now.duration_since(last) < self.interval => {
                state.suppressed += 1;
                None
            }
            _ => {
                state.last = Some(now);
                Some(std::mem::take(&mut state.suppressed))
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use std::time::{Duration, Instant};

    use super::Throttle;

    #[test]
    fn a_throttle_logs_once_per_interval_and_counts_the_rest() {
        let throttle = Throttle::new(Duration::from_secs(10));
        let start = Instant::now();
        assert_eq!(throttle.allow_at(start), Some(0));
        for second in 1..10 {
            assert_eq!(throttle.allow_at(start + Duration::from_secs(second)), None);
        }
        assert_eq!(throttle.allow_at(start + Duration::from_secs(10)), Some(9));
        assert_eq!(throttle.allow_at(start + Duration::from_secs(11)), None);
        assert_eq!(throttle.allow_at(start + Duration::from_secs(25)), Some(1));
    }
}
