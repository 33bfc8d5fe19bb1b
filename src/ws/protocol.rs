//! The two GraphQL-over-websocket subprotocols, as messages: what a client may send, parsed
//! and checked, and what the server sends, serialised in each subprotocol's shapes.
//!
//! - `graphql-transport-ws` (the `graphql-ws` npm library's protocol): `connection_init` /
//!   `connection_ack`, `ping` / `pong`, `subscribe` / `next` / `error` / `complete`; a message
//!   it cannot accept closes the socket with one of the [`close`] codes.
//! - legacy `graphql-ws` (Apollo's `subscriptions-transport-ws`): `connection_init` /
//!   `connection_ack` / `connection_error`, `start` / `data` / `error` / `complete`, `stop`,
//!   `connection_terminate` and the server's keep-alive `ka`.

use std::str::FromStr;

use async_graphql::{Request, Response, ServerError};
use serde_json::{Value, json};

/// The close codes of `graphql-transport-ws`, with the reasons its reference server gives.
pub mod close {
    /// Invalid JSON, an unknown message type, or a message missing what its type needs.
    pub const BAD_REQUEST: u16 = 4400;
    /// `subscribe` before the connection was acknowledged.
    pub const UNAUTHORIZED: u16 = 4401;
    /// `connection_init` refused, or the token expired or lost its access later.
    pub const FORBIDDEN: u16 = 4403;
    /// No `connection_init` within the configured time.
    pub const INIT_TIMEOUT: u16 = 4408;
    /// `subscribe` with the id of an operation still running.
    pub const SUBSCRIBER_EXISTS: u16 = 4409;
    /// A second `connection_init`.
    pub const TOO_MANY_INITIALISATIONS: u16 = 4429;
    /// The server is shutting down.
    pub const GOING_AWAY: u16 = 1001;
    /// A normal close (legacy `connection_terminate`).
    pub const NORMAL: u16 = 1000;
}

/// The subprotocol a socket speaks, chosen from its `Sec-WebSocket-Protocol` header.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Protocol {
    /// `graphql-transport-ws`.
    TransportWs,
    /// Legacy `graphql-ws` (`subscriptions-transport-ws`).
    Legacy,
}

/// Every subprotocol name the upgrade accepts, in order of preference.
pub const PROTOCOL_NAMES: [&str; 2] = ["graphql-transport-ws", "graphql-ws"];

impl FromStr for Protocol {
    type Err = ();

    fn from_str(name: &str) -> Result<Self, ()> {
        if name.eq_ignore_ascii_case("graphql-transport-ws") {
            Ok(Self::TransportWs)
        } else if name.eq_ignore_ascii_case("graphql-ws") {
            Ok(Self::Legacy)
        } else {
            Err(())
        }
    }
}

/// A message from the client, checked.
#[derive(Debug)]
pub enum ClientMessage {
    ConnectionInit {
        payload: Value,
    },
    Ping {
        payload: Option<Value>,
    },
    Pong,
    /// `subscribe` (or legacy `start`).
    Subscribe {
        id: String,
        request: Box<Request>,
    },
    /// `complete` (or legacy `stop`).
    Complete {
        id: String,
    },
    /// Legacy `connection_terminate`.
    Terminate,
}

/// Why a client message was not accepted; the text goes into the close reason (or the legacy
/// `error` message).
#[derive(Debug, PartialEq, Eq)]
pub struct Invalid {
    pub reason: String,
    /// The id the message carried, when it had one (legacy errors name their operation).
    pub id: Option<String>,
}

fn invalid(reason: impl Into<String>, id: Option<&str>) -> Invalid {
    Invalid {
        reason: reason.into(),
        id: id.map(str::to_owned),
    }
}

impl Protocol {
    /// Parses one text (or binary) frame.
    pub fn parse(self, bytes: &[u8]) -> Result<ClientMessage, Invalid> {
        let value: Value = serde_json::from_slice(bytes)
            .map_err(|err| invalid(format!("Invalid message received: {err}"), None))?;
        let Value::Object(mut fields) = value else {
            return Err(invalid("Invalid message received: not an object", None));
        };
        let Some(Value::String(kind)) = fields.remove("type") else {
            return Err(invalid("Invalid message received: no type", None));
        };
        let id = match fields.remove("id") {
            Some(Value::String(id)) if !id.is_empty() => Some(id),
            None | Some(Value::Null) => None,
            Some(_) => return Err(invalid("Invalid message received: bad id", None)),
        };
        let payload = fields.remove("payload").filter(|p| !p.is_null());
        let needs_id = |id: Option<String>| {
            id.ok_or_else(|| {
                invalid(
                    format!("Invalid message received: {kind} needs an id"),
                    None,
                )
            })
        };
        let legacy = self == Self::Legacy;
        match kind.as_str() {
            "connection_init" => match payload {
                None => Ok(ClientMessage::ConnectionInit {
                    payload: Value::Object(serde_json::Map::new()),
                }),
                Some(payload @ Value::Object(_)) => Ok(ClientMessage::ConnectionInit { payload }),
                Some(_) => Err(invalid(
                    "Invalid message received: connection_init payload must be an object",
                    None,
                )),
            },
            "ping" if !legacy => Ok(ClientMessage::Ping { payload }),
            "pong" if !legacy => Ok(ClientMessage::Pong),
            "subscribe" | "start" if (kind == "start") == legacy => {
                let id = needs_id(id)?;
                let request = payload
                    .and_then(|p| serde_json::from_value::<Request>(p).ok())
                    .ok_or_else(|| {
                        invalid(
                            format!(
                                "Invalid message received: {kind} needs a payload with a query"
                            ),
                            Some(&id),
                        )
                    })?;
                Ok(ClientMessage::Subscribe {
                    id,
                    request: Box::new(request),
                })
            }
            "complete" | "stop" if (kind == "stop") == legacy => {
                Ok(ClientMessage::Complete { id: needs_id(id)? })
            }
            "connection_terminate" if legacy => Ok(ClientMessage::Terminate),
            _ => Err(invalid(
                format!("Unexpected message of type {kind} received"),
                id.as_deref(),
            )),
        }
    }

