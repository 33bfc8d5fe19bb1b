//! Account-scoped note writes.

use entity::note;
use sea_orm::{ActiveModelTrait, ConnectionTrait, EntityTrait, Set};

use crate::{
    auth::viewer::UserViewer,
    contacts::repo as contacts,
    db,
    error::{AppError, AppResult},
    time,
};

/// Longest note, in characters.
pub const MAX_CONTENT: usize = 20_000;

fn content(value: &str) -> AppResult<String> {
    let value = value.trim();
    if value.is_empty() {
        return Err(AppError::bad_input("content", "content must not be empty"));
    }
    crate::validate::no_nul("content", value)?;
    if value.chars().count() > MAX_CONTENT {
        return Err(AppError::bad_input(
            "content",
            format!("content must be at most {MAX_CONTENT} characters"),
        ));
    }
    Ok(value.to_owned())
}

async fn get(db: &impl ConnectionTrait, account_id: i64, id: i64) -> AppResult<note::Model> {
    db::find_in_account(db, note::Column::AccountId, account_id, id)
        .await?
        .ok_or(AppError::NotFound("note"))
}

/// Writes a note on a contact of the viewer's account, authored by the viewer.
pub async fn create(
    db: &impl ConnectionTrait,
    viewer: UserViewer,
    contact_id: i64,
    text: &str,
) -> AppResult<note::Model> {
    let text = content(text)?;
    contacts::get(db, viewer.account_id, contact_id).await?;
    let now = time::now();
    Ok(note::ActiveModel {
        account_id: Set(viewer.account_id),
        contact_id: Set(contact_id),
        user_id: Set(Some(viewer.user_id)),
        content: Set(text),
        created_at: Set(now),
        updated_at: Set(now),
        ..Default::default()
    }
    .insert(db)
    .await?)
}

/// Edits a note; its author stays its author (fix: Chatwoot re-assigned it to the editor).
pub async fn update(
    db: &impl ConnectionTrait,
    account_id: i64,
    id: i64,
    text: &str,
) -> AppResult<note::Model> {
    let text = content(text)?;
    let mut model: note::ActiveModel = get(db, account_id, id).await?.into();
    model.content = Set(text);
    model.updated_at = Set(time::now());
    Ok(model.update(db).await?)
}

/// Deletes a note.
pub async fn delete(db: &impl ConnectionTrait, account_id: i64, id: i64) -> AppResult<()> {
    get(db, account_id, id).await?;
    note::Entity::delete_by_id(id).exec(db).await?;
    Ok(())
}
