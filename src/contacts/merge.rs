//! Contact merge (docs/design.md §5): the base contact absorbs the mergee, which is deleted, all in
//! one transaction, so a failure at any step leaves both contacts exactly as they were.

use entity::{
    contact, contact_inbox, contact_label, conversation, enums::SenderType, message, note,
};
use sea_orm::{
    ActiveModelTrait, ColumnTrait, ConnectionTrait, EntityTrait, QueryFilter, QueryOrder,
    QuerySelect, Set, TransactionSession, TransactionTrait, sea_query::Expr,
};
use serde_json::{Map, Value};

use super::{labels, repo, write};
use crate::{
    error::{AppError, AppResult},
    events::{ContactChange, ConversationChange, EventPayload},
    time,
};

/// What a merge did, for the caller to publish once the transaction has committed.
#[derive(Debug)]
pub struct Merged {
    /// The base contact as it is now.
    pub base: contact::Model,
    /// The deleted mergee; `None` when a contact was merged with itself (nothing happened).
    pub mergee_id: Option<i64>,
    /// The conversations moved from the mergee to the base, as they are now.
    pub conversations: Vec<conversation::Model>,
}

impl Merged {
    /// The events of the merge, in the order they should be published: the base merged, each
    /// moved conversation's contact changed, the mergee deleted.
    pub fn events(&self) -> Vec<EventPayload> {
        let Some(mergee_id) = self.mergee_id else {
            return Vec::new();
        };
        let mut events = Vec::with_capacity(self.conversations.len() + 2);
        events.push(EventPayload::ContactChanged {
            kind: ContactChange::Merged,
            contact_id: self.base.id,
        });
        events.extend(self.conversations.iter().map(|conversation| {
            EventPayload::ConversationUpdated {
                conversation: Box::new(conversation.clone()),
                change: ConversationChange::Contact,
            }
        }));
        events.push(EventPayload::ContactChanged {
            kind: ContactChange::Deleted,
            contact_id: mergee_id,
        });
        events
    }
}

/// Deep-merges two attribute objects: every key of either is kept; where both have a key, the
/// base's value wins, unless both values are objects, which are merged the same way. Values are
/// kept as they are — an empty string or a null of the base still wins (Chatwoot's
/// `mergee.deep_merge(base)`).
pub fn deep_merge(base: &Value, mergee: &Value) -> Value {
    let (Value::Object(base), Value::Object(mergee)) = (base, mergee) else {
        return base.clone();
    };
    let mut merged: Map<String, Value> = mergee.clone();
    for (key, value) in base {
        let value = match merged.get(key) {
            Some(theirs) => deep_merge(value, theirs),
            None => value.clone(),
        };
        merged.insert(key.clone(), value);
    }
    Value::Object(merged)
}

/// The base's value where it has a non-blank one, else the mergee's (blank → null, as on every
/// write path).
fn fill(base: Option<String>, mergee: Option<String>) -> Option<String> {
    let present = |value: &String| !value.trim().is_empty();
    base.filter(present).or(mergee.filter(present))
}

