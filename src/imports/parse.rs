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
mod tests {
    use super::{super::source::Source, *};

    fn rows(text: &[u8]) -> Vec<Row> {
        let mut source = Source::new(text).unwrap();
        source.next_rows(100).unwrap()
    }

    #[test]
    fn maps_columns() {
        let rows = rows(
            "Email,Phone Number,first_name,last_name,company,city,plan,\n\
             ANN@X.IO,4155550100,Ann,Lee 🎉,Acme,Paris,pro,\n\
             ,,,,,,,\n\
             bad,+0,x\n\
             ,,Bo,,,,gold\n"
                .as_bytes(),
        );
        assert_eq!(rows.len(), 3);
        let ann = rows[0].fields.as_ref().unwrap();
        assert_eq!(ann.email.as_deref(), Some("ann@x.io"));
        assert_eq!(ann.phone_number.as_deref(), Some("+4155550100"));
        assert_eq!(ann.name.as_deref(), Some("Ann Lee 🎉"));
        assert_eq!(ann.last_name.as_deref(), Some("Lee 🎉"));
        assert_eq!(ann.additional["company_name"], "Acme");
        assert_eq!(ann.additional["city"], "Paris");
        assert_eq!(ann.custom.len(), 1);
        assert_eq!(ann.custom["plan"], "pro");
        assert_eq!(rows[1].cells.len(), 8);
        let errors = rows[1].fields.as_ref().unwrap_err();
        assert_eq!(errors.len(), 2, "{errors:?}");
        assert!(rows[2].fields.as_ref().unwrap_err()[0].contains("needs an identifier"));
    }

    #[test]
    fn a_header_wider_than_the_limit_is_refused_and_duplicates_are_found_in_linear_time() {
        let wide = std::iter::once("email".to_owned())
            .chain((0..MAX_COLUMNS).map(|i| format!("c{i}")))
            .collect::<Vec<_>>()
            .join(",");
        let record = ByteRecord::from(wide.split(',').collect::<Vec<_>>());
        let err = Header::new(&record).unwrap_err();
        assert!(err.contains("at most 1000"), "{err}");
        // At the limit, with a duplicate at the very end: found, not quadratic.
        let mut names: Vec<String> = (0..MAX_COLUMNS - 1).map(|i| format!("c{i}")).collect();
        names.push("c0".to_owned());
        let err = Header::new(&ByteRecord::from(names)).unwrap_err();
        assert!(err.contains("`c0` twice"), "{err}");
    }

    #[test]
    fn with_a_name_column_first_and_last_names_are_custom() {
        let rows = rows(b"identifier,name,first_name,last_name\nc1,Ann Lee,Ann,Lee\n");
        let fields = rows[0].fields.as_ref().unwrap();
        assert_eq!(fields.name.as_deref(), Some("Ann Lee"));
        assert_eq!(fields.last_name, None);
        assert_eq!(fields.custom["first_name"], "Ann");
        assert_eq!(fields.custom["last_name"], "Lee");
    }

    #[test]
    fn drops_invalid_bytes_and_rejects_long_rows() {
        let rows = rows(b"identifier,name\nc1,Jos\xe9\x00 \xf0\x9f\x98\x80\nc2,a,b\nc3,a,\n");
        assert_eq!(
            rows[0].fields.as_ref().unwrap().name.as_deref(),
            Some("Jos 😀")
        );
        assert!(rows[1].fields.as_ref().unwrap_err()[0].contains("3 cells"));
        assert!(rows[2].fields.is_ok());
    }

    #[test]
    fn oversize_custom_cells_fail_their_row() {
        let long = "x".repeat(validate::MAX_STRING + 1);
        let text = format!("identifier,plan\nc1,{long}\nc2,gold\n");
        let rows = rows(text.as_bytes());
        let errors = rows[0].fields.as_ref().unwrap_err();
        assert!(errors[0].contains("at most 255"), "{errors:?}");
        assert_eq!(rows[1].fields.as_ref().unwrap().custom["plan"], "gold");
    }

    /// Every string a valid row would write: no NUL (PostgreSQL text and JSONB cannot hold
    /// one), within the length every write path accepts.
    fn storable(fields: &Fields) -> Result<(), String> {
        let texts = [
            &fields.identifier,
            &fields.email,
            &fields.phone_number,
            &fields.name,
            &fields.last_name,
        ];
        let attributes = fields.additional.iter().chain(&fields.custom);
        let strings = texts
            .into_iter()
            .flatten()
            .map(String::as_str)
            .chain(attributes.flat_map(|(k, v)| [k.as_str(), v.as_str().unwrap_or_default()]));
        for s in strings {
            if s.contains('\0') {
                return Err(format!("NUL in {s:?}"));
            }
        }
        for s in texts.into_iter().flatten() {
            if s.chars().count() > validate::MAX_STRING {
                return Err(format!("{} characters", s.chars().count()));
            }
        }
        for v in fields.additional.values().chain(fields.custom.values()) {
            let n = v.as_str().map_or(0, |s| s.chars().count());
            if n > validate::MAX_STRING {
                return Err(format!("an attribute of {n} characters"));
            }
        }
        Ok(())
    }

    proptest::proptest! {
        #![proptest_config(proptest::test_runner::Config {
            cases: std::env::var("PROPTEST_CASES").ok().and_then(|c| c.parse().ok()).unwrap_or(256),
            failure_persistence: None,
            ..proptest::test_runner::Config::default()
        })]

        /// Any bytes after a header: the parser never panics, and what it accepts is storable.
        #[test]
        fn any_file_parses_to_rows_or_row_failures(
            header in proptest::sample::select(vec![
                "identifier,name,email,phone_number,plan,city",
                "Email,Phone Number,first_name,last_name,company,country_code,notes",
                "identifier,,\u{0},name",
            ]),
            body in proptest::collection::vec(
                proptest::prop_oneof![
                    4 => proptest::prelude::any::<u8>(),
                    1 => proptest::sample::select(b",\n\r\"\0\xff\xc3".to_vec()),
                ],
                0..4096,
            ),
            huge in 0usize..1_000,
        ) {
            let mut file = format!("{header}\n").into_bytes();
            file.extend_from_slice(&body);
            file.extend(std::iter::repeat_n(b'y', huge));
            file.extend_from_slice(b"\nc9,");
            let Ok(mut source) = Source::new(file.as_slice()) else {
                return Ok(());
            };
            while let Ok(batch) = source.next_rows(64) {
                if batch.is_empty() {
                    break;
                }
                for row in batch {
                    if let Ok(fields) = &row.fields {
                        proptest::prop_assert!(storable(fields).is_ok(), "{:?}", storable(fields));
                    }
                }
            }
        }
    }
}
