//! Thin resolvers for custom attribute definitions and the label catalogue.

use async_graphql::{Context, ID, Object};

use super::{
    repo,
    types::{
        AttributeModel, CreateCustomAttributeDefinitionInput, CreateLabelInput,
        CustomAttributeDefinition, Label,
    },
};
use crate::{auth::guard::RoleGuard, context::ContextExt, error::AppResult, ids::parse_id};

/// Catalogue queries.
#[derive(Default)]
pub struct AttributeQuery;

#[Object]
impl AttributeQuery {
    /// The account's custom attribute definitions, optionally of one model.
    #[graphql(guard = "RoleGuard::Member")]
    async fn custom_attribute_definitions(
        &self,
        ctx: &Context<'_>,
        model: Option<AttributeModel>,
    ) -> AppResult<Vec<CustomAttributeDefinition>> {
        let viewer = ctx.member()?;
        let rows = repo::definitions(ctx.db()?, viewer.account_id, model.map(Into::into)).await?;
        Ok(rows.into_iter().map(Into::into).collect())
    }

    /// The account's label catalogue.
    #[graphql(guard = "RoleGuard::Member")]
    async fn labels(&self, ctx: &Context<'_>) -> AppResult<Vec<Label>> {
        let viewer = ctx.member()?;
        Ok(repo::labels(ctx.db()?, viewer.account_id)
            .await?
            .into_iter()
            .map(Into::into)
            .collect())
    }
}

/// Catalogue mutations.
#[derive(Default)]
pub struct AttributeMutation;

#[Object]
impl AttributeMutation {
    /// Defines a custom attribute (administrators).
    #[graphql(guard = "RoleGuard::Administrator")]
    async fn create_custom_attribute_definition(
        &self,
        ctx: &Context<'_>,
        input: CreateCustomAttributeDefinitionInput,
    ) -> AppResult<CustomAttributeDefinition> {
        let viewer = ctx.admin()?;
        let limits = &ctx.state()?.config.limits;
        Ok(
            repo::create_definition(ctx.db()?, viewer.account_id, input, limits)
                .await?
                .into(),
        )
    }

    /// Deletes a custom attribute definition (administrators); returns its id.
    #[graphql(guard = "RoleGuard::Administrator")]
    async fn delete_custom_attribute_definition(&self, ctx: &Context<'_>, id: ID) -> AppResult<ID> {
        let viewer = ctx.admin()?;
        repo::delete_definition(ctx.db()?, viewer.account_id, parse_id("id", &id)?).await?;
        Ok(id)
    }

    /// Adds a label to the account's catalogue (administrators).
    #[graphql(guard = "RoleGuard::Administrator")]
    async fn create_label(&self, ctx: &Context<'_>, input: CreateLabelInput) -> AppResult<Label> {
        let viewer = ctx.admin()?;
        Ok(repo::create_label(ctx.db()?, viewer.account_id, input)
            .await?
            .into())
    }
}
