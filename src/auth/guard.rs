//! Role checks as guards, so a field's requirement reads next to its declaration.

use async_graphql::{Context, Guard, Result};

use crate::context::ContextExt;

/// Who may call a field.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RoleGuard {
    /// Any member of the account (a user token).
    Member,
    /// Administrators only.
    Administrator,
}

impl Guard for RoleGuard {
    async fn check(&self, ctx: &Context<'_>) -> Result<()> {
        match self {
            Self::Member => ctx.member().map(drop),
            Self::Administrator => ctx.admin().map(drop),
        }
        .map_err(Into::into)
    }
}