/// Merges contact `mergee_id` into contact `base_id`, both of the account (else NOT_FOUND).
/// Merging a contact with itself returns it unchanged and writes nothing.
pub async fn merge<C>(db: &C, account_id: i64, base_id: i64, mergee_id: i64) -> AppResult<Merged>
where
    C: ConnectionTrait + TransactionTrait,
{
    if base_id == mergee_id {
        return Ok(Merged {
            base: repo::get(db, account_id, base_id).await?,
            mergee_id: None,
            conversations: Vec::new(),
        });
    }
    let now = time::now();
    // Dropping `txn` without committing (any `?` below) rolls everything back.
    let txn = db.begin().await?;

    // A write first, touching both rows: SQLite takes its write lock at once (a transaction that
    // reads first may fail to upgrade), and PostgreSQL locks both contacts against concurrent
    // edits and merges until commit, so the values read next stay true.
    let touched = contact::Entity::update_many()
        .col_expr(contact::Column::UpdatedAt, Expr::value(now))
        .filter(contact::Column::AccountId.eq(account_id))
        .filter(contact::Column::Id.is_in([base_id, mergee_id]))
        .exec(&txn)
        .await?;
    if touched.rows_affected != 2 {
        return Err(AppError::NotFound("contact"));
    }
    let base = repo::get(&txn, account_id, base_id).await?;
    let mergee = repo::get(&txn, account_id, mergee_id).await?;

    // The mergee lets go of its unique values before the base takes them.
    contact::Entity::update_many()
        .col_expr(contact::Column::Email, Expr::value(Option::<String>::None))
        .col_expr(
            contact::Column::PhoneNumber,
            Expr::value(Option::<String>::None),
        )
        .col_expr(
            contact::Column::Identifier,
            Expr::value(Option::<String>::None),
        )
        .filter(contact::Column::Id.eq(mergee.id))
        .exec(&txn)
        .await?;

    let email = fill(base.email.clone(), mergee.email);
    let phone_number = fill(base.phone_number.clone(), mergee.phone_number);
    let additional_attributes =
        deep_merge(&base.additional_attributes, &mergee.additional_attributes);
    let custom_attributes = deep_merge(&base.custom_attributes, &mergee.custom_attributes);
    let contact_type = write::promote(
        base.contact_type,
        email.is_some(),
        phone_number.is_some(),
        additional_attributes.as_object().unwrap_or(&Map::new()),
    );
    let mut model: contact::ActiveModel = base.clone().into();
    model.name = Set(fill(base.name.clone(), mergee.name));
    model.identifier = Set(fill(base.identifier.clone(), mergee.identifier));
    model.email = Set(email);
    model.phone_number = Set(phone_number);
    model.additional_attributes = Set(additional_attributes);
    model.custom_attributes = Set(custom_attributes);
    model.contact_type = Set(contact_type);
    model.updated_at = Set(now);
    let base = model.update(&txn).await.map_err(write::contact_conflict)?;

    let moved: Vec<i64> = conversation::Entity::find()
        .select_only()
        .column(conversation::Column::Id)
        .filter(conversation::Column::AccountId.eq(account_id))
        .filter(conversation::Column::ContactId.eq(mergee.id))
        .into_tuple()
        .all(&txn)
        .await?;
    if !moved.is_empty() {
        conversation::Entity::update_many()
            .col_expr(conversation::Column::ContactId, Expr::value(base.id))
            .col_expr(conversation::Column::UpdatedAt, Expr::value(now))
            .filter(conversation::Column::Id.is_in(moved.iter().copied()))
            .exec(&txn)
            .await?;
    }
    message::Entity::update_many()
        .col_expr(message::Column::SenderId, Expr::value(base.id))
        .filter(message::Column::AccountId.eq(account_id))
        .filter(message::Column::SenderType.eq(SenderType::Contact))
        .filter(message::Column::SenderId.eq(mergee.id))
        .exec(&txn)
        .await?;
    note::Entity::update_many()
        .col_expr(note::Column::ContactId, Expr::value(base.id))
        .filter(note::Column::ContactId.eq(mergee.id))
        .exec(&txn)
        .await?;
    contact_inbox::Entity::update_many()
        .col_expr(contact_inbox::Column::ContactId, Expr::value(base.id))
        .filter(contact_inbox::Column::ContactId.eq(mergee.id))
        .exec(&txn)
        .await?;
    union_labels(&txn, account_id, base.id, mergee.id).await?;

    contact::Entity::delete_by_id(mergee.id).exec(&txn).await?;
    let conversations = if moved.is_empty() {
        Vec::new()
    } else {
        conversation::Entity::find()
            .filter(conversation::Column::Id.is_in(moved))
            .order_by_asc(conversation::Column::Id)
            .all(&txn)
            .await?
    };
    txn.commit().await?;
    Ok(Merged {
        base,
        mergee_id: Some(mergee.id),
        conversations,
    })
}

/// Gives the base the mergee's labels it lacks, then removes the mergee's.
async fn union_labels(
    db: &impl ConnectionTrait,
    account_id: i64,
    base_id: i64,
    mergee_id: i64,
) -> AppResult<()> {
    let names: Vec<String> = contact_label::Entity::find()
        .select_only()
        .column(contact_label::Column::Name)
        .filter(contact_label::Column::ContactId.eq(mergee_id))
        .into_tuple()
        .all(db)
        .await?;
    labels::add_labels(db, account_id, base_id, names).await?;
    contact_label::Entity::delete_many()
        .filter(contact_label::Column::ContactId.eq(mergee_id))
        .exec(db)
        .await?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    #[test]
    fn the_base_wins_and_the_mergee_fills_missing_keys() {
        let base = json!({ "plan": "gold", "seats": 3 });
        let mergee = json!({ "plan": "silver", "region": "eu" });
        assert_eq!(
            deep_merge(&base, &mergee),
            json!({ "plan": "gold", "seats": 3, "region": "eu" })
        );
    }

    #[test]
    fn nested_objects_merge_recursively() {
        let base = json!({ "prefs": { "color": "red", "font": { "size": 12 } } });
        let mergee = json!({ "prefs": { "color": "blue", "lang": "de", "font": { "family": "serif", "size": 14 } } });
        assert_eq!(
            deep_merge(&base, &mergee),
            json!({ "prefs": { "color": "red", "lang": "de", "font": { "family": "serif", "size": 12 } } })
        );
    }

    #[test]
    fn empty_values_inside_are_kept_and_the_bases_still_win() {
        let base = json!({ "city": "", "note": null, "tags": [] });
        let mergee = json!({ "city": "Paris", "note": "hi", "tags": ["a"], "zip": "" });
        assert_eq!(
            deep_merge(&base, &mergee),
            json!({ "city": "", "note": null, "tags": [], "zip": "" })
        );
    }

    #[test]
    fn an_object_and_a_scalar_under_one_key_keep_the_bases() {
        let base = json!({ "a": "flat", "b": { "x": 1 } });
        let mergee = json!({ "a": { "x": 1 }, "b": "flat" });
        assert_eq!(deep_merge(&base, &mergee), base);
        assert_eq!(deep_merge(&json!({}), &mergee), mergee);
    }

    #[test]
    fn blank_fields_are_filled_by_the_mergee() {
        let s = |v: &str| Some(v.to_owned());
        assert_eq!(fill(s("Ann"), s("Bob")), s("Ann"));
        assert_eq!(fill(None, s("Bob")), s("Bob"));
        assert_eq!(fill(s("  "), s("Bob")), s("Bob"));
        assert_eq!(fill(s(""), s(" ")), None);
        assert_eq!(fill(None, None), None);
    }
}
