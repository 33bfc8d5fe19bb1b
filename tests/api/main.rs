//! End-to-end tests: one binary, a real server per test, real HTTP and websocket clients.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod auth;
mod cli;
mod helpers;
mod http;
mod n_plus_one;
mod operations;
mod schema;
mod websocket;
