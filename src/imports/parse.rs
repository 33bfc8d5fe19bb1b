//! Reading an import's rows (docs/design.md §5): the header, the cells of each row as text, and
//! what each row says about a contact, validated like every other write path.
//!
//! Cells are decoded one at a time from bytes, dropping invalid UTF-8 (and NUL, which
//! PostgreSQL text cannot hold) rather than failing: a file exported with a stray Latin-1 byte
//! still imports, with that byte gone; emoji are valid UTF-8 and stay.

use csv::ByteRecord;
use serde_json::{Map, Value};

use crate::{error::AppError, validate};

/// The text of a cell: invalid UTF-8 sequences and NUL characters dropped.
pub fn decode(bytes: &[u8]) -> String {
    let mut text = String::with_capacity(bytes.len());
    for chunk in bytes.utf8_chunks() {
        text.extend(chunk.valid().chars().filter(|c| *c != '\0'));
    }
    text
}

/// Whether every cell of a record is empty once decoded and trimmed. Such rows (blank lines,
/// `,,,` left by spreadsheets) are skipped and not counted, in both passes alike.
pub(super) fn is_blank(record: &ByteRecord) -> bool {
    record.iter().all(|cell| {
        cell.utf8_chunks().all(|chunk| {
            chunk
                .valid()
                .chars()
                .all(|c| c.is_whitespace() || c == '\0')
        })
    })
}

/// Most columns a file's header may have. Each becomes a custom attribute of every row (so the
/// attribute size limit bounds what a row can store anyway); a header far wider than any
/// spreadsheet export is an attack or a mistake, refused before any row is read.
pub const MAX_COLUMNS: usize = 1000;

/// What a column of the file feeds.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
enum Column {
    Identifier,
    Email,
    PhoneNumber,
    Name,
    FirstName,
    LastName,
    CompanyName,
    /// `company`: `company_name` under another name (a `company_name` cell wins).
    Company,
    /// `city`, `country`, `country_code`.
    Additional(&'static str),
    Custom(String),
    /// A column with an empty name: its cells are ignored.
    Ignored,
}

/// The header row: the columns' names as written and what each feeds.
#[derive(Debug, Clone)]
pub struct Header {
    /// The names as written (decoded), for the failed-rows file.
    pub names: Vec<String>,
    columns: Vec<Column>,
}

impl Header {
    /// Reads the header record. Known names match ignoring case, surrounding spaces, and spaces
    /// or dashes for underscores (`Phone Number`); any other name is a custom attribute key.
    pub fn new(record: &ByteRecord) -> Result<Self, String> {
        let names: Vec<String> = record
            .iter()
            .enumerate()
            .map(|(i, cell)| {
                let name = decode(cell);
                // A byte-order mark the file reader did not see (it strips one at the start).
                let name = if i == 0 {
                    name.trim_start_matches('\u{feff}').to_owned()
                } else {
                    name
                };
                name.trim().to_owned()
            })
            .collect();
        let normalised: Vec<String> = names
            .iter()
            .map(|n| n.to_lowercase().replace([' ', '-'], "_"))
            .collect();
        if names.len() > MAX_COLUMNS {
            return Err(format!(
                "the header has {} columns; at most {MAX_COLUMNS} are accepted",
                names.len()
            ));
        }
        let has_name = normalised.iter().any(|n| n == "name");
        let mut columns = Vec::with_capacity(names.len());
        // Seen columns, for a duplicate check linear in the header's width.
        let mut seen = std::collections::HashSet::with_capacity(names.len());
        for (name, key) in names.iter().zip(&normalised) {
            let column = match key.as_str() {
                "" => Column::Ignored,
                "identifier" => Column::Identifier,
                "email" => Column::Email,
                "phone_number" => Column::PhoneNumber,
                "name" => Column::Name,
                // With a `name` column these are plain custom attributes (as in Chatwoot).
                "first_name" if !has_name => Column::FirstName,
                "last_name" if !has_name => Column::LastName,
                "company_name" => Column::CompanyName,
                "company" => Column::Company,
                "city" => Column::Additional("city"),
                "country" => Column::Additional("country"),
                "country_code" => Column::Additional("country_code"),
                _ => Column::Custom(name.clone()),
            };
            if column != Column::Ignored && !seen.insert(column.clone()) {
                return Err(format!("the header names the column `{name}` twice"));
            }
            columns.push(column);
        }
        let keyed = columns
            .iter()
            .any(|c| matches!(c, Column::Identifier | Column::Email | Column::PhoneNumber));
        if !keyed {
            return Err("the header row has none of the columns identifier, email, \
                        phone_number (the first row must name the columns)"
                .to_owned());
        }
        Ok(Self { names, columns })
    }

