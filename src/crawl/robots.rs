//! robots.txt (RFC 9309): the group for our user agent (else `*`), allow/disallow rules with `*`
//! and `$` wildcards where the longest match wins and allow wins ties, and `Crawl-delay`.

use std::time::Duration;

/// Longest crawl delay honoured; a site asking for more is crawled at this pace.
const MAX_CRAWL_DELAY: Duration = Duration::from_secs(30);

/// The rules that apply to us.
#[derive(Debug, Clone, Default)]
pub struct Robots {
    rules: Vec<(bool, String)>,
    pub crawl_delay: Option<Duration>,
}

#[derive(Default)]
struct Group {
    agents: Vec<String>,
    rules: Vec<(bool, String)>,
    delay: Option<Duration>,
}

impl Robots {
    /// Everything allowed (no robots.txt, or it could not be read).
    pub fn allow_all() -> Self {
        Self::default()
    }

    /// Parse robots.txt for `user_agent` (matched by its product token, case-insensitively).
    pub fn parse(text: &str, user_agent: &str) -> Self {
        let token = user_agent.split(['/', ' ']).next().unwrap_or(user_agent).to_ascii_lowercase();
        let mut groups: Vec<Group> = Vec::new();
        let mut in_agents = false;
        for line in text.lines() {
            let line = line.split('#').next().unwrap_or("").trim();
            let Some((key, value)) = line.split_once(':') else { continue };
            let (key, value) = (key.trim().to_ascii_lowercase(), value.trim());
            match key.as_str() {
                "user-agent" => {
                    if !in_agents {
                        groups.push(Group::default());
                    }
                    in_agents = true;
                    if let Some(group) = groups.last_mut() {
                        group.agents.push(value.to_ascii_lowercase());
                    }
                }
                "allow" | "disallow" => {
                    in_agents = false;
                    if let Some(group) = groups.last_mut()
                        && !value.is_empty()
                    {
                        group.rules.push((key == "allow", value.to_owned()));
                    }
                }
                "crawl-delay" => {
                    in_agents = false;
                    if let Some(group) = groups.last_mut() {
                        group.delay = value
                            .parse::<f64>()
                            .ok()
                            .filter(|d| d.is_finite() && *d >= 0.0)
                            .map(Duration::from_secs_f64);
                    }
                }
                _ => in_agents = false,
            }
        }
        let pick = |want: &dyn Fn(&str) -> bool| -> Option<Robots> {
            let matching: Vec<&Group> = groups.iter().filter(|g| g.agents.iter().any(|a| want(a))).collect();
            if matching.is_empty() {
                return None;
            }
            Some(Robots {
                rules: matching.iter().flat_map(|g| g.rules.iter().cloned()).collect(),
                crawl_delay: matching.iter().find_map(|g| g.delay).map(|d| d.min(MAX_CRAWL_DELAY)),
            })
        };
        pick(&|a: &str| a != "*" && token.contains(a)).or_else(|| pick(&|a: &str| a == "*")).unwrap_or_default()
    }

    /// Whether `path` (path plus query) may be fetched.
    pub fn allows(&self, path: &str) -> bool {
        let mut best: Option<(usize, bool)> = None;
        for (allow, pattern) in &self.rules {
            if rule_matches(pattern, path) {
                let len = pattern.len();
                best = match best {
                    Some((best_len, best_allow)) if best_len > len || (best_len == len && best_allow) => best,
                    _ => Some((len, *allow)),
                };
            }
        }
        best.is_none_or(|(_, allow)| allow)
    }
}

/// A robots pattern: prefix match, `*` any run, `$` end anchor.
fn rule_matches(pattern: &str, path: &str) -> bool {
    let anchored = pattern.ends_with('$');
    let pattern = pattern.trim_end_matches('$');
    let parts: Vec<&str> = pattern.split('*').collect();
    let mut pos = 0;
    for (i, part) in parts.iter().enumerate() {
        if i == 0 {
            if !path.starts_with(part) {
                return false;
            }
            pos = part.len();
        } else if let Some(found) = path[pos..].find(part) {
            pos += found + part.len();
        } else {
            return false;
        }
    }
    if anchored {
        return pos == path.len() || (parts.len() > 1 && parts.last().is_some_and(|last| path.ends_with(last)));
    }
    true
}

#[cfg(test)]
mod tests {
    use super::*;

    const TXT: &str = "User-agent: *\nDisallow: /private/\nAllow: /private/open.html\nDisallow: /*.pdf$\nCrawl-delay: 0.5\n\n\
                       User-agent: crawlrag\nUser-agent: otherbot\nDisallow: /no-crawlrag/\n";

    #[test]
    fn picks_our_group_else_star() {
        let ours = Robots::parse(TXT, "crawlrag/0.1 (+https://x)");
        assert!(!ours.allows("/no-crawlrag/page"));
        assert!(ours.allows("/private/x"), "our group replaces the * group");
        let other = Robots::parse(TXT, "SomeBot/1.0");
        assert!(!other.allows("/private/secret.html"));
        assert!(other.allows("/private/open.html"), "longest match wins");
        assert!(!other.allows("/files/report.pdf"));
        assert!(other.allows("/files/report.pdf?download=1"));
        assert_eq!(other.crawl_delay, Some(Duration::from_millis(500)));
    }

    #[test]
    fn empty_or_garbage_allows_everything() {
        assert!(Robots::parse("", "x").allows("/anything"));
        assert!(Robots::parse("<html>not robots</html>", "x").allows("/anything"));
        assert!(Robots::parse("User-agent: *\nDisallow:\n", "x").allows("/anything"));
    }
}
