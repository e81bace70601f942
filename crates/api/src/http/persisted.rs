//! Automatic persisted queries (Apollo's APQ protocol): a frontend sends the
//! SHA-256 of its document in `extensions.persistedQuery.sha256Hash` instead of
//! the document; the gateway answers `PERSISTED_QUERY_NOT_FOUND` the first time,
//! the client sends both once, and from then on the hash alone works, over POST
//! or a cacheable GET.
//!
//! Only documents are kept, never results, so a hash runs with each request's
//! own credentials and tenant. A document is kept only when its hash is the
//! SHA-256 of its text (no one can plant a different document under the hash
//! of another's) and only once it passed the limits and ran. The store is
//! per gateway, least recently used first out, bounded in bytes
//! (`TESSERA_PERSISTED_QUERIES_BYTES`; 0 turns the protocol off). A client that
//! meets a replica that does not know its hash sends the document again, as the
//! protocol expects.
//!
//! [`Documents`] is where every request's document comes from, over HTTP and
//! WebSocket alike: the request's own text, the trusted list (`trusted.rs`) or
//! this store, and whether the deployment runs documents outside the list.

use std::sync::{Mutex, PoisonError};

use lru::LruCache;
use serde_json::Value;
pub(crate) use tessera_kernel::token::sha256_hex;

use super::trusted::TrustedDocuments;
use crate::config::DocumentPolicy;
use crate::error::ApiCode;

/// The only version of the protocol.
const VERSION: u64 = 1;

/// What a request's `extensions.persistedQuery` asks for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct PersistedHash(String);

/// Why a `persistedQuery` extension is refused.
#[derive(Debug, PartialEq, Eq)]
pub(crate) enum ExtensionError {
    /// Not `{ "version": 1, "sha256Hash": "<64 hex digits>" }`.
    Malformed(&'static str),
}

impl PersistedHash {
    /// The hash a request names, if it names one.
    pub(crate) fn of(extensions: Option<&Value>) -> Result<Option<Self>, ExtensionError> {
        let Some(persisted) = extensions.and_then(|e| e.get("persistedQuery")).filter(|p| !p.is_null()) else {
            return Ok(None);
        };
        if persisted.get("version").and_then(Value::as_u64) != Some(VERSION) {
            return Err(ExtensionError::Malformed("persistedQuery.version must be 1"));
        }
        let hash = persisted.get("sha256Hash").and_then(Value::as_str).unwrap_or_default();
        if hash.len() != 64 || !hash.bytes().all(|b| b.is_ascii_hexdigit()) {
            return Err(ExtensionError::Malformed("persistedQuery.sha256Hash must be 64 hexadecimal digits"));
        }
        Ok(Some(Self(hash.to_ascii_lowercase())))
    }

    /// The hash in lower-case hexadecimal.
    pub(crate) fn as_str(&self) -> &str {
        &self.0
    }

    /// Whether this is the SHA-256 of `document`.
    pub(crate) fn matches(&self, document: &str) -> bool {
        sha256_hex(document) == self.0
    }
}

/// The documents this gateway knows by hash.
pub(crate) struct PersistedQueries {
    /// `None` when the protocol is off.
    store: Option<Mutex<Store>>,
}

struct Store {
    documents: LruCache<String, String>,
    bytes: usize,
    max_bytes: usize,
}

impl PersistedQueries {
    /// A store holding at most `max_bytes` of documents; 0 turns the protocol off.
    pub(crate) fn new(max_bytes: usize) -> Self {
        let store =
            (max_bytes > 0).then(|| Mutex::new(Store { documents: LruCache::unbounded(), bytes: 0, max_bytes }));
        Self { store }
    }

    /// Whether the protocol is on.
    pub(crate) fn enabled(&self) -> bool {
        self.store.is_some()
    }

    /// The document kept under `hash`, if any (and it counts as used).
    pub(crate) fn get(&self, hash: &PersistedHash) -> Option<String> {
        let store = self.store.as_ref()?;
        let mut store = store.lock().unwrap_or_else(PoisonError::into_inner);
        store.documents.get(&hash.0).cloned()
    }

    /// Keeps `document` under `hash`, which the caller checked it matches,
    /// dropping the least recently used documents beyond the byte limit.
    pub(crate) fn put(&self, hash: &PersistedHash, document: &str) {
        let Some(store) = self.store.as_ref() else { return };
        let mut store = store.lock().unwrap_or_else(PoisonError::into_inner);
        if document.len() > store.max_bytes || store.documents.contains(&hash.0) {
            return;
        }
        store.bytes += document.len();
        store.documents.put(hash.0.clone(), document.to_owned());
        while store.bytes > store.max_bytes {
            match store.documents.pop_lru() {
                Some((_, evicted)) => store.bytes -= evicted.len(),
                None => break,
            }
        }
    }
}

impl Default for PersistedQueries {
    fn default() -> Self {
        Self::new(0)
    }
}

/// Where a request's document comes from.
pub(crate) struct Documents {
    automatic: PersistedQueries,
    trusted: Option<TrustedDocuments>,
    untrusted: DocumentPolicy,
}

/// The document a request runs, and the hash to keep it under once it ran.
#[derive(Debug)]
pub(crate) struct Found {
    /// The document's text.
    pub(crate) document: String,
    /// Set when the request registers its document (APQ's second step).
    pub(crate) keep_as: Option<PersistedHash>,
}

/// Why a request has no document to run.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Refused {
    /// Neither a query nor a hash.
    Missing,
    /// The hash sent with a document is not its SHA-256.
    HashMismatch,
    /// A hash alone, and automatic persisted queries are off.
    NotSupported,
    /// A hash alone that this gateway does not know (yet).
    NotFound,
    /// Only trusted documents run, and this is not one of them.
    NotInList,
}

