//! Account-scoped custom attribute definitions and label catalogue.

use entity::{
    custom_attribute_definition as definition,
    enums::{AttributeDisplayType, AttributeModel},
    label,
};
use sea_orm::{
    ActiveModelTrait, ColumnTrait, ConnectionTrait, EntityTrait, QueryFilter, QueryOrder, Set,
};
use serde_json::Value;

use crate::{
    attributes::types::{CreateCustomAttributeDefinitionInput, CreateLabelInput},
    contacts::filter::STANDARD_KEYS,
    error::{AppError, AppResult, unique_violation},
    limits::InputLimits,
    time, validate,
};

/// Keys a contact attribute may not take: the filter's standard keys (a custom attribute would
/// shadow them), and `company_name`, the key of the company in `additionalAttributes`.
pub const RESERVED_CONTACT_KEYS: [&str; STANDARD_KEYS.len() + 1] = {
    let mut keys = [""; STANDARD_KEYS.len() + 1];
    let mut i = 0;
    while i < STANDARD_KEYS.len() {
        keys[i] = STANDARD_KEYS[i];
        i += 1;
    }
    keys[STANDARD_KEYS.len()] = "company_name";
    keys
};

/// The account's definitions, optionally of one model, by id.
pub async fn definitions(
    db: &impl ConnectionTrait,
    account_id: i64,
    model: Option<AttributeModel>,
) -> AppResult<Vec<definition::Model>> {
    let mut query = definition::Entity::find().filter(definition::Column::AccountId.eq(account_id));
    if let Some(model) = model {
        query = query.filter(definition::Column::AttributeModel.eq(model));
    }
    Ok(query.order_by_asc(definition::Column::Id).all(db).await?)
}

/// Defines a custom attribute.
pub async fn create_definition(
    db: &impl ConnectionTrait,
    account_id: i64,
    input: CreateCustomAttributeDefinitionInput,
    limits: &InputLimits,
) -> AppResult<definition::Model> {
    let key = validate::name("attributeKey", &input.attribute_key)?;
    let model: AttributeModel = input.model.into();
    if model == AttributeModel::ContactAttribute && RESERVED_CONTACT_KEYS.contains(&key.as_str()) {
        return Err(AppError::bad_input(
            "attributeKey",
            format!("`{key}` is a standard contact field"),
        ));
    }
    let display_type: AttributeDisplayType = input.display_type.into();
    let values = input.values.map_or(Value::Array(Vec::new()), |v| v.0);
    let Some(items) = values
        .as_array()
        .filter(|items| items.iter().all(Value::is_string))
    else {
        return Err(AppError::bad_input(
            "values",
            "values must be a JSON array of strings",
        ));
    };
    limits.list("values", items)?;
    for item in items.iter().filter_map(Value::as_str) {
        validate::no_nul("values", item)?;
        if item.chars().count() > validate::MAX_STRING {
            return Err(AppError::bad_input(
                "values",
                format!(
                    "each value must be at most {} characters",
                    validate::MAX_STRING
                ),
            ));
        }
    }
    if display_type == AttributeDisplayType::List && values.as_array().is_some_and(Vec::is_empty) {
        return Err(AppError::bad_input(
            "values",
            "a LIST attribute needs its values",
        ));
    }
    let now = time::now();
    definition::ActiveModel {
        account_id: Set(account_id),
        attribute_key: Set(key),
        attribute_display_name: Set(validate::required_string(
            "displayName",
            &input.display_name,
        )?),
        attribute_display_type: Set(display_type),
        attribute_model: Set(model),
        attribute_values: Set(values),
        attribute_description: Set(validate::optional_string(
            "description",
            input.description.as_deref(),
        )?),
        created_at: Set(now),
        updated_at: Set(now),
        ..Default::default()
    }
    .insert(db)
    .await
    .map_err(|err| unique_violation(err, "attributeKey", "this attribute is already defined"))
}

/// Deletes a definition (values stored on contacts stay).
pub async fn delete_definition(
    db: &impl ConnectionTrait,
    account_id: i64,
    id: i64,
) -> AppResult<()> {
    let result = definition::Entity::delete_many()
        .filter(definition::Column::Id.eq(id))
        .filter(definition::Column::AccountId.eq(account_id))
        .exec(db)
        .await?;
    if result.rows_affected == 0 {
        return Err(AppError::NotFound("custom attribute definition"));
    }
    Ok(())
}

/// The account's label catalogue, by title.
pub async fn labels(db: &impl ConnectionTrait, account_id: i64) -> AppResult<Vec<label::Model>> {
    Ok(label::Entity::find()
        .filter(label::Column::AccountId.eq(account_id))
        .order_by_asc(label::Column::Title)
        .all(db)
        .await?)
}

/// Adds a label to the catalogue.
pub async fn create_label(
    db: &impl ConnectionTrait,
    account_id: i64,
    input: CreateLabelInput,
) -> AppResult<label::Model> {
    let now = time::now();
    label::ActiveModel {
        account_id: Set(account_id),
        title: Set(validate::name("title", &input.title)?.to_lowercase()),
        description: Set(validate::optional_string(
            "description",
            input.description.as_deref(),
        )?),
        color: Set(validate::optional_string("color", input.color.as_deref())?
            .unwrap_or_else(|| "#1f93ff".to_owned())),
        show_on_sidebar: Set(input.show_on_sidebar.unwrap_or(true)),
        created_at: Set(now),
        updated_at: Set(now),
        ..Default::default()
    }
    .insert(db)
    .await
    .map_err(|err| unique_violation(err, "title", "this label already exists"))
}
