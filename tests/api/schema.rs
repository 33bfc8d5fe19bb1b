//! The committed `schema.graphql` is the contract for typed SDKs: it must match the code.

#[test]
fn committed_schema_matches_the_code() {
    let committed = std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/schema.graphql"))
        .expect("schema.graphql exists at the repository root")
        .replace("\r\n", "\n");
    let generated = switchboard::graphql::sdl();
    assert!(
        committed == generated,
        "schema.graphql is out of date; regenerate it with\n\n    cargo run -- export-schema > schema.graphql\n"
    );
}

#[test]
fn every_type_and_field_is_documented() {
    use async_graphql::parser::{
        parse_schema,
        types::{TypeKind, TypeSystemDefinition},
    };

    let sdl = switchboard::graphql::sdl();
    let document = parse_schema(&sdl).expect("the SDL parses");
    let mut undocumented = Vec::new();
    for definition in document.definitions {
        let TypeSystemDefinition::Type(ty) = definition else {
            continue;
        };
        let ty = ty.node;
        let name = ty.name.node.to_string();
        if matches!(name.as_str(), "DateTime" | "JSON" | "Upload") {
            continue;
        }
        if ty.description.is_none() {
            undocumented.push(name.clone());
        }
        let members: Vec<(String, bool)> = match ty.kind {
            TypeKind::Object(object) => object
                .fields
                .iter()
                .map(|f| (f.node.name.node.to_string(), f.node.description.is_some()))
                .collect(),
            TypeKind::InputObject(input) => input
                .fields
                .iter()
                .map(|f| (f.node.name.node.to_string(), f.node.description.is_some()))
                .collect(),
            TypeKind::Enum(e) => e
                .values
                .iter()
                .map(|v| (v.node.value.node.to_string(), v.node.description.is_some()))
                .collect(),
            _ => Vec::new(),
        };
        undocumented.extend(
            members
                .into_iter()
                .filter(|(_, documented)| !documented)
                .map(|(member, _)| format!("{name}.{member}")),
        );
    }
    assert!(
        undocumented.is_empty(),
        "add `///` docs to: {undocumented:#?}"
    );
}
