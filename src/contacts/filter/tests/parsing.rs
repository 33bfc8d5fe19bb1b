//! Parsing and validation: keys, operators, values, precedence and normalisation.

use super::*;

#[test]
fn an_empty_filter_builds_nothing() {
    assert_eq!(
        build(
            &[],
            &definitions(),
            DbBackend::Sqlite,
            today(),
            &InputLimits::default()
        )
        .unwrap(),
        None
    );
}

#[test]
fn an_unknown_key_lists_the_allowed_keys() {
    let (index, key, message) = parse_err(&[c("favourite_color", EqualTo, json!(["x"]))]);
    assert_eq!((index, key.as_str()), (0, "favourite_color"));
    assert!(message.contains("\"favourite_color\""), "{message}");
    assert!(
        message.contains(
            "name, email, phone_number, identifier, country_code, city, company, labels, \
             created_at, last_activity_at, blocked"
        ),
        "{message}"
    );
    assert!(message.contains("plan"), "{message}");
    assert!(message.contains("seats"), "{message}");
    // Conversation attributes are not contact attributes.
    assert!(!message.contains("conv_only"), "{message}");
    let (_, _, message) = parse_err(&[c("conv_only", EqualTo, json!(["x"]))]);
    assert!(message.starts_with("unknown attribute key"), "{message}");
    // `company_name` is where the company is stored, but the filter key is `company`.
    let (_, _, message) = parse_err(&[c("company_name", EqualTo, json!(["x"]))]);
    assert!(message.starts_with("unknown attribute key"), "{message}");
}

#[test]
fn an_unknown_key_without_custom_attributes_says_so() {
    let err = parse(&[c("plan", EqualTo, json!(["x"]))], &[], today()).unwrap_err();
    let AppError::InvalidFilter { message, .. } = err else {
        panic!("{err:?}");
    };
    assert!(
        message.contains("no custom contact attributes"),
        "{message}"
    );
}

#[test]
fn an_operator_not_allowed_lists_the_allowed_ones() {
    const TEXT: &str = "EQUAL_TO, NOT_EQUAL_TO, CONTAINS, DOES_NOT_CONTAIN";
    const PHONE: &str = "EQUAL_TO, NOT_EQUAL_TO, CONTAINS, DOES_NOT_CONTAIN, STARTS_WITH";
    const EQUALITY: &str = "EQUAL_TO, NOT_EQUAL_TO";
    const LABELS: &str = "EQUAL_TO, NOT_EQUAL_TO, IS_PRESENT, IS_NOT_PRESENT";
    const TIMESTAMP: &str = "IS_GREATER_THAN, IS_LESS_THAN, DAYS_BEFORE";
    const CUSTOM_TEXT: &str = "EQUAL_TO, NOT_EQUAL_TO, CONTAINS, DOES_NOT_CONTAIN, STARTS_WITH, \
                               IS_PRESENT, IS_NOT_PRESENT";
    const NUMBER: &str =
        "EQUAL_TO, NOT_EQUAL_TO, IS_GREATER_THAN, IS_LESS_THAN, IS_PRESENT, IS_NOT_PRESENT";
    const DATE: &str = "EQUAL_TO, NOT_EQUAL_TO, IS_GREATER_THAN, IS_LESS_THAN, DAYS_BEFORE, \
                        IS_PRESENT, IS_NOT_PRESENT";
    const CHECKBOX: &str = "EQUAL_TO, NOT_EQUAL_TO, IS_PRESENT, IS_NOT_PRESENT";
    let cases: &[(&str, FilterOperator, &str)] = &[
        ("name", IsGreaterThan, TEXT),
        ("email", StartsWith, TEXT),
        ("name", IsPresent, TEXT),
        ("phone_number", DaysBefore, PHONE),
        ("identifier", Contains, EQUALITY),
        ("country_code", StartsWith, EQUALITY),
        ("city", IsNotPresent, TEXT),
        ("company", IsLessThan, TEXT),
        ("labels", Contains, LABELS),
        ("created_at", EqualTo, TIMESTAMP),
        ("last_activity_at", IsPresent, TIMESTAMP),
        ("blocked", IsPresent, EQUALITY),
        ("plan", IsGreaterThan, CUSTOM_TEXT),
        ("website", DaysBefore, CUSTOM_TEXT),
        ("seats", Contains, NUMBER),
        ("mrr", DaysBefore, NUMBER),
        ("discount", StartsWith, NUMBER),
        ("renewal_date", StartsWith, DATE),
        ("vip", Contains, CHECKBOX),
        ("vip", IsGreaterThan, CHECKBOX),
    ];
    for (key, op, allowed) in cases {
        let (index, got_key, message) = parse_err(&[c(key, *op, json!(["1"]))]);
        assert_eq!((index, got_key.as_str()), (0, *key));
        assert!(
            message.contains(op.graphql_name()),
            "{key} {op:?}: {message}"
        );
        assert!(
            message.ends_with(&format!("allowed operators: {allowed}")),
            "{key} {op:?}: {message}"
        );
    }
}

