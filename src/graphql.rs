//! The schema's table of contents: the root types merged from each domain.

use std::sync::Arc;

use async_graphql::{MergedObject, MergedSubscription, SDLExportOptions, Schema, SchemaBuilder};

use crate::{
    attributes::schema::{AttributeMutation, AttributeQuery},
    auth::schema::{AuthMutation, AuthQuery},
    contacts::schema::{ContactMutation, ContactQuery, ContactSubscription},
    conversations::schema::{ConversationMutation, ConversationQuery},
    exports::schema::ExportMutation,
    imports::schema::{ImportMutation, ImportQuery, ImportSubscription},
    inboxes::schema::{InboxMutation, InboxQuery},
    messages::schema::MessageMutation,
    notes::schema::NoteMutation,
    presence::schema::PresenceSubscription,
    realtime::schema::RealtimeSubscription,
    state::AppState,
};

/// Deepest accepted selection. GraphiQL's introspection query needs 13 levels; codegen tools
/// a little more.
pub const MAX_DEPTH: usize = 16;
/// Highest accepted static complexity (GraphiQL's introspection query scores about 230).
pub const MAX_COMPLEXITY: usize = 1000;

/// Every query.
#[derive(MergedObject, Default)]
#[graphql(name = "Query")]
pub struct Query(
    AuthQuery,
    InboxQuery,
    ContactQuery,
    AttributeQuery,
    ConversationQuery,
    ImportQuery,
);

/// Every mutation.
#[derive(MergedObject, Default)]
#[graphql(name = "Mutation")]
pub struct Mutation(
    AuthMutation,
    InboxMutation,
    ContactMutation,
    NoteMutation,
    AttributeMutation,
    ConversationMutation,
    MessageMutation,
    ImportMutation,
    ExportMutation,
);

/// Every subscription.
#[derive(MergedSubscription, Default)]
#[graphql(name = "Subscription")]
pub struct Subscription(
    PresenceSubscription,
    ContactSubscription,
    RealtimeSubscription,
    ImportSubscription,
);

/// The executable schema.
pub type AppSchema = Schema<Query, Mutation, Subscription>;

fn builder() -> SchemaBuilder<Query, Mutation, Subscription> {
    Schema::build(
        Query::default(),
        Mutation::default(),
        Subscription::default(),
    )
    .limit_depth(MAX_DEPTH)
    .limit_complexity(MAX_COMPLEXITY)
}

/// The schema serving requests, with the shared state in its data. It has no extensions:
/// `executor::Executor` does their work once per request (see there why).
pub fn build_schema(state: Arc<AppState>) -> AppSchema {
    builder().data(state).finish()
}

/// The SDL, sorted so the output is stable: the contents of `schema.graphql`.
pub fn sdl() -> String {
    let options = SDLExportOptions::new()
        .sorted_fields()
        .sorted_arguments()
        .sorted_enum_items();
    builder().finish().sdl_with_options(options)
}
