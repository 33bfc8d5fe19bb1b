//! Text containing U+0000 is refused before anything runs.
//!
//! PostgreSQL rejects NUL in `text` and `jsonb` values, so such input would otherwise fail deep
//! inside a write as an internal error (and SQLite would store what PostgreSQL refuses). Every
//! string a request carries into execution is checked here: the document's literal arguments
//! (of fields and directives, in operations and fragments), the variables those arguments
//! reference, and variable defaults, JSON object keys included. The offending value is named by
//! its argument path (`input.customAttributes.plan`, `filter[0].values[1]`), whatever the client
//! called its variables.
//!
//! The walk allocates nothing unless it finds a NUL. It recurses, but over bounded input: the
//! parser refuses documents nested deeper than 64 levels, and variables arrive as JSON, which
//! `serde_json` refuses beyond 128 levels.

use std::fmt::Write;

use async_graphql::{
    Name, Pos, ServerError, Value as ConstValue, Variables,
    parser::{
        Positioned,
        types::{Directive, ExecutableDocument, Selection, SelectionSet},
    },
};
use async_graphql_value::Value;

use crate::error::code;

/// A step of the path to a value, kept on the stack while walking.
#[derive(Clone, Copy)]
enum Segment<'a> {
    Name(&'a str),
    Index(usize),
}

struct Path<'a> {
    parent: Option<&'a Path<'a>>,
    segment: Segment<'a>,
}

impl<'a> Path<'a> {
    fn root(name: &'a str) -> Self {
        Self {
            parent: None,
            segment: Segment::Name(name),
        }
    }

    fn child(&'a self, segment: Segment<'a>) -> Path<'a> {
        Path {
            parent: Some(self),
            segment,
        }
    }

    /// `input.customAttributes.plan`, `filter[0].values[1]`.
    fn render(&self) -> String {
        let mut segments = Vec::new();
        let mut node = Some(self);
        while let Some(path) = node {
            segments.push(path.segment);
            node = path.parent;
        }
        let mut text = String::new();
        for segment in segments.iter().rev() {
            match segment {
                Segment::Name(name) => {
                    if !text.is_empty() {
                        text.push('.');
                    }
                    text.push_str(name);
                }
                Segment::Index(index) => {
                    let _ = write!(text, "[{index}]");
                }
            }
        }
        text
    }
}

/// Refuses a request whose document or variables carry a NUL character (BAD_USER_INPUT, with
/// `extensions.field` naming the argument path).
pub fn check(document: &ExecutableDocument, variables: &Variables) -> Result<(), ServerError> {
    let walker = Walker { variables };
    for (_, operation) in document.operations.iter() {
        for definition in &operation.node.variable_definitions {
            if let Some(default) = &definition.node.default_value {
                let path = Path::root(definition.node.name.node.as_str());
                walker.constant(&default.node, &path, default.pos)?;
            }
        }
        walker.directives(&operation.node.directives)?;
        walker.selection_set(&operation.node.selection_set)?;
    }
    for fragment in document.fragments.values() {
        walker.directives(&fragment.node.directives)?;
        walker.selection_set(&fragment.node.selection_set)?;
    }
    Ok(())
}

struct Walker<'a> {
    variables: &'a Variables,
}

impl Walker<'_> {
    fn selection_set(&self, set: &Positioned<SelectionSet>) -> Result<(), ServerError> {
        for selection in &set.node.items {
            match &selection.node {
                Selection::Field(field) => {
                    self.arguments(&field.node.arguments)?;
                    self.directives(&field.node.directives)?;
                    self.selection_set(&field.node.selection_set)?;
                }
                Selection::FragmentSpread(spread) => self.directives(&spread.node.directives)?,
                Selection::InlineFragment(fragment) => {
                    self.directives(&fragment.node.directives)?;
                    self.selection_set(&fragment.node.selection_set)?;
                }
            }
        }
        Ok(())
    }

    fn directives(&self, directives: &[Positioned<Directive>]) -> Result<(), ServerError> {
        directives
            .iter()
            .try_for_each(|directive| self.arguments(&directive.node.arguments))
    }

    fn arguments(
        &self,
        arguments: &[(Positioned<Name>, Positioned<Value>)],
    ) -> Result<(), ServerError> {
        for (name, value) in arguments {
            self.value(&value.node, &Path::root(name.node.as_str()), value.pos)?;
        }
        Ok(())
    }

    /// A literal of the document; a variable is checked where it is used, under that path.
    fn value(&self, value: &Value, path: &Path<'_>, pos: Pos) -> Result<(), ServerError> {
        match value {
            Value::Variable(name) => match self.variables.get(name) {
                Some(value) => self.constant(value, path, pos),
                None => Ok(()),
            },
            Value::String(text) => text_of(text, path, pos),
            Value::Enum(name) => text_of(name.as_str(), path, pos),
            Value::List(items) => items.iter().enumerate().try_for_each(|(index, item)| {
                self.value(item, &path.child(Segment::Index(index)), pos)
            }),
            Value::Object(fields) => fields.iter().try_for_each(|(key, item)| {
                key_of(key.as_str(), path, pos)?;
                self.value(item, &path.child(Segment::Name(key.as_str())), pos)
            }),
            Value::Null | Value::Number(_) | Value::Boolean(_) | Value::Binary(_) => Ok(()),
        }
    }

    /// A variable's value (or a default), as the client sent it.
    #[allow(clippy::only_used_in_recursion)]
    fn constant(&self, value: &ConstValue, path: &Path<'_>, pos: Pos) -> Result<(), ServerError> {
        match value {
            ConstValue::String(text) => text_of(text, path, pos),
            ConstValue::Enum(name) => text_of(name.as_str(), path, pos),
            ConstValue::List(items) => items.iter().enumerate().try_for_each(|(index, item)| {
                self.constant(item, &path.child(Segment::Index(index)), pos)
            }),
            ConstValue::Object(fields) => fields.iter().try_for_each(|(key, item)| {
                key_of(key.as_str(), path, pos)?;
                self.constant(item, &path.child(Segment::Name(key.as_str())), pos)
            }),
            ConstValue::Null
            | ConstValue::Number(_)
            | ConstValue::Boolean(_)
            | ConstValue::Binary(_) => Ok(()),
        }
    }
}

