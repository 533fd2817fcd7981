//! URL rules of the frontier: normalisation for dedupe (RFC 3986 §6 plus common practice: no
//! fragment, no default port, no tracking parameters, no trailing slash on non-root paths),
//! crawl scope, include/exclude globs, and crawler-trap heuristics. Pure functions.

use url::Url;

/// Query parameters that only track clicks and never change content.
const TRACKING_PARAMS: &[&str] = &["gclid", "fbclid", "msclkid", "mc_cid", "mc_eid", "_ga", "ref_src", "yclid"];
/// Longest URL followed; longer ones are almost always generated (traps, session ids).
const MAX_URL_LEN: usize = 1024;
const MAX_PATH_SEGMENTS: usize = 16;
const MAX_SEGMENT_REPEATS: usize = 3;
const MAX_QUERY_PARAMS: usize = 8;

/// The dedupe key of a URL.
pub fn normalize(url: &Url) -> Url {
    let mut url = url.clone();
    url.set_fragment(None);
    let kept: Vec<(String, String)> = url
        .query_pairs()
        .filter(|(k, _)| !k.starts_with("utm_") && !TRACKING_PARAMS.contains(&k.as_ref()))
        .map(|(k, v)| (k.into_owned(), v.into_owned()))
        .collect();
    if kept.is_empty() {
        url.set_query(None);
    } else {
        url.query_pairs_mut().clear().extend_pairs(kept);
    }
    let path = url.path().to_owned();
    if path.len() > 1 && path.ends_with('/') {
        url.set_path(path.trim_end_matches('/'));
    }
    url
}

/// How far a crawl may wander from its start URL.
#[derive(
    Debug,
    Clone,
    Copy,
    Default,
    PartialEq,
    Eq,
    serde::Serialize,
    serde::Deserialize,
    schemars::JsonSchema,
    clap::ValueEnum,
)]
#[serde(rename_all = "lowercase")]
pub enum Scope {
    /// Same host and port, under the start URL's directory (`/docs/` stays in `/docs/`).
    #[default]
    Prefix,
    /// Same host and port, any path.
    Host,
    /// The start host's domain and its subdomains (`docs.example.com` -> `*.example.com`).
    Domain,
}

/// A scope bound to a start URL.
#[derive(Debug, Clone)]
pub struct ScopeRule {
    scope: Scope,
    host: String,
    port: Option<u16>,
    prefix: String,
    domain: String,
}

impl ScopeRule {
    pub fn new(start: &Url, scope: Scope) -> Self {
        let host = start.host_str().unwrap_or_default().to_ascii_lowercase();
        let path = start.path();
        let prefix = match path.rfind('/') {
            Some(i) => path[..=i].to_owned(),
            None => "/".to_owned(),
        };
        let labels: Vec<&str> = host.split('.').collect();
        let domain = if labels.len() > 2 && host.parse::<std::net::IpAddr>().is_err() {
            labels[labels.len() - 2..].join(".")
        } else {
            host.clone()
        };
        Self { scope, host, port: start.port_or_known_default(), prefix, domain }
    }

    pub fn allows(&self, url: &Url) -> bool {
        let host = url.host_str().unwrap_or_default().to_ascii_lowercase();
        let same_host = host == self.host && url.port_or_known_default() == self.port;
        match self.scope {
            Scope::Prefix => {
                same_host && (url.path().starts_with(&self.prefix) || format!("{}/", url.path()) == self.prefix)
            }
            Scope::Host => same_host,
            Scope::Domain => host == self.domain || host.ends_with(&format!(".{}", self.domain)),
        }
    }
}

/// `*` matches any run of characters; everything else is literal. A pattern without `*` matches
/// as a substring, so `"/blog/"` excludes every URL containing it.
pub fn glob_match(pattern: &str, text: &str) -> bool {
    if !pattern.contains('*') {
        return text.contains(pattern);
    }
    let parts: Vec<&str> = pattern.split('*').collect();
    let mut rest = text;
    for (i, part) in parts.iter().enumerate() {
        if part.is_empty() {
            continue;
        }
        if i == 0 {
            let Some(stripped) = rest.strip_prefix(part) else { return false };
            rest = stripped;
        } else if i == parts.len() - 1 {
            return rest.ends_with(part);
        } else {
            let Some(at) = rest.find(part) else { return false };
            rest = &rest[at + part.len()..];
        }
    }
    true
}

/// Why `url` looks like a crawler trap (endless generated URL spaces), if it does.
pub fn trap_reason(url: &Url) -> Option<&'static str> {
    if url.as_str().len() > MAX_URL_LEN {
        return Some("URL longer than 1024 characters");
    }
    let segments: Vec<&str> = url.path_segments().map(|s| s.filter(|p| !p.is_empty()).collect()).unwrap_or_default();
    if segments.len() > MAX_PATH_SEGMENTS {
        return Some("path deeper than 16 segments");
    }
    if segments.iter().any(|s| segments.iter().filter(|t| *t == s).count() > MAX_SEGMENT_REPEATS) {
        return Some("path repeats a segment more than 3 times");
    }
    if url.query_pairs().count() > MAX_QUERY_PARAMS {
        return Some("more than 8 query parameters");
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    fn u(s: &str) -> Url {
        Url::parse(s).unwrap()
    }

    #[test]
    fn normalisation_drops_noise_and_is_idempotent() {
        let n = normalize(&u("HTTP://Example.COM:80/docs/?utm_source=x&b=2&gclid=y#top"));
        assert_eq!(n.as_str(), "http://example.com/docs?b=2");
        assert_eq!(normalize(&n), n);
        assert_eq!(normalize(&u("https://example.com/")).as_str(), "https://example.com/");
        assert_eq!(normalize(&u("https://example.com/a?utm_medium=z")).as_str(), "https://example.com/a");
    }

    #[test]
    fn scopes() {
        let start = u("https://docs.example.com/guide/intro.html");
        let prefix = ScopeRule::new(&start, Scope::Prefix);
        assert!(prefix.allows(&u("https://docs.example.com/guide/setup.html")));
        assert!(prefix.allows(&u("https://docs.example.com/guide")));
        assert!(!prefix.allows(&u("https://docs.example.com/blog/post.html")));
        assert!(!prefix.allows(&u("https://docs.example.com:8443/guide/x")));
        let host = ScopeRule::new(&start, Scope::Host);
        assert!(host.allows(&u("https://docs.example.com/blog/post.html")));
        assert!(!host.allows(&u("https://api.example.com/")));
        let domain = ScopeRule::new(&start, Scope::Domain);
        assert!(domain.allows(&u("https://api.example.com/")));
        assert!(!domain.allows(&u("https://example.org/")));
    }

    #[test]
    fn globs() {
        assert!(glob_match("*/api/*", "https://x.y/api/v1"));
        assert!(glob_match("https://x.y/*.html", "https://x.y/a/b.html"));
        assert!(!glob_match("https://x.y/*.html", "https://x.y/a/b.pdf"));
        assert!(glob_match("/blog/", "https://x.y/blog/post"));
        assert!(!glob_match("/blog/", "https://x.y/docs/post"));
    }

    #[test]
    fn traps() {
        assert!(trap_reason(&u("https://x.y/a/a/a/a/b")).is_some());
        assert!(trap_reason(&u("https://x.y/?a=1&b=2&c=3&d=4&e=5&f=6&g=7&h=8&i=9")).is_some());
        assert!(trap_reason(&u(&format!("https://x.y/{}", "x".repeat(1100)))).is_some());
        assert!(trap_reason(&u("https://x.y/docs/guide/intro.html?lang=en")).is_none());
    }
}
