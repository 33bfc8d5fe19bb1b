//! Rendering a typed [`Filter`] to a SeaQuery [`Condition`] on `contacts`.
//!
//! Every value, JSON keys included, is a bound parameter. The two dialects differ in the JSON
//! accessors (`render/json.rs`: PostgreSQL's `->>` returns text and its casts raise on bad
//! data; SQLite's returns a typed value), so a condition must run on the backend it was rendered
//! for; and on PostgreSQL a custom text attribute's EQUAL_TO also carries an index-friendly
//! condition it implies (see [`Render::attribute_terms`]), which never changes the result.
//!
//! Text compares `lower(attribute)` with the lower-cased value, and LIKE patterns are
//! lower-cased and escaped, so matching ignores case alike on both backends (LIKE alone is
//! case-sensitive on PostgreSQL). Caveat: SQLite's `lower()` folds ASCII letters only, so there
//! `"ÉMILE"` does not equal `"émile"`; PostgreSQL folds per the database's locale.
//!
//! Lists of any length render flat. SeaQuery turns every `Condition` into a left-deep chain of
//! binary ANDs/ORs and walks it recursively (to render and to drop it), so a condition over
//! 20,000 values overflowed a worker's stack and aborted the process. Here a list of terms is one
//! custom expression `((?) OR (?) …)` whose arguments SeaQuery visits in a loop: the depth of
//! what is rendered no longer grows with the number of values or conditions (see
//! `renders_huge_filters_on_a_small_stack` in `tests/size.rs`).

mod json;

use chrono::{NaiveDate, NaiveTime};
use entity::{contact, contact_label};
use sea_orm::{
    DbBackend,
    sea_query::{Condition, Expr, ExprTrait, Func, LikeExpr, Query, SelectStatement},
};

use super::check::{
    BoolField, BoolOp, Check, CmpOp, DateField, Filter, LabelOp, TextField, TextOp,
};
use crate::contacts::repo::like_escape;

impl Filter {
    /// The condition for `contact::Entity::find().filter(..)`; `None` for an empty filter.
    pub fn to_condition(&self, backend: DbBackend) -> Option<Condition> {
        if self.groups.is_empty() {
            return None;
        }
        let render = Render {
            postgres: backend == DbBackend::Postgres,
        };
        let groups = self
            .groups
            .iter()
            .map(|group| render.all(group.iter().map(|check| render.check(check))));
        Some(render.any(groups))
    }
}

/// The dialect: PostgreSQL, or SQLite for anything else.
#[derive(Clone, Copy)]
struct Render {
    postgres: bool,
}

impl Render {
    fn check(self, check: &Check) -> Condition {
        match check {
            Check::Text(field, op) => self.text(field, op),
            Check::Number(key, op) => self.number(key, op),
            Check::Date(DateField::CreatedAt, op) => self.timestamp(contact::Column::CreatedAt, op),
            Check::Date(DateField::LastActivityAt, op) => {
                self.timestamp(contact::Column::LastActivityAt, op)
            }
            Check::Date(DateField::Custom(key), op) => self.custom_date(key, op),
            Check::Bool(BoolField::Blocked, op) => blocked(op),
            Check::Bool(BoolField::Custom(key), op) => self.checkbox(key, op),
            Check::Labels(op) => labels(op),
        }
    }

    // --- text ---------------------------------------------------------------------------------

    fn text(self, field: &TextField, op: &TextOp) -> Condition {
        let raw = || self.raw_text(field);
        // Phone numbers are digits and `+`: compared as stored, which keeps the unique index
        // usable. Everything else ignores case.
        let value = || {
            if *field == TextField::Phone {
                raw()
            } else {
                Func::lower(raw()).into()
            }
        };
        let custom = matches!(field, TextField::Custom(_));
        match op {
            TextOp::EqualTo(values) => {
                let equal = one(value().is_in(values.iter().cloned()));
                match field {
                    TextField::Custom(key) if self.postgres => {
                        equal.add(self.attribute_terms(key, values))
                    }
                    _ => equal,
                }
            }
            TextOp::NotEqualTo(values) => {
                negative(custom, raw(), value().is_not_in(values.iter().cloned()))
            }
            TextOp::Contains(values) => self.any(values.iter().map(|v| value().like(contains(v)))),
            // does_not_contain: a missing attribute does not match, custom or not (docs/design.md §5).
            TextOp::DoesNotContain(values) => negative(
                false,
                raw(),
                self.all(values.iter().map(|v| value().not_like(contains(v)))),
            ),
            TextOp::StartsWith(values) => self.any(values.iter().map(|v| value().like(prefix(v)))),
            TextOp::IsPresent => present(raw),
            TextOp::IsNotPresent => present(raw).not(),
        }
    }

