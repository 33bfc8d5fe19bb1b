//! Sorting and keyset pagination of contacts over HTTP.

use base64::Engine;
use serde_json::{Value, json};

use crate::{
    contacts::{backdate, create_contact, error_field, ids},
    helpers::{TestApp, error_code, spawn_app},
};

const PAGE: &str = "query($first: Int, $after: String, $last: Int, $before: String, $sort: ContactSort) { \
    contacts(first: $first, after: $after, last: $last, before: $before, sort: $sort) { \
    totalCount nodes { id } edges { cursor node { id } } \
    pageInfo { hasNextPage hasPreviousPage startCursor endCursor } } }";

/// One page of `contacts`; the request must succeed.
async fn page(app: &TestApp, token: &str, variables: Value) -> Value {
    let data = app.data(Some(token), PAGE, variables).await;
    let connection = data["contacts"].clone();
    // Edges and nodes agree, and the page info's cursors are those of the edges.
    let edges = connection["edges"].as_array().unwrap();
    let edge_ids: Vec<&Value> = edges.iter().map(|e| &e["node"]["id"]).collect();
    let node_ids: Vec<&Value> = connection["nodes"]
        .as_array()
        .unwrap()
        .iter()
        .map(|n| &n["id"])
        .collect();
    assert_eq!(edge_ids, node_ids);
    let info = &connection["pageInfo"];
    match (edges.first(), edges.last()) {
        (Some(first), Some(last)) => {
            assert_eq!(info["startCursor"], first["cursor"]);
            assert_eq!(info["endCursor"], last["cursor"]);
        }
        _ => {
            assert!(info["startCursor"].is_null());
            assert!(info["endCursor"].is_null());
        }
    }
    connection
}

/// Every contact in `sort` order, read forwards `size` at a time.
async fn forwards(
    app: &TestApp,
    token: &str,
    sort: &Value,
    size: usize,
    total: usize,
) -> Vec<String> {
    let mut seen = Vec::new();
    let mut after = Value::Null;
    for round in 0.. {
        assert!(round <= total, "the pager does not end");
        let connection = page(
            app,
            token,
            json!({ "first": size, "after": after, "sort": sort }),
        )
        .await;
        assert_eq!(connection["totalCount"], json!(total), "{sort}");
        assert_eq!(
            connection["pageInfo"]["hasPreviousPage"],
            json!(round > 0),
            "{sort}"
        );
        seen.extend(ids(&connection));
        if connection["pageInfo"]["hasNextPage"] == false {
            break;
        }
        after = connection["pageInfo"]["endCursor"].clone();
    }
    seen
}

/// Every contact in `sort` order, read backwards from the end `size` at a time.
async fn backwards(
    app: &TestApp,
    token: &str,
    sort: &Value,
    size: usize,
    total: usize,
) -> Vec<String> {
    let mut seen: Vec<String> = Vec::new();
    let mut before = Value::Null;
    for round in 0.. {
        assert!(round <= total, "the pager does not end");
        let connection = page(
            app,
            token,
            json!({ "last": size, "before": before, "sort": sort }),
        )
        .await;
        assert_eq!(connection["totalCount"], json!(total), "{sort}");
        assert_eq!(
            connection["pageInfo"]["hasNextPage"],
            json!(round > 0),
            "{sort}"
        );
        let mut chunk = ids(&connection);
        chunk.extend(seen);
        seen = chunk;
        if connection["pageInfo"]["hasPreviousPage"] == false {
            break;
        }
        before = connection["pageInfo"]["startCursor"].clone();
    }
    seen
}

