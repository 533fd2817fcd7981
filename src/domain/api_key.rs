//! API keys as pure rules: the key format (`crk_<id>_<32 url-safe chars>`), the SHA-256 digest
//! stored in place of the secret, the constant-time comparison of two digests, the scopes
//! (`read` < `crawl` < `admin`: each implies the ones below it) and the one table saying which
//! scope each MCP tool needs.

use std::fmt;

use sha2::{Digest, Sha256};

/// What a key may do. Ordered: a key holding a scope may do everything a lower one allows.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Scope {
    /// Query tools, `tools/list`, `initialize`, `/ready`.
    Read,
    /// Crawl, parse, check and job tools.
    Crawl,
    /// Deletion, `/metrics`.
    Admin,
}

impl Scope {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Read => "read",
            Self::Crawl => "crawl",
            Self::Admin => "admin",
        }
    }

    /// Parse one scope name.
    ///
    /// # Errors
    /// [`KeyError::UnknownScope`] for anything but `read`, `crawl`, `admin`.
    pub fn parse(name: &str) -> Result<Self, KeyError> {
        match name.trim() {
            "read" => Ok(Self::Read),
            "crawl" => Ok(Self::Crawl),
            "admin" => Ok(Self::Admin),
            other => Err(KeyError::UnknownScope(other.to_owned())),
        }
    }

    /// Parse a comma-separated list (`read,crawl`); empty entries are skipped.
    ///
    /// # Errors
    /// An unknown scope, or no scope at all.
    pub fn parse_list(list: &str) -> Result<Vec<Self>, KeyError> {
        let mut scopes: Vec<Self> =
            list.split(',').filter(|s| !s.trim().is_empty()).map(Self::parse).collect::<Result<_, _>>()?;
        scopes.sort();
        scopes.dedup();
        if scopes.is_empty() {
            return Err(KeyError::NoScope);
        }
        Ok(scopes)
    }

    /// Join scopes as stored: `read,crawl`.
    pub fn join(scopes: &[Self]) -> String {
        scopes.iter().map(|s| s.as_str()).collect::<Vec<_>>().join(",")
    }
}