    /// `connection_ack`.
    pub fn ack(self) -> String {
        json!({ "type": "connection_ack" }).to_string()
    }

    /// `pong`, echoing the ping's payload.
    pub fn pong(self, payload: Option<Value>) -> String {
        match payload {
            Some(payload) => json!({ "type": "pong", "payload": payload }),
            None => json!({ "type": "pong" }),
        }
        .to_string()
    }

    /// A result of operation `id`: `next` (legacy `data`).
    pub fn next(self, id: &str, response: &Response) -> String {
        let kind = match self {
            Self::TransportWs => "next",
            Self::Legacy => "data",
        };
        json!({ "id": id, "type": kind, "payload": response }).to_string()
    }

    /// Operation `id` failed before it produced a result: `error` with the GraphQL errors (an
    /// array in `graphql-transport-ws`, the first error in legacy `graphql-ws`). No `complete`
    /// follows.
    pub fn error(self, id: &str, errors: &[ServerError]) -> String {
        let payload = match self {
            Self::TransportWs => json!(errors),
            Self::Legacy => json!(errors.first()),
        };
        json!({ "id": id, "type": "error", "payload": payload }).to_string()
    }

    /// Operation `id` is done.
    pub fn complete(self, id: &str) -> String {
        json!({ "id": id, "type": "complete" }).to_string()
    }

    /// Legacy `connection_error`, sent before closing a refused connection.
    pub fn connection_error(self, message: &str) -> Option<String> {
        (self == Self::Legacy)
            .then(|| json!({ "type": "connection_error", "payload": { "message": message } }))
            .map(|v| v.to_string())
    }

    /// Legacy keep-alive `ka`, sent with each websocket ping (`subscriptions-transport-ws`
    /// clients time the connection out when it stops).
    pub fn keep_alive(self) -> Option<String> {
        (self == Self::Legacy).then(|| json!({ "type": "ka" }).to_string())
    }
}

/// The errors of a first response that ended its operation before it ran: parse and
/// validation failures (no data and no error located in the result).
pub fn refused_before_execution(response: &Response) -> Option<&[ServerError]> {
    (response.data == async_graphql::Value::Null
        && !response.errors.is_empty()
        && response.errors.iter().all(|err| err.path.is_empty()))
    .then_some(response.errors.as_slice())
}

/// A close reason fitting a close frame (at most 123 bytes of UTF-8).
pub fn reason(text: &str) -> String {
    const MAX: usize = 123;
    if text.len() <= MAX {
        return text.to_owned();
    }
    let mut end = MAX;
    while !text.is_char_boundary(end) {
        end -= 1;
    }
    text[..end].to_owned()
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn parses_each_subprotocols_messages() {
        let t = Protocol::TransportWs;
        assert!(matches!(
            t.parse(br#"{"type":"subscribe","id":"1","payload":{"query":"{ me { id } }"}}"#),
            Ok(ClientMessage::Subscribe { id, .. }) if id == "1"
        ));
        assert!(matches!(
            t.parse(br#"{"type":"connection_init"}"#),
            Ok(ClientMessage::ConnectionInit { payload }) if payload.is_object()
        ));
        assert!(matches!(
            t.parse(br#"{"type":"ping","payload":{"a":1}}"#),
            Ok(ClientMessage::Ping { payload: Some(_) })
        ));
        // Each subprotocol's names only.
        assert!(
            t.parse(br#"{"type":"start","id":"1","payload":{"query":"{a}"}}"#)
                .is_err()
        );
        assert!(Protocol::Legacy.parse(br#"{"type":"ping"}"#).is_err());
        assert!(matches!(
            Protocol::Legacy.parse(br#"{"type":"stop","id":"a"}"#),
            Ok(ClientMessage::Complete { id }) if id == "a"
        ));
    }

    #[test]
    fn refuses_malformed_messages() {
        let t = Protocol::TransportWs;
        for bad in [
            &b"nonsense"[..],
            br#"[1]"#,
            br#"{"id":"1"}"#,
            br#"{"type":"subscribe","payload":{"query":"{a}"}}"#,
            br#"{"type":"subscribe","id":"1"}"#,
            br#"{"type":"subscribe","id":7,"payload":{"query":"{a}"}}"#,
            br#"{"type":"connection_init","payload":"token"}"#,
            br#"{"type":"whatever"}"#,
        ] {
            assert!(t.parse(bad).is_err(), "{}", String::from_utf8_lossy(bad));
        }
    }

    #[test]
    fn close_reasons_fit_a_frame() {
        let long = "é".repeat(100);
        let reason = reason(&long);
        assert!(reason.len() <= 123);
        assert!(long.starts_with(&reason));
    }
}
