//! What a batch of rows does to the contacts, decided in memory (no I/O, unit-tested): which
//! contact each row matches, what it becomes, which rows are rejected and why.
//!
//! The batch starts from the contacts holding any identifier, email or phone number of its rows
//! (read in one query per key kind). Rows are applied in file order to working copies, so a
//! row matching a contact created or changed earlier in the batch updates that same contact.
//! Each contact is then written once, in its final state.
//!
//! Writing final states in multi-row statements is only safe while no unique value moves from
//! one contact to another inside the batch: the database checks unique indexes row by row, so
//! "A gives up x, B takes x" fails if B's row is written first. When a row would take a value
//! that another contact held when the batch started, the batch ends before that row
//! ([`Plan::consumed`]); the next batch sees the value free.

use std::collections::HashMap;

use chrono::{DateTime, Utc};
use entity::{contact, enums::ContactType};
use serde_json::{Map, Value};

use super::parse::{Fields, Row};
use crate::contacts::write::promote;

/// The unique keys of a contact, in matching order.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
enum Key {
    Identifier,
    Email,
    Phone,
}

const KEYS: [Key; 3] = [Key::Identifier, Key::Email, Key::Phone];

impl Key {
    fn of_fields(self, fields: &Fields) -> Option<&str> {
        match self {
            Self::Identifier => fields.identifier.as_deref(),
            Self::Email => fields.email.as_deref(),
            Self::Phone => fields.phone_number.as_deref(),
        }
    }

    fn of_contact(self, contact: &contact::Model) -> Option<String> {
        match self {
            Self::Identifier => contact.identifier.clone(),
            // Stored lower-cased by every write path; the index compares `lower(email)`.
            Self::Email => contact.email.as_deref().map(str::to_lowercase),
            Self::Phone => contact.phone_number.clone(),
        }
    }

    fn conflict(self) -> &'static str {
        match self {
            Self::Identifier => "another contact of this account already has this identifier",
            Self::Email => "another contact of this account already has this email",
            Self::Phone => "another contact of this account already has this phone number",
        }
    }
}

/// A contact the batch touches: as read (`None` for a new one) and as it ends up.
#[derive(Debug, Clone)]
pub struct Slot {
    pub original: Option<contact::Model>,
    pub contact: contact::Model,
}

impl Slot {
    /// Whether the batch changed a stored contact (a row that repeats what is stored is still
    /// counted as an update, but costs no write).
    fn changed(&self) -> bool {
        self.original.as_ref().is_some_and(|o| {
            let c = &self.contact;
            o.name != c.name
                || o.last_name != c.last_name
                || o.email != c.email
                || o.phone_number != c.phone_number
                || o.identifier != c.identifier
                || o.contact_type != c.contact_type
                || o.additional_attributes != c.additional_attributes
                || o.custom_attributes != c.custom_attributes
        })
    }
}

/// The outcome of a batch.
#[derive(Debug, Default)]
pub struct Plan {
    pub slots: Vec<Slot>,
    /// Rejected rows: their index in the batch and the reasons, joined.
    pub failures: Vec<(usize, String)>,
    pub created: usize,
    pub updated: usize,
    /// How many rows of the batch were handled; the rest go to the next batch.
    pub consumed: usize,
}

impl Plan {
    /// New contacts, in file order.
    pub fn inserts(&self) -> impl Iterator<Item = &contact::Model> {
        self.slots
            .iter()
            .filter(|s| s.original.is_none())
            .map(|s| &s.contact)
    }

    /// Stored contacts that changed.
    pub fn updates(&self) -> impl Iterator<Item = &contact::Model> {
        self.slots
            .iter()
            .filter(|s| s.changed())
            .map(|s| &s.contact)
    }
}

fn merge_into(target: &mut Value, changes: &Map<String, Value>) {
    if !target.is_object() {
        *target = Value::Object(Map::new());
    }
    if let Value::Object(map) = target {
        for (key, value) in changes {
            map.insert(key.clone(), value.clone());
        }
    }
}

