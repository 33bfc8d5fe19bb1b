//! Timestamps at the precision both databases keep (PostgreSQL stores microseconds), so a value
//! read back compares equal to the one written, and keyset cursors stay exact.

use chrono::{DateTime, SubsecRound, Utc};

/// The current time, truncated to microseconds.
pub fn now() -> DateTime<Utc> {
    truncate(Utc::now())
}

/// A client-supplied time, truncated to microseconds.
pub fn truncate(at: DateTime<Utc>) -> DateTime<Utc> {
    at.trunc_subsecs(6)
}