fn text_of(text: &str, path: &Path<'_>, pos: Pos) -> Result<(), ServerError> {
    if !text.contains('\0') {
        return Ok(());
    }
    let field = path.render();
    Err(refused(
        format!("{field} must not contain a NUL character (U+0000)"),
        field,
        pos,
    ))
}

/// A key is named by the object holding it: the key itself is what cannot be printed.
fn key_of(key: &str, path: &Path<'_>, pos: Pos) -> Result<(), ServerError> {
    if !key.contains('\0') {
        return Ok(());
    }
    let field = path.render();
    Err(refused(
        format!("a key of {field} contains a NUL character (U+0000)"),
        field,
        pos,
    ))
}

fn refused(message: String, field: String, pos: Pos) -> ServerError {
    let mut err = ServerError::new(message, Some(pos));
    let extensions = err.extensions.get_or_insert_with(Default::default);
    extensions.set("code", code::BAD_USER_INPUT);
    extensions.set("field", field);
    err
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use async_graphql::parser::parse_query;
    use serde_json::json;

    use super::*;

    fn refusal(query: &str, variables: serde_json::Value) -> Option<(String, String)> {
        let document = parse_query(query).unwrap();
        let variables = Variables::from_json(variables);
        check(&document, &variables).err().map(|err| {
            let extensions = err.extensions.unwrap();
            assert_eq!(
                extensions.get("code"),
                Some(&ConstValue::from(code::BAD_USER_INPUT))
            );
            let field = match extensions.get("field") {
                Some(ConstValue::String(field)) => field.clone(),
                other => panic!("field: {other:?}"),
            };
            (field, err.message)
        })
    }

    #[test]
    fn clean_requests_pass() {
        let query = r#"mutation($input: CreateContactInput!) {
            createContact(input: $input) { id labels @include(if: true) }
            createNote(contactId: "1", content: "hello") { id }
        }"#;
        let variables = json!({"input": {"name": "Ann", "customAttributes": {"plan": ["a", 1]}}});
        assert_eq!(refusal(query, variables), None);
    }

    #[test]
    fn a_variable_is_named_by_the_argument_path() {
        let query = "mutation($i: CreateContactInput!) { createContact(input: $i) { id } }";
        let (field, message) = refusal(query, json!({"i": {"name": "A\u{0}n"}})).unwrap();
        assert_eq!(field, "input.name");
        assert!(message.contains("NUL"), "{message}");
        let nested = json!({"i": {"customAttributes": {"tags": ["ok", "b\u{0}d"]}}});
        assert_eq!(
            refusal(query, nested).unwrap().0,
            "input.customAttributes.tags[1]"
        );
    }

    #[test]
    fn object_keys_are_checked() {
        let query = "mutation($i: CreateContactInput!) { createContact(input: $i) { id } }";
        let keyed = json!({"i": {"customAttributes": {"pl\u{0}an": 1}}});
        let (field, message) = refusal(query, keyed).unwrap();
        assert_eq!(field, "input.customAttributes");
        assert!(message.starts_with("a key of"), "{message}");
    }

    #[test]
    fn literals_defaults_and_fragments_are_checked() {
        let literal = r#"mutation { createNote(contactId: "1", content: "a\u0000b") { id } }"#;
        assert_eq!(refusal(literal, json!({})).unwrap().0, "content");
        let filter = r#"query($v: String) { filterContacts(filter: [{attributeKey: "name", filterOperator: EQUAL_TO, values: ["x", $v]}]) { totalCount } }"#;
        assert_eq!(
            refusal(filter, json!({"v": "\u{0}"})).unwrap().0,
            "filter[0].values[1]"
        );
        let default =
            r#"query($q: String = "a\u0000") { searchContacts(query: $q) { totalCount } }"#;
        assert_eq!(refusal(default, json!({})).unwrap().0, "q");
        let fragment = r#"query { ...F } fragment F on Query { searchContacts(query: "\u0000") { totalCount } }"#;
        assert_eq!(refusal(fragment, json!({})).unwrap().0, "query");
    }

    #[test]
    fn unreferenced_variables_are_not_executed_and_pass() {
        let query = "query { inboxes { id } }";
        assert_eq!(refusal(query, json!({"unused": "\u{0}"})), None);
    }
}
