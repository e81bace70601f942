//! Checks on a GraphQL document made before it is executed: what async-graphql's own
//! limits do not cover.
//!
//! - field selections are counted, `__typename` included (depth and complexity
//!   limits ignore it, so a flood of it would otherwise be free);
//! - aliases are capped, so one document cannot ask for the same field hundreds of
//!   times;
//! - fields that must not repeat within one request (`login`, `signUp`,
//!   `refreshSession`) appear at most once, so aliases cannot multiply password
//!   guesses;
//! - no text holds a control character (`control_characters`);
//! - federation's `_entities` resolves at most [`MAX_ENTITY_REPRESENTATIONS`]
//!   representations per request, counted in the document and its variables.
//!
//! Fragments are expanded where they are spread, so a fragment used at several places
//! counts at each; the walk stops as soon as a limit is exceeded, so fragment bombs
//! cost nothing, and it does not follow cycles (validation refuses those).

use async_graphql::parser::types::{
    DocumentOperations, ExecutableDocument, Field, OperationType, Selection, SelectionSet,
};
use async_graphql::{ServerError, Value, Variables};

use super::control_characters::refuse_control_characters;
use crate::config::QueryLimits;
use crate::error::{ApiCode, graphql_error};

/// Root fields that may appear only once per document.
const SINGLE_USE_ROOT_FIELDS: &[&str] = &["login", "signUp", "completeSignUp", "refreshSession"];
/// The most representations `_entities` resolves in one request, like a page.
pub(crate) const MAX_ENTITY_REPRESENTATIONS: usize = 100;

/// Why a document was refused before execution.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct DocumentRejection(pub(crate) String);

/// What the walk learned about the operation to run.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct DocumentFacts {
    /// The type of the selected operation, when it could be determined.
    pub(crate) operation: Option<OperationType>,
    /// Whether the selected operation reads the schema (`__schema`, `__type`,
    /// federation's `_service`).
    pub(crate) introspects: bool,
    /// The names of the selected operation's root fields, fragments expanded.
    pub(crate) root_fields: Vec<String>,
}

impl DocumentFacts {
    /// Whether the operation is a query or mutation made only of `public` root
    /// fields (as `Query.name` / `Mutation.name`) and `__typename`: it needs no
    /// session, so the credentials sent with it are not looked at.
    pub(crate) fn needs_no_session(&self, public: &std::collections::HashSet<String>) -> bool {
        let owner = match self.operation {
            Some(OperationType::Query) => "Query",
            Some(OperationType::Mutation) => "Mutation",
            _ => return false,
        };
        self.root_fields.iter().any(|f| f != "__typename")
            && self.root_fields.iter().all(|f| f == "__typename" || public.contains(&format!("{owner}.{f}")))
    }
}

struct Walk<'a> {
    document: &'a ExecutableDocument,
    limits: &'a QueryLimits,
    fields: usize,
    aliases: usize,
    fragment_stack: Vec<&'a str>,
}

impl<'a> Walk<'a> {
    fn selection_set(&mut self, set: &'a SelectionSet) -> Result<(), DocumentRejection> {
        for selection in &set.items {
            match &selection.node {
                Selection::Field(field) => {
                    self.fields += 1;
                    if field.node.alias.is_some() {
                        self.aliases += 1;
                    }
                    if self.fields > self.limits.max_fields {
                        return Err(DocumentRejection(format!(
                            "the document selects more than {} fields",
                            self.limits.max_fields
                        )));
                    }
                    if self.aliases > self.limits.max_aliases {
                        return Err(DocumentRejection(format!(
                            "the document uses more than {} aliases",
                            self.limits.max_aliases
                        )));
                    }
                    self.selection_set(&field.node.selection_set.node)?;
                }
                Selection::InlineFragment(fragment) => self.selection_set(&fragment.node.selection_set.node)?,
                Selection::FragmentSpread(spread) => {
                    let name = spread.node.fragment_name.node.as_str();
                    if self.fragment_stack.contains(&name) {
                        continue; // a cycle; validation reports it
                    }
                    if let Some(fragment) = self.document.fragments.get(&spread.node.fragment_name.node) {
                        self.fragment_stack.push(name);
                        self.selection_set(&fragment.node.selection_set.node)?;
                        self.fragment_stack.pop();
                    }
                }
            }
        }
        Ok(())
    }
}

