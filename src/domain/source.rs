//! Source identifiers. A source is what the anchor (mcp-crawl4ai-rag) calls a "source": the
//! network location (`host[:port]`) of a crawled URL, so `source_filter` values stay compatible.

use std::fmt;

use url::Url;

/// The source a page belongs to: its URL's `host[:port]` (the anchor's `urlparse(url).netloc`).
#[derive(Debug, Clone, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
#[serde(transparent)]
pub struct SourceId(String);

impl SourceId {
    /// The source of `url`; `None` for URLs without a host (e.g. `data:`).
    pub fn from_url(url: &Url) -> Option<Self> {
        let host = url.host_str()?;
        Some(match url.port() {
            Some(port) => Self(format!("{host}:{port}")),
            None => Self(host.to_owned()),
        })
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl From<String> for SourceId {
    fn from(value: String) -> Self {
        Self(value)
    }
}

impl fmt::Display for SourceId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn source_is_netloc_without_default_port() {
        let url = Url::parse("https://docs.example.com:443/a/b?c#d").unwrap();
        assert_eq!(SourceId::from_url(&url).unwrap().as_str(), "docs.example.com");
        let url = Url::parse("http://127.0.0.1:8080/x").unwrap();
        assert_eq!(SourceId::from_url(&url).unwrap().as_str(), "127.0.0.1:8080");
    }
}