    /// The attribute as text (NULL when absent), before any lower-casing.
    fn raw_text(self, field: &TextField) -> Expr {
        match field {
            TextField::Name => column(contact::Column::Name),
            TextField::Email => column(contact::Column::Email),
            TextField::Phone => column(contact::Column::PhoneNumber),
            TextField::Identifier => column(contact::Column::Identifier),
            TextField::Additional(key) => {
                self.json_text(contact::Column::AdditionalAttributes, key)
            }
            TextField::Custom(key) => self.json_text(contact::Column::CustomAttributes, key),
        }
    }

    // --- custom numbers, dates, checkboxes ----------------------------------------------------

    fn number(self, key: &str, op: &CmpOp<f64>) -> Condition {
        let number = || self.custom_number(key);
        let value = |v: &f64| self.number_value(*v);
        match op {
            CmpOp::EqualTo(values) => one(number().is_in(values.iter().map(value))),
            CmpOp::NotEqualTo(values) => {
                negative(true, number(), number().is_not_in(values.iter().map(value)))
            }
            CmpOp::GreaterThan(v) => one(number().gt(value(v))),
            CmpOp::LessThan(v) => one(number().lt(value(v))),
            CmpOp::IsPresent => present(|| self.custom_raw(key)),
            CmpOp::IsNotPresent => present(|| self.custom_raw(key)).not(),
        }
    }

    /// A custom date attribute, compared as `YYYY-MM-DD` text: that format orders like the dates.
    fn custom_date(self, key: &str, op: &CmpOp<NaiveDate>) -> Condition {
        let day = || self.custom_day(key);
        let value = |d: &NaiveDate| d.format("%Y-%m-%d").to_string();
        match op {
            CmpOp::EqualTo(values) => one(day().is_in(values.iter().map(value))),
            CmpOp::NotEqualTo(values) => {
                negative(true, day(), day().is_not_in(values.iter().map(value)))
            }
            CmpOp::GreaterThan(d) => one(day().gt(value(d))),
            CmpOp::LessThan(d) => one(day().lt(value(d))),
            CmpOp::IsPresent => present(|| self.custom_raw(key)),
            CmpOp::IsNotPresent => present(|| self.custom_raw(key)).not(),
        }
    }

    fn checkbox(self, key: &str, op: &BoolOp) -> Condition {
        let state = || self.custom_checkbox(key);
        let value = |b: &bool| if *b { "true" } else { "false" };
        match op {
            BoolOp::EqualTo(values) => one(state().is_in(values.iter().map(value))),
            BoolOp::NotEqualTo(values) => {
                negative(true, state(), state().is_not_in(values.iter().map(value)))
            }
            BoolOp::IsPresent => present(|| self.custom_raw(key)),
            BoolOp::IsNotPresent => present(|| self.custom_raw(key)).not(),
        }
    }
}

// --- standard columns -------------------------------------------------------------------------

fn column(column: contact::Column) -> Expr {
    Expr::col((contact::Entity, column))
}

impl Render {
    /// Day granularity in UTC: `> D` is from the next midnight on, `< D` before D's midnight.
    fn timestamp(self, column_: contact::Column, op: &CmpOp<NaiveDate>) -> Condition {
        let at = || column(column_);
        let midnight = |d: NaiveDate| Expr::val(d.and_time(NaiveTime::MIN).and_utc());
        // The parser keeps years below 10000, so the next day always exists.
        let next = |d: NaiveDate| d.succ_opt().unwrap_or(NaiveDate::MAX);
        let on_day = |d: &NaiveDate| {
            Condition::all()
                .add(at().gte(midnight(*d)))
                .add(at().lt(midnight(next(*d))))
        };
        match op {
            CmpOp::EqualTo(days) => self.any(days.iter().map(on_day)),
            CmpOp::NotEqualTo(days) => {
                negative(false, at(), self.any(days.iter().map(on_day)).not())
            }
            CmpOp::GreaterThan(d) => one(at().gte(midnight(next(*d)))),
            CmpOp::LessThan(d) => one(at().lt(midnight(*d))),
            CmpOp::IsPresent => one(at().is_not_null()),
            CmpOp::IsNotPresent => one(at().is_null()),
        }
    }
}

