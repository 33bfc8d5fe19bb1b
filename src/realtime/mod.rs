//! The realtime gateway: GraphQL subscriptions fed by the event bus, replacing ActionCable's
//! `RoomChannel`.
//!
//! Every subscription reads its account's events through one gate ([`gate::open`]): positions,
//! resume after a position, catching up after a lag, and who may see what
//! ([`recipients::may_receive`], docs/design.md §5) live there once. Events carry their rows, so
//! delivering one costs no query; nested fields go through the shared dataloader, which batches
//! the loads of every subscriber receiving the same event.

pub mod gate;
pub mod recipients;
pub mod renders;
pub mod room;
pub mod schema;
