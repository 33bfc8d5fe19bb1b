//! Health, readiness and metrics endpoints for operators.

use serde_json::{Value, json};

use crate::helpers::spawn_app;

#[tokio::test]
async fn health_and_readiness() {
    let app = spawn_app().await;
    let health = app.http.get(app.url("/healthz")).send().await.unwrap();
    assert_eq!(health.status(), 200);
    let ready = app.http.get(app.url("/readyz")).send().await.unwrap();
    assert_eq!(ready.status(), 200);
    let body: Value = ready.json().await.unwrap();
    assert_eq!(body, json!({ "database": "ok", "events": "ok" }));
}

#[tokio::test]
async fn metrics_count_requests_and_operations() {
    let app = spawn_app().await;
    app.gql(None, "{ __typename }", json!({})).await;
    let metrics = app.metrics().await;
    assert!(
        metrics.contains(
            "switchboard_http_requests_total{path=\"/graphql\",method=\"POST\",status=\"200\"} 1"
        ),
        "{metrics}"
    );
    assert!(
        metrics.contains("switchboard_graphql_operations_total{kind=\"http\",outcome=\"ok\"} 1"),
        "{metrics}"
    );
    assert!(
        metrics.contains("switchboard_websocket_connections"),
        "{metrics}"
    );
}