/// `blocked` is NOT NULL, so a plain comparison is the whole story.
fn blocked(op: &BoolOp) -> Condition {
    let blocked = || column(contact::Column::Blocked);
    match op {
        BoolOp::EqualTo(values) => one(blocked().is_in(values.iter().copied())),
        BoolOp::NotEqualTo(values) => one(blocked().is_not_in(values.iter().copied())),
        BoolOp::IsPresent => one(blocked().is_not_null()),
        BoolOp::IsNotPresent => one(blocked().is_null()),
    }
}

/// Labels through a correlated subquery on `contact_labels`; "none of" therefore also matches
/// contacts without any label.
fn labels(op: &LabelOp) -> Condition {
    let labelled = |names: Option<&Vec<String>>| -> SelectStatement {
        let mut query = Query::select();
        query
            .expr(Expr::cust("1"))
            .from(contact_label::Entity)
            .and_where(
                Expr::col((contact_label::Entity, contact_label::Column::ContactId))
                    .equals((contact::Entity, contact::Column::Id)),
            );
        if let Some(names) = names {
            query.and_where(
                Expr::col((contact_label::Entity, contact_label::Column::Name))
                    .is_in(names.iter().cloned()),
            );
        }
        query
    };
    one(match op {
        LabelOp::EqualTo(names) => Expr::exists(labelled(Some(names))),
        LabelOp::NotEqualTo(names) => Expr::not_exists(labelled(Some(names))),
        LabelOp::IsPresent => Expr::exists(labelled(None)),
        LabelOp::IsNotPresent => Expr::not_exists(labelled(None)),
    })
}

// --- building blocks --------------------------------------------------------------------------

fn one(expr: Expr) -> Condition {
    Condition::all().add(expr)
}

impl Render {
    /// Any of the items, as one flat expression (an empty list matches nothing).
    fn any<C: Into<Condition>>(self, items: impl Iterator<Item = C>) -> Condition {
        self.chain(Condition::any(), " OR ", items)
    }

    /// All of the items, as one flat expression (an empty list matches everything).
    fn all<C: Into<Condition>>(self, items: impl Iterator<Item = C>) -> Condition {
        self.chain(Condition::all(), " AND ", items)
    }

    /// `((a) OR (b) …)`: each item bracketed, since an item may itself be an OR (see
    /// [`negative`]) that must not bind with its neighbours, and the whole too, since SeaQuery
    /// does not bracket a custom expression it joins to others. `empty` is what no items mean;
    /// a single item is itself.
    fn chain<C: Into<Condition>>(
        self,
        empty: Condition,
        operator: &str,
        items: impl Iterator<Item = C>,
    ) -> Condition {
        let mut items: Vec<Condition> = items.map(Into::into).collect();
        if items.len() <= 1 {
            return items.pop().unwrap_or(empty);
        }
        let items: Vec<Expr> = items.into_iter().map(Expr::from).collect();
        let template = format!("({})", marks(items.len(), operator).replace('?', "(?)"));
        one(self.sql(&template, items))
    }
}

/// `n` placeholders `?` joined by `separator`.
fn marks(n: usize, separator: &str) -> String {
    let mut marks = String::with_capacity(n * (separator.len() + 1));
    for i in 0..n {
        if i > 0 {
            marks.push_str(separator);
        }
        marks.push('?');
    }
    marks
}

/// A negative test (NOT IN, NOT LIKE) on an attribute that may be NULL. SQL would already drop
/// NULL rows; saying it keeps the intent visible. With `missing_matches` (custom attributes under
/// not_equal_to, docs/design.md §5) a missing value matches instead — as one bracketed OR, so it
/// cannot leak into neighbouring conditions.
fn negative(missing_matches: bool, attribute: Expr, test: impl Into<Condition>) -> Condition {
    if missing_matches {
        Condition::any().add(attribute.is_null()).add(test.into())
    } else {
        Condition::all()
            .add(attribute.is_not_null())
            .add(test.into())
    }
}

/// Has a value: not NULL (nor JSON null, nor a missing key) and not the empty string.
fn present(raw: impl Fn() -> Expr) -> Condition {
    Condition::all().add(raw().is_not_null()).add(raw().ne(""))
}

/// A LIKE pattern matching `value` anywhere.
fn contains(value: &str) -> LikeExpr {
    LikeExpr::new(format!("%{}%", like_escape(value))).escape('\\')
}

/// A LIKE pattern matching values that start with `value`.
fn prefix(value: &str) -> LikeExpr {
    LikeExpr::new(format!("{}%", like_escape(value))).escape('\\')
}
