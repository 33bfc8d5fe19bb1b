//! Unit tests of the header, the rows and their validation.

use super::*;
use crate::imports::source::Source;

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
