//! What the README tells client developers about the schema stays true (issue
//! 15, item 11): urql graphcache's list of types without an id is exactly the
//! schema's.

fn read(path: &str) -> String {
    std::fs::read_to_string(std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("..").join(path)).unwrap()
}

/// The object types of `schema.graphql` without an `id: ID!` field, sorted.
fn types_without_id(schema: &str) -> Vec<String> {
    let mut found = Vec::new();
    let mut current: Option<(String, bool)> = None;
    for line in schema.lines() {
        if let Some(rest) = line.strip_prefix("type ") {
            let name = rest.split([' ', '{']).next().unwrap_or_default().to_owned();
            current = Some((name, false));
        } else if line.starts_with("\tid: ID!") {
            if let Some((_, has_id)) = current.as_mut() {
                *has_id = true;
            }
        } else if line == "}" {
            if let Some((name, false)) = current.take()
                && !["Query", "Mutation", "Subscription"].contains(&name.as_str())
            {
                found.push(name);
            }
            current = None;
        }
    }
    found.sort();
    found
}

#[test]
fn the_readmes_graphcache_keys_name_every_type_without_an_id() {
    let readme = read("README.md");
    let list = readme
        .split_once("const embedded = [")
        .and_then(|(_, rest)| rest.split_once("];"))
        .map(|(list, _)| list)
        .expect("the README's graphcache example");
    let mut listed: Vec<String> =
        list.split(',').map(|t| t.trim().trim_matches('\'').to_owned()).filter(|t| !t.is_empty()).collect();
    listed.sort();
    let schema = types_without_id(&read("schema.graphql"));
    assert!(schema.len() > 30, "{schema:?}");
    assert_eq!(listed, schema, "update the README's `embedded` list to the schema's types without an id");
}
