//! Execution against real databases: every case of [`cases`] returns exactly its contacts, on
//! SQLite and on PostgreSQL.

use super::seed::{LONG_NOTE, Seeded, seed};
use super::*;

/// `conditions... => expected contacts (1..=4, as seeded)`, one case per line. A macro so that
/// the table stays a table (rustfmt leaves it alone).
macro_rules! cases {
    ($([$($condition:expr),+ $(,)?] => [$($n:expr),*];)*) => {
        vec![$((vec![$($condition),+], vec![$($n),*])),*]
    };
}

/// Filters and the contacts each must return (today is 2024-03-15).
fn cases() -> Vec<(Vec<ContactFilterCondition>, Vec<usize>)> {
    cases! {
        // name
        [c("name", EqualTo, json!(["alice smith"]))] => [1];
        [c("name", EqualTo, json!(["ALICE SMITH", "bob stone"]))] => [1, 2];
        [c("name", EqualTo, json!(["x' OR '1'='1"]))] => [];
        [c("name", NotEqualTo, json!(["alice smith"]))] => [2, 3];
        [c("name", Contains, json!(["ST"]))] => [2];
        [c("name", Contains, json!(["xyz", "bob"]))] => [2];
        [c("name", Contains, json!(["_"]))] => [3];
        [c("name", Contains, json!(["e_s"]))] => [];
        [c("name", DoesNotContain, json!(["o"]))] => [1];
        [c("name", DoesNotContain, json!(["alice", "bob"]))] => [3];
        // email
        [c("email", EqualTo, json!(["ALICE@EXAMPLE.COM"]))] => [1];
        [c("email", NotEqualTo, json!(["bob@example.org"]))] => [1, 3];
        [c("email", Contains, json!(["example.com"]))] => [1, 3];
        [c("email", DoesNotContain, json!([".com"]))] => [2];
        // phone_number: values get their `+` except for substrings
        [c("phone_number", EqualTo, json!(["14155550100"]))] => [1];
        [c("phone_number", EqualTo, json!(["+14155550100"]))] => [1];
        [c("phone_number", EqualTo, json!([14155550100u64]))] => [1];
        [c("phone_number", NotEqualTo, json!(["+14155550100"]))] => [2, 4];
        [c("phone_number", StartsWith, json!(["1415"]))] => [1, 4];
        [c("phone_number", StartsWith, json!(["+1415"]))] => [1, 4];
        [c("phone_number", StartsWith, json!(["+49"]))] => [2];
        [c("phone_number", StartsWith, json!(["5555"]))] => [];
        [c("phone_number", Contains, json!(["555"]))] => [1, 4];
        [c("phone_number", DoesNotContain, json!(["49"]))] => [1, 4];
        // identifier, country_code
        [c("identifier", EqualTo, json!(["id-a"]))] => [1];
        [c("identifier", NotEqualTo, json!(["ID-B"]))] => [1, 3];
        [c("country_code", EqualTo, json!(["de"]))] => [1];
        [c("country_code", NotEqualTo, json!(["de"]))] => [2];
        // city, company (`%` and `_` are literal)
        [c("city", EqualTo, json!(["BERLIN"]))] => [1, 2];
        [c("city", NotEqualTo, json!(["paris"]))] => [1, 2];
        [c("city", Contains, json!(["ar"]))] => [3];
        [c("city", DoesNotContain, json!(["berlin"]))] => [3];
        [c("company", EqualTo, json!(["initech"]))] => [2];
        [c("company", Contains, json!(["100%"]))] => [1];
        [c("company", Contains, json!(["%"]))] => [1];
        [c("company", Contains, json!(["e_c"]))] => [3];
        [c("company", DoesNotContain, json!(["acme"]))] => [2];
        // labels
        [c("labels", EqualTo, json!(["VIP"]))] => [1];
        [c("labels", EqualTo, json!(["beta"]))] => [1, 2];
        [c("labels", EqualTo, json!(["vip", "other"]))] => [1, 4];
        [c("labels", NotEqualTo, json!(["beta"]))] => [3, 4];
        [c("labels", NotEqualTo, json!(["vip"]))] => [2, 3, 4];
        [c("labels", IsPresent, json!([]))] => [1, 2, 4];
        [c("labels", IsNotPresent, json!([]))] => [3];
        // created_at, last_activity_at: UTC days
        [c("created_at", IsGreaterThan, json!(["2024-01-10"]))] => [2, 3, 4];
        [c("created_at", IsGreaterThan, json!(["2024-01-11"]))] => [4];
        [c("created_at", IsLessThan, json!(["2024-01-11"]))] => [1];
        [c("created_at", IsLessThan, json!(["2024-01-12"]))] => [1, 2, 3];
        [c("created_at", DaysBefore, json!([60]))] => [1, 2, 3];
        [c("created_at", DaysBefore, json!([43]))] => [1, 2, 3];
        [c("created_at", DaysBefore, json!(["42"]))] => [1, 2, 3, 4];
        [c("last_activity_at", IsLessThan, json!(["2024-03-06"]))] => [1];
        [c("last_activity_at", IsGreaterThan, json!(["2024-03-04"]))] => [1, 3];
        [c("last_activity_at", IsGreaterThan, json!(["2024-03-05"]))] => [3];
        [c("last_activity_at", IsGreaterThan, json!(["2024-03-05T23:00:00-05:00"]))] => [3];
        [c("last_activity_at", DaysBefore, json!([0]))] => [1, 3];
        [c("last_activity_at", DaysBefore, json!([6]))] => [1];
        // blocked
        [c("blocked", EqualTo, json!([true]))] => [2];
        [c("blocked", EqualTo, json!(["false"]))] => [1, 3, 4];
        [c("blocked", EqualTo, json!([true, false]))] => [1, 2, 3, 4];
        [c("blocked", NotEqualTo, json!([true]))] => [1, 3, 4];
        // custom text, link, list (contact 4's plan is "", which counts as absent)
        [c("plan", EqualTo, json!(["gold"]))] => [1];
        [c("plan", NotEqualTo, json!(["gold"]))] => [2, 3, 4];
        [c("plan", Contains, json!(["ILV"]))] => [2];
        [c("plan", DoesNotContain, json!(["old"]))] => [2, 4];
        [c("plan", StartsWith, json!(["go"]))] => [1];
        [c("plan", IsPresent, json!([]))] => [1, 2];
        [c("plan", IsNotPresent, json!([]))] => [3, 4];
        [c("tier_note", Contains, json!(["_"]))] => [1];
        [c("website", EqualTo, json!(["HTTPS://ACME.TEST"]))] => [1];
        [c("website", StartsWith, json!(["https://"]))] => [1];
        [c("favourite.colour", EqualTo, json!(["blue"]))] => [1];
        [c("account manager", EqualTo, json!(["zoe"]))] => [2];
        [c("plan", EqualTo, json!(["GOLD", "silver", "bronze"]))] => [1, 2];
        // longer than what the PostgreSQL index terms keep (128 characters)
        [c("tier_note", EqualTo, json!([LONG_NOTE]))] => [3];
        [c("tier_note", EqualTo, json!([format!("{LONG_NOTE}!")]))] => [];
        // custom number, currency, percent (contact 2's "many" must neither match nor fail)
        [c("seats", EqualTo, json!([10]))] => [1];
        [c("seats", EqualTo, json!([3.5, "10"]))] => [1, 4];
        [c("seats", NotEqualTo, json!([10]))] => [2, 3, 4];
        [c("seats", IsGreaterThan, json!([5]))] => [1];
        [c("seats", IsLessThan, json!(["5"]))] => [4];
        [c("seats", IsPresent, json!([]))] => [1, 2, 4];
        [c("seats", IsNotPresent, json!([]))] => [3];
        [c("mrr", EqualTo, json!([99.5]))] => [1];
        [c("mrr", IsGreaterThan, json!([50]))] => [1];
        [c("mrr", IsLessThan, json!([50]))] => [2];
        [c("discount", EqualTo, json!([15]))] => [1];
        [c("discount", NotEqualTo, json!([15]))] => [2, 3, 4];
        [c("discount", IsLessThan, json!([20]))] => [1];
        // custom date (contact 4's "01/02/2020" is no date and must not compare as text)
        [c("renewal_date", EqualTo, json!(["2024-03-01"]))] => [1];
        [c("renewal_date", EqualTo, json!(["2024-02-29"]))] => [2];
        [c("renewal_date", NotEqualTo, json!(["2024-03-01"]))] => [2, 3, 4];
        [c("renewal_date", IsGreaterThan, json!(["2024-02-29"]))] => [1];
        [c("renewal_date", IsLessThan, json!(["2024-03-01"]))] => [2];
        [c("renewal_date", DaysBefore, json!([15]))] => [];
        [c("renewal_date", DaysBefore, json!([14]))] => [2];
        [c("renewal_date", IsPresent, json!([]))] => [1, 2, 4];
        // custom checkbox (contact 4's string "true" is no boolean)
        [c("vip", EqualTo, json!([true]))] => [1];
        [c("vip", EqualTo, json!(["false"]))] => [2];
        [c("vip", NotEqualTo, json!([true]))] => [2, 3, 4];
        [c("vip", IsPresent, json!([]))] => [1, 2, 4];
        [c("vip", IsNotPresent, json!([]))] => [3];
        // A OR B AND C = A OR (B AND C); (A OR B) AND C would give [3]
        [
            or(c("name", EqualTo, json!(["bob stone"]))),
            and(c("city", EqualTo, json!(["paris"]))),
            c("blocked", EqualTo, json!([false])),
        ] => [2, 3];
        // A AND B OR C = (A AND B) OR C
        [
            and(c("email", Contains, json!(["example.com"]))),
            or(c("blocked", EqualTo, json!([true]))),
            c("labels", IsNotPresent, json!([])),
        ] => [3];
        [
            or(c("labels", NotEqualTo, json!(["beta"]))),
            and(c("vip", EqualTo, json!([true]))),
            c("seats", IsGreaterThan, json!([5])),
        ] => [1, 3, 4];
        [
            or(c("name", EqualTo, json!(["alice smith"]))),
            or(c("name", EqualTo, json!(["bob stone"]))),
            or(c("phone_number", StartsWith, json!(["1415"]))),
        ] => [1, 2, 4];
        // the custom not_equal_to's OR stays inside its brackets, on either side
        [c("plan", NotEqualTo, json!(["gold"])), c("blocked", EqualTo, json!([false]))] => [3, 4];
        [c("blocked", EqualTo, json!([false])), c("plan", NotEqualTo, json!(["gold"]))] => [3, 4];
        // the last query operator is ignored; a missing one means AND
        [or(c("name", EqualTo, json!(["alice smith"])))] => [1];
        [c("city", EqualTo, json!(["berlin"])), c("blocked", EqualTo, json!([true]))] => [2];
    }
}

