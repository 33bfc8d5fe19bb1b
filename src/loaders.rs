//! Dataloaders: every parent→child field goes through one of these, so a page of N parents
//! costs one statement per child field rather than N.
//!
//! One [`DbLoader`] serves every relationship, told apart by the key's newtype. It caches
//! nothing (async-graphql's default `NoCache`), so a single instance can live in schema data and
//! batch across concurrent requests without serving stale rows to subscriptions.

use std::{collections::HashMap, sync::Arc, time::Duration};

use async_graphql::dataloader::{DataLoader, Loader};
use entity::{
    account_user, contact, contact_inbox, contact_label, conversation, conversation_label, inbox,
    note, user,
};
use sea_orm::{ColumnTrait, DatabaseConnection, DbErr, EntityTrait, QueryFilter, QueryOrder};

/// Loads rows by key in batches.
pub struct DbLoader {
    db: DatabaseConnection,
}

/// Builds the shared loader. The batching delay is short: every resolver of one level asks
/// within the same poll, so a long wait buys nothing but latency.
pub fn build(db: DatabaseConnection) -> DataLoader<DbLoader> {
    DataLoader::new(DbLoader { db }, tokio::spawn).delay(Duration::from_micros(200))
}

/// A failed batch, shared by every key of the batch.
pub type LoadError = Arc<DbErr>;

/// Turns a failed batch into an internal error (never `?` it straight into a GraphQL error: it
/// would lose its code).
#[allow(clippy::needless_pass_by_value)]
pub fn load_error(err: LoadError) -> crate::error::AppError {
    crate::error::AppError::from(anyhow::anyhow!("batch load failed: {err}"))
}

