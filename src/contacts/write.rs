//! Contact writes: every path validates and normalises the same way (docs/design.md §5).

use async_graphql::MaybeUndefined;
use entity::{contact, contact_inbox, enums::ContactType, inbox};
use sea_orm::{
    ActiveModelTrait, ConnectionTrait, DbErr, EntityTrait, Set, SqlErr, TransactionSession,
    TransactionTrait,
};
use serde_json::{Map, Value};

use super::{
    repo,
    types::{CreateContactInput, UpdateContactInput},
};
use crate::{
    error::{AppError, AppResult},
    ids::parse_id,
    limits::InputLimits,
    time, validate,
};

/// Maps a unique violation of the contacts table to CONFLICT on the field it concerns.
pub fn contact_conflict(err: DbErr) -> AppError {
    let Some(SqlErr::UniqueConstraintViolation(message)) = err.sql_err() else {
        return err.into();
    };
    let (field, what) = if message.contains("email") {
        ("email", "email")
    } else if message.contains("phone") {
        ("phoneNumber", "phone number")
    } else if message.contains("identifier") {
        ("identifier", "identifier")
    } else if message.contains("source_id") {
        ("sourceId", "source id")
    } else {
        ("id", "value")
    };
    AppError::conflict(
        field,
        format!("another contact of this account already has this {what}"),
    )
}

/// Whether additional attributes hold a social profile with any value.
fn has_social_profile(additional: &Map<String, Value>) -> bool {
    additional
        .get("social_profiles")
        .and_then(Value::as_object)
        .is_some_and(|profiles| {
            profiles
                .values()
                .any(|v| v.as_str().is_some_and(|s| !s.trim().is_empty()))
        })
}

/// A visitor that gains an email, phone number or social profile becomes a lead; nobody is
/// demoted automatically.
pub fn promote(
    current: ContactType,
    email: bool,
    phone: bool,
    additional: &Map<String, Value>,
) -> ContactType {
    if current == ContactType::Visitor && (email || phone || has_social_profile(additional)) {
        ContactType::Lead
    } else {
        current
    }
}

fn object(
    field: &str,
    value: Option<async_graphql::Json<Value>>,
    limits: &InputLimits,
) -> AppResult<Map<String, Value>> {
    let Some(json) = value else {
        return Ok(Map::new());
    };
    validate::attributes(field, &json.0, limits)?;
    validate::json_object(field, json.0)
}