/// Runs every case; returns the failures, one line each.
async fn run_cases(db: &DatabaseConnection, seeded: &Seeded) -> Vec<String> {
    let backend = db.get_database_backend();
    let mut failures = Vec::new();
    for (conditions, expected) in cases() {
        let describe = || {
            conditions
                .iter()
                .map(|c| {
                    format!(
                        "{} {:?} {:?} {:?}",
                        c.attribute_key, c.filter_operator, c.values, c.query_operator
                    )
                })
                .collect::<Vec<_>>()
                .join(" / ")
        };
        let condition = match build(
            &conditions,
            &seeded.definitions,
            backend,
            today(),
            &InputLimits::default(),
        ) {
            Ok(Some(condition)) => condition,
            other => {
                failures.push(format!("{}: build gave {other:?}", describe()));
                continue;
            }
        };
        let found = contact::Entity::find()
            .filter(contact::Column::AccountId.eq(seeded.account))
            .filter(condition)
            .order_by_asc(contact::Column::Id)
            .all(db)
            .await;
        let expected: Vec<i64> = expected.iter().map(|n| seeded.contacts[n - 1]).collect();
        match found {
            Ok(found) => {
                let found: Vec<i64> = found.iter().map(|c| c.id).collect();
                if found != expected {
                    failures.push(format!(
                        "{}: expected {expected:?}, got {found:?}",
                        describe()
                    ));
                }
            }
            Err(err) => failures.push(format!("{}: {err}", describe())),
        }
    }
    failures
}

