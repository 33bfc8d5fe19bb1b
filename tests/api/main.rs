//! End-to-end tests: one binary, a real server per test, real HTTP and websocket clients.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod agents;
mod auth;
mod boundary;
mod cli;
mod contacts;
mod contacts_filter;
mod contacts_paging;
mod conversations;
mod exports;
mod fuzz;
mod helpers;
mod hostile_input;
mod http;
mod imports;
mod merge;
mod n_plus_one;
mod notes;
mod operations;
mod outage;
mod persisted_queries;
mod realtime;
mod resume;
mod schema;
mod sdk;
mod websocket;
