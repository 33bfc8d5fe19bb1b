//! The JSON accessors of `custom_attributes` and `additional_attributes`, per dialect: the one
//! place where a rendered condition differs between PostgreSQL and SQLite.

use entity::contact;
use sea_orm::sea_query::{Expr, ExprTrait, Func, extension::postgres::PgBinOper};

use super::{Render, column, marks};

impl Render {
    /// A custom SQL fragment with `?` for each of `args`. SeaQuery substitutes `?` on SQLite but
    /// `$n` (numbered within the fragment) on PostgreSQL, so the marks are renumbered there. The
    /// templates are made in `render.rs` and `render/json.rs` and contain no other `?`.
    pub(super) fn sql(self, template: &str, args: Vec<Expr>) -> Expr {
        if !self.postgres {
            return Expr::cust_with_exprs(template.to_owned(), args);
        }
        let mut numbered = String::with_capacity(template.len() + 8);
        let mut n = 0;
        for c in template.chars() {
            if c == '?' {
                n += 1;
                numbered.push('$');
                numbered.push_str(&n.to_string());
            } else {
                numbered.push(c);
            }
        }
        Expr::cust_with_exprs(numbered, args)
    }

    /// How a key is addressed, as a bound value: PostgreSQL takes the key itself; SQLite a JSON
    /// path, quoted so that keys with `.`, `[` or spaces stay one key (keys with `"` are refused
    /// by the parser).
    fn json_key(self, key: &str) -> Expr {
        if self.postgres {
            Expr::val(key)
        } else {
            Expr::val(format!("$.\"{key}\""))
        }
    }

    /// `n` pairs (column, key) for a template that reads the key `n` times.
    fn json_args(self, column_: contact::Column, key: &str, n: usize) -> Vec<Expr> {
        (0..n)
            .flat_map(|_| [column(column_), self.json_key(key)])
            .collect()
    }

    /// The value at `key` as text-like (NULL when missing or JSON null).
    pub(super) fn json_text(self, column_: contact::Column, key: &str) -> Expr {
        self.sql("(? ->> ?)", self.json_args(column_, key, 1))
    }

    pub(super) fn custom_raw(self, key: &str) -> Expr {
        self.json_text(contact::Column::CustomAttributes, key)
    }

    /// The value at `key` if it is a JSON number, else NULL: a stored string such as "many"
    /// must not fail the cast (PostgreSQL) nor compare as text (SQLite).
    pub(super) fn custom_number(self, key: &str) -> Expr {
        let template = if self.postgres {
            "(CASE WHEN jsonb_typeof(? -> ?) = 'number' THEN CAST(? ->> ? AS numeric) END)"
        } else {
            "(CASE WHEN json_type(?, ?) IN ('integer', 'real') THEN ? ->> ? END)"
        };
        self.sql(
            template,
            self.json_args(contact::Column::CustomAttributes, key, 2),
        )
    }

    /// A number to compare with [`Self::custom_number`]; PostgreSQL compares in `numeric`.
    pub(super) fn number_value(self, value: f64) -> Expr {
        if self.postgres {
            self.sql("CAST(? AS numeric)", vec![Expr::val(value)])
        } else {
            Expr::val(value)
        }
    }

    /// The first 10 characters at `key` if they look like `YYYY-MM-DD`, else NULL. On
    /// PostgreSQL in the "C" collation, so text order is byte order whatever the locale.
    pub(super) fn custom_day(self, key: &str) -> Expr {
        let template = if self.postgres {
            "((CASE WHEN substr(? ->> ?, 1, 10) ~ '^[0-9]{4}-[0-9]{2}-[0-9]{2}$' \
             THEN substr(? ->> ?, 1, 10) END) COLLATE \"C\")"
        } else {
            "(CASE WHEN substr(? ->> ?, 1, 10) \
             GLOB '[0-9][0-9][0-9][0-9]-[0-9][0-9]-[0-9][0-9]' \
             THEN substr(? ->> ?, 1, 10) END)"
        };
        self.sql(
            template,
            self.json_args(contact::Column::CustomAttributes, key, 2),
        )
    }

    /// PostgreSQL only: a condition implied by `lower(custom_attributes ->> key) IN (values)`, to
    /// AND with it so that a GIN index can find the candidates whatever the key. It compares the
    /// terms `switchboard_contact_attribute_terms()` (migration m20261122_000005) makes of the
    /// stored object — `key U+001F lower(value)`, both truncated — with the same terms of the
    /// values: when the stored value lower-cased equals a value, their truncated terms are equal
    /// too. The exact test stays, so the result is the same with or without it.
    pub(super) fn attribute_terms(self, key: &str, values: &[String]) -> Expr {
        debug_assert!(self.postgres);
        let truncate = |s: &str, n: usize| s.chars().take(n).collect::<String>();
        let key = truncate(key, 64);
        // CAST(ARRAY(VALUES ($1), …, ($n)) AS text[]): the values stay bound, and the expression
        // stays flat however many there are. Not `ARRAY[…]`: SeaQuery's tokenizer takes `[…]` for
        // a quoted identifier and would leave the marks inside unbound. The GIN index is still
        // used (the array is computed once, as an InitPlan parameter). The parser refuses
        // EQUAL_TO without values, so the VALUES list is never empty.
        let terms: Vec<Expr> = values
            .iter()
            .map(|value| Expr::val(format!("{key}\u{1f}{}", truncate(value, 128))))
            .collect();
        let template = format!(
            "CAST(ARRAY(VALUES {}) AS text[])",
            marks(terms.len(), ", ").replace('?', "(?)")
        );
        let terms = self.sql(&template, terms);
        Expr::expr(
            Func::cust("switchboard_contact_attribute_terms")
                .arg(column(contact::Column::CustomAttributes)),
        )
        .binary(PgBinOper::Overlap, terms)
    }

    /// `'true'` or `'false'` if the value at `key` is a JSON boolean, else NULL. (SQLite's `->>`
    /// would give 1/0, indistinguishable from numbers; PostgreSQL's gives 'true'/'false' for
    /// the strings too.)
    pub(super) fn custom_checkbox(self, key: &str) -> Expr {
        let template = if self.postgres {
            "(CASE WHEN jsonb_typeof(? -> ?) = 'boolean' THEN ? ->> ? END)"
        } else {
            "(CASE json_type(?, ?) WHEN 'true' THEN 'true' WHEN 'false' THEN 'false' END)"
        };
        let n = if self.postgres { 2 } else { 1 };
        self.sql(
            template,
            self.json_args(contact::Column::CustomAttributes, key, n),
        )
    }
}
