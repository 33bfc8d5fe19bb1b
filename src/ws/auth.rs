//! The token of a `connection_init` payload.

use serde_json::Value;

use crate::{
    auth::{jwt::bearer, viewer::Auth},
    state::AppState,
};

/// Reads and verifies the token of a `connection_init` payload (`{"authorization": "Bearer
/// …"}` or `{"token": "…"}`, keys in any case): what it says about the caller, and when it
/// expires (Unix seconds; meaningful only for an authenticated caller).
pub(super) fn authenticate_init(state: &AppState, payload: &Value) -> (Auth, i64) {
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
        None => (Auth::Anonymous, 0),
        Some(token) => match state.keys.decode_expiring(token) {
            Ok((viewer, expires)) => (Auth::Authenticated(viewer), expires),
            Err(err) => (Auth::Refused(err.to_string()), 0),
        },
    }
}
