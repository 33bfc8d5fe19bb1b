//! Nested fields are batched: a page costs the same number of statements whatever its size.

use serde_json::{Value, json};

use crate::helpers::spawn_app_configured;

const PAGE: &str = "query($first: Int!) { contacts(first: $first) { totalCount edges { node {
    id name labels notes { id content user { id name } }
    contactInboxes { id sourceId inbox { id name } }
    contactableInboxes { id }
} } } }";

#[tokio::test]
async fn a_page_costs_a_constant_number_of_statements() {
    // The membership is read on every request (no access cache): a cache entry expiring
    // between the two pages would make their counts differ by one on a slow machine.
    let app = spawn_app_configured(|config| config.access_cache_ttl_ms = 0).await;
    let admin = app.account("Acme").await;
    let inbox = app
        .data(
            Some(&admin.token),
            "mutation { createInbox(input: { name: \"Web\", channelType: \"web\" }) { id } }",
            json!({}),
        )
        .await["createInbox"]["id"]
        .clone();
    for i in 0..20 {
        let created = app
            .data(
                Some(&admin.token),
                "mutation($input: CreateContactInput!) { createContact(input: $input) { id } }",
                json!({ "input": { "name": format!("Contact {i}"), "email": format!("c{i}@example.com"), "inboxId": inbox } }),
            )
            .await;
        let id = created["createContact"]["id"].clone();
        app.data(
            Some(&admin.token),
            "mutation($id: ID!) { setContactLabels(id: $id, labels: [\"vip\", \"beta\"]) { id } }",
            json!({ "id": id }),
        )
        .await;
        app.data(
            Some(&admin.token),
            "mutation($id: ID!) { createNote(contactId: $id, content: \"hello\") { id } }",
            json!({ "id": id }),
        )
        .await;
    }

    let mut costs = Vec::new();
    for first in [2, 20] {
        let before = app.statements().await;
        let data: Value = app
            .data(Some(&admin.token), PAGE, json!({ "first": first }))
            .await;
        let after = app.statements().await;
        let edges = data["contacts"]["edges"].as_array().unwrap();
        assert_eq!(edges.len(), first as usize);
        assert_eq!(edges[0]["node"]["labels"], json!(["beta", "vip"]));
        assert_eq!(edges[0]["node"]["notes"][0]["user"]["name"], "Admin");
        assert_eq!(
            edges[0]["node"]["contactInboxes"][0]["inbox"]["name"],
            "Web"
        );
        costs.push(after - before);
    }
    eprintln!("statements per page of 2 and of 20 contacts: {costs:?}");
    assert_eq!(
        costs[0], costs[1],
        "statements for 2 vs 20 contacts: {costs:?}"
    );
    // page + count + labels + notes + note authors + contact inboxes (joined with their inboxes)
    // + account inboxes, + the viewer's membership (src/auth/access.rs; its cache is off here)
    assert!(costs[1] <= 8, "a page costs {} statements", costs[1]);
}
