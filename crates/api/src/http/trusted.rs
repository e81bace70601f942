//! Trusted documents: the operations a deployment's own apps send, listed in a
//! file the operator configures (`TESSERA_TRUSTED_DOCUMENTS`), each under the
//! SHA-256 of its text.
//!
//! Two formats are read, as the tools that extract operations from a
//! frontend's code write them: Apollo's persisted query manifest
//! (`{"format": "apollo-persisted-query-manifest", "version": 1, "operations":
//! [{"id", "name", "type", "body"}]}`) and a plain object of hash to document
//! (GraphQL Code Generator's `persisted-documents.json`, Relay's
//! `persisted_queries.json`). Every id must be the SHA-256 of its document, so a
//! document sent in full is listed exactly when its hash is, and the file cannot
//! put one operation's text under another's name. A file that breaks this stops
//! the gateway at start-up, naming the entry.

use std::collections::HashMap;
use std::path::Path;

use serde::Deserialize;
use serde_json::Value;

use super::persisted::{PersistedHash, sha256_hex};

/// The listed documents, by hash.
#[derive(Debug, Default)]
pub(crate) struct TrustedDocuments {
    by_hash: HashMap<String, String>,
}

/// The format Apollo's tools (`generate-persisted-query-manifest`, Rover) write.
const APOLLO_FORMAT: &str = "apollo-persisted-query-manifest";

#[derive(Deserialize)]
struct ApolloManifest {
    format: String,
    version: u64,
    operations: Vec<ApolloOperation>,
}

#[derive(Deserialize)]
struct ApolloOperation {
    id: String,
    #[serde(default)]
    name: Option<String>,
    body: String,
}

impl TrustedDocuments {
    /// Reads and checks the file at `path`.
    pub(crate) fn load(path: &Path) -> Result<Self, String> {
        let text = std::fs::read_to_string(path).map_err(|e| format!("cannot read {}: {e}", path.display()))?;
        Self::parse(&text).map_err(|why| format!("{}: {why}", path.display()))
    }

    /// Reads a manifest in either format.
    pub(crate) fn parse(text: &str) -> Result<Self, String> {
        let value: Value = serde_json::from_str(text).map_err(|e| format!("not valid JSON: {e}"))?;
        let entries: Vec<(String, String, String)> = if value.get("format").is_some() {
            let manifest: ApolloManifest =
                serde_json::from_value(value).map_err(|e| format!("not a persisted query manifest: {e}"))?;
            if manifest.format != APOLLO_FORMAT || manifest.version != 1 {
                return Err(format!("only {APOLLO_FORMAT} version 1 is read"));
            }
            manifest
                .operations
                .into_iter()
                .map(|op| {
                    let label = op.name.clone().unwrap_or_else(|| op.id.clone());
                    (op.id, op.body, label)
                })
                .collect()
        } else {
            let flat: HashMap<String, String> = serde_json::from_value(value)
                .map_err(|_| "expected Apollo's manifest or an object of hash to document".to_owned())?;
            flat.into_iter().map(|(id, body)| (id.clone(), body, id)).collect()
        };
        if entries.is_empty() {
            return Err("it lists no operations".into());
        }
        let mut by_hash = HashMap::with_capacity(entries.len());
        for (id, body, label) in entries {
            if sha256_hex(&body) != id.to_ascii_lowercase() {
                return Err(format!(
                    "the id of {label} is not the SHA-256 of its document (generate the list with sha256 hashes)"
                ));
            }
            by_hash.insert(id.to_ascii_lowercase(), body);
        }
        Ok(Self { by_hash })
    }

    /// The document listed under `hash`.
    pub(crate) fn get(&self, hash: &PersistedHash) -> Option<&str> {
        self.by_hash.get(hash.as_str()).map(String::as_str)
    }

    /// Whether `document`, exactly as written, is listed.
    pub(crate) fn lists(&self, document: &str) -> bool {
        self.by_hash.get(&sha256_hex(document)).is_some_and(|listed| listed == document)
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    const DOC: &str = "query Me { me { id } }";

    #[test]
    fn both_formats_are_read_and_every_id_must_be_its_documents_hash() {
        let id = sha256_hex(DOC);
        let apollo = json!({ "format": APOLLO_FORMAT, "version": 1,
            "operations": [{ "id": id, "name": "Me", "type": "query", "body": DOC }] });
        let list = TrustedDocuments::parse(&apollo.to_string()).expect("apollo manifest");
        assert!(list.lists(DOC) && !list.lists("query Me { me { id email } }"));
        let flat = TrustedDocuments::parse(&json!({ id.to_ascii_uppercase(): DOC }).to_string()).expect("flat");
        assert!(flat.lists(DOC), "hashes are read in either case");

        let wrong = json!({ "format": APOLLO_FORMAT, "version": 1,
            "operations": [{ "id": sha256_hex("{ other }"), "name": "Me", "type": "query", "body": DOC }] });
        let refused = TrustedDocuments::parse(&wrong.to_string()).expect_err("mismatched id");
        assert!(refused.contains("the id of Me"), "{refused}");
        let sha1_like = json!({ "4b1e4bd1c1cd1b5ae4b1e4bd1c1cd1b5ae4b1e4b": DOC });
        assert!(TrustedDocuments::parse(&sha1_like.to_string()).is_err());
        let version_two = json!({ "format": APOLLO_FORMAT, "version": 2, "operations": [] });
        assert!(TrustedDocuments::parse(&version_two.to_string()).is_err());
        assert!(TrustedDocuments::parse("{}").expect_err("empty").contains("no operations"));
        assert!(TrustedDocuments::parse("[1]").is_err());
    }
}