/// Parses `request`'s document once and checks it (length before parsing, then
/// the limits above), for both transports. The parsed document stays in the
/// request, so execution does not parse it again.
pub(crate) fn prepare_document(
    request: &mut async_graphql::Request,
    limits: &QueryLimits,
) -> Result<DocumentFacts, ServerError> {
    if request.query.chars().count() > limits.max_query_chars {
        let message = format!("the document is longer than {} characters", limits.max_query_chars);
        return Err(graphql_error(ApiCode::GraphqlValidationFailed, message));
    }
    let document = async_graphql::parser::parse_query(&request.query)
        .map_err(|err| graphql_error(ApiCode::GraphqlParseFailed, ServerError::from(err).message))?;
    let facts = check_document(&document, request.operation_name.as_deref(), &request.variables, limits)
        .map_err(|rejection| graphql_error(ApiCode::GraphqlValidationFailed, rejection.0))?;
    refuse_control_characters(&document, &request.variables)?;
    request.set_parsed_query(document);
    Ok(facts)
}

/// Checks `document` against `limits`; `operation_name` picks the operation.
fn check_document(
    document: &ExecutableDocument,
    operation_name: Option<&str>,
    variables: &Variables,
    limits: &QueryLimits,
) -> Result<DocumentFacts, DocumentRejection> {
    let mut walk = Walk { document, limits, fields: 0, aliases: 0, fragment_stack: Vec::new() };
    let mut selected = None;
    let mut introspects = false;
    let mut root_names = Vec::new();
    let operations: Vec<_> = match &document.operations {
        DocumentOperations::Single(op) => vec![(None, op)],
        DocumentOperations::Multiple(ops) => ops.iter().map(|(name, op)| (Some(name.as_str()), op)).collect(),
    };
    let single = operations.len() == 1;
    for (name, operation) in operations {
        walk.selection_set(&operation.node.selection_set.node)?;
        let chosen = match operation_name {
            Some(wanted) => name == Some(wanted),
            None => single,
        };
        if chosen {
            selected = Some(operation.node.ty);
            let root = root_fields(document, &operation.node.selection_set.node);
            root_names = root.iter().map(|f| f.name.node.to_string()).collect();
            let uses = |name: &str| root.iter().filter(|f| f.name.node == name).count();
            // Federation's `_service { sdl }` prints the whole schema too.
            introspects = uses("__schema") + uses("__type") + uses("_service") > 0;
            for field in SINGLE_USE_ROOT_FIELDS {
                if uses(field) > 1 {
                    return Err(DocumentRejection(format!("{field} may be requested only once per request")));
                }
            }
            let representations: usize = root
                .iter()
                .filter(|f| f.name.node == "_entities")
                .map(|f| {
                    let given = f
                        .get_argument("representations")
                        .map(|v| v.node.clone().into_const_with(|name| variables.get(&name).cloned().ok_or(())));
                    match given {
                        Some(Ok(Value::List(items))) => items.len(),
                        _ => 1,
                    }
                })
                .sum();
            if representations > MAX_ENTITY_REPRESENTATIONS {
                return Err(DocumentRejection(format!(
                    "_entities resolves at most {MAX_ENTITY_REPRESENTATIONS} representations per request"
                )));
            }
        }
    }
    Ok(DocumentFacts { operation: selected, introspects, root_fields: root_names })
}

