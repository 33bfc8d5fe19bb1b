//! The files of an import in the import directory (`IMPORT_DIR`), named by import id:
//!
//! - `{id}.csv`: the uploaded file, kept until the import ends so that it can be read twice
//!   (check, then write) and resumed after a restart; written as `{id}.csv.part` and renamed,
//!   so a file under its final name is always complete;
//! - `{id}.failed.csv`: the rejected rows (their original cells plus `errors`), served by the
//!   failed-rows download and kept after the import ends. (Not the `failed_rows_csv` column,
//!   which stays empty: a text column is read and rewritten whole, and a file streams.)
//!
//! The failed-rows file may run ahead of the database: a batch's rejected rows are appended
//! before its transaction commits, so a crash can leave rows of a batch that never landed. The
//! committed `failed_records` count is the truth; [`FailedRows::open`] cuts the file back to it.

use std::{
    fs::{self, File, OpenOptions},
    io::{self, Read},
    path::{Path, PathBuf},
};

/// The uploaded file of an import.
pub fn source_path(dir: &Path, id: i64) -> PathBuf {
    dir.join(format!("{id}.csv"))
}

/// The rejected rows of an import.
pub fn failed_path(dir: &Path, id: i64) -> PathBuf {
    dir.join(format!("{id}.failed.csv"))
}

/// Stores the file of import `id` (streamed, never held whole). Returns its size.
pub fn save(dir: &Path, id: i64, mut content: impl Read) -> io::Result<u64> {
    fs::create_dir_all(dir)?;
    let part = dir.join(format!("{id}.csv.part"));
    let mut out = File::create(&part)?;
    let size = io::copy(&mut content, &mut out)?;
    out.sync_all()?;
    fs::rename(&part, source_path(dir, id))?;
    Ok(size)
}

/// Removes a file that may not exist.
pub fn remove(path: &Path) -> io::Result<()> {
    match fs::remove_file(path) {
        Err(err) if err.kind() != io::ErrorKind::NotFound => Err(err),
        _ => Ok(()),
    }
}

/// The rejected rows of a running import, appended a batch at a time.
pub struct FailedRows {
    path: PathBuf,
    header: Vec<String>,
    writer: Option<csv::Writer<File>>,
    /// The file's length when the last batch committed.
    committed: u64,
}

impl FailedRows {
    /// Opens the failed rows of import `id`, keeping the first `keep` rows (those the database
    /// counted) of a file left by an earlier run, and dropping any beyond them.
    pub fn open(dir: &Path, id: i64, header: Vec<String>, keep: u64) -> io::Result<Self> {
        let path = failed_path(dir, id);
        let committed = if keep == 0 {
            remove(&path)?;
            0
        } else {
            cut_after(&path, keep)?
        };
        Ok(Self {
            path,
            header,
            writer: None,
            committed,
        })
    }

    /// Appends a batch's rejected rows (cells and reasons), replacing whatever an uncommitted
    /// attempt of the batch appended.
    pub fn append<'a>(
        &mut self,
        rows: impl IntoIterator<Item = (&'a [String], &'a str)>,
    ) -> io::Result<()> {
        self.rollback()?;
        let mut rows = rows.into_iter().peekable();
        if rows.peek().is_none() {
            return Ok(());
        }
        if self.writer.is_none() {
            fs::create_dir_all(self.path.parent().unwrap_or(Path::new(".")))?;
            let file = OpenOptions::new()
                .create(true)
                .append(true)
                .open(&self.path)?;
            let empty = file.metadata()?.len() == 0;
            let mut writer = csv::Writer::from_writer(file);
            if empty {
                writer.write_record(self.header.iter().map(String::as_str).chain(["errors"]))?;
            }
            self.writer = Some(writer);
        }
        if let Some(writer) = &mut self.writer {
            for (cells, errors) in rows {
                writer.write_record(cells.iter().map(String::as_str).chain([errors]))?;
            }
            writer.flush()?;
        }
        Ok(())
    }

    /// The batch committed: what was appended stays.
    pub fn commit(&mut self) -> io::Result<()> {
        if let Some(writer) = &mut self.writer {
            writer.flush()?;
            self.committed = writer.get_ref().metadata()?.len();
        }
        Ok(())
    }

    /// Drops what was appended since the last commit.
    pub fn rollback(&mut self) -> io::Result<()> {
        if let Some(writer) = &mut self.writer {
            writer.flush()?;
            let file = writer.get_ref();
            if file.metadata()?.len() != self.committed {
                // Opened for appending, so the next write goes to the new end.
                file.set_len(self.committed)?;
            }
        }
        Ok(())
    }
}

/// Cuts a failed-rows file after its header and `keep` rows; returns its new length.
fn cut_after(path: &Path, keep: u64) -> io::Result<u64> {
    let file = match File::open(path) {
        Ok(file) => file,
        Err(err) if err.kind() == io::ErrorKind::NotFound => return Ok(0),
        Err(err) => return Err(err),
    };
    let length = file.metadata()?.len();
    let mut reader = csv::ReaderBuilder::new()
        .has_headers(true)
        .flexible(true)
        .from_reader(file);
    let mut record = csv::ByteRecord::new();
    for _ in 0..keep {
        if !reader.read_byte_record(&mut record)? {
            tracing::warn!(path = %path.display(), keep, "failed-rows file has fewer rows than counted");
            return Ok(length);
        }
    }
    let end = reader.position().byte();
    if end < length {
        OpenOptions::new().write(true).open(path)?.set_len(end)?;
    }
    Ok(end.min(length))
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    fn cells(values: &[&str]) -> Vec<String> {
        values.iter().map(|v| (*v).to_owned()).collect()
    }

    #[test]
    fn appends_commits_rolls_back_and_resumes() {
        let dir = tempfile::tempdir().unwrap();
        let header = cells(&["email", "name"]);
        let mut failed = FailedRows::open(dir.path(), 7, header.clone(), 0).unwrap();
        let a = cells(&["bad", "Ann, \"A\""]);
        failed
            .append([(a.as_slice(), "email is not valid")])
            .unwrap();
        failed.commit().unwrap();
        let b = cells(&["worse", "Bob"]);
        failed.append([(b.as_slice(), "nope")]).unwrap();
        failed.append([(b.as_slice(), "retried")]).unwrap();
        drop(failed);
        let text = fs::read_to_string(failed_path(dir.path(), 7)).unwrap();
        assert_eq!(
            text,
            "email,name,errors\nbad,\"Ann, \"\"A\"\"\",email is not valid\nworse,Bob,retried\n"
        );
        // A restart after one committed row drops the uncommitted one.
        let failed = FailedRows::open(dir.path(), 7, header, 1).unwrap();
        drop(failed);
        let text = fs::read_to_string(failed_path(dir.path(), 7)).unwrap();
        assert_eq!(
            text,
            "email,name,errors\nbad,\"Ann, \"\"A\"\"\",email is not valid\n"
        );
    }
}