#[tokio::test]
async fn sorts_by_every_field_both_ways_with_nulls_last_and_ties_by_id() {
    let app = spawn_app().await;
    let admin = app.account("Acme").await;
    let t = &admin.token;
    let c1 = create_contact(&app, t, json!({ "name": "bob", "email": "b@x.io", "phoneNumber": "+15550000002", "lastActivityAt": "2020-01-02T00:00:00Z", "additionalAttributes": { "company_name": "Beta", "city": "Oslo", "country": "Norway" } })).await;
    let c2 = create_contact(&app, t, json!({ "name": "alice", "email": "a@x.io", "phoneNumber": "+15550000003", "lastActivityAt": "2020-01-03T00:00:00Z", "additionalAttributes": { "company_name": "alpha", "city": "amsterdam", "country": "netherlands" } })).await;
    let c3 = create_contact(&app, t, json!({ "name": "Carl", "identifier": "c3", "phoneNumber": "+15550000001", "lastActivityAt": "2020-01-01T00:00:00Z", "additionalAttributes": { "company_name": "Gamma" } })).await;
    let c4 = create_contact(&app, t, json!({ "email": "c@x.io", "additionalAttributes": { "city": "Zurich", "country": "Switzerland" } })).await;
    let c5 = create_contact(&app, t, json!({ "name": "Bob", "identifier": "c5", "lastActivityAt": "2020-01-02T00:00:00Z", "additionalAttributes": { "company_name": "beta", "city": "", "country": null } })).await;
    // Anonymous: never listed.
    create_contact(
        &app,
        t,
        json!({ "name": "aaron", "additionalAttributes": { "company_name": "aaa" } }),
    )
    .await;
    // A tie on created_at.
    backdate(&app, &c2, "2019-06-01T00:00:00.123456Z").await;
    backdate(&app, &c4, "2019-06-01T00:00:00.123456Z").await;

    let order = |list: &[&String]| list.iter().map(|s| (*s).clone()).collect::<Vec<String>>();
    let cases: Vec<(Value, Vec<String>)> = vec![
        (Value::Null, order(&[&c2, &c5, &c1, &c3, &c4])),
        (
            json!({ "field": "NAME" }),
            order(&[&c2, &c1, &c5, &c3, &c4]),
        ),
        (
            json!({ "field": "NAME", "direction": "DESC" }),
            order(&[&c3, &c5, &c1, &c2, &c4]),
        ),
        (
            json!({ "field": "EMAIL", "direction": "ASC" }),
            order(&[&c2, &c1, &c4, &c3, &c5]),
        ),
        (
            json!({ "field": "EMAIL", "direction": "DESC" }),
            order(&[&c4, &c1, &c2, &c5, &c3]),
        ),
        (
            json!({ "field": "PHONE_NUMBER" }),
            order(&[&c3, &c1, &c2, &c4, &c5]),
        ),
        (
            json!({ "field": "PHONE_NUMBER", "direction": "DESC" }),
            order(&[&c2, &c1, &c3, &c5, &c4]),
        ),
        (
            json!({ "field": "LAST_ACTIVITY_AT" }),
            order(&[&c3, &c1, &c5, &c2, &c4]),
        ),
        (
            json!({ "field": "LAST_ACTIVITY_AT", "direction": "DESC" }),
            order(&[&c2, &c5, &c1, &c3, &c4]),
        ),
        (
            json!({ "field": "CREATED_AT" }),
            order(&[&c2, &c4, &c1, &c3, &c5]),
        ),
        (
            json!({ "field": "CREATED_AT", "direction": "DESC" }),
            order(&[&c5, &c3, &c1, &c4, &c2]),
        ),
        (
            json!({ "field": "COMPANY" }),
            order(&[&c2, &c1, &c5, &c3, &c4]),
        ),
        (
            json!({ "field": "COMPANY", "direction": "DESC" }),
            order(&[&c3, &c5, &c1, &c2, &c4]),
        ),
        (
            json!({ "field": "CITY" }),
            order(&[&c2, &c1, &c4, &c3, &c5]),
        ),
        (
            json!({ "field": "CITY", "direction": "DESC" }),
            order(&[&c4, &c1, &c2, &c5, &c3]),
        ),
        (
            json!({ "field": "COUNTRY" }),
            order(&[&c2, &c1, &c4, &c3, &c5]),
        ),
        (
            json!({ "field": "COUNTRY", "direction": "DESC" }),
            order(&[&c4, &c1, &c2, &c5, &c3]),
        ),
    ];
    let name = |id: &String| {
        [
            ("c1", &c1),
            ("c2", &c2),
            ("c3", &c3),
            ("c4", &c4),
            ("c5", &c5),
        ]
        .iter()
        .find(|(_, v)| *v == id)
        .map_or("anonymous", |(n, _)| n)
    };
    let names = |list: &[String]| list.iter().map(name).collect::<Vec<_>>().join(" ");
    let mut failures = Vec::new();
    for (sort, expected) in &cases {
        let whole = ids(&page(&app, t, json!({ "first": 100, "sort": sort })).await);
        if &whole != expected {
            failures.push(format!(
                "{sort}: expected {}, got {}",
                names(expected),
                names(&whole)
            ));
            continue;
        }
        // Paging through, forwards and backwards, gives the same order: the keyset handles ties
        // and nulls.
        for size in [1, 2] {
            let forward = forwards(&app, t, sort, size, 5).await;
            if &forward != expected {
                failures.push(format!(
                    "{sort} forwards by {size}: expected {}, got {}",
                    names(expected),
                    names(&forward)
                ));
            }
            let backward = backwards(&app, t, sort, size, 5).await;
            if &backward != expected {
                failures.push(format!(
                    "{sort} backwards by {size}: expected {}, got {}",
                    names(expected),
                    names(&backward)
                ));
            }
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

/// Seven resolved contacts, active on consecutive days: the default order is the reverse.
async fn seven(app: &TestApp, token: &str) -> Vec<String> {
    let mut made = Vec::new();
    for day in 1..=7 {
        made.push(
            create_contact(
                app,
                token,
                json!({ "email": format!("c{day}@example.com"), "lastActivityAt": format!("2024-01-0{day}T12:00:00Z") }),
            )
            .await,
        );
    }
    made.reverse();
    made
}

#[tokio::test]
async fn pages_forwards_and_backwards_with_the_whole_total() {
    let app = spawn_app().await;
    let admin = app.account("Acme").await;
    let t = &admin.token;
    let order = seven(&app, t).await;

    // Forwards, three at a time.
    let p1 = page(&app, t, json!({ "first": 3 })).await;
    assert_eq!(ids(&p1), order[0..3]);
    assert_eq!(p1["totalCount"], 7);
    assert_eq!(p1["pageInfo"]["hasNextPage"], true);
    assert_eq!(p1["pageInfo"]["hasPreviousPage"], false);
    let p2 = page(
        &app,
        t,
        json!({ "first": 3, "after": p1["pageInfo"]["endCursor"] }),
    )
    .await;
    assert_eq!(ids(&p2), order[3..6]);
    assert_eq!(p2["totalCount"], 7);
    assert_eq!(p2["pageInfo"]["hasNextPage"], true);
    assert_eq!(p2["pageInfo"]["hasPreviousPage"], true);
    let p3 = page(
        &app,
        t,
        json!({ "first": 3, "after": p2["pageInfo"]["endCursor"] }),
    )
    .await;
    assert_eq!(ids(&p3), order[6..7]);
    assert_eq!(p3["totalCount"], 7);
    assert_eq!(p3["pageInfo"]["hasNextPage"], false);
    assert_eq!(p3["pageInfo"]["hasPreviousPage"], true);
    // After the last row: an empty page.
    let p4 = page(
        &app,
        t,
        json!({ "first": 3, "after": p3["pageInfo"]["endCursor"] }),
    )
    .await;
    assert_eq!(ids(&p4), Vec::<String>::new());
    assert_eq!(p4["totalCount"], 7);
    assert_eq!(p4["pageInfo"]["hasNextPage"], false);
    // An exact fit has no next page.
    let fit = page(&app, t, json!({ "first": 7 })).await;
    assert_eq!(ids(&fit), order);
    assert_eq!(fit["pageInfo"]["hasNextPage"], false);
    // Every edge's cursor continues right after its row.
    let from_edge = page(
        &app,
        t,
        json!({ "first": 2, "after": p1["edges"][1]["cursor"] }),
    )
    .await;
    assert_eq!(ids(&from_edge), order[2..4]);
    // The default page size is 15.
    let default = page(&app, t, json!({})).await;
    assert_eq!(ids(&default), order);
    assert_eq!(default["pageInfo"]["hasNextPage"], false);

    // Backwards, three at a time from the end.
    let b1 = page(&app, t, json!({ "last": 3 })).await;
    assert_eq!(ids(&b1), order[4..7]);
    assert_eq!(b1["totalCount"], 7);
    assert_eq!(b1["pageInfo"]["hasPreviousPage"], true);
    assert_eq!(b1["pageInfo"]["hasNextPage"], false);
    let b2 = page(
        &app,
        t,
        json!({ "last": 3, "before": b1["pageInfo"]["startCursor"] }),
    )
    .await;
    assert_eq!(ids(&b2), order[1..4]);
    assert_eq!(b2["pageInfo"]["hasPreviousPage"], true);
    assert_eq!(b2["pageInfo"]["hasNextPage"], true);
    let b3 = page(
        &app,
        t,
        json!({ "last": 3, "before": b2["pageInfo"]["startCursor"] }),
    )
    .await;
    assert_eq!(ids(&b3), order[0..1]);
    assert_eq!(b3["pageInfo"]["hasPreviousPage"], false);
    assert_eq!(b3["pageInfo"]["hasNextPage"], true);
    // `before` alone reads the default page size backwards.
    let before = page(&app, t, json!({ "before": p3["pageInfo"]["startCursor"] })).await;
    assert_eq!(ids(&before), order[0..6]);
    // A forward cursor works backwards too.
    let back = page(
        &app,
        t,
        json!({ "last": 2, "before": p2["pageInfo"]["endCursor"] }),
    )
    .await;
    assert_eq!(ids(&back), order[3..5]);
}

#[tokio::test]
async fn page_sizes_and_cursors_are_validated() {
    let app = spawn_app().await;
    let admin = app.account("Acme").await;
    let t = &admin.token;
    seven(&app, t).await;
    for (variables, field) in [
        (json!({ "first": 0 }), "first"),
        (json!({ "first": 101 }), "first"),
        (json!({ "first": -1 }), "first"),
        (json!({ "last": 0 }), "last"),
        (json!({ "last": 101 }), "last"),
        (json!({ "first": 2, "last": 2 }), "last"),
        (json!({ "after": "garbage" }), "after"),
        (json!({ "before": "bm90IGpzb24" }), "before"),
    ] {
        let body = app.gql(Some(t), PAGE, variables.clone()).await;
        assert_eq!(error_code(&body), "BAD_USER_INPUT", "{variables}: {body:#}");
        assert_eq!(error_field(&body), field, "{variables}");
    }
    // 100 is the largest page.
    let biggest = page(&app, t, json!({ "first": 100 })).await;
    assert_eq!(biggest["totalCount"], 7);
    let body = app
        .gql(
            Some(t),
            "{ searchContacts(query: \"example\", first: 101) { totalCount } }",
            json!({}),
        )
        .await;
    assert_eq!(error_code(&body), "BAD_USER_INPUT");

    // A cursor bounds one side: `first` reads after it, `last` before it; mixing is refused
    // rather than read the wrong way.
    let default = page(&app, t, json!({ "first": 3 })).await;
    let middle = default["pageInfo"]["endCursor"].clone();
    for (variables, field) in [
        (json!({ "first": 2, "before": middle }), "before"),
        (json!({ "last": 2, "after": middle }), "after"),
        (json!({ "after": middle, "before": middle }), "before"),
    ] {
        let body = app.gql(Some(t), PAGE, variables.clone()).await;
        assert_eq!(error_code(&body), "BAD_USER_INPUT", "{variables}: {body:#}");
        assert_eq!(error_field(&body), field, "{variables}");
    }
    // A forged cursor of the right sort but the wrong kind of value names its argument.
    let forged = base64::engine::general_purpose::URL_SAFE_NO_PAD
        .encode(r#"{"s":"contacts:LastActivityAt:Desc","v":"not a time","i":1}"#);
    for (variables, field) in [
        (json!({ "after": forged }), "after"),
        (json!({ "before": forged }), "before"),
    ] {
        let body = app.gql(Some(t), PAGE, variables.clone()).await;
        assert_eq!(error_code(&body), "BAD_USER_INPUT", "{variables}: {body:#}");
        assert_eq!(error_field(&body), field, "{variables}");
    }

    // A cursor belongs to its sort.
    let by_name = page(&app, t, json!({ "first": 2, "sort": { "field": "NAME" } })).await;
    let cursor = by_name["pageInfo"]["endCursor"].clone();
    for (variables, field) in [
        (json!({ "first": 2, "after": cursor }), "after"),
        (
            json!({ "first": 2, "after": cursor, "sort": { "field": "NAME", "direction": "DESC" } }),
            "after",
        ),
        (
            json!({ "first": 2, "after": cursor, "sort": { "field": "EMAIL" } }),
            "after",
        ),
        (
            json!({ "last": 2, "before": cursor, "sort": { "field": "CITY" } }),
            "before",
        ),
    ] {
        let body = app.gql(Some(t), PAGE, variables.clone()).await;
        assert_eq!(error_code(&body), "BAD_USER_INPUT", "{variables}: {body:#}");
        assert_eq!(error_field(&body), field, "{variables}");
    }
    // The same sort accepts it.
    page(
        &app,
        t,
        json!({ "first": 2, "after": cursor, "sort": { "field": "NAME", "direction": "ASC" } }),
    )
    .await;
}

#[tokio::test]
async fn writes_between_page_fetches_neither_repeat_nor_skip_rows() {
    let app = spawn_app().await;
    let admin = app.account("Acme").await;
    let t = &admin.token;
    let order = seven(&app, t).await;

    let p1 = page(&app, t, json!({ "first": 3 })).await;
    assert_eq!(ids(&p1), order[0..3]);
    // New rows ahead of the cursor, one behind it at the end, and a row already read deleted.
    let newest = create_contact(
        &app,
        t,
        json!({ "email": "new@example.com", "lastActivityAt": "2024-02-01T00:00:00Z" }),
    )
    .await;
    let between = create_contact(
        &app,
        t,
        json!({ "email": "between@example.com", "lastActivityAt": "2024-01-06T18:00:00Z" }),
    )
    .await;
    let inactive = create_contact(&app, t, json!({ "email": "inactive@example.com" })).await;
    app.data(
        Some(t),
        "mutation($id: ID!) { deleteContact(id: $id) }",
        json!({ "id": order[1] }),
    )
    .await;

    let p2 = page(
        &app,
        t,
        json!({ "first": 3, "after": p1["pageInfo"]["endCursor"] }),
    )
    .await;
    assert_eq!(
        ids(&p2),
        order[3..6],
        "continues right after the last row read"
    );
    assert_eq!(
        p2["totalCount"], 9,
        "the total is of the result as it is now"
    );
    let p3 = page(
        &app,
        t,
        json!({ "first": 3, "after": p2["pageInfo"]["endCursor"] }),
    )
    .await;
    assert_eq!(ids(&p3), vec![order[6].clone(), inactive.clone()]);
    assert_eq!(p3["pageInfo"]["hasNextPage"], false);
    // The fresh order has the new rows where they belong.
    let all = page(&app, t, json!({ "first": 100 })).await;
    assert_eq!(
        ids(&all),
        vec![
            newest,
            order[0].clone(),
            between,
            order[2].clone(),
            order[3].clone(),
            order[4].clone(),
            order[5].clone(),
            order[6].clone(),
            inactive,
        ]
    );

    // Sorted by name too: a name inserted before the cursor is not read; one after it is.
    let by_name = json!({ "field": "NAME" });
    for name in ["d", "b", "f"] {
        create_contact(
            &app,
            t,
            json!({ "name": name, "identifier": format!("n-{name}") }),
        )
        .await;
    }
    let n1 = page(&app, t, json!({ "first": 2, "sort": by_name })).await;
    let first_names = names_of(&app, t, &ids(&n1)).await;
    assert_eq!(first_names, ["b", "d"]);
    create_contact(&app, t, json!({ "name": "a", "identifier": "n-a" })).await;
    create_contact(&app, t, json!({ "name": "e", "identifier": "n-e" })).await;
    let n2 = page(
        &app,
        t,
        json!({ "first": 2, "sort": by_name, "after": n1["pageInfo"]["endCursor"] }),
    )
    .await;
    assert_eq!(names_of(&app, t, &ids(&n2)).await, ["e", "f"]);
}

async fn names_of(app: &TestApp, token: &str, ids: &[String]) -> Vec<String> {
    let mut names = Vec::new();
    for id in ids {
        let data = app
            .data(
                Some(token),
                "query($id: ID!) { contact(id: $id) { name } }",
                json!({ "id": id }),
            )
            .await;
        names.push(data["contact"]["name"].as_str().unwrap_or("").to_owned());
    }
    names
}
