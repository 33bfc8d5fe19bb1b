//! Size: bounded input, flat rendering.

use super::*;

#[test]
fn the_limits_name_the_first_condition_over_them() {
    let limits = InputLimits {
        max_filter_conditions: 3,
        max_filter_values: 2,
        ..InputLimits::default()
    };
    let ok = [c("name", Contains, json!(["a", "b"]))];
    assert!(bounded(&ok, &limits).is_ok());
    let values = [
        c("name", Contains, json!(["a"])),
        c("city", Contains, json!(["a", "b", "c"])),
    ];
    match bounded(&values, &limits) {
        Err(AppError::InvalidFilter {
            index,
            key,
            message,
            ..
        }) => {
            assert_eq!((index, key.as_str()), (1, "city"));
            assert!(message.contains("MAX_FILTER_VALUES"), "{message}");
        }
        other => panic!("{other:?}"),
    }
    let conditions = vec![c("email", Contains, json!(["a"])); 4];
    match build(
        &conditions,
        &definitions(),
        DbBackend::Sqlite,
        today(),
        &limits,
    ) {
        Err(AppError::InvalidFilter { index, message, .. }) => {
            assert_eq!(index, 3);
            assert!(message.contains("MAX_FILTER_CONDITIONS"), "{message}");
        }
        other => panic!("{other:?}"),
    }
}

/// Builds, renders and drops filters far beyond any limit on a thread with a small stack: a
/// rendering whose depth grew with the input overflowed the stack at about 20,000 values
/// (issue 12), so whatever the limits are set to, no filter can end the process.
#[test]
fn renders_huge_filters_on_a_small_stack() {
    let huge: Vec<Value> = (0..100_000).map(|i| json!(format!("v{i}"))).collect();
    let days: Vec<Value> = (0..20_000)
        .map(|i| json!((today() - chrono::Days::new(i)).to_string()))
        .collect();
    let filters = vec![
        vec![c("name", Contains, json!(huge))],
        vec![c("name", DoesNotContain, json!(huge))],
        vec![c("phone_number", StartsWith, json!(huge))],
        vec![c("plan", EqualTo, json!(huge))],
        vec![c("plan", NotEqualTo, json!(huge))],
        vec![c("labels", NotEqualTo, json!(huge))],
        vec![c("renewal_date", EqualTo, json!(days))],
        // Many conditions, in one AND group and in as many OR groups.
        vec![c("name", Contains, json!(["a"])); 50_000],
        (0..50_000)
            .map(|_| {
                let mut condition = c("city", Contains, json!(["a"]));
                condition.query_operator = Some(QueryOperator::Or);
                condition
            })
            .collect(),
    ];
    let worker = std::thread::Builder::new()
        .stack_size(512 * 1024)
        .spawn(move || {
            for conditions in filters {
                for backend in [DbBackend::Postgres, DbBackend::Sqlite] {
                    let filter = parse(&conditions, &definitions(), today()).unwrap();
                    let condition = filter.to_condition(backend).unwrap();
                    let statement = contact::Entity::find().filter(condition).build(backend);
                    assert!(statement.sql.len() > 50_000, "{backend:?}");
                    assert!(!statement.sql.contains("v99999"), "values stay bound");
                }
            }
        })
        .unwrap();
    worker
        .join()
        .expect("rendered without overflowing the stack");
}
