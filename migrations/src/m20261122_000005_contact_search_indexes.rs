//! Indexes that keep the contacts list, search and filter fast on large accounts (PostgreSQL).
//!
//! Every list, search and filter reads the account's *resolved* contacts (`email`,
//! `phone_number` or `identifier` set), so most contact indexes here are partial on exactly the
//! predicate `contacts::repo::resolved()` renders: the planner proves the query implies it, and
//! anonymous visitors stay out of them. Two expression indexes are whole-table on purpose: the
//! planner only reads the statistics ANALYZE gathers on an index expression from non-partial
//! indexes, and without them it guesses 0.5 % for any value (a partial terms index made the
//! filter below sort 82,000 rows for a 15-row page). Expressions match what
//! `src/contacts/repo.rs` and `src/contacts/filter/render/json.rs` render. The plans they were checked
//! with are in `bench/RESULTS-contacts.md`.
//!
//! SQLite: nothing. Its descending scan of the existing `(account_id, last_activity_at, id)`
//! index already yields the default order (SQLite sorts nulls first ascending, so last
//! descending), and it has neither trigram nor GIN indexes.
//!
//! On a large existing table each `CREATE INDEX` holds off writes to `contacts` while it builds
//! (about 1–25 s each per million contacts on 2 cores); operators who cannot afford that can
//! create them beforehand with `CREATE INDEX CONCURRENTLY` under the same names: `IF NOT EXISTS`
//! then skips them here.

use sea_orm_migration::{prelude::*, sea_orm::DbBackend};

#[derive(DeriveMigrationName)]
pub struct Migration;

/// The resolved-contacts predicate, as `contacts::repo::resolved()` renders it.
const RESOLVED: &str = "(email IS NOT NULL OR phone_number IS NOT NULL OR identifier IS NOT NULL)";

/// `(name, definition)` of each index partial on [`RESOLVED`]; the definition follows `ON`.
const PARTIAL_INDEXES: &[(&str, &str)] = &[
    // The default order (docs/design.md §5): `ORDER BY last_activity_at DESC NULLS LAST, id DESC`.
    // The existing ascending index read backwards gives DESC NULLS *FIRST*, which PostgreSQL
    // cannot use for it, so every first page sorted the whole account.
    (
        "idx_contacts_resolved_recent",
        "contacts (account_id, last_activity_at DESC NULLS LAST, id DESC)",
    ),
    // `totalCount` of the whole list: an index-only count (deduplicated, so small).
    ("idx_contacts_resolved_account_id", "contacts (account_id)"),
    // The label filter's semi-join probes contacts by id: index-only with the account.
    (
        "idx_contacts_resolved_id_account_id",
        "contacts (id, account_id)",
    ),
    // Search (repo::search): `lower(name) LIKE`, `email LIKE`, `phone_number LIKE` with `%…%`
    // patterns, and the identifier (case-sensitive); the company is below. The filter's
    // CONTAINS on name and phone number renders the same expressions.
    (
        "idx_contacts_trgm_lower_name",
        "contacts USING gin (lower(name) gin_trgm_ops)",
    ),
    (
        "idx_contacts_trgm_email",
        "contacts USING gin (email gin_trgm_ops)",
    ),
    (
        "idx_contacts_trgm_phone_number",
        "contacts USING gin (phone_number gin_trgm_ops)",
    ),
    (
        "idx_contacts_trgm_identifier",
        "contacts USING gin (identifier gin_trgm_ops)",
    ),
];

/// `(name, definition)` of each whole-table index (see the module comment).
const WHOLE_INDEXES: &[(&str, &str)] = &[
    // Search's `lower(additional_attributes ->> 'company_name') LIKE '%…%'` (and the filter's
    // CONTAINS on company); the only search expression with no other index to take statistics
    // from.
    (
        "idx_contacts_trgm_lower_company_name",
        "contacts USING gin (lower(additional_attributes ->> 'company_name') gin_trgm_ops)",
    ),
    // The filter's custom text attributes (EQUAL_TO), whatever their key: see the function.
    (
        "idx_contacts_custom_attribute_terms",
        "contacts USING gin (switchboard_contact_attribute_terms(custom_attributes))",
    ),
    // Labels filter counts: the contacts having a label, without scanning every label.
    (
        "idx_contact_labels_name_contact_id",
        "contact_labels (name, contact_id)",
    ),
];

/// One text per top-level key of a JSON object: the key (at most 64 characters), U+001F, then
/// the lower-cased text value as `->>` gives it (at most 128 characters); JSON nulls give none.
///
/// The filter renders a custom text attribute's EQUAL_TO on PostgreSQL as
/// `lower(custom_attributes ->> $key) IN ($values) AND terms(custom_attributes) && ARRAY[…]`,
/// the array holding the same truncated `key U+001F value` for each value. Whenever the first
/// test holds, the second does, so the result is unchanged, but the second can use a GIN index
/// whatever the key is (a bound parameter). The truncation keeps GIN entries far below their
/// size limit; the first test rechecks the exact values.
const ATTRIBUTE_TERMS: &str = r"
CREATE OR REPLACE FUNCTION switchboard_contact_attribute_terms(attributes jsonb)
RETURNS text[]
LANGUAGE sql IMMUTABLE STRICT PARALLEL SAFE
AS $$
    SELECT coalesce(array_agg(left(e.key, 64) || E'\x1f' || left(lower(e.value), 128)), '{}')
    FROM jsonb_each_text(
        CASE WHEN jsonb_typeof(attributes) = 'object' THEN attributes ELSE '{}' END
    ) AS e
    WHERE e.value IS NOT NULL
$$";

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        if manager.get_database_backend() != DbBackend::Postgres {
            return Ok(());
        }
        let conn = manager.get_connection();
        // pg_trgm is a trusted extension: a database owner may create it.
        conn.execute_unprepared("CREATE EXTENSION IF NOT EXISTS pg_trgm")
            .await?;
        conn.execute_unprepared(ATTRIBUTE_TERMS).await?;
        for (name, definition) in PARTIAL_INDEXES {
            conn.execute_unprepared(&format!(
                "CREATE INDEX IF NOT EXISTS {name} ON {definition} WHERE {RESOLVED}"
            ))
            .await?;
        }
        for (name, definition) in WHOLE_INDEXES {
            conn.execute_unprepared(&format!(
                "CREATE INDEX IF NOT EXISTS {name} ON {definition}"
            ))
            .await?;
        }
        Ok(())
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        if manager.get_database_backend() != DbBackend::Postgres {
            return Ok(());
        }
        let conn = manager.get_connection();
        for (name, _) in PARTIAL_INDEXES.iter().chain(WHOLE_INDEXES) {
            conn.execute_unprepared(&format!("DROP INDEX IF EXISTS {name}"))
                .await?;
        }
        conn.execute_unprepared(
            "DROP FUNCTION IF EXISTS switchboard_contact_attribute_terms(jsonb)",
        )
        .await?;
        // pg_trgm stays: other objects may use it.
        Ok(())
    }
}