impl Refused {
    /// The error's code and message (the protocol fixes the APQ messages).
    pub(crate) fn code_and_message(self) -> (ApiCode, &'static str) {
        match self {
            Self::Missing => (ApiCode::BadRequest, "the query parameter is missing"),
            Self::HashMismatch => (ApiCode::BadRequest, "persistedQuery.sha256Hash is not the SHA-256 of the query"),
            Self::NotSupported => (ApiCode::PersistedQueryNotSupported, "PersistedQueryNotSupported"),
            Self::NotFound => (ApiCode::PersistedQueryNotFound, "PersistedQueryNotFound"),
            Self::NotInList => (
                ApiCode::PersistedQueryNotInList,
                "this gateway runs only the operations its apps registered, and this is not one of them",
            ),
        }
    }
}

impl Documents {
    /// The sources a gateway was configured with.
    pub(crate) fn new(
        automatic: PersistedQueries,
        trusted: Option<TrustedDocuments>,
        untrusted: DocumentPolicy,
    ) -> Self {
        Self { automatic, trusted, untrusted }
    }

    /// The document a request with `query` and/or `hash` runs.
    pub(crate) fn find(&self, query: Option<String>, hash: Option<PersistedHash>) -> Result<Found, Refused> {
        let refusing = self.untrusted == DocumentPolicy::Refuse;
        // A hash sent with its document was checked to be the document's, so
        // it answers for the document without hashing it again.
        let listed = |document: &str, hash: Option<&PersistedHash>| match (&self.trusted, hash) {
            (None, _) => false,
            (Some(list), Some(hash)) => list.get(hash).is_some(),
            (Some(list), None) => list.lists(document),
        };
        match (query.filter(|q| !q.trim().is_empty()), hash) {
            (None, None) => Err(Refused::Missing),
            (Some(query), Some(hash)) if !hash.matches(&query) => Err(Refused::HashMismatch),
            (Some(query), hash) if listed(&query, hash.as_ref()) => Ok(Found { document: query, keep_as: None }),
            (Some(_), _) if refusing => Err(Refused::NotInList),
            (Some(query), keep_as) => Ok(Found { document: query, keep_as }),
            (None, Some(hash)) => {
                if let Some(document) = self.trusted.as_ref().and_then(|list| list.get(&hash)) {
                    return Ok(Found { document: document.to_owned(), keep_as: None });
                }
                if refusing {
                    return Err(Refused::NotInList);
                }
                if !self.automatic.enabled() {
                    return Err(Refused::NotSupported);
                }
                let document = self.automatic.get(&hash).ok_or(Refused::NotFound)?;
                Ok(Found { document, keep_as: None })
            }
        }
    }

    /// Keeps a document that ran under the hash it was sent with.
    pub(crate) fn keep(&self, hash: &PersistedHash, document: &str) {
        self.automatic.put(hash, document);
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    fn hash_of(document: &str) -> PersistedHash {
        PersistedHash(sha256_hex(document))
    }

    #[test]
    fn the_extension_is_read_as_the_protocol_writes_it() {
        let hash = "ecf4edb46db40b5132295c0291d62fb65d6759a9eedfa4d5d612dd5ec54a6b38";
        let given = json!({ "persistedQuery": { "version": 1, "sha256Hash": hash } });
        assert_eq!(PersistedHash::of(Some(&given)), Ok(Some(PersistedHash(hash.into()))));
        assert_eq!(PersistedHash::of(None), Ok(None));
        assert_eq!(PersistedHash::of(Some(&json!({ "other": 1 }))), Ok(None));
        let version_two = json!({ "persistedQuery": { "version": 2, "sha256Hash": hash } });
        assert!(PersistedHash::of(Some(&version_two)).is_err());
        let short = json!({ "persistedQuery": { "version": 1, "sha256Hash": "abc" } });
        assert!(PersistedHash::of(Some(&short)).is_err());
    }

    #[test]
    fn a_hash_matches_only_its_own_document() {
        // The protocol's own example: the SHA-256 of `{__typename}`.
        let hash = PersistedHash("ecf4edb46db40b5132295c0291d62fb65d6759a9eedfa4d5d612dd5ec54a6b38".into());
        assert!(hash.matches("{__typename}"));
        assert!(!hash.matches("{ __typename }"));
    }

    #[test]
    fn the_store_keeps_its_byte_limit_dropping_the_least_recently_used() {
        let store = PersistedQueries::new(30);
        let (a, b, c) = ("{ a { id } }", "{ b { id } }", "{ c { id } }");
        store.put(&hash_of(a), a);
        store.put(&hash_of(b), b);
        assert_eq!(store.get(&hash_of(a)).as_deref(), Some(a), "a is now the most recent");
        store.put(&hash_of(c), c);
        assert!(store.get(&hash_of(b)).is_none(), "b was least recently used");
        assert!(store.get(&hash_of(a)).is_some() && store.get(&hash_of(c)).is_some());
        let too_big = "x".repeat(31);
        store.put(&hash_of(&too_big), &too_big);
        assert!(store.get(&hash_of(&too_big)).is_none());
        let off = PersistedQueries::new(0);
        off.put(&hash_of(a), a);
        assert!(!off.enabled() && off.get(&hash_of(a)).is_none());
    }
}
