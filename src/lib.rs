//! Switchboard: a GraphQL API and realtime subscriptions gateway for a customer-support CRM.
//!
//! A map of the crate:
//! - [`app`]: the router and `App::run(listener, shutdown)`, the one way to start a server;
//! - [`state`]: what every resolver and handler shares, below the domains ([`context`] reads
//!   it in resolvers);
//! - [`config`]: the typed configuration and command line; [`cli`]: the non-serving commands;
//! - [`http`] and [`ws`]: GraphQL over HTTP and over websockets; [`graphiql`]: the IDE page;
//! - [`graphql`]: the schema's table of contents, merged from the domain modules
//!   ([`auth`], [`inboxes`], [`contacts`], [`notes`], [`attributes`], [`conversations`],
//!   [`messages`], [`presence`]), with [`loaders`] for every parent→child field and [`pagination`];
//! - [`events`]: the event bus (in process, or Redis pub/sub between instances);
//! - [`db`]: connections and migrations; [`error`]: the error boundary and its codes.

pub mod app;
pub mod attributes;
pub mod auth;
pub mod cli;
pub mod config;
pub mod contacts;
pub mod context;
pub mod conversations;
pub mod db;
pub mod error;
pub mod events;
pub mod executor;
pub mod exports;
pub mod graphiql;
pub mod graphql;
pub mod http;
pub mod ids;
pub mod imports;
pub mod inboxes;
pub mod limits;
pub mod loaders;
pub mod messages;
pub mod notes;
pub mod pagination;
pub mod presence;
pub mod realtime;
pub mod state;
pub mod telemetry;
pub mod time;
pub mod validate;
pub mod ws;

pub use app::App;
pub use config::Config;
