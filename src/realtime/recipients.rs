//! Who receives what (docs/design.md §5): never across accounts; private notes and activity
//! messages never reach a contact; typing never echoes to the typer.

use entity::enums::MessageType;

use crate::{
    auth::viewer::Viewer,
    events::{Event, EventPayload, Sender},
};

/// Whether `viewer` may receive `event`.
pub fn may_receive(viewer: &Viewer, event: &Event) -> bool {
    if event.account_id != viewer.account_id() {
        return false;
    }
    match viewer {
        Viewer::User(user) => match &event.payload {
            EventPayload::Typing { sender, .. } => *sender != Sender::User(user.user_id),
            // Internal: tells sockets to re-check access; no subscription delivers it.
            EventPayload::AccessChanged { .. } => false,
            _ => true,
        },
        Viewer::Contact(contact) => {
            let own = |contact_id: i64| contact_id == contact.contact_id;
            match &event.payload {
                EventPayload::MessageCreated {
                    message,
                    contact_id,
                }
                | EventPayload::MessageUpdated {
                    message,
                    contact_id,
                } => {
                    own(*contact_id)
                        && !message.private
                        && message.message_type != MessageType::Activity
                }
                EventPayload::ConversationCreated { conversation }
                | EventPayload::ConversationStatusChanged { conversation } => {
                    own(conversation.contact_id)
                }
                EventPayload::Typing {
                    contact_id,
                    private,
                    sender,
                    ..
                } => own(*contact_id) && !private && *sender != Sender::Contact(contact.contact_id),
                EventPayload::PresenceChanged => true,
                EventPayload::ConversationUpdated { .. }
                | EventPayload::AccessChanged { .. }
                | EventPayload::ContactChanged { .. }
                | EventPayload::DataImportProgress { .. } => false,
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use chrono::Utc;
    use entity::enums::{ConversationStatus, Role};
    use serde_json::json;

    use super::*;
    use crate::auth::viewer::{ContactViewer, UserViewer};

    const AGENT: Viewer = Viewer::User(UserViewer {
        user_id: 1,
        account_id: 10,
        role: Role::Agent,
    });
    const CONTACT: Viewer = Viewer::Contact(ContactViewer {
        contact_id: 5,
        contact_inbox_id: 3,
        account_id: 10,
    });

    fn message(private: bool, message_type: MessageType) -> Box<entity::message::Model> {
        Box::new(entity::message::Model {
            id: 1,
            account_id: 10,
            conversation_id: 2,
            inbox_id: 3,
            content: Some("hi".into()),
            message_type,
            private,
            sender_type: None,
            sender_id: None,
            content_attributes: json!({}),
            created_at: Utc::now(),
            updated_at: Utc::now(),
        })
    }

    fn conversation(contact_id: i64) -> Box<entity::conversation::Model> {
        Box::new(entity::conversation::Model {
            id: 2,
            account_id: 10,
            display_id: 1,
            inbox_id: 3,
            contact_id,
            contact_inbox_id: Some(3),
            assignee_id: None,
            status: ConversationStatus::Open,
            custom_attributes: json!({}),
            additional_attributes: json!({}),
            snoozed_until: None,
            last_activity_at: Utc::now(),
            created_at: Utc::now(),
            updated_at: Utc::now(),
        })
    }

    fn event(account_id: i64, payload: EventPayload) -> Event {
        Event {
            account_id,
            payload,
        }
    }

    #[test]
    fn never_across_accounts() {
        let e = event(11, EventPayload::PresenceChanged);
        assert!(!may_receive(&AGENT, &e));
        assert!(!may_receive(&CONTACT, &e));
    }

    #[test]
    fn contacts_see_only_their_public_messages() {
        let public = event(
            10,
            EventPayload::MessageCreated {
                message: message(false, MessageType::Outgoing),
                contact_id: 5,
            },
        );
        let private = event(
            10,
            EventPayload::MessageCreated {
                message: message(true, MessageType::Outgoing),
                contact_id: 5,
            },
        );
        let activity = event(
            10,
            EventPayload::MessageCreated {
                message: message(false, MessageType::Activity),
                contact_id: 5,
            },
        );
        let other = event(
            10,
            EventPayload::MessageCreated {
                message: message(false, MessageType::Outgoing),
                contact_id: 6,
            },
        );
        assert!(may_receive(&CONTACT, &public));
        assert!(!may_receive(&CONTACT, &private));
        assert!(!may_receive(&CONTACT, &activity));
        assert!(!may_receive(&CONTACT, &other));
        for e in [&public, &private, &activity, &other] {
            assert!(may_receive(&AGENT, e));
        }
    }

    #[test]
    fn conversation_events_for_contacts() {
        assert!(may_receive(
            &CONTACT,
            &event(
                10,
                EventPayload::ConversationCreated {
                    conversation: conversation(5)
                }
            )
        ));
        assert!(!may_receive(
            &CONTACT,
            &event(
                10,
                EventPayload::ConversationCreated {
                    conversation: conversation(6)
                }
            )
        ));
        assert!(may_receive(
            &CONTACT,
            &event(
                10,
                EventPayload::ConversationStatusChanged {
                    conversation: conversation(5)
                }
            )
        ));
        let updated = event(
            10,
            EventPayload::ConversationUpdated {
                conversation: conversation(5),
                change: crate::events::ConversationChange::Assignee,
            },
        );
        assert!(!may_receive(&CONTACT, &updated));
        assert!(may_receive(&AGENT, &updated));
    }

    #[test]
    fn import_progress_reaches_members_of_the_account_only() {
        let progress = |account_id| {
            event(
                account_id,
                EventPayload::DataImportProgress {
                    data_import: Box::new(entity::data_import::Model {
                        id: 1,
                        account_id,
                        user_id: Some(1),
                        data_type: "contacts".into(),
                        status: entity::enums::ImportStatus::Processing,
                        file_name: None,
                        total_records: 2,
                        processed_records: 1,
                        created_records: 1,
                        updated_records: 0,
                        failed_records: 0,
                        failure_reason: None,
                        failed_rows_csv: None,
                        created_at: Utc::now(),
                        updated_at: Utc::now(),
                    }),
                },
            )
        };
        assert!(may_receive(&AGENT, &progress(10)));
        assert!(!may_receive(&AGENT, &progress(11)));
        assert!(!may_receive(&CONTACT, &progress(10)));
    }

    #[test]
    fn typing_never_echoes_and_private_typing_stays_internal() {
        let typing = |private, sender| {
            event(
                10,
                EventPayload::Typing {
                    conversation_id: 2,
                    contact_id: 5,
                    typing: true,
                    private,
                    sender,
                },
            )
        };
        assert!(!may_receive(&AGENT, &typing(false, Sender::User(1))));
        assert!(may_receive(&AGENT, &typing(false, Sender::User(2))));
        assert!(may_receive(&AGENT, &typing(false, Sender::Contact(5))));
        assert!(may_receive(&CONTACT, &typing(false, Sender::User(1))));
        assert!(!may_receive(&CONTACT, &typing(true, Sender::User(1))));
        assert!(!may_receive(&CONTACT, &typing(false, Sender::Contact(5))));
    }
}