/// Decides what `rows` do, starting from `existing` (the account's contacts holding any of
/// their keys).
pub fn plan(
    account_id: i64,
    existing: Vec<contact::Model>,
    rows: &[Row],
    now: DateTime<Utc>,
) -> Plan {
    let mut plan = Plan {
        consumed: rows.len(),
        ..Plan::default()
    };
    // Who holds each key now, and which keys a stored contact gave up in this batch.
    let mut owners: HashMap<(Key, String), usize> = HashMap::new();
    let mut released: HashMap<(Key, String), usize> = HashMap::new();
    for contact in existing {
        let slot = plan.slots.len();
        for key in KEYS {
            if let Some(value) = key.of_contact(&contact) {
                owners.insert((key, value), slot);
            }
        }
        plan.slots.push(Slot {
            original: Some(contact.clone()),
            contact,
        });
    }

    for (index, row) in rows.iter().enumerate() {
        let fields = match &row.fields {
            Ok(fields) => fields,
            Err(errors) => {
                plan.failures.push((index, errors.join("; ")));
                continue;
            }
        };
        let lookup = |key: Key| {
            key.of_fields(fields)
                .and_then(|v| owners.get(&(key, v.to_owned())).copied())
        };
        let matched = KEYS.into_iter().find_map(lookup);
        let mut errors = Vec::new();
        let mut moves_a_value = false;
        for key in KEYS {
            let Some(value) = key.of_fields(fields) else {
                continue;
            };
            let id = (key, value.to_owned());
            match owners.get(&id) {
                Some(owner) if Some(*owner) != matched => errors.push(key.conflict()),
                Some(_) => {}
                None => {
                    moves_a_value |= released.get(&id).is_some_and(|r| Some(*r) != matched);
                }
            }
        }
        if !errors.is_empty() {
            plan.failures.push((index, errors.join("; ")));
            continue;
        }
        // The first row of a batch never moves a value: nothing was released before it.
        if moves_a_value && index > 0 {
            plan.consumed = index;
            break;
        }
        let slot = match matched {
            Some(slot) => {
                plan.updated += 1;
                slot
            }
            None => {
                plan.created += 1;
                plan.slots.push(Slot {
                    original: None,
                    contact: contact::Model {
                        id: 0,
                        account_id,
                        name: None,
                        middle_name: None,
                        last_name: None,
                        email: None,
                        phone_number: None,
                        identifier: None,
                        blocked: false,
                        contact_type: ContactType::Visitor,
                        avatar_url: None,
                        additional_attributes: Value::Object(Map::new()),
                        custom_attributes: Value::Object(Map::new()),
                        last_activity_at: None,
                        created_at: now,
                        updated_at: now,
                    },
                });
                plan.slots.len() - 1
            }
        };
        let Slot { original, contact } = &mut plan.slots[slot];
        for key in KEYS {
            let Some(value) = key.of_fields(fields) else {
                continue;
            };
            let old = key.of_contact(contact);
            if old.as_deref() == Some(value) {
                continue;
            }
            if let Some(old) = old {
                owners.remove(&(key, old.clone()));
                if original.as_ref().and_then(|o| key.of_contact(o)) == Some(old.clone()) {
                    released.insert((key, old), slot);
                }
            }
            owners.insert((key, value.to_owned()), slot);
            released.remove(&(key, value.to_owned()));
        }
        apply(contact, fields, now);
    }
    plan
}

