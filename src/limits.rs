//! Bounds on what one request may carry into the domain: filters, list arguments, JSON
//! attributes. Each is a flag and an environment variable (README "Configuration").
//!
//! The accepted ranges of the settings are bounded too, so that no configuration can build a
//! statement with more bind parameters than PostgreSQL takes (65,535): the largest filter
//! (`MAX_FILTER_CONDITIONS` × `MAX_FILTER_VALUES` = 25,000 values, at most two parameters
//! each, see `contacts/filter/render.rs`) and the largest label list (`MAX_LIST_ITEMS` rows of
//! three columns) stay below it.

use clap::Args;

use crate::error::{AppError, AppResult};

/// Default of `MAX_FILTER_CONDITIONS`: Chatwoot's segment editor builds filters by hand, a row
/// per condition; 50 rows is far beyond any screen of them.
pub const DEFAULT_FILTER_CONDITIONS: u32 = 50;
/// Default of `MAX_FILTER_VALUES`: values are typed or picked one by one (e.g. a list of
/// cities, of labels); 100 covers a pasted list while keeping one query small.
pub const DEFAULT_FILTER_VALUES: u32 = 100;
/// Default of `MAX_LIST_ITEMS`: labels set at once, attribute keys deleted at once, values of a
/// list attribute. A catalogue of labels rarely reaches a few dozen.
pub const DEFAULT_LIST_ITEMS: u32 = 100;
/// Default of `MAX_ATTRIBUTES_BYTES`: a contact's custom or additional attributes as JSON
/// (64 KiB holds hundreds of fields; a row stays cheap to read, index and send).
pub const DEFAULT_ATTRIBUTES_BYTES: u32 = 64 * 1024;
/// Default of `MAX_ATTRIBUTES_DEPTH`: attributes are flat fields, with a level or two of
/// nesting for things like `social_profiles`.
pub const DEFAULT_ATTRIBUTES_DEPTH: u32 = 8;

/// The input bounds, shared by every write path and the contacts filter.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Args)]
pub struct InputLimits {
    /// Most conditions in one contacts filter (`filterContacts`, `exportContacts`).
    #[arg(
        long,
        env = "MAX_FILTER_CONDITIONS",
        default_value_t = DEFAULT_FILTER_CONDITIONS,
        value_parser = clap::value_parser!(u32).range(1..=100),
        global = true
    )]
    pub max_filter_conditions: u32,
    /// Most values in one condition of a contacts filter.
    #[arg(
        long,
        env = "MAX_FILTER_VALUES",
        default_value_t = DEFAULT_FILTER_VALUES,
        value_parser = clap::value_parser!(u32).range(1..=250),
        global = true
    )]
    pub max_filter_values: u32,
    /// Most items in one list argument of a write (labels, attribute keys, list values).
    #[arg(
        long,
        env = "MAX_LIST_ITEMS",
        default_value_t = DEFAULT_LIST_ITEMS,
        value_parser = clap::value_parser!(u32).range(1..=10_000),
        global = true
    )]
    pub max_list_items: u32,
    /// Largest custom or additional attributes object of a contact, in bytes of JSON.
    #[arg(
        long,
        env = "MAX_ATTRIBUTES_BYTES",
        default_value_t = DEFAULT_ATTRIBUTES_BYTES,
        value_parser = clap::value_parser!(u32).range(1024..=16 * 1024 * 1024),
        global = true
    )]
    pub max_attributes_bytes: u32,
    /// Deepest nesting of a contact's attributes object (the object itself is level 1).
    #[arg(
        long,
        env = "MAX_ATTRIBUTES_DEPTH",
        default_value_t = DEFAULT_ATTRIBUTES_DEPTH,
        value_parser = clap::value_parser!(u32).range(1..=64),
        global = true
    )]
    pub max_attributes_depth: u32,
}

impl Default for InputLimits {
    fn default() -> Self {
        Self {
            max_filter_conditions: DEFAULT_FILTER_CONDITIONS,
            max_filter_values: DEFAULT_FILTER_VALUES,
            max_list_items: DEFAULT_LIST_ITEMS,
            max_attributes_bytes: DEFAULT_ATTRIBUTES_BYTES,
            max_attributes_depth: DEFAULT_ATTRIBUTES_DEPTH,
        }
    }
}

impl InputLimits {
    /// Refuses a list argument longer than `MAX_LIST_ITEMS`, naming `field`.
    pub fn list<T>(&self, field: &str, items: &[T]) -> AppResult<()> {
        let max = self.max_list_items as usize;
        if items.len() > max {
            return Err(AppError::bad_input(
                field,
                format!(
                    "{field} holds {} items; at most {max} are accepted (MAX_LIST_ITEMS)",
                    items.len()
                ),
            ));
        }
        Ok(())
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use clap::Parser;

    use super::*;

    #[derive(Parser)]
    struct Cli {
        #[command(flatten)]
        limits: InputLimits,
    }

    #[test]
    fn defaults_match_the_flags() {
        let cli = Cli::try_parse_from(["x"]).unwrap();
        assert_eq!(cli.limits, InputLimits::default());
    }

    #[test]
    fn settings_cannot_exceed_the_bind_parameter_budget() {
        assert!(Cli::try_parse_from(["x", "--max-filter-values", "251"]).is_err());
        assert!(Cli::try_parse_from(["x", "--max-filter-conditions", "0"]).is_err());
        assert!(Cli::try_parse_from(["x", "--max-list-items", "10001"]).is_err());
        let largest = Cli::try_parse_from([
            "x",
            "--max-filter-conditions",
            "100",
            "--max-filter-values",
            "250",
            "--max-list-items",
            "10000",
        ])
        .unwrap()
        .limits;
        // The largest filter: its values, at most two parameters each (plus a few per condition).
        let filter = largest.max_filter_conditions * (largest.max_filter_values * 2 + 8);
        assert!(filter < 65_535, "{filter}");
        // The largest label list: rows of three columns.
        assert!(largest.max_list_items * 3 < 65_535);
    }

    #[test]
    fn lists_are_bounded() {
        let limits = InputLimits::default();
        assert!(limits.list("labels", &[0; 100]).is_ok());
        let err = limits.list("labels", &[0; 101]).unwrap_err();
        assert_eq!(err.code(), "BAD_USER_INPUT");
    }
}