/// The fields of an operation's root selection, fragments expanded.
fn root_fields<'a>(document: &'a ExecutableDocument, set: &'a SelectionSet) -> Vec<&'a Field> {
    fn collect<'a>(
        document: &'a ExecutableDocument,
        set: &'a SelectionSet,
        visiting: &mut Vec<&'a str>,
        out: &mut Vec<&'a Field>,
    ) {
        for selection in &set.items {
            match &selection.node {
                Selection::Field(field) => out.push(&field.node),
                Selection::InlineFragment(fragment) => {
                    collect(document, &fragment.node.selection_set.node, visiting, out)
                }
                Selection::FragmentSpread(spread) => {
                    let fragment_name = spread.node.fragment_name.node.as_str();
                    match document.fragments.get(&spread.node.fragment_name.node) {
                        Some(fragment) if !visiting.contains(&fragment_name) => {
                            visiting.push(fragment_name);
                            collect(document, &fragment.node.selection_set.node, visiting, out);
                            visiting.pop();
                        }
                        _ => {} // unknown or cyclic; validation reports it
                    }
                }
            }
        }
    }
    let mut out = Vec::new();
    collect(document, set, &mut Vec::new(), &mut out);
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn check(query: &str) -> Result<DocumentFacts, DocumentRejection> {
        let document = async_graphql::parser::parse_query(query).expect("parses");
        let limits = QueryLimits { max_fields: 50, max_aliases: 3, ..QueryLimits::default() };
        check_document(&document, None, &Variables::default(), &limits)
    }

    #[test]
    fn a_flood_of_typename_is_counted() {
        let query = format!("{{ {} }}", "__typename ".repeat(51));
        assert!(check(&query).is_err());
    }

    #[test]
    fn aliases_are_capped() {
        assert!(check("{ a: __typename b: __typename c: __typename }").is_ok());
        assert!(check("{ a: __typename b: __typename c: __typename d: __typename }").is_err());
    }

    #[test]
    fn a_fragment_counts_wherever_it_is_spread() {
        let fragment = "fragment F on User { id email displayName status createdAt lastLoginAt id email displayName status createdAt lastLoginAt id email displayName status createdAt lastLoginAt id email displayName status createdAt }";
        assert!(check(&format!("query {{ me {{ ...F }} }} {fragment}")).is_ok(), "one spread of 24 fields fits");
        assert!(
            check(&format!("query {{ me {{ ...F }} x: me {{ ...F }} y: me {{ ...F }} }} {fragment}")).is_err(),
            "three spreads exceed 50"
        );
    }

    #[test]
    fn login_cannot_be_aliased_to_multiply_guesses() {
        let query = r#"mutation { a: login(input: {email: "a@b.co", password: "x"}) { accessToken } b: login(input: {email: "a@b.co", password: "y"}) { accessToken } }"#;
        assert_eq!(check(query).err().map(|e| e.0), Some("login may be requested only once per request".into()));
    }

    #[test]
    fn entity_representations_are_capped_in_the_document_and_its_variables() {
        let list = |n: usize| format!("[{}]", vec![r#"{__typename: "User", id: "x"}"#; n].join(", "));
        let query = |n: usize| format!("{{ _entities(representations: {}) {{ __typename }} }}", list(n));
        let limits = QueryLimits { max_fields: 5_000, ..QueryLimits::default() };
        let run = |query: &str, variables: &Variables| {
            let document = async_graphql::parser::parse_query(query).expect("parses");
            check_document(&document, None, variables, &limits)
        };
        assert!(run(&query(100), &Variables::default()).is_ok());
        assert!(run(&query(101), &Variables::default()).is_err());
        let by_variable = "query($r: [_Any!]!) { _entities(representations: $r) { __typename } }";
        let representations = |n: usize| {
            Variables::from_json(
                serde_json::json!({ "r": vec![serde_json::json!({"__typename": "User", "id": "x"}); n] }),
            )
        };
        assert!(run(by_variable, &representations(100)).is_ok());
        assert!(run(by_variable, &representations(101)).is_err());
    }

    #[test]
    fn a_fragment_cycle_does_not_loop() {
        assert!(check("{ __typename ...A } fragment A on Query { ...B } fragment B on Query { ...A }").is_ok());
    }

    #[test]
    fn control_characters_are_refused_with_where_they_are() {
        let refused = |query: &str, variables: serde_json::Value| {
            let mut request = async_graphql::Request::new(query).variables(Variables::from_json(variables));
            let error = prepare_document(&mut request, &QueryLimits::default()).err()?;
            let extensions = serde_json::to_value(&error.extensions).ok()?;
            Some((extensions["code"].as_str()?.to_owned(), extensions["field"].as_str()?.to_owned()))
        };
        let create = "mutation($input: CustomerDetailsInput!) { createCustomer(input: $input) { id } }";
        let expected = Some(("BAD_USER_INPUT".to_owned(), "input.name".to_owned()));
        assert_eq!(refused(create, serde_json::json!({"input": {"name": "Ana\u{0}"}})), expected);
        assert_eq!(
            refused("mutation { createCustomer(input: {name: \"B\\u001b\"}) { id } }", serde_json::json!({})),
            expected
        );
        assert_eq!(refused(create, serde_json::json!({"input": {"name": "Ana\tL\r\n"}})), None);
    }

    #[test]
    fn the_operation_type_is_reported() {
        assert_eq!(check("mutation { logout }").ok().and_then(|f| f.operation), Some(OperationType::Mutation));
    }
}