    /// A data row: its cells (as many as the header has) and what it says, or why it is
    /// rejected. `None` for a blank row.
    pub fn row(&self, record: &ByteRecord) -> Option<Row> {
        if is_blank(record) {
            return None;
        }
        let mut cells: Vec<String> = record.iter().take(self.columns.len()).map(decode).collect();
        cells.resize(self.columns.len(), String::new());
        let extra = record
            .iter()
            .skip(self.columns.len())
            .filter(|cell| !decode(cell).trim().is_empty())
            .count();
        let fields = if extra > 0 {
            Err(vec![format!(
                "the row has {} cells but the header names {} columns",
                record.len(),
                self.columns.len()
            )])
        } else {
            self.fields(&cells)
        };
        Some(Row { cells, fields })
    }

    fn fields(&self, cells: &[String]) -> Result<Fields, Vec<String>> {
        let mut fields = Fields::default();
        let mut errors = Vec::new();
        let mut keep = |result: Result<Option<String>, AppError>| match result {
            Ok(value) => value,
            Err(err) => {
                errors.push(err.message());
                None
            }
        };
        let (mut first_name, mut last_name, mut company) = (None, None, None);
        for (column, cell) in self.columns.iter().zip(cells) {
            let value = cell.trim();
            if value.is_empty() {
                continue;
            }
            let text = |field: &str| validate::optional_string(field, Some(value));
            match column {
                Column::Identifier => fields.identifier = keep(text("identifier")),
                Column::Email => fields.email = keep(validate::email("email", value)),
                Column::PhoneNumber => {
                    let phone = validate::with_plus(value);
                    fields.phone_number = keep(validate::phone("phone_number", &phone));
                }
                Column::Name => fields.name = keep(text("name")),
                Column::FirstName => first_name = Some(value),
                Column::LastName => last_name = keep(text("last_name")),
                Column::CompanyName => {
                    if let Some(v) = keep(text("company_name")) {
                        fields
                            .additional
                            .insert("company_name".into(), Value::String(v));
                    }
                }
                Column::Company => company = keep(text("company")),
                Column::Additional(key) => {
                    if let Some(v) = keep(text(key)) {
                        fields.additional.insert((*key).into(), Value::String(v));
                    }
                }
                // Bounded like every other text cell, so that an oversize cell is this row's
                // failure rather than an attribute object no other write path could store.
                Column::Custom(key) => {
                    if let Some(v) = keep(text(key)) {
                        fields.custom.insert(key.clone(), Value::String(v));
                    }
                }
                Column::Ignored => {}
            }
        }
        if let Some(company) = company {
            fields
                .additional
                .entry("company_name")
                .or_insert(Value::String(company));
        }
        if first_name.is_some() || last_name.is_some() {
            let full: Vec<&str> = [first_name, last_name.as_deref()]
                .into_iter()
                .flatten()
                .collect();
            fields.name = keep(validate::optional_string("name", Some(&full.join(" "))));
            fields.last_name = last_name;
        }
        if !errors.is_empty() {
            return Err(errors);
        }
        if fields.identifier.is_none() && fields.email.is_none() && fields.phone_number.is_none() {
            return Err(vec![
                "a row needs an identifier, an email or a phone_number".to_owned(),
            ]);
        }
        Ok(fields)
    }
}

/// What a valid row sets on its contact; `None` and absent keys set nothing.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Fields {
    pub identifier: Option<String>,
    /// Lower-cased.
    pub email: Option<String>,
    /// E.164, with the `+` added when the file left it out.
    pub phone_number: Option<String>,
    pub name: Option<String>,
    pub last_name: Option<String>,
    pub additional: Map<String, Value>,
    pub custom: Map<String, Value>,
}

/// One data row of the file.
#[derive(Debug, Clone)]
pub struct Row {
    /// The cells as read (decoded), one per header column.
    pub cells: Vec<String>,
    /// What the row sets, or every reason it is rejected.
    pub fields: Result<Fields, Vec<String>>,
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used)]
mod tests;
