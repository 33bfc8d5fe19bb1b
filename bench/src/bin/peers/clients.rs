//! The graphql-transport-ws client every phase uses, the same for both servers.

use std::time::{Duration, Instant};

use anyhow::{Result, bail};
use futures_util::{SinkExt, StreamExt};
use serde_json::json;
use switchboard_bench::Socket;
use tokio_tungstenite::tungstenite::{
    Message, client::IntoClientRequest, http::HeaderValue, protocol::WebSocketConfig,
};

/// One graphql-transport-ws client, the same for both servers: connect, `connection_init` with
/// the token, wait for `connection_ack`, send the `messageCreated` subscribe. Returns the socket
/// and connect → ack in ms.
pub(crate) async fn client(addr: &str, token: &str, conversation: &str) -> Result<(Socket, f64)> {
    let started = Instant::now();
    let mut request = format!("ws://{addr}/graphql/ws").into_client_request()?;
    request.headers_mut().insert(
        "Sec-WebSocket-Protocol",
        HeaderValue::from_static("graphql-transport-ws"),
    );
    // Small client buffers: 10,000 clients live in this one process.
    let config = WebSocketConfig::default()
        .read_buffer_size(4096)
        .write_buffer_size(4096);
    let (mut ws, _) =
        tokio_tungstenite::connect_async_with_config(request, Some(config), false).await?;
    let init = json!({ "type": "connection_init", "payload": { "authorization": format!("Bearer {token}") } });
    ws.send(Message::Text(init.to_string().into())).await?;
    loop {
        match ws.next().await {
            Some(Ok(Message::Text(text))) if text.contains("connection_ack") => break,
            Some(Ok(Message::Text(text))) => bail!("no ack: {text}"),
            Some(Ok(_)) => {}
            other => bail!("no ack: {other:?}"),
        }
    }
    let to_ack = started.elapsed().as_secs_f64() * 1000.0;
    let subscribe = json!({ "id": "1", "type": "subscribe", "payload": {
        "query": "subscription($c: ID) { messageCreated(conversationId: $c) { id content } }",
        "variables": { "c": conversation } } });
    ws.send(Message::Text(subscribe.to_string().into())).await?;
    Ok((ws, to_ack))
}

/// Connects `n` clients in waves of 250 (so the listen backlog never overflows).
pub(crate) async fn connect_waves(
    addr: &str,
    token: &str,
    conversation: &str,
    n: usize,
) -> (Vec<Socket>, usize) {
    let mut sockets = Vec::with_capacity(n);
    let mut failed = 0;
    let mut left = n;
    while left > 0 {
        let wave = left.min(250);
        left -= wave;
        let clients = (0..wave).map(|_| {
            tokio::time::timeout(Duration::from_secs(30), client(addr, token, conversation))
        });
        for result in futures_util::future::join_all(clients).await {
            match result {
                Ok(Ok((socket, _))) => sockets.push(socket),
                _ => failed += 1,
            }
        }
    }
    (sockets, failed)
}