macro_rules! key {
    ($(#[$doc:meta])* $name:ident) => {
        $(#[$doc])*
        ///
        /// Scoped: the row must belong to `account_id`, so a key naming another account's row
        /// loads nothing, whatever the caller forgot to check.
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
        pub struct $name {
            /// The account the viewer (or the parent row) belongs to.
            pub account_id: i64,
            /// The row's id (for `…Of…` keys, the parent's).
            pub id: i64,
        }
    };
}

key!(/// A contact's label names.
    LabelsOfContact);
key!(/// A conversation's label names.
    LabelsOfConversation);
key!(/// A contact's contact inboxes.
    ContactInboxesOfContact);
key!(/// A contact's notes, newest first.
    NotesOfContact);
key!(/// An inbox by id.
    InboxById);
key!(/// A contact by id.
    ContactById);
key!(/// A contact inbox by id (its account is its inbox's).
    ContactInboxById);
key!(/// A conversation by id.
    ConversationById);

/// An account's inboxes (the account is the key itself).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct InboxesOfAccount(pub i64);

/// A user's membership of an account.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Member {
    pub account_id: i64,
    pub user_id: i64,
}

/// The distinct values of one field of the keys (a batch usually holds one account).
fn ids<K: Copy>(keys: &[K], id: impl Fn(K) -> i64) -> Vec<i64> {
    let mut ids: Vec<i64> = keys.iter().map(|k| id(*k)).collect();
    ids.sort_unstable();
    ids.dedup();
    ids
}

/// Rows grouped under the key each one belongs to: every requested key gets an entry (an empty
/// list when it has no rows), and a row under a key nobody asked for (another account's) is
/// dropped.
fn group<K, V>(keys: &[K], rows: impl IntoIterator<Item = (K, V)>) -> HashMap<K, Vec<V>>
where
    K: std::hash::Hash + Eq + Copy,
{
    let mut map: HashMap<K, Vec<V>> = keys.iter().map(|k| (*k, Vec::new())).collect();
    for (key, value) in rows {
        if let Some(values) = map.get_mut(&key) {
            values.push(value);
        }
    }
    map
}

impl Loader<LabelsOfContact> for DbLoader {
    type Value = Vec<String>;
    type Error = LoadError;

    async fn load(
        &self,
        keys: &[LabelsOfContact],
    ) -> Result<HashMap<LabelsOfContact, Vec<String>>, LoadError> {
        let rows = contact_label::Entity::find()
            .filter(contact_label::Column::AccountId.is_in(ids(keys, |k| k.account_id)))
            .filter(contact_label::Column::ContactId.is_in(ids(keys, |k| k.id)))
            .order_by_asc(contact_label::Column::Name)
            .all(&self.db)
            .await?;
        Ok(group(
            keys,
            rows.into_iter().map(|r| {
                let key = LabelsOfContact {
                    account_id: r.account_id,
                    id: r.contact_id,
                };
                (key, r.name)
            }),
        ))
    }
}

impl Loader<LabelsOfConversation> for DbLoader {
    type Value = Vec<String>;
    type Error = LoadError;

    async fn load(
        &self,
        keys: &[LabelsOfConversation],
    ) -> Result<HashMap<LabelsOfConversation, Vec<String>>, LoadError> {
        let rows = conversation_label::Entity::find()
            .filter(conversation_label::Column::AccountId.is_in(ids(keys, |k| k.account_id)))
            .filter(conversation_label::Column::ConversationId.is_in(ids(keys, |k| k.id)))
            .order_by_asc(conversation_label::Column::Name)
            .all(&self.db)
            .await?;
        Ok(group(
            keys,
            rows.into_iter().map(|r| {
                let key = LabelsOfConversation {
                    account_id: r.account_id,
                    id: r.conversation_id,
                };
                (key, r.name)
            }),
        ))
    }
}

/// A contact's inboxes come with the inbox itself (one joined statement): a page asking for
/// `contactInboxes { inbox { … } }` needs no further round trip for the inboxes. The inbox's
/// account scopes the row (contact inboxes have no account of their own).
impl Loader<ContactInboxesOfContact> for DbLoader {
    type Value = Vec<(contact_inbox::Model, inbox::Model)>;
    type Error = LoadError;

    async fn load(
        &self,
        keys: &[ContactInboxesOfContact],
    ) -> Result<HashMap<ContactInboxesOfContact, Self::Value>, LoadError> {
        let rows = contact_inbox::Entity::find()
            .find_also_related(inbox::Entity)
            .filter(contact_inbox::Column::ContactId.is_in(ids(keys, |k| k.id)))
            .filter(inbox::Column::AccountId.is_in(ids(keys, |k| k.account_id)))
            .order_by_asc(contact_inbox::Column::Id)
            .all(&self.db)
            .await?;
        Ok(group(
            keys,
            rows.into_iter().filter_map(|(contact_inbox, inbox)| {
                let inbox = inbox?;
                let key = ContactInboxesOfContact {
                    account_id: inbox.account_id,
                    id: contact_inbox.contact_id,
                };
                Some((key, (contact_inbox, inbox)))
            }),
        ))
    }
}

impl Loader<NotesOfContact> for DbLoader {
    type Value = Vec<note::Model>;
    type Error = LoadError;

    async fn load(
        &self,
        keys: &[NotesOfContact],
    ) -> Result<HashMap<NotesOfContact, Self::Value>, LoadError> {
        let rows = note::Entity::find()
            .filter(note::Column::AccountId.is_in(ids(keys, |k| k.account_id)))
            .filter(note::Column::ContactId.is_in(ids(keys, |k| k.id)))
            .order_by_desc(note::Column::CreatedAt)
            .order_by_desc(note::Column::Id)
            .all(&self.db)
            .await?;
        Ok(group(
            keys,
            rows.into_iter().map(|r| {
                let key = NotesOfContact {
                    account_id: r.account_id,
                    id: r.contact_id,
                };
                (key, r)
            }),
        ))
    }
}

impl Loader<InboxesOfAccount> for DbLoader {
    type Value = Vec<inbox::Model>;
    type Error = LoadError;

    async fn load(
        &self,
        keys: &[InboxesOfAccount],
    ) -> Result<HashMap<InboxesOfAccount, Self::Value>, LoadError> {
        let rows = inbox::Entity::find()
            .filter(inbox::Column::AccountId.is_in(ids(keys, |k| k.0)))
            .order_by_asc(inbox::Column::Id)
            .all(&self.db)
            .await?;
        Ok(group(
            keys,
            rows.into_iter()
                .map(|r| (InboxesOfAccount(r.account_id), r)),
        ))
    }
}

/// A row by id, keyed by the account the row itself names: a key with another account finds
/// no entry.
macro_rules! by_id {
    ($key:ident, $entity:ident) => {
        impl Loader<$key> for DbLoader {
            type Value = $entity::Model;
            type Error = LoadError;

            async fn load(&self, keys: &[$key]) -> Result<HashMap<$key, Self::Value>, LoadError> {
                let rows = $entity::Entity::find()
                    .filter($entity::Column::AccountId.is_in(ids(keys, |k| k.account_id)))
                    .filter($entity::Column::Id.is_in(ids(keys, |k| k.id)))
                    .all(&self.db)
                    .await?;
                Ok(rows
                    .into_iter()
                    .map(|r| {
                        let key = $key {
                            account_id: r.account_id,
                            id: r.id,
                        };
                        (key, r)
                    })
                    .collect())
            }
        }
    };
}

by_id!(InboxById, inbox);
by_id!(ContactById, contact);
by_id!(ConversationById, conversation);

/// A contact inbox comes with its inbox, which scopes it.
impl Loader<ContactInboxById> for DbLoader {
    type Value = (contact_inbox::Model, inbox::Model);
    type Error = LoadError;

    async fn load(
        &self,
        keys: &[ContactInboxById],
    ) -> Result<HashMap<ContactInboxById, Self::Value>, LoadError> {
        let rows = contact_inbox::Entity::find()
            .find_also_related(inbox::Entity)
            .filter(contact_inbox::Column::Id.is_in(ids(keys, |k| k.id)))
            .filter(inbox::Column::AccountId.is_in(ids(keys, |k| k.account_id)))
            .all(&self.db)
            .await?;
        Ok(rows
            .into_iter()
            .filter_map(|(contact_inbox, inbox)| {
                let inbox = inbox?;
                let key = ContactInboxById {
                    account_id: inbox.account_id,
                    id: contact_inbox.id,
                };
                Some((key, (contact_inbox, inbox)))
            })
            .collect())
    }
}

impl Loader<Member> for DbLoader {
    type Value = (user::Model, account_user::Model);
    type Error = LoadError;

    async fn load(&self, keys: &[Member]) -> Result<HashMap<Member, Self::Value>, LoadError> {
        let rows = account_user::Entity::find()
            .filter(account_user::Column::AccountId.is_in(ids(keys, |k| k.account_id)))
            .filter(account_user::Column::UserId.is_in(ids(keys, |k| k.user_id)))
            .find_also_related(user::Entity)
            .all(&self.db)
            .await?;
        Ok(rows
            .into_iter()
            .filter_map(|(membership, user)| {
                let key = Member {
                    account_id: membership.account_id,
                    user_id: membership.user_id,
                };
                Some((key, (user?, membership)))
            })
            .filter(|(key, _)| keys.contains(key))
            .collect())
    }
}