#[test]
fn operators_that_need_values_refuse_an_empty_list() {
    for (key, op) in [
        ("name", EqualTo),
        ("email", NotEqualTo),
        ("phone_number", StartsWith),
        ("city", Contains),
        ("company", DoesNotContain),
        ("labels", EqualTo),
        ("blocked", EqualTo),
        ("created_at", IsGreaterThan),
        ("last_activity_at", DaysBefore),
        ("seats", IsLessThan),
        ("renewal_date", EqualTo),
        ("vip", NotEqualTo),
    ] {
        let (_, _, message) = parse_err(&[c(key, op, json!([]))]);
        assert!(
            message.contains("needs at least one value"),
            "{key}: {message}"
        );
    }
    // Presence operators take none.
    for key in ["labels", "plan", "seats", "renewal_date", "vip"] {
        parse_ok(&[
            c(key, IsPresent, json!([])),
            c(key, IsNotPresent, json!([])),
        ]);
    }
}

#[test]
fn values_that_do_not_parse_are_refused() {
    let cases: Vec<(ContactFilterCondition, &str)> = vec![
        (
            c("created_at", IsGreaterThan, json!(["2024-13-01"])),
            "a date",
        ),
        (c("created_at", IsLessThan, json!(["yesterday"])), "a date"),
        (c("created_at", IsLessThan, json!([20240101])), "a date"),
        (
            c("renewal_date", EqualTo, json!(["2024-01-01", "01/02/2024"])),
            "a date",
        ),
        (
            c("renewal_date", IsLessThan, json!(["10000-01-01"])),
            "date",
        ),
        (c("seats", IsGreaterThan, json!(["abc"])), "a number"),
        (c("seats", IsGreaterThan, json!(["NaN"])), "a number"),
        (c("seats", IsGreaterThan, json!(["inf"])), "a number"),
        (c("mrr", EqualTo, json!([true])), "a number"),
        (c("blocked", EqualTo, json!(["yes"])), "true or false"),
        (c("blocked", EqualTo, json!([1])), "true or false"),
        (c("vip", EqualTo, json!([null])), "true or false"),
        (
            c("created_at", DaysBefore, json!([-1])),
            "non-negative whole number",
        ),
        (
            c("created_at", DaysBefore, json!([1.5])),
            "non-negative whole number",
        ),
        (
            c("created_at", DaysBefore, json!(["x"])),
            "non-negative whole number",
        ),
        (c("name", EqualTo, json!([null])), "a string"),
        (c("name", Contains, json!([{"a": 1}])), "a string"),
        (c("labels", EqualTo, json!([["vip"]])), "a label name"),
    ];
    for (condition, expected) in cases {
        let key = condition.attribute_key.clone();
        let (_, _, message) = parse_err(&[condition]);
        assert!(message.starts_with("invalid value"), "{key}: {message}");
        assert!(message.contains(expected), "{key}: {message}");
    }
    let (_, _, message) = parse_err(&[c("created_at", DaysBefore, json!([1_000_000_000_000u64]))]);
    assert!(message.contains("out of range"), "{message}");
}

#[test]
fn comparisons_take_exactly_one_value() {
    let (_, _, message) = parse_err(&[c("seats", IsGreaterThan, json!([1, 2]))]);
    assert!(message.contains("exactly one value, got 2"), "{message}");
}

#[test]
fn the_error_names_the_failing_condition() {
    let (index, key, _) = parse_err(&[
        c("name", EqualTo, json!(["a"])),
        c("email", Contains, json!(["b"])),
        c("seats", IsGreaterThan, json!(["many"])),
    ]);
    assert_eq!((index, key.as_str()), (2, "seats"));
}

#[test]
fn and_binds_tighter_than_or() {
    let a = || c("name", EqualTo, json!(["a"]));
    let b = || c("name", EqualTo, json!(["b"]));
    let cc = || c("name", EqualTo, json!(["c"]));
    let sizes = |conditions: &[ContactFilterCondition]| -> Vec<usize> {
        parse_ok(conditions).groups.iter().map(Vec::len).collect()
    };
    // A OR B AND C = A OR (B AND C)
    assert_eq!(sizes(&[or(a()), and(b()), cc()]), [1, 2]);
    // A AND B OR C = (A AND B) OR C
    assert_eq!(sizes(&[and(a()), or(b()), cc()]), [2, 1]);
    // A missing query operator means AND; the last one's is ignored.
    assert_eq!(sizes(&[a(), b(), or(cc())]), [3]);
    assert_eq!(sizes(&[or(a())]), [1]);
    assert_eq!(sizes(&[or(a()), or(b()), or(cc())]), [1, 1, 1]);
    // The groups keep the conditions' order.
    let filter = parse_ok(&[or(a()), and(b()), cc()]);
    assert_eq!(
        filter.groups[1][1],
        Check::Text(TextField::Name, TextOp::EqualTo(vec!["c".to_owned()]))
    );
}

