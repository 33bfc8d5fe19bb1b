//! Self-hosted GraphiQL IDE.
//!
//! async-graphql's built-in GraphiQL page (`async_graphql::http::GraphiQLSource`)
//! loads React, GraphiQL and its CSS from a CDN (esm.sh) at runtime, so on a
//! machine without internet access the page stays blank. Instead, the assets
//! are vendored from the npm registry into `assets/graphiql/` (versions and
//! licenses in `assets/graphiql/LICENSES.md`) and compiled into the binary with
//! `include_bytes!`, so the browser only ever talks to this server:
//!
//! - [`page`] serves `assets/graphiql/index.html` (e.g. on `GET /graphql` when
//!   [`wants_html`] says a browser is navigating there, or on `GET /graphiql`).
//! - [`asset`] serves the vendored files and must be mounted at
//!   `/graphiql/assets/{name}`, the prefix `index.html` loads them from.
//!
//! The page sends queries and mutations to `/graphql` and subscriptions to
//! `/graphql/ws` (graphql-ws protocol). The JSON of the headers editor is sent
//! as HTTP headers and, for subscriptions, as the `connection_init` payload
//! (connection params), keyed exactly as typed (normally `Authorization`).

use axum::extract::Path;
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};

/// The GraphiQL page.
const INDEX_HTML: &str = include_str!("../assets/graphiql/index.html");

/// Vendored assets: (file name, content type, contents). Names are matched
/// exactly, so a request can never reach any other file.
const ASSETS: &[(&str, &str, &[u8])] = &[
    (
        "react.production.min.js",
        "text/javascript; charset=utf-8",
        include_bytes!("../assets/graphiql/react.production.min.js"),
    ),
    (
        "react-dom.production.min.js",
        "text/javascript; charset=utf-8",
        include_bytes!("../assets/graphiql/react-dom.production.min.js"),
    ),
    (
        "graphiql.min.js",
        "text/javascript; charset=utf-8",
        include_bytes!("../assets/graphiql/graphiql.min.js"),
    ),
    (
        "graphiql.min.css",
        "text/css; charset=utf-8",
        include_bytes!("../assets/graphiql/graphiql.min.css"),
    ),
];

/// Serves the GraphiQL page.
pub async fn page() -> Response {
    (
        [
            (header::CONTENT_TYPE, "text/html; charset=utf-8"),
            (header::CACHE_CONTROL, "no-cache"),
        ],
        INDEX_HTML,
    )
        .into_response()
}

/// Serves one vendored asset by exact file name (route `/graphiql/assets/{name}`);
/// 404 for anything else.
pub async fn asset(Path(name): Path<String>) -> Response {
    match ASSETS.iter().find(|(asset_name, _, _)| *asset_name == name) {
        Some(&(_, content_type, body)) => (
            [
                (header::CONTENT_TYPE, content_type),
                (header::CACHE_CONTROL, "public, max-age=86400"),
                (header::X_CONTENT_TYPE_OPTIONS, "nosniff"),
            ],
            body,
        )
            .into_response(),
        None => (StatusCode::NOT_FOUND, "not found").into_response(),
    }
}

/// True when the request's `Accept` header lists `text/html` (with a non-zero
/// quality), i.e. a browser navigating to the URL. Used to decide whether
/// `GET /graphql` serves GraphiQL or executes a GraphQL GET request.
/// `*/*` alone does not count, so `curl` and GraphQL clients are unaffected.
pub fn wants_html(headers: &HeaderMap) -> bool {
    headers
        .get_all(header::ACCEPT)
        .iter()
        .filter_map(|value: &HeaderValue| value.to_str().ok())
        .flat_map(|value| value.split(','))
        .any(|range| {
            let mut parts = range.split(';');
            let media_type = parts.next().unwrap_or_default().trim();
            media_type.eq_ignore_ascii_case("text/html")
                && !parts.any(|param| {
                    param.split_once('=').is_some_and(|(key, value)| {
                        key.trim().eq_ignore_ascii_case("q")
                            && value.trim().parse::<f32>().is_ok_and(|q| q <= 0.0)
                    })
                })
        })
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    fn accept(values: &[&str]) -> HeaderMap {
        let mut headers = HeaderMap::new();
        for value in values {
            headers.append(header::ACCEPT, HeaderValue::from_str(value).unwrap());
        }
        headers
    }

    #[test]
    fn wants_html_for_browser_navigation() {
        // Chrome/Firefox navigation.
        assert!(wants_html(&accept(&[
            "text/html,application/xhtml+xml,application/xml;q=0.9,image/avif,image/webp,*/*;q=0.8"
        ])));
        assert!(wants_html(&accept(&["TEXT/HTML"])));
        assert!(wants_html(&accept(&["application/json", "text/html"])));
        assert!(wants_html(&accept(&["application/json, text/html;q=0.5"])));
    }

    #[test]
    fn no_html_for_api_clients() {
        assert!(!wants_html(&HeaderMap::new()));
        assert!(!wants_html(&accept(&["*/*"])));
        assert!(!wants_html(&accept(&["application/json"])));
        assert!(!wants_html(&accept(&[
            "application/graphql-response+json, application/json;q=0.9"
        ])));
        assert!(!wants_html(&accept(&["text/html;q=0"])));
        assert!(!wants_html(&accept(&["text/htmlx"])));
    }

    #[tokio::test]
    async fn page_is_html() {
        let response = page().await;
        assert_eq!(response.status(), StatusCode::OK);
        assert_eq!(
            response.headers()[header::CONTENT_TYPE],
            "text/html; charset=utf-8"
        );
        let body = axum::body::to_bytes(response.into_body(), usize::MAX)
            .await
            .unwrap();
        let html = std::str::from_utf8(&body).unwrap();
        assert!(html.contains("<title>Switchboard GraphiQL</title>"));
        for (name, _, _) in ASSETS {
            assert!(
                html.contains(&format!("/graphiql/assets/{name}")),
                "index.html does not load {name}"
            );
        }
        assert!(
            !html.contains("https://"),
            "index.html must not load from a CDN"
        );
    }

    #[tokio::test]
    async fn every_asset_resolves() {
        for (name, expected_type) in [
            ("react.production.min.js", "text/javascript; charset=utf-8"),
            (
                "react-dom.production.min.js",
                "text/javascript; charset=utf-8",
            ),
            ("graphiql.min.js", "text/javascript; charset=utf-8"),
            ("graphiql.min.css", "text/css; charset=utf-8"),
        ] {
            let response = asset(Path(name.to_owned())).await;
            assert_eq!(response.status(), StatusCode::OK, "{name}");
            assert_eq!(response.headers()[header::CONTENT_TYPE], expected_type);
            assert_eq!(
                response.headers()[header::CACHE_CONTROL],
                "public, max-age=86400"
            );
            let body = axum::body::to_bytes(response.into_body(), usize::MAX)
                .await
                .unwrap();
            assert!(body.len() > 1000, "{name} is suspiciously small");
        }
    }

    #[tokio::test]
    async fn unknown_asset_is_404() {
        for name in [
            "",
            "index.html",
            "LICENSES.md",
            "graphiql.min.js.map",
            "../graphiql.rs",
            "../../Cargo.toml",
            "GRAPHIQL.MIN.JS",
        ] {
            let response = asset(Path(name.to_owned())).await;
            assert_eq!(response.status(), StatusCode::NOT_FOUND, "{name:?}");
        }
    }
}
