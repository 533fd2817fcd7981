//! Crawl-target policy: which URLs may be fetched at all. Pure checks shared by the tools (before
//! any I/O) and the HTTP fetcher (after DNS resolution and on every redirect), so a hostname that
//! resolves to a private address is refused as surely as a literal one (SSRF guard).

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

use url::Url;

pub use super::defaults::DEFAULT_USER_AGENT;

/// Parse a user-supplied crawl target: absolute http(s) URL with a host.
///
/// # Errors
/// A sentence saying what is wrong with the URL.
pub fn parse_target(raw: &str) -> Result<Url, String> {
    let raw = raw.trim();
    if raw.is_empty() {
        return Err("URL is empty".into());
    }
    let url = Url::parse(raw).map_err(|e| format!("'{raw}' is not a valid absolute URL ({e})"))?;
    match url.scheme() {
        "http" | "https" => {}
        other => {
            return Err(format!("scheme '{other}' is not supported; use an http:// or https:// URL"));
        }
    }
    if url.host_str().is_none_or(str::is_empty) {
        return Err(format!("'{raw}' has no host"));
    }
    Ok(url)
}

/// Why `ip` must not be crawled by default, or `None` when it is a public address.
pub fn forbidden_reason(ip: IpAddr) -> Option<&'static str> {
    match ip {
        IpAddr::V4(v4) => forbidden_v4(v4),
        IpAddr::V6(v6) => match v6.to_ipv4_mapped() {
            Some(v4) => forbidden_v4(v4),
            None => forbidden_v6(v6),
        },
    }
}

fn forbidden_v4(ip: Ipv4Addr) -> Option<&'static str> {
    let [a, b, ..] = ip.octets();
    if ip.is_loopback() {
        Some("loopback address")
    } else if ip.is_private() {
        Some("private network address")
    } else if ip == Ipv4Addr::new(169, 254, 169, 254) {
        Some("cloud metadata address")
    } else if ip.is_link_local() {
        Some("link-local address")
    } else if a == 100 && (64..128).contains(&b) {
        Some("carrier-grade NAT address")
    } else if ip.is_unspecified() || ip.is_broadcast() || ip.is_multicast() || a == 0 {
        Some("non-routable address")
    } else {
        None
    }
}

fn forbidden_v6(ip: Ipv6Addr) -> Option<&'static str> {
    let first = ip.segments()[0];
    if ip.is_loopback() {
        Some("loopback address")
    } else if ip.is_unspecified() || ip.is_multicast() {
        Some("non-routable address")
    } else if first & 0xfe00 == 0xfc00 {
        Some("private network address (unique local)")
    } else if first & 0xffc0 == 0xfe80 {
        Some("link-local address")
    } else if ip == Ipv6Addr::new(0xfd00, 0xec2, 0, 0, 0, 0, 0, 0x254) {
        Some("cloud metadata address")
    } else {
        None
    }
}

/// The literal IP of `url`'s host, if it is one.
/// Hosts the private-network guard lets through (e.g. an internal docs server the operator names
/// in `CRAWLRAG_TRUSTED_HOSTS`); everything else private stays refused.
#[derive(Debug, Clone, Default)]
pub struct TrustedHosts(std::sync::Arc<[String]>);

impl TrustedHosts {
    pub fn new(hosts: impl IntoIterator<Item = String>) -> Self {
        Self(
            hosts
                .into_iter()
                .map(|h| h.trim().trim_matches(['[', ']']).to_ascii_lowercase())
                .filter(|h| !h.is_empty())
                .collect(),
        )
    }

    /// Whether `host` (a name or an IP literal, brackets allowed) was named trusted.
    pub fn contains(&self, host: &str) -> bool {
        let host = host.trim_matches(['[', ']']).to_ascii_lowercase();
        self.0.contains(&host)
    }

    /// Why the guard refuses `url` without resolving it: a literal private IP not trusted.
    pub fn literal_refusal(&self, url: &Url) -> Option<&'static str> {
        let reason = literal_ip(url).and_then(forbidden_reason)?;
        (!self.contains(url.host_str().unwrap_or_default())).then_some(reason)
    }
}

pub fn literal_ip(url: &Url) -> Option<IpAddr> {
    match url.host()? {
        url::Host::Ipv4(v4) => Some(IpAddr::V4(v4)),
        url::Host::Ipv6(v6) => Some(IpAddr::V6(v6)),
        url::Host::Domain(_) => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn trusted_hosts_exempt_only_what_they_name() {
        let trusted = TrustedHosts::new(["Docs.Internal".to_owned(), "10.0.0.5".to_owned(), " ".to_owned()]);
        assert!(trusted.contains("docs.internal") && trusted.contains("10.0.0.5"));
        assert!(!trusted.contains("10.0.0.6") && !trusted.contains(""));
        let url = |s: &str| Url::parse(s).unwrap();
        assert_eq!(trusted.literal_refusal(&url("http://10.0.0.5/x")), None);
        assert!(trusted.literal_refusal(&url("http://10.0.0.6/x")).is_some());
        assert_eq!(trusted.literal_refusal(&url("http://example.org/x")), None, "names are checked after DNS");
    }

    #[test]
    fn rejects_bad_targets_with_reasons() {
        assert!(parse_target("").unwrap_err().contains("empty"));
        assert!(parse_target("not a url").unwrap_err().contains("not a valid"));
        assert!(parse_target("ftp://example.com/x").unwrap_err().contains("scheme 'ftp'"));
        assert!(parse_target("file:///etc/passwd").unwrap_err().contains("scheme 'file'"));
        assert_eq!(parse_target(" https://example.com/a ").unwrap().as_str(), "https://example.com/a");
    }

    #[test]
    fn classifies_addresses() {
        for bad in [
            "127.0.0.1",
            "10.1.2.3",
            "172.16.0.1",
            "192.168.1.1",
            "169.254.169.254",
            "169.254.1.1",
            "100.64.0.1",
            "0.0.0.0",
            "::1",
            "fd00::1",
            "fe80::1",
            "::ffff:127.0.0.1",
        ] {
            assert!(forbidden_reason(bad.parse().unwrap()).is_some(), "{bad} should be forbidden");
        }
        for good in ["93.184.216.34", "8.8.8.8", "100.128.0.1", "2606:4700::1111"] {
            assert_eq!(forbidden_reason(good.parse().unwrap()), None, "{good} should be allowed");
        }
    }
}