#[test]
fn values_are_normalised() {
    assert_eq!(
        only_check(c("name", EqualTo, json!(["Alice SMITH"]))),
        Check::Text(TextField::Name, TextOp::EqualTo(vec!["alice smith".into()]))
    );
    assert_eq!(
        only_check(c(
            "phone_number",
            EqualTo,
            json!(["14155550100", " +4915 "])
        )),
        Check::Text(
            TextField::Phone,
            TextOp::EqualTo(vec!["+14155550100".into(), "+4915".into()])
        )
    );
    assert_eq!(
        only_check(c("phone_number", StartsWith, json!([1415]))),
        Check::Text(TextField::Phone, TextOp::StartsWith(vec!["+1415".into()]))
    );
    // A substring keeps no `+`: "555" must find "+1555…".
    assert_eq!(
        only_check(c("phone_number", Contains, json!(["555"]))),
        Check::Text(TextField::Phone, TextOp::Contains(vec!["555".into()]))
    );
    assert_eq!(
        only_check(c("company", Contains, json!(["ACME"]))),
        Check::Text(
            TextField::Additional("company_name"),
            TextOp::Contains(vec!["acme".into()])
        )
    );
    assert_eq!(
        only_check(c("labels", NotEqualTo, json!([" VIP "]))),
        Check::Labels(LabelOp::NotEqualTo(vec!["vip".into()]))
    );
    assert_eq!(
        only_check(c("blocked", EqualTo, json!(["TRUE", false]))),
        Check::Bool(BoolField::Blocked, BoolOp::EqualTo(vec![true, false]))
    );
    assert_eq!(
        only_check(c("seats", IsLessThan, json!([" 2.5 "]))),
        Check::Number("seats".into(), CmpOp::LessThan(2.5))
    );
    assert_eq!(
        only_check(c("discount", EqualTo, json!([15, "7"]))),
        Check::Number("discount".into(), CmpOp::EqualTo(vec![15.0, 7.0]))
    );
    // An RFC 3339 timestamp counts by its UTC day.
    assert_eq!(
        only_check(c(
            "created_at",
            IsGreaterThan,
            json!(["2024-03-05T23:00:00-05:00"])
        )),
        Check::Date(DateField::CreatedAt, CmpOp::GreaterThan(day("2024-03-06")))
    );
    // DAYS_BEFORE becomes a cut-off date; numbers and numeric strings alike.
    for days in [json!([10]), json!([10.0]), json!(["10"])] {
        assert_eq!(
            only_check(c("last_activity_at", DaysBefore, days)),
            Check::Date(
                DateField::LastActivityAt,
                CmpOp::LessThan(day("2024-03-05"))
            )
        );
    }
    assert_eq!(
        only_check(c("renewal_date", DaysBefore, json!([0]))),
        Check::Date(
            DateField::Custom("renewal_date".into()),
            CmpOp::LessThan(today())
        )
    );
    assert_eq!(
        only_check(c("vip", IsPresent, json!(["ignored"]))),
        Check::Bool(BoolField::Custom("vip".into()), BoolOp::IsPresent)
    );
    assert_eq!(
        only_check(c("website", StartsWith, json!(["HTTPS://"]))),
        Check::Text(
            TextField::Custom("website".into()),
            TextOp::StartsWith(vec!["https://".into()])
        )
    );
}

#[test]
fn a_standard_key_wins_over_a_custom_attribute_of_the_same_name() {
    let mut defs = definitions();
    defs[0].attribute_key = "city".to_owned();
    let filter = parse(&[c("city", Contains, json!(["x"]))], &defs, today()).unwrap();
    assert_eq!(
        filter.groups[0][0],
        Check::Text(
            TextField::Additional("city"),
            TextOp::Contains(vec!["x".into()])
        )
    );
}

#[test]
fn a_custom_key_with_a_double_quote_is_refused() {
    let mut defs = definitions();
    defs[1].attribute_key = "say \"hi\"".to_owned();
    let err = parse(&[c("say \"hi\"", EqualTo, json!(["x"]))], &defs, today()).unwrap_err();
    assert!(
        matches!(err, AppError::InvalidFilter { index: 0, .. }),
        "{err:?}"
    );
}
