//! Baseline websocket server for the peer benchmarks (`peers`): a bare tokio-tungstenite server
//! with a 4 KiB read and write buffer. It accepts websockets (echoing the requested
//! `Sec-WebSocket-Protocol`, so graphql-transport-ws clients connect unchanged), answers the first
//! text message (`connection_init`) with `{"type":"connection_ack"}`, answers
//! `{"type":"ping"}` with `{"type":"pong"}`, ignores every other frame and otherwise just holds
//! the socket. `POST /broadcast` on the same port sends the request body as a text frame to every
//! acked socket.
//!
//! ```sh
//! cargo run --release -p switchboard-bench --bin ws_baseline -- --port 9100
//! curl -d 'hello' http://127.0.0.1:9100/broadcast
//! ```
//!
//! It prints `listening 127.0.0.1:PORT` once bound (with `--port 0`, the chosen port).

#![allow(clippy::print_stdout)] // reports its address on stdout

use anyhow::{Context, Result};
use clap::Parser;
use futures_util::{SinkExt, StreamExt};
use tokio::{
    io::{AsyncReadExt, AsyncWriteExt},
    net::{TcpListener, TcpStream},
    sync::broadcast,
};
use tokio_tungstenite::tungstenite::{
    Message,
    handshake::server::{ErrorResponse, Request, Response},
    protocol::WebSocketConfig,
};

#[derive(Parser, Debug)]
#[command(about = "Bare tokio-tungstenite websocket server (4 KiB buffers), the peers baseline")]
struct Args {
    /// Port to listen on (127.0.0.1); 0 picks a free one.
    #[arg(long, default_value_t = 0)]
    port: u16,
}

/// Raises the soft open-files limit to the hard limit (one socket per connection).
fn raise_nofile() {
    use nix::sys::resource::{Resource, getrlimit, setrlimit};
    if let Ok((_, hard)) = getrlimit(Resource::RLIMIT_NOFILE) {
        let _ = setrlimit(Resource::RLIMIT_NOFILE, hard, hard);
    }
}

/// Answers `POST /broadcast` (body = frame text) with 204 after queueing the broadcast.
async fn broadcast_request(mut stream: TcpStream, tx: &broadcast::Sender<String>) -> Result<()> {
    let mut buf = Vec::with_capacity(1024);
    let mut chunk = [0u8; 1024];
    let head_end = loop {
        let read = stream.read(&mut chunk).await?;
        if read == 0 {
            return Ok(());
        }
        buf.extend_from_slice(&chunk[..read]);
        if let Some(at) = buf.windows(4).position(|w| w == b"\r\n\r\n") {
            break at + 4;
        }
    };
    let head = String::from_utf8_lossy(&buf[..head_end]).to_ascii_lowercase();
    let length: usize = head
        .lines()
        .find_map(|l| l.strip_prefix("content-length:"))
        .and_then(|v| v.trim().parse().ok())
        .unwrap_or(0);
    while buf.len() < head_end + length {
        let read = stream.read(&mut chunk).await?;
        if read == 0 {
            break;
        }
        buf.extend_from_slice(&chunk[..read]);
    }
    let end = buf.len().min(head_end + length);
    let body = String::from_utf8_lossy(&buf[head_end..end]).into_owned();
    let _ = tx.send(body);
    stream
        .write_all(b"HTTP/1.1 204 No Content\r\nConnection: close\r\n\r\n")
        .await?;
    Ok(())
}

// The handshake callback's error type (a whole HTTP response) is tungstenite's, not ours.
#[allow(clippy::result_large_err)]
async fn connection(stream: TcpStream, tx: broadcast::Sender<String>) -> Result<()> {
    let mut peek = [0u8; 5];
    let peeked = stream.peek(&mut peek).await?;
    if &peek[..peeked] == b"POST " {
        return broadcast_request(stream, &tx).await;
    }
    let config = WebSocketConfig::default()
        .read_buffer_size(4096)
        .write_buffer_size(4096);
    let echo_protocol = |request: &Request, mut response: Response| {
        if let Some(protocol) = request.headers().get("sec-websocket-protocol") {
            let first = protocol
                .to_str()
                .ok()
                .and_then(|p| p.split(',').next())
                .map(str::trim)
                .and_then(|p| p.parse().ok());
            if let Some(first) = first {
                response
                    .headers_mut()
                    .insert("sec-websocket-protocol", first);
            }
        }
        Ok::<_, ErrorResponse>(response)
    };
    let mut ws =
        tokio_tungstenite::accept_hdr_async_with_config(stream, echo_protocol, Some(config))
            .await?;
    // Wait for the first text message (connection_init) and ack it.
    loop {
        match ws.next().await {
            Some(Ok(Message::Text(_))) => break,
            Some(Ok(Message::Close(_)) | Err(_)) | None => return Ok(()),
            Some(Ok(_)) => {}
        }
    }
    ws.send(Message::Text(r#"{"type":"connection_ack"}"#.into()))
        .await?;
    let mut rx = tx.subscribe();
    loop {
        tokio::select! {
            frame = ws.next() => match frame {
                Some(Ok(Message::Text(text))) if text.contains(r#""type":"ping""#) => {
                    ws.send(Message::Text(r#"{"type":"pong"}"#.into())).await?;
                }
                Some(Ok(Message::Close(_)) | Err(_)) | None => return Ok(()),
                Some(Ok(_)) => {}
            },
            text = rx.recv() => match text {
                Ok(text) => ws.send(Message::Text(text.into())).await?,
                Err(broadcast::error::RecvError::Lagged(_)) => {}
                Err(broadcast::error::RecvError::Closed) => return Ok(()),
            },
        }
    }
}

#[tokio::main]
async fn main() -> Result<()> {
    let args = Args::parse();
    raise_nofile();
    // `TcpListener::bind`, as the Switchboard server binds (same listen backlog).
    let listener = TcpListener::bind(("127.0.0.1", args.port))
        .await
        .context("bind")?;
    println!("listening {}", listener.local_addr()?);
    let (tx, _) = broadcast::channel::<String>(64);
    loop {
        let Ok((stream, _)) = listener.accept().await else {
            // Out of file descriptors or similar: back off instead of spinning.
            tokio::time::sleep(std::time::Duration::from_millis(10)).await;
            continue;
        };
        let tx = tx.clone();
        tokio::spawn(async move {
            let _ = connection(stream, tx).await;
        });
    }
}
