//! GraphRAG entities and relations as data, and the key that resolves different spellings of one
//! entity ("Tokio runtimes", "the tokio runtime", "`Tokio` Runtime") to a single node.

/// The entity types of the system we replace (its LLM extractor's six), so graphs built either way
/// read the same.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum EntityType {
    Concept,
    Technology,
    Configuration,
    Person,
    Organization,
    Product,
}

/// The relation type of co-occurrence (what the structural extractor finds).
pub const CO_OCCURS: &str = "CO_OCCURS";

/// The relation types of the system we replace (its LLM extractor's nine).
pub const RELATION_TYPES: [&str; 9] = [
    "REQUIRES",
    "USES",
    "PART_OF",
    "IMPLEMENTS",
    "CONFIGURES",
    "ENABLES",
    "ALTERNATIVE_TO",
    "PREREQUISITE_FOR",
    "DOCUMENTED_IN",
];

impl EntityType {
    pub const ALL: [Self; 6] =
        [Self::Concept, Self::Technology, Self::Configuration, Self::Person, Self::Organization, Self::Product];

    /// The type named `name` (any case); `None` for names outside the six.
    pub fn parse(name: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|t| t.as_str().eq_ignore_ascii_case(name.trim()))
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Self::Concept => "Concept",
            Self::Technology => "Technology",
            Self::Configuration => "Configuration",
            Self::Person => "Person",
            Self::Organization => "Organization",
            Self::Product => "Product",
        }
    }
}

/// One entity as a chunk mentions it.
#[derive(Debug, Clone, PartialEq)]
pub struct EntityMention {
    /// [`entity_key`] of the name: what mentions are merged on.
    pub key: String,
    /// The name as first written in the chunk.
    pub name: String,
    pub entity_type: EntityType,
    /// Times the chunk mentions it.
    pub count: u32,
}

/// Two related entities: appearing together more often than chance ([`CO_OCCURS`]), or related
/// as a chat model read it (one of [`RELATION_TYPES`]).
#[derive(Debug, Clone, PartialEq)]
pub struct EntityRelation {
    pub source: String,
    pub target: String,
    pub relation_type: String,
    /// Normalised pointwise mutual information over chunks, in (0, 1]; a model's confidence.
    pub weight: f32,
    /// Chunks that mention both.
    pub count: u32,
}

/// Leading words that do not change which entity is meant.
const ARTICLES: [&str; 3] = ["the", "a", "an"];

/// The merge key of an entity name: lower case, markup and punctuation at the edges dropped,
/// inner whitespace collapsed, a leading article dropped, and the last word's English plural
/// folded — except in a one-word capitalised name, which is likely a proper noun ("Windows",
/// "Kubernetes", "Postgres"). `None` when nothing nameable is left.
pub fn entity_key(name: &str) -> Option<String> {
    let cleaned: String = name.chars().filter(|c| !matches!(c, '`' | '"' | '“' | '”')).collect();
    let mut words: Vec<String> = cleaned
        .split_whitespace()
        // Markup and sentence punctuation go; what names carry stays (C++, C#, .NET, --flag).
        .map(|w| {
            w.trim_end_matches(|c: char| c.is_ascii_punctuation() && !matches!(c, '+' | '#'))
                .trim_start_matches(|c: char| c.is_ascii_punctuation() && !matches!(c, '.' | '-' | '#'))
                .to_lowercase()
        })
        .filter(|w| !w.is_empty())
        .collect();
    if words.len() > 1 && ARTICLES.contains(&words[0].as_str()) {
        words.remove(0);
    }
    let last = words.pop()?;
    let proper_noun = words.is_empty()
        && cleaned
            .split_whitespace()
            .last()
            .is_some_and(|w| w.trim_start_matches(|c: char| !c.is_alphanumeric()).starts_with(char::is_uppercase));
    words.push(if proper_noun { last } else { singular(&last) });
    let key = words.join(" ");
    key.chars().any(char::is_alphanumeric).then_some(key)
}

/// English plural folding for the last word of a name; words that only look plural stay.
fn singular(word: &str) -> String {
    let keep = ["ss", "us", "is", "os", "as", "ps"];
    if word.len() <= 3 || !word.chars().all(|c| c.is_ascii_alphabetic()) || keep.iter().any(|e| word.ends_with(e)) {
        return word.to_owned();
    }
    if let Some(stem) = word.strip_suffix("ies") {
        return format!("{stem}y");
    }
    for suffix in ["sses", "shes", "ches", "xes"] {
        if word.ends_with(suffix) {
            return word[..word.len() - 2].to_owned();
        }
    }
    word.strip_suffix('s').unwrap_or(word).to_owned()
}

#[cfg(test)]
mod tests {
    use super::entity_key;

    #[test]
    fn spellings_of_one_entity_share_a_key() {
        let key = |s: &str| entity_key(s).unwrap();
        assert_eq!(key("Tokio runtimes"), "tokio runtime");
        assert_eq!(key("the `Tokio` Runtime"), "tokio runtime");
        assert_eq!(key("**Tokio  runtime**."), "tokio runtime");
        assert_eq!(key("dependencies"), "dependency");
        assert_eq!(key("Build Tools"), "build tool");
        // A capitalised single word is a name: its final "s" stays.
        assert_eq!(key("Windows"), "windows");
        assert_eq!(key("Kubernetes"), "kubernetes");
        assert_eq!(key("classes"), "class");
        assert_eq!(key("branches"), "branch");
        // Words that only look plural, versions and symbols keep their form.
        assert_eq!(key("status"), "status");
        assert_eq!(key("analysis"), "analysis");
        assert_eq!(key("macOS"), "macos");
        assert_eq!(key("C++"), "c++");
        assert_eq!(key(".NET"), ".net");
        assert_eq!(key("CRAWLRAG_DB"), "crawlrag_db");
        assert_eq!(entity_key("``"), None);
        assert_eq!(entity_key(" - "), None);
    }
}
