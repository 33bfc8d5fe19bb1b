//! The `exportContacts` mutation: validates an export and hands out its download URL.

use async_graphql::{Context, ID, Object, SimpleObject};

use super::spec::{self, Spec};
use crate::{
    auth::guard::RoleGuard, contacts::filter::ContactFilterCondition, context::ContextExt,
    error::AppResult,
};

/// A CSV export of contacts, ready to download.
#[derive(SimpleObject, Debug, Clone)]
pub struct ContactExport {
    /// A stable id of the export: the same columns, filter and label give the same id.
    pub id: ID,
    /// How many contacts matched when the export was requested. The download reads the
    /// contacts as they are when it runs, so it may differ if they changed in between.
    pub row_count: u64,
    /// Where to download the CSV, relative to this server's origin: GET it with the same
    /// `Authorization: Bearer` token (an administrator of the same account). The URL carries
    /// the export's parameters and does not expire; the token's own expiry bounds its use.
    pub url: String,
}

/// Export mutations.
#[derive(Default)]
pub struct ExportMutation;

#[Object]
impl ExportMutation {
    /// Exports the account's resolved contacts (optionally narrowed by a filter and a label)
    /// as CSV (administrators). Columns default to `id, name, email, phone_number`; allowed are
    /// `id name middle_name last_name email phone_number identifier blocked contact_type
    /// avatar_url location country_code company city country created_at updated_at
    /// last_activity_at labels` and every custom attribute key defined for contacts. Labels are
    /// joined with `,`, timestamps are RFC 3339 UTC, booleans `true`/`false`. Text cells
    /// starting with `=`, `+`, `-`, `@`, a tab or a carriage return get a leading `'` so that
    /// spreadsheets do not run them as formulas (phone numbers are left as they are). Rows are
    /// in id order.
    #[graphql(guard = "RoleGuard::Administrator")]
    async fn export_contacts(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "The columns, in order (snake_case names).")] columns: Option<Vec<String>>,
        #[graphql(desc = "Only contacts matching this filter (as `filterContacts` takes it).")]
        filter: Option<Vec<ContactFilterCondition>>,
        #[graphql(desc = "Only contacts having this label.")] label: Option<String>,
    ) -> AppResult<ContactExport> {
        let viewer = ctx.admin()?;
        let db = ctx.db()?;
        let spec = Spec::new(
            viewer.account_id,
            columns,
            filter.as_deref().unwrap_or_default(),
            label.as_deref(),
        )?;
        let prepared = spec.prepare(db, &ctx.state()?.config.limits).await?;
        let encoded = spec.encode()?;
        let row_count = spec::count(db, &prepared).await?;
        tracing::info!(
            account_id = viewer.account_id,
            row_count,
            "contact export requested"
        );
        Ok(ContactExport {
            id: ID(Spec::id(&encoded)),
            row_count,
            url: Spec::url(&encoded),
        })
    }
}
