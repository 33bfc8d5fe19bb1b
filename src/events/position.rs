//! Positions in an account's event stream (docs/design.md §3, "Positions").
//!
//! Every retained event of an account gets the next offset of that account's stream. The
//! stream lives in an epoch: a new epoch starts when the history is lost (a Redis that lost its
//! data, the metadata expiring, an embedded server restarting), and positions of another epoch
//! are refused as expired rather than silently misread. A position is written
//! `<account>:<epoch>:<offset>`; clients treat it as opaque.

use std::{fmt, sync::Arc};

use crate::error::AppError;

/// Longest epoch accepted (Redis epochs are 13–16 hex digits, embedded ones 16).
const MAX_EPOCH_LEN: usize = 32;

/// A place in one account's stream.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Position {
    pub account_id: i64,
    /// Lowercase hex; changes when the stream's history is lost.
    pub epoch: Arc<str>,
    /// 1 for the first event of the epoch; 0 names the start of the epoch, before any event.
    pub offset: u64,
}

impl Position {
    /// The position right after `self` would be followed by `offset` without a gap.
    pub fn is_followed_by(&self, next: &Position) -> bool {
        self.epoch == next.epoch && next.offset == self.offset + 1
    }

    /// The same epoch, at another offset.
    pub fn at(&self, offset: u64) -> Self {
        Self {
            account_id: self.account_id,
            epoch: self.epoch.clone(),
            offset,
        }
    }

    /// Parses a position a client sent as `after` for a subscription of `account_id`.
    pub fn parse(text: &str, account_id: i64) -> Result<Self, AppError> {
        let bad = |why: &str| AppError::bad_input("after", format!("after: {why}"));
        if text.len() > 80 {
            return Err(bad("not a position (too long)"));
        }
        let mut parts = text.split(':');
        let (Some(account), Some(epoch), Some(offset), None) =
            (parts.next(), parts.next(), parts.next(), parts.next())
        else {
            return Err(bad("not a position received from this server"));
        };
        let account: i64 = account
            .parse()
            .map_err(|_| bad("not a position received from this server"))?;
        let epoch_ok = !epoch.is_empty()
            && epoch.len() <= MAX_EPOCH_LEN
            && epoch
                .bytes()
                .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b));
        let offset: u64 = match offset.parse() {
            Ok(offset) if epoch_ok && !offset_has_sign(text) => offset,
            _ => return Err(bad("not a position received from this server")),
        };
        if account != account_id {
            return Err(bad("a position of another account"));
        }
        Ok(Self {
            account_id,
            epoch: Arc::from(epoch),
            offset,
        })
    }
}

/// `u64::from_str` accepts a leading `+`; a position never has one.
fn offset_has_sign(text: &str) -> bool {
    text.rsplit(':').next().is_some_and(|o| o.starts_with('+'))
}

impl fmt::Display for Position {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}:{}:{}", self.account_id, self.epoch, self.offset)
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn round_trips_and_refuses_the_rest() {
        let p = Position::parse("7:18a3f9c2b1e4d0:42", 7).unwrap();
        assert_eq!(p.offset, 42);
        assert_eq!(p.to_string(), "7:18a3f9c2b1e4d0:42");
        assert!(p.at(41).is_followed_by(&p));
        assert!(!p.is_followed_by(&p));
        for bad in [
            "",
            "7:abc",
            "7:abc:1:2",
            "7::1",
            "7:ABC:1",
            "7:xyz:1",
            "7:abc:-1",
            "7:abc:+1",
            "7:abc:18446744073709551616",
            "x:abc:1",
            "7:abc\0:1",
        ] {
            let err = Position::parse(bad, 7).unwrap_err();
            assert_eq!(err.code(), "BAD_USER_INPUT", "{bad:?}");
        }
        let other = Position::parse("8:abc:1", 7).unwrap_err();
        assert!(other.message().contains("another account"));
    }
}