impl fmt::Display for Scope {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Whether a key holding `granted` may do what needs `required` (a higher scope implies lower).
pub fn allows(granted: &[Scope], required: Scope) -> bool {
    granted.iter().any(|g| *g >= required)
}

/// The scope an MCP tool needs: the one table. Unknown tools need `admin` (fail closed).
pub fn scope_for_tool(tool: &str) -> Scope {
    match tool {
        "perform_rag_query"
        | "search_code_examples"
        | "get_available_sources"
        | "graphrag_query"
        | "get_entity_context"
        | "query_document_graph"
        | "query_knowledge_graph" => Scope::Read,
        "crawl_single_page"
        | "smart_crawl_url"
        | "crawl_with_stealth_mode"
        | "crawl_with_multi_url_config"
        | "crawl_with_memory_monitoring"
        | "crawl_with_graph_extraction"
        | "parse_github_repository"
        | "parse_github_repositories_batch"
        | "check_ai_script_hallucinations"
        | "get_crawl_job"
        | "list_crawl_jobs"
        | "cancel_crawl_job" => Scope::Crawl,
        _ => Scope::Admin,
    }
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum KeyError {
    #[error("unknown scope {0:?} (expected read, crawl or admin)")]
    UnknownScope(String),
    #[error("a key needs at least one scope (read, crawl, admin)")]
    NoScope,
}

/// Prefix of every key.
pub const KEY_PREFIX: &str = "crk_";
/// Characters of a key shown in listings (enough to tell keys apart, too few to use).
pub const SHOWN_PREFIX_LEN: usize = 8;
const SECRET_LEN: usize = 32;
const URL_SAFE: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";

/// A freshly made key: the full secret (shown once) and what is stored.
#[derive(Debug, Clone)]
pub struct NewKey {
    pub id: String,
    pub secret: String,
    pub prefix: String,
    pub hash: [u8; 32],
}

/// Make a key with id `id` from 24 random bytes (`random`, e.g. two v4 UUIDs' bytes): 32 url-safe
/// characters, 6 bits each.
pub fn make_key(id: &str, random: &[u8; 24]) -> NewKey {
    let mut tail = String::with_capacity(SECRET_LEN);
    for chunk in random.chunks(3) {
        let n = (u32::from(chunk[0]) << 16) | (u32::from(chunk[1]) << 8) | u32::from(chunk[2]);
        for shift in [18, 12, 6, 0] {
            tail.push(char::from(URL_SAFE[((n >> shift) & 63) as usize]));
        }
    }
    let secret = format!("{KEY_PREFIX}{id}_{tail}");
    NewKey { id: id.to_owned(), prefix: secret.chars().take(SHOWN_PREFIX_LEN).collect(), hash: digest(&secret), secret }
}

/// The id a well-formed key carries, or `None` when `key` does not look like one.
pub fn parse_key(key: &str) -> Option<&str> {
    let rest = key.strip_prefix(KEY_PREFIX)?;
    let (id, tail) = rest.split_once('_')?;
    let well_formed = !id.is_empty()
        && id.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-')
        && tail.len() == SECRET_LEN
        && tail.bytes().all(|b| URL_SAFE.contains(&b));
    well_formed.then_some(id)
}

/// SHA-256 of a key: what is stored and looked up.
pub fn digest(key: &str) -> [u8; 32] {
    Sha256::digest(key.as_bytes()).into()
}

/// Compare two digests in constant time (every byte is visited whatever differs).
pub fn digests_equal(a: &[u8], b: &[u8]) -> bool {
    if a.len() != b.len() {
        return false;
    }
    let mut diff = 0u8;
    for (x, y) in a.iter().zip(b) {
        diff |= x ^ y;
    }
    std::hint::black_box(diff) == 0
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn scope_table_and_implication() {
        assert_eq!(scope_for_tool("get_available_sources"), Scope::Read);
        assert_eq!(scope_for_tool("perform_rag_query"), Scope::Read);
        assert_eq!(scope_for_tool("smart_crawl_url"), Scope::Crawl);
        assert_eq!(scope_for_tool("parse_github_repository"), Scope::Crawl);
        assert_eq!(scope_for_tool("cancel_crawl_job"), Scope::Crawl);
        assert_eq!(scope_for_tool("delete_source"), Scope::Admin);
        assert_eq!(scope_for_tool("no_such_tool"), Scope::Admin);
        assert!(allows(&[Scope::Admin], Scope::Read));
        assert!(allows(&[Scope::Crawl], Scope::Read));
        assert!(!allows(&[Scope::Read], Scope::Crawl));
        assert!(!allows(&[Scope::Crawl], Scope::Admin));
        assert!(!allows(&[], Scope::Read));
    }

    #[test]
    fn scope_lists_parse() {
        assert_eq!(Scope::parse_list("crawl, read,read").unwrap(), vec![Scope::Read, Scope::Crawl]);
        assert_eq!(Scope::parse_list("").unwrap_err(), KeyError::NoScope);
        assert!(matches!(Scope::parse_list("read,write"), Err(KeyError::UnknownScope(s)) if s == "write"));
        assert_eq!(Scope::join(&[Scope::Read, Scope::Admin]), "read,admin");
    }

    #[test]
    fn keys_have_the_format_and_parse_back() {
        let key = make_key("0a1b2c3d", &[7; 24]);
        assert!(key.secret.starts_with("crk_0a1b2c3d_"));
        assert_eq!(key.secret.len(), "crk_0a1b2c3d_".len() + 32);
        assert_eq!(key.prefix, "crk_0a1b");
        assert_eq!(parse_key(&key.secret), Some("0a1b2c3d"));
        assert_eq!(key.hash, digest(&key.secret));
        assert_eq!(parse_key("crk_0a1b2c3d_short"), None);
        // `_` is a url-safe character: a secret containing it still parses.
        let underscored = make_key("0a1b2c3d", &[0xff; 24]);
        assert!(underscored.secret.ends_with("____"));
        assert_eq!(parse_key(&underscored.secret), Some("0a1b2c3d"));
        assert_eq!(parse_key("Bearer x"), None);
        let other = make_key("0a1b2c3d", &[8; 24]);
        assert_ne!(other.secret, key.secret);
    }

    #[test]
    fn digests_compare_equal_only_when_equal() {
        let a = digest("a");
        assert!(digests_equal(&a, &digest("a")));
        assert!(!digests_equal(&a, &digest("b")));
        assert!(!digests_equal(&a, &a[..31]));
        let mut flipped = a;
        flipped[31] ^= 1;
        assert!(!digests_equal(&a, &flipped));
    }
}
