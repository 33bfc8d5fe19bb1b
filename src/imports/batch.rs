//! A batch's reads and writes of contacts, inside the batch's transaction: one lookup query
//! per key kind, then every new contact in one multi-row INSERT and every changed one in one
//! multi-row UPDATE.
//!
//! On PostgreSQL the rows travel as one JSON parameter expanded by `json_to_recordset`, rather
//! than as 16 bind parameters per row that SeaORM's builder allocates, encodes and PostgreSQL
//! then parses one by one: the same batches write about a quarter faster, in half the memory
//! (`bench/RESULTS-import.md`). The matched contacts are read `FOR UPDATE` (one index probe per
//! key, see [`lookup_postgres`]), so the attributes merged in memory cannot race an API update,
//! and a contact deleted meanwhile is not revived.
//!
//! The portable path (SQLite, and PostgreSQL with [`super::run::Tuning::bulk_sql`] off) uses
//! SeaORM's `insert_many`, and for updates an `INSERT … ON CONFLICT (id) DO UPDATE` of the full
//! rows. SQLite serialises writers, and a batch whose snapshot went stale fails and is retried.

use std::collections::{BTreeMap, BTreeSet, HashSet};

use entity::contact;
use sea_orm::{
    ActiveEnum, ColumnTrait, ConnectionTrait, DbBackend, DbErr, EntityTrait, NotSet, QueryFilter,
    Set, Statement,
    sea_query::{Expr, ExprTrait, OnConflict},
};
use serde::Serialize;
use serde_json::Value;

use super::{
    parse::{Fields, Row},
    plan::Plan,
};

/// A unique key of contacts: how a row gives it, how a contact holds it, and the column as its
/// unique index has it (`lower(email)` for emails).
struct KeyKind {
    of_row: fn(&Fields) -> Option<&String>,
    of_contact: fn(&contact::Model) -> Option<String>,
    column: &'static str,
}

const KEY_KINDS: [KeyKind; 3] = [
    KeyKind {
        of_row: |f| f.identifier.as_ref(),
        of_contact: |c| c.identifier.clone(),
        column: "identifier",
    },
    KeyKind {
        of_row: |f| f.email.as_ref(),
        of_contact: |c| c.email.as_deref().map(str::to_lowercase),
        column: "lower(email)",
    },
    KeyKind {
        of_row: |f| f.phone_number.as_ref(),
        of_contact: |c| c.phone_number.clone(),
        column: "phone_number",
    },
];

/// The account's contacts holding any identifier, email or phone number of `rows`: one query
/// per key kind, each skipping the values a contact found by an earlier one already holds (a
/// re-import then reads each contact once, by its identifier).
pub async fn lookup(
    db: &impl ConnectionTrait,
    account_id: i64,
    rows: &[Row],
) -> Result<Vec<contact::Model>, DbErr> {
    let postgres = db.get_database_backend() == DbBackend::Postgres;
    let mut found: BTreeMap<i64, contact::Model> = BTreeMap::new();
    for kind in &KEY_KINDS {
        let held: HashSet<String> = found.values().filter_map(kind.of_contact).collect();
        let values: BTreeSet<String> = rows
            .iter()
            .filter_map(|row| row.fields.as_ref().ok().and_then(kind.of_row))
            .filter(|value| !held.contains(*value))
            .cloned()
            .collect();
        if values.is_empty() {
            continue;
        }
        let contacts = if postgres {
            lookup_postgres(db, account_id, kind.column, values).await?
        } else {
            contact::Entity::find()
                .filter(contact::Column::AccountId.eq(account_id))
                .filter(Expr::cust(kind.column).is_in(values))
                .all(db)
                .await?
        };
        for contact in contacts {
            found.insert(contact.id, contact);
        }
    }
    Ok(found.into_values().collect())
}

/// One index probe per key, locking what it finds.
///
/// Not `column IN (…)`: for an account the statistics know little about (a new one, or no
/// ANALYZE since a bulk load), the planner estimates a few hundred contacts and reads them all
/// through the `(account_id)` index, comparing each with the whole list: a batch then costs
/// as much as the account is large, and the import turns quadratic. A lateral equality per key
/// can only use the unique index.
async fn lookup_postgres(
    db: &impl ConnectionTrait,
    account_id: i64,
    column: &str,
    values: BTreeSet<String>,
) -> Result<Vec<contact::Model>, DbErr> {
    let values: Vec<String> = values.into_iter().collect();
    let keys = serde_json::to_string(&values).map_err(|err| DbErr::Custom(err.to_string()))?;
    let sql = format!(
        "SELECT c.* FROM json_array_elements_text($2::json) AS k(v) CROSS JOIN LATERAL \
         (SELECT * FROM contacts WHERE account_id = $1 AND {column} = k.v FOR UPDATE) AS c"
    );
    contact::Entity::find()
        .from_raw_sql(postgres(sql, [account_id.into(), keys.into()]))
        .all(db)
        .await
}

/// Writes a batch's new and changed contacts.
pub async fn write(
    db: &impl ConnectionTrait,
    account_id: i64,
    plan: &Plan,
    bulk_sql: bool,
) -> Result<(), DbErr> {
    if bulk_sql && db.get_database_backend() == DbBackend::Postgres {
        insert_bulk(db, account_id, plan).await?;
        update_bulk(db, plan).await
    } else {
        insert_portable(db, plan).await?;
        update_portable(db, plan).await
    }
}

