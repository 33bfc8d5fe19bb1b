//! `switchboard import --account ID FILE.csv`: the import of `importContacts`, run in this
//! process on the configured database, with a progress bar on stderr and the final counts on
//! stdout. Exits non-zero when the import fails as a whole.
//!
//! The file is copied to the import directory like an upload, so the failed-rows download of a
//! running server serves its rejected rows, and a server resumes the import if this process is
//! killed. With `REDIS_URL` set, `dataImportProgress` subscribers of the servers see the
//! progress too.

use std::io::Write;

use entity::enums::ImportStatus;
use indicatif::{ProgressBar, ProgressStyle};
use sea_orm::EntityTrait;

use super::{download, files, repo, run::Importer};
use crate::{
    config::{Config, ImportArgs},
    state::AppState,
};

/// Runs the command.
pub async fn import(config: &Config, args: &ImportArgs) -> anyhow::Result<()> {
    let state = AppState::build(config.clone(), true).await?;
    let importer = Importer::new(&state);
    let db = &importer.db;
    if entity::account::Entity::find_by_id(args.account)
        .one(db)
        .await?
        .is_none()
    {
        anyhow::bail!("there is no account {}", args.account);
    }
    let file = std::fs::File::open(&args.file)
        .map_err(|err| anyhow::anyhow!("cannot open {}: {err}", args.file.display()))?;
    let file_name = args
        .file
        .file_name()
        .map(|name| name.to_string_lossy().into_owned());
    let import = repo::create(db, args.account, None, file_name).await?;
    let dir = importer.dir.clone();
    tokio::task::spawn_blocking(move || files::save(&dir, import.id, file)).await??;

    let bar = ProgressBar::new_spinner();
    bar.set_message("checking the file");
    let style = ProgressStyle::with_template(
        "{spinner} [{elapsed_precise}] {wide_bar} {pos}/{len} rows ({per_sec}) {msg}",
    )?;
    let observe = |import: &entity::data_import::Model| {
        if import.total_records > 0 && bar.length() != u64::try_from(import.total_records).ok() {
            bar.set_style(style.clone());
            bar.set_length(u64::try_from(import.total_records).unwrap_or_default());
        }
        bar.set_position(u64::try_from(import.processed_records).unwrap_or_default());
        bar.set_message(format!(
            "{} created, {} updated, {} failed",
            import.created_records, import.updated_records, import.failed_records
        ));
    };
    let id = import.id;
    let outcome = importer.run(import, &observe).await;
    bar.finish_and_clear();

    let Some(import) = outcome else {
        anyhow::bail!("import {id} was interrupted; a running server will resume it");
    };
    let mut out = std::io::stdout().lock();
    writeln!(
        out,
        "import {} {}: {} rows, {} created, {} updated, {} failed",
        import.id,
        if import.status == ImportStatus::Completed {
            "completed"
        } else {
            "failed"
        },
        import.total_records,
        import.created_records,
        import.updated_records,
        import.failed_records
    )?;
    if import.failed_records > 0 {
        writeln!(
            out,
            "failed rows: {} (or GET {} on the server)",
            files::failed_path(&importer.dir, import.id).display(),
            download::url(import.id)
        )?;
    }
    match import.status {
        ImportStatus::Completed => Ok(()),
        _ => anyhow::bail!(
            "import {} failed: {}",
            import.id,
            import.failure_reason.unwrap_or_default()
        ),
    }
}
