//! The database the execution tests run on: an account, its custom attribute definitions and
//! four contacts (today is 2024-03-15).

use super::*;

/// A custom text value longer than the 128 characters PostgreSQL's index terms keep.
pub(super) const LONG_NOTE: &str = "Prefers Email over Phone, Tuesdays only. Prefers Email over Phone, Tuesdays only. \
                         Prefers Email over Phone, Tuesdays only. Prefers Email over Phone.";

/// What the seeded database holds.
pub(super) struct Seeded {
    pub(super) account: i64,
    /// The ids of contacts 1..=4 (index 0 is contact 1).
    pub(super) contacts: Vec<i64>,
    pub(super) definitions: Vec<custom_attribute_definition::Model>,
}

fn at(s: &str) -> DateTime<Utc> {
    DateTime::parse_from_rfc3339(s).unwrap().with_timezone(&Utc)
}

pub(super) async fn seed(db: &DatabaseConnection) -> Seeded {
    Migrator::up(db, None).await.unwrap();
    let now = at("2024-03-15T12:00:00Z");
    let account = account::ActiveModel {
        name: Set("Filter test".to_owned()),
        last_conversation_display_id: Set(0),
        created_at: Set(now),
        updated_at: Set(now),
        ..Default::default()
    }
    .insert(db)
    .await
    .unwrap()
    .id;
    for (key, kind, model) in DEFINITIONS {
        custom_attribute_definition::ActiveModel {
            account_id: Set(account),
            attribute_key: Set((*key).to_owned()),
            attribute_display_name: Set((*key).to_owned()),
            attribute_display_type: Set(*kind),
            attribute_model: Set(*model),
            attribute_values: Set(json!([])),
            attribute_description: Set(None),
            created_at: Set(now),
            updated_at: Set(now),
            ..Default::default()
        }
        .insert(db)
        .await
        .unwrap();
    }
    struct Row {
        name: Option<&'static str>,
        email: Option<&'static str>,
        phone: Option<&'static str>,
        identifier: Option<&'static str>,
        blocked: bool,
        additional: Value,
        custom: Value,
        labels: &'static [&'static str],
        created_at: &'static str,
        last_activity_at: Option<&'static str>,
    }
    let rows = [
        Row {
            name: Some("Alice Smith"),
            email: Some("alice@example.com"),
            phone: Some("+14155550100"),
            identifier: Some("ID-A"),
            blocked: false,
            additional: json!({"city": "Berlin", "company_name": "Acme Corp 100%", "country_code": "DE"}),
            custom: json!({
                "plan": "Gold", "tier_note": "Early_adopter", "website": "https://acme.test",
                "favourite.colour": "Blue", "seats": 10, "mrr": 99.5, "discount": 15,
                "renewal_date": "2024-03-01", "vip": true
            }),
            labels: &["vip", "beta"],
            created_at: "2024-01-10T12:00:00Z",
            last_activity_at: Some("2024-03-05T00:00:00Z"),
        },
        Row {
            name: Some("Bob Stone"),
            email: Some("bob@example.org"),
            phone: Some("+4915112345"),
            identifier: Some("id-b"),
            blocked: true,
            additional: json!({"city": "berlin", "company_name": "Initech", "country_code": "US"}),
            custom: json!({
                "plan": "silver", "seats": "many", "mrr": 10, "account manager": "Zoe",
                "renewal_date": "2024-02-29T10:00:00Z", "vip": false
            }),
            labels: &["beta"],
            created_at: "2024-01-11T00:00:00Z",
            last_activity_at: None,
        },
        Row {
            name: Some("Ca_rol"),
            email: Some("carol@example.com"),
            phone: None,
            identifier: Some("C3"),
            blocked: false,
            additional: json!({"city": "Paris", "company_name": "Acme_Corp"}),
            custom: json!({"tier_note": LONG_NOTE}),
            labels: &[],
            created_at: "2024-01-11T23:59:59.999Z",
            last_activity_at: Some("2024-03-10T08:00:00Z"),
        },
        Row {
            name: None,
            email: None,
            phone: Some("+14155559999"),
            identifier: None,
            blocked: false,
            additional: json!({}),
            custom: json!({"seats": 3.5, "vip": "true", "renewal_date": "01/02/2020", "plan": ""}),
            labels: &["other"],
            created_at: "2024-02-01T00:00:00Z",
            last_activity_at: None,
        },
    ];
    let mut contacts = Vec::new();
    for row in rows {
        let id = contact::ActiveModel {
            account_id: Set(account),
            name: Set(row.name.map(str::to_owned)),
            middle_name: Set(None),
            last_name: Set(None),
            email: Set(row.email.map(str::to_owned)),
            phone_number: Set(row.phone.map(str::to_owned)),
            identifier: Set(row.identifier.map(str::to_owned)),
            blocked: Set(row.blocked),
            contact_type: Set(ContactType::Lead),
            avatar_url: Set(None),
            additional_attributes: Set(row.additional),
            custom_attributes: Set(row.custom),
            last_activity_at: Set(row.last_activity_at.map(at)),
            created_at: Set(at(row.created_at)),
            updated_at: Set(now),
            ..Default::default()
        }
        .insert(db)
        .await
        .unwrap()
        .id;
        for label in row.labels {
            contact_label::ActiveModel {
                contact_id: Set(id),
                name: Set((*label).to_owned()),
                account_id: Set(account),
            }
            .insert(db)
            .await
            .unwrap();
        }
        contacts.push(id);
    }
    let definitions = custom_attribute_definition::Entity::find()
        .filter(custom_attribute_definition::Column::AccountId.eq(account))
        .all(db)
        .await
        .unwrap();
    Seeded {
        account,
        contacts,
        definitions,
    }
}