/// A contact as one element of the JSON parameter.
#[derive(Serialize)]
struct BulkRow<'a> {
    id: i64,
    name: Option<&'a str>,
    last_name: Option<&'a str>,
    email: Option<&'a str>,
    phone_number: Option<&'a str>,
    identifier: Option<&'a str>,
    contact_type: String,
    additional_attributes: &'a Value,
    custom_attributes: &'a Value,
    updated_at: chrono::DateTime<chrono::Utc>,
}

impl<'a> From<&'a contact::Model> for BulkRow<'a> {
    fn from(c: &'a contact::Model) -> Self {
        Self {
            id: c.id,
            name: c.name.as_deref(),
            last_name: c.last_name.as_deref(),
            email: c.email.as_deref(),
            phone_number: c.phone_number.as_deref(),
            identifier: c.identifier.as_deref(),
            contact_type: c.contact_type.to_value(),
            additional_attributes: &c.additional_attributes,
            custom_attributes: &c.custom_attributes,
            updated_at: c.updated_at,
        }
    }
}

const RECORD: &str = "r(id bigint, name text, last_name text, email text, phone_number text, \
                      identifier text, contact_type text, additional_attributes jsonb, \
                      custom_attributes jsonb, updated_at timestamptz)";

fn json_rows<'a>(contacts: impl Iterator<Item = &'a contact::Model>) -> Result<String, DbErr> {
    let rows: Vec<BulkRow<'_>> = contacts.map(BulkRow::from).collect();
    serde_json::to_string(&rows).map_err(|err| DbErr::Custom(err.to_string()))
}

async fn insert_bulk(db: &impl ConnectionTrait, account_id: i64, plan: &Plan) -> Result<(), DbErr> {
    if plan.inserts().next().is_none() {
        return Ok(());
    }
    let sql = format!(
        "INSERT INTO contacts (account_id, name, last_name, email, phone_number, identifier, \
         blocked, contact_type, additional_attributes, custom_attributes, created_at, updated_at) \
         SELECT $2, r.name, r.last_name, r.email, r.phone_number, r.identifier, false, \
         r.contact_type, r.additional_attributes, r.custom_attributes, r.updated_at, r.updated_at \
         FROM json_to_recordset($1::json) AS {RECORD}"
    );
    let values = [json_rows(plan.inserts())?.into(), account_id.into()];
    db.execute_raw(postgres(sql, values)).await?;
    Ok(())
}

async fn update_bulk(db: &impl ConnectionTrait, plan: &Plan) -> Result<(), DbErr> {
    if plan.updates().next().is_none() {
        return Ok(());
    }
    let sql = format!(
        "UPDATE contacts AS c SET name = r.name, last_name = r.last_name, email = r.email, \
         phone_number = r.phone_number, identifier = r.identifier, contact_type = r.contact_type, \
         additional_attributes = r.additional_attributes, \
         custom_attributes = r.custom_attributes, updated_at = r.updated_at \
         FROM json_to_recordset($1::json) AS {RECORD} WHERE c.id = r.id"
    );
    // No `c.account_id = …`: the ids are of contacts this batch read (and locked) in the
    // account, and the condition would tempt the planner into the `(account_id)` index.
    let values = [json_rows(plan.updates())?.into()];
    db.execute_raw(postgres(sql, values)).await?;
    Ok(())
}

fn active(c: &contact::Model, with_id: bool) -> contact::ActiveModel {
    contact::ActiveModel {
        id: if with_id { Set(c.id) } else { NotSet },
        account_id: Set(c.account_id),
        name: Set(c.name.clone()),
        middle_name: Set(c.middle_name.clone()),
        last_name: Set(c.last_name.clone()),
        email: Set(c.email.clone()),
        phone_number: Set(c.phone_number.clone()),
        identifier: Set(c.identifier.clone()),
        blocked: Set(c.blocked),
        contact_type: Set(c.contact_type),
        avatar_url: Set(c.avatar_url.clone()),
        additional_attributes: Set(c.additional_attributes.clone()),
        custom_attributes: Set(c.custom_attributes.clone()),
        last_activity_at: Set(c.last_activity_at),
        created_at: Set(c.created_at),
        updated_at: Set(c.updated_at),
    }
}

/// Rows per portable statement (16 bind parameters each): well under SQLite's 32 766, and small
/// enough that building the statement does not dominate the import's memory.
const PORTABLE_ROWS: usize = 250;

async fn insert_portable(db: &impl ConnectionTrait, plan: &Plan) -> Result<(), DbErr> {
    let inserts: Vec<&contact::Model> = plan.inserts().collect();
    for chunk in inserts.chunks(PORTABLE_ROWS) {
        contact::Entity::insert_many(chunk.iter().map(|c| active(c, false)))
            .exec_without_returning(db)
            .await?;
    }
    Ok(())
}

async fn update_portable(db: &impl ConnectionTrait, plan: &Plan) -> Result<(), DbErr> {
    use contact::Column as C;
    let updates: Vec<&contact::Model> = plan.updates().collect();
    for chunk in updates.chunks(PORTABLE_ROWS) {
        contact::Entity::insert_many(chunk.iter().map(|c| active(c, true)))
            .on_conflict(
                OnConflict::column(C::Id)
                    .update_columns([
                        C::Name,
                        C::LastName,
                        C::Email,
                        C::PhoneNumber,
                        C::Identifier,
                        C::ContactType,
                        C::AdditionalAttributes,
                        C::CustomAttributes,
                        C::UpdatedAt,
                    ])
                    .to_owned(),
            )
            .exec_without_returning(db)
            .await?;
    }
    Ok(())
}

/// A statement of the PostgreSQL bulk path, its values bound.
fn postgres(sql: String, values: impl IntoIterator<Item = sea_orm::Value>) -> Statement {
    Statement::from_sql_and_values(DbBackend::Postgres, sql, values)
}