#[tokio::test]
async fn filters_run_on_sqlite() {
    let dir = tempfile::tempdir().unwrap();
    let url = format!("sqlite://{}/f.db?mode=rwc", dir.path().display());
    let db = Database::connect(&url).await.unwrap();
    let seeded = seed(&db).await;
    let failures = run_cases(&db, &seeded).await;
    db.close().await.unwrap();
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

/// Runs the same cases on a fresh PostgreSQL database, created and dropped around the test.
/// Skipped unless `DATABASE_URL` is a postgres URL.
#[tokio::test]
async fn filters_run_on_postgres() {
    let Ok(url) = std::env::var("DATABASE_URL") else {
        return;
    };
    if !url.starts_with("postgres") {
        return;
    }
    let admin = Database::connect(&url).await.unwrap();
    let name = format!(
        "switchboard_filter_{}_{}",
        std::process::id(),
        Utc::now().timestamp_nanos_opt().unwrap_or_default()
    );
    admin
        .execute_unprepared(&format!("CREATE DATABASE \"{name}\""))
        .await
        .unwrap();
    let (base, query) = match url.split_once('?') {
        Some((base, query)) => (base, format!("?{query}")),
        None => (url.as_str(), String::new()),
    };
    let (server, _) = base.rsplit_once('/').unwrap();
    let db = Database::connect(&format!("{server}/{name}{query}"))
        .await
        .unwrap();
    // In a task of its own, so that the database is dropped even when seeding panics.
    let outcome = tokio::spawn(async move {
        let seeded = seed(&db).await;
        let failures = run_cases(&db, &seeded).await;
        db.close().await.unwrap();
        failures
    })
    .await;
    admin
        .execute_unprepared(&format!("DROP DATABASE \"{name}\" WITH (FORCE)"))
        .await
        .unwrap();
    let failures = outcome.unwrap();
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}