/// A random source id for a contact inbox created without one.
pub fn new_source_id() -> String {
    use rand::Rng;
    let bytes: [u8; 16] = rand::rng().random();
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// An inbox of the account, or NOT_FOUND.
pub async fn inbox_of(
    db: &impl ConnectionTrait,
    account_id: i64,
    inbox_id: i64,
) -> AppResult<inbox::Model> {
    crate::inboxes::repo::find(db, account_id, inbox_id)
        .await?
        .ok_or(AppError::NotFound("inbox"))
}

/// Creates a contact (and its contact inbox when an inbox is given), in one transaction.
pub async fn create(
    db: &impl TransactionTrait,
    account_id: i64,
    input: CreateContactInput,
    limits: &InputLimits,
) -> AppResult<contact::Model> {
    let email = input
        .email
        .as_deref()
        .map(|e| validate::email("email", e))
        .transpose()?
        .flatten();
    let phone = input
        .phone_number
        .as_deref()
        .map(|p| validate::phone("phoneNumber", p))
        .transpose()?
        .flatten();
    let additional = object("additionalAttributes", input.additional_attributes, limits)?;
    let custom = object("customAttributes", input.custom_attributes, limits)?;
    let contact_type = promote(
        input.contact_type.map_or(ContactType::Visitor, Into::into),
        email.is_some(),
        phone.is_some(),
        &additional,
    );
    let now = time::now();
    let model = contact::ActiveModel {
        account_id: Set(account_id),
        name: Set(validate::optional_string("name", input.name.as_deref())?),
        middle_name: Set(validate::optional_string(
            "middleName",
            input.middle_name.as_deref(),
        )?),
        last_name: Set(validate::optional_string(
            "lastName",
            input.last_name.as_deref(),
        )?),
        email: Set(email),
        phone_number: Set(phone),
        identifier: Set(validate::optional_string(
            "identifier",
            input.identifier.as_deref(),
        )?),
        blocked: Set(input.blocked.unwrap_or(false)),
        contact_type: Set(contact_type),
        avatar_url: Set(validate::optional_string(
            "avatarUrl",
            input.avatar_url.as_deref(),
        )?),
        additional_attributes: Set(Value::Object(additional)),
        custom_attributes: Set(Value::Object(custom)),
        last_activity_at: Set(input.last_activity_at.map(time::truncate)),
        created_at: Set(now),
        updated_at: Set(now),
        ..Default::default()
    };
    let inbox_id = input
        .inbox_id
        .as_ref()
        .map(|id| parse_id("inboxId", id))
        .transpose()?;
    let source_id = validate::optional_string("sourceId", input.source_id.as_deref())?;
    if source_id.is_some() && inbox_id.is_none() {
        return Err(AppError::bad_input("inboxId", "sourceId needs an inboxId"));
    }
    let txn = db.begin().await?;
    if let Some(inbox_id) = inbox_id {
        inbox_of(&txn, account_id, inbox_id).await?;
    }
    let contact = model.insert(&txn).await.map_err(contact_conflict)?;
    if let Some(inbox_id) = inbox_id {
        insert_contact_inbox(&txn, contact.id, inbox_id, source_id).await?;
    }
    txn.commit().await?;
    Ok(contact)
}

/// Registers a contact in an inbox (the inbox must be checked to be the account's).
pub async fn insert_contact_inbox(
    db: &impl ConnectionTrait,
    contact_id: i64,
    inbox_id: i64,
    source_id: Option<String>,
) -> AppResult<contact_inbox::Model> {
    let now = time::now();
    contact_inbox::ActiveModel {
        contact_id: Set(contact_id),
        inbox_id: Set(inbox_id),
        source_id: Set(source_id.unwrap_or_else(new_source_id)),
        created_at: Set(now),
        updated_at: Set(now),
        ..Default::default()
    }
    .insert(db)
    .await
    .map_err(|err| match err.sql_err() {
        Some(SqlErr::UniqueConstraintViolation(_)) => {
            AppError::conflict("sourceId", "this source id is already taken in the inbox")
        }
        _ => err.into(),
    })
}

/// A nullable text field of an update: absent keeps, null or "" clears.
fn change(
    field: &str,
    value: MaybeUndefined<String>,
    check: impl Fn(&str, &str) -> AppResult<Option<String>>,
) -> AppResult<Option<Option<String>>> {
    match value {
        MaybeUndefined::Undefined => Ok(None),
        MaybeUndefined::Null => Ok(Some(None)),
        MaybeUndefined::Value(v) => Ok(Some(check(field, &v)?)),
    }
}

fn text(field: &str, value: &str) -> AppResult<Option<String>> {
    validate::optional_string(field, Some(value))
}

/// Merges `changes` into `stored` per key (keys sent win, keys not sent stay).
fn merge(stored: &Value, changes: Map<String, Value>) -> Value {
    let mut merged = stored.as_object().cloned().unwrap_or_default();
    merged.extend(changes);
    Value::Object(merged)
}

/// Updates a contact of the account.
pub async fn update(
    db: &impl ConnectionTrait,
    account_id: i64,
    id: i64,
    input: UpdateContactInput,
    limits: &InputLimits,
) -> AppResult<contact::Model> {
    let current = repo::get(db, account_id, id).await?;
    let mut model: contact::ActiveModel = current.clone().into();
    if let Some(v) = change("name", input.name, text)? {
        model.name = Set(v);
    }
    if let Some(v) = change("middleName", input.middle_name, text)? {
        model.middle_name = Set(v);
    }
    if let Some(v) = change("lastName", input.last_name, text)? {
        model.last_name = Set(v);
    }
    if let Some(v) = change("email", input.email, validate::email)? {
        model.email = Set(v);
    }
    if let Some(v) = change("phoneNumber", input.phone_number, validate::phone)? {
        model.phone_number = Set(v);
    }
    if let Some(v) = change("identifier", input.identifier, text)? {
        model.identifier = Set(v);
    }
    if let Some(v) = change("avatarUrl", input.avatar_url, text)? {
        model.avatar_url = Set(v);
    }
    if let Some(blocked) = input.blocked {
        model.blocked = Set(blocked);
    }
    match input.last_activity_at {
        MaybeUndefined::Undefined => {}
        MaybeUndefined::Null => model.last_activity_at = Set(None),
        MaybeUndefined::Value(at) => model.last_activity_at = Set(Some(time::truncate(at))),
    }
    // The bounds apply to what would be stored: the changes merged into the stored object.
    if let Some(custom) = input.custom_attributes {
        let changes = validate::json_object("customAttributes", custom.0)?;
        let merged = merge(&current.custom_attributes, changes);
        validate::attributes("customAttributes", &merged, limits)?;
        model.custom_attributes = Set(merged);
    }
    if let Some(additional) = input.additional_attributes {
        let changes = validate::json_object("additionalAttributes", additional.0)?;
        let merged = merge(&current.additional_attributes, changes);
        validate::attributes("additionalAttributes", &merged, limits)?;
        model.additional_attributes = Set(merged);
    }
    let requested = input.contact_type.map_or(current.contact_type, Into::into);
    let additional = match &model.additional_attributes {
        sea_orm::ActiveValue::Set(v) | sea_orm::ActiveValue::Unchanged(v) => v.as_object().cloned(),
        sea_orm::ActiveValue::NotSet => None,
    }
    .unwrap_or_default();
    let email = matches!(
        &model.email,
        sea_orm::ActiveValue::Set(Some(_)) | sea_orm::ActiveValue::Unchanged(Some(_))
    );
    let phone = matches!(
        &model.phone_number,
        sea_orm::ActiveValue::Set(Some(_)) | sea_orm::ActiveValue::Unchanged(Some(_))
    );
    model.contact_type = Set(promote(requested, email, phone, &additional));
    model.updated_at = Set(time::now());
    model.update(db).await.map_err(contact_conflict)
}

/// Deletes a contact; its conversations, messages, notes, contact inboxes and labels go with it
/// (foreign keys cascade inside the one statement's transaction).
pub async fn delete(db: &impl TransactionTrait, account_id: i64, id: i64) -> AppResult<()> {
    let txn = db.begin().await?;
    repo::get(&txn, account_id, id).await?;
    contact::Entity::delete_by_id(id).exec(&txn).await?;
    txn.commit().await?;
    Ok(())
}

/// Removes keys from a contact's custom attributes.
pub async fn delete_custom_attributes(
    db: &impl ConnectionTrait,
    account_id: i64,
    id: i64,
    keys: &[String],
    limits: &InputLimits,
) -> AppResult<contact::Model> {
    limits.list("keys", keys)?;
    let current = repo::get(db, account_id, id).await?;
    let mut custom = current
        .custom_attributes
        .as_object()
        .cloned()
        .unwrap_or_default();
    for key in keys {
        custom.remove(key);
    }
    let mut model: contact::ActiveModel = current.into();
    model.custom_attributes = Set(Value::Object(custom));
    model.updated_at = Set(time::now());
    Ok(model.update(db).await?)
}

/// Clears a contact's avatar.
pub async fn delete_avatar(
    db: &impl ConnectionTrait,
    account_id: i64,
    id: i64,
) -> AppResult<contact::Model> {
    let current = repo::get(db, account_id, id).await?;
    let mut model: contact::ActiveModel = current.into();
    model.avatar_url = Set(None);
    model.updated_at = Set(time::now());
    Ok(model.update(db).await?)
}
