//! One check on every text a client sends, before anything runs: no control
//! characters but tab, line feed and carriage return. A NUL byte cannot be stored
//! in a PostgreSQL text column at all, and the others only ever arrive by
//! mistake or as an attack on whoever reads the text later (a terminal, a log, an
//! email). Variables and literals in the document alike, over HTTP and
//! WebSocket, answered with `BAD_USER_INPUT` naming where the character is,
//! before the caller is looked up.

use async_graphql::parser::types::{ExecutableDocument, Selection, SelectionSet};
use async_graphql::{Name, ServerError, Value, Variables};
use tessera_kernel::DomainError;

use crate::error::request_error;

/// Refuses `document` and its `variables` if any text in them holds a forbidden
/// character, naming the first place found (`input.name`).
pub(crate) fn refuse_control_characters(
    document: &ExecutableDocument,
    variables: &Variables,
) -> Result<(), ServerError> {
    let found =
        variables.iter().find_map(|(name, value)| in_value(value, name.as_str())).or_else(|| in_document(document));
    match found {
        None => Ok(()),
        Some(path) => {
            let refusal =
                DomainError::invalid(path, "contains a control character (only tab and line breaks are allowed)");
            Err(request_error(refusal.into()))
        }
    }
}

fn forbidden(c: char) -> bool {
    c.is_control() && !matches!(c, '\t' | '\n' | '\r')
}

/// Where in `value` (called `path`) a forbidden character is.
fn in_value(value: &Value, path: &str) -> Option<String> {
    match value {
        Value::String(text) => text.chars().any(forbidden).then(|| path.to_owned()),
        Value::List(items) => items.iter().enumerate().find_map(|(i, v)| in_value(v, &format!("{path}.{i}"))),
        Value::Object(fields) => fields.iter().find_map(|(k, v)| in_object_field(k, v, path)),
        _ => None,
    }
}

fn in_object_field(key: &Name, value: &Value, path: &str) -> Option<String> {
    in_value(value, &format!("{path}.{key}"))
}

/// Literal arguments anywhere in the document (variables are checked apart).
fn in_document(document: &ExecutableDocument) -> Option<String> {
    document
        .operations
        .iter()
        .find_map(|(_, operation)| in_selection(&operation.node.selection_set.node))
        .or_else(|| document.fragments.values().find_map(|f| in_selection(&f.node.selection_set.node)))
}

fn in_selection(set: &SelectionSet) -> Option<String> {
    set.items.iter().find_map(|selection| match &selection.node {
        Selection::Field(field) => field
            .node
            .arguments
            .iter()
            .find_map(|(name, value)| {
                let literal = value.node.clone().into_const_with(|_| Ok::<_, ()>(Value::Null)).ok()?;
                in_value(&literal, name.node.as_str())
            })
            .or_else(|| in_selection(&field.node.selection_set.node)),
        Selection::InlineFragment(fragment) => in_selection(&fragment.node.selection_set.node),
        Selection::FragmentSpread(_) => None,
    })
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    #[test]
    fn control_characters_are_found_with_their_path() {
        let ok = Value::from_json(json!({"name": "Ana\tLópez\r\n", "tags": ["a"]})).unwrap();
        assert_eq!(in_value(&ok, "input"), None);
        let nul = Value::from_json(json!({"name": "Ana\u{0}", "tags": ["a"]})).unwrap();
        assert_eq!(in_value(&nul, "input").as_deref(), Some("input.name"));
        let escape = Value::from_json(json!({"tags": ["fine", "\u{1b}[2J"]})).unwrap();
        assert_eq!(in_value(&escape, "input").as_deref(), Some("input.tags.1"));
        let document =
            async_graphql::parser::parse_query("mutation { a(input: {name: \"x\\u0000\"}) { id } }").unwrap();
        assert_eq!(in_document(&document).as_deref(), Some("input.name"));
    }
}