/// Sets what a row says on a contact: non-empty cells win, attributes merge per key.
fn apply(contact: &mut contact::Model, fields: &Fields, now: DateTime<Utc>) {
    let set = |target: &mut Option<String>, value: &Option<String>| {
        if value.is_some() {
            target.clone_from(value);
        }
    };
    set(&mut contact.identifier, &fields.identifier);
    set(&mut contact.email, &fields.email);
    set(&mut contact.phone_number, &fields.phone_number);
    set(&mut contact.name, &fields.name);
    set(&mut contact.last_name, &fields.last_name);
    merge_into(&mut contact.additional_attributes, &fields.additional);
    merge_into(&mut contact.custom_attributes, &fields.custom);
    let additional = contact
        .additional_attributes
        .as_object()
        .cloned()
        .unwrap_or_default();
    contact.contact_type = promote(
        contact.contact_type,
        contact.email.is_some(),
        contact.phone_number.is_some(),
        &additional,
    );
    contact.updated_at = now;
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use serde_json::json;

    use super::*;

    fn row(identifier: Option<&str>, email: Option<&str>, phone: Option<&str>) -> Row {
        Row {
            cells: vec![],
            fields: Ok(Fields {
                identifier: identifier.map(Into::into),
                email: email.map(Into::into),
                phone_number: phone.map(Into::into),
                custom: json!({ "plan": "pro" }).as_object().cloned().unwrap(),
                ..Fields::default()
            }),
        }
    }

    fn stored(id: i64, identifier: Option<&str>, email: Option<&str>) -> contact::Model {
        contact::Model {
            id,
            account_id: 1,
            name: Some("Stored".into()),
            middle_name: None,
            last_name: None,
            email: email.map(Into::into),
            phone_number: None,
            identifier: identifier.map(Into::into),
            blocked: false,
            contact_type: ContactType::Visitor,
            avatar_url: None,
            additional_attributes: json!({}),
            custom_attributes: json!({ "plan": "free", "seats": "3" }),
            last_activity_at: None,
            created_at: Utc::now(),
            updated_at: Utc::now(),
        }
    }

    #[test]
    fn matches_by_identifier_then_email_then_phone() {
        let existing = vec![stored(1, Some("c1"), None), stored(2, None, Some("b@x.io"))];
        let rows = [
            row(Some("c1"), None, None),
            row(None, Some("b@x.io"), Some("+14155550100")),
            row(None, None, Some("+14155550100")),
            row(Some("new"), None, None),
        ];
        let plan = plan(1, existing, &rows, Utc::now());
        assert_eq!((plan.created, plan.updated), (1, 3));
        assert!(plan.failures.is_empty());
        let updates: Vec<_> = plan.updates().collect();
        assert_eq!(updates.len(), 2);
        assert_eq!(updates[1].phone_number.as_deref(), Some("+14155550100"));
        assert_eq!(updates[1].contact_type, ContactType::Lead);
        assert_eq!(
            updates[0].custom_attributes,
            json!({ "plan": "pro", "seats": "3" })
        );
        assert_eq!(plan.inserts().count(), 1);
    }

    #[test]
    fn duplicates_in_the_batch_update_the_contact_created_first() {
        let rows = [
            row(None, Some("a@x.io"), None),
            row(Some("c9"), Some("a@x.io"), None),
            row(Some("c9"), None, Some("+14155550100")),
        ];
        let plan = plan(1, vec![], &rows, Utc::now());
        assert_eq!((plan.created, plan.updated), (1, 2));
        let inserts: Vec<_> = plan.inserts().collect();
        assert_eq!(inserts.len(), 1);
        assert_eq!(inserts[0].identifier.as_deref(), Some("c9"));
        assert_eq!(inserts[0].phone_number.as_deref(), Some("+14155550100"));
    }

    #[test]
    fn values_of_other_contacts_are_conflicts() {
        let existing = vec![stored(1, Some("c1"), None), stored(2, None, Some("b@x.io"))];
        let rows = [
            row(Some("c1"), Some("b@x.io"), None),
            row(Some("c1"), None, None),
        ];
        let plan = plan(1, existing, &rows, Utc::now());
        assert_eq!(plan.failures.len(), 1);
        assert_eq!(plan.failures[0].0, 0);
        assert!(plan.failures[0].1.contains("email"));
        assert_eq!(plan.updated, 1);
    }

    #[test]
    fn a_value_moving_between_contacts_ends_the_batch() {
        let existing = vec![stored(1, Some("c1"), Some("a@x.io"))];
        let rows = [
            row(Some("c1"), Some("z@x.io"), None),
            row(Some("c2"), Some("a@x.io"), None),
        ];
        let plan = plan(1, existing, &rows, Utc::now());
        assert_eq!(plan.consumed, 1);
        assert_eq!((plan.created, plan.updated), (0, 1));
    }

    #[test]
    fn unchanged_rows_cost_no_write() {
        let mut contact = stored(1, Some("c1"), None);
        contact.custom_attributes = json!({ "plan": "pro" });
        let plan = plan(1, vec![contact], &[row(Some("c1"), None, None)], Utc::now());
        assert_eq!(plan.updated, 1);
        assert_eq!(plan.updates().count(), 0);
    }
}
