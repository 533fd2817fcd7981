//! `query_knowledge_graph`'s commands over the parsed repositories, with the anchor's command
//! names and `data` fields: `repos`, `explore <repo>`, `classes [repo]`, `class <name>`,
//! `method <name> [class]`, and `query <cypher>` (read-only, through the same guard as
//! `query_document_graph`). A repository is named by its key or, when unambiguous, its name.

use serde_json::{Value, json};

use super::CodeGraph;
use crate::domain::code::SymbolKind;
use crate::domain::code_index::{CodeIndex, SymbolRef};
use crate::domain::cypher_guard::{check_read_only, with_row_limit};
use crate::error::{Error, Result};
use crate::ports::RepositorySummary;

/// Rows a listing command returns (the anchor's 20).
const LIST_LIMIT: usize = 20;
/// Rows `query` returns.
const QUERY_ROWS: usize = 100;

const USAGE: &str =
    "commands: repos | explore <repo> | classes [repo] | class <name> | method <name> [class] | query <cypher>";

/// One command's answer.
#[derive(Debug, Clone, PartialEq)]
pub struct CommandAnswer {
    /// The command word, lower-cased.
    pub command: String,
    pub data: Value,
    pub total_results: usize,
    /// More matched than were returned.
    pub limited: bool,
}

impl CodeGraph {
    /// Run one `query_knowledge_graph` command.
    ///
    /// # Errors
    /// `BadInput` for an unknown command, missing arguments, an unknown or ambiguous repository,
    /// or a Cypher query that writes; `NotFound` for an unknown class; `Unavailable` when the
    /// graph store fails.
    pub async fn command(&self, line: &str) -> Result<CommandAnswer> {
        let line = line.trim();
        let (word, rest) = line.split_once(char::is_whitespace).map_or((line, ""), |(w, r)| (w, r.trim()));
        let word = word.to_ascii_lowercase();
        let args: Vec<&str> = rest.split_whitespace().collect();
        let answer = |data: Value, total: usize, limited: bool| CommandAnswer {
            command: word.clone(),
            data,
            total_results: total,
            limited,
        };
        match word.as_str() {
            "repos" => {
                let repos = self.store().repositories().await?;
                let names: Vec<&str> = repos.iter().map(|r| r.info.name.as_str()).collect();
                let detail: Vec<Value> = repos.iter().map(repository_json).collect();
                Ok(answer(json!({"repositories": names, "repository_details": detail}), repos.len(), false))
            }
            "explore" => {
                let name =
                    args.first().ok_or_else(|| Error::bad_input(format!("explore needs a repository; {USAGE}")))?;
                let repo = self.repository(name).await?;
                let c = repo.counts;
                let data = json!({
                    "repository": repo.info.name,
                    "key": repo.info.key,
                    "commit": repo.info.commit,
                    "root_modules": repo.info.root_modules,
                    "statistics": {
                        "files": c.files, "classes": c.classes, "functions": c.functions, "methods": c.methods,
                        "attributes": c.attributes, "imports": c.imports, "inherits": c.inherits,
                    },
                });
                Ok(answer(data, 1, false))
            }
            "classes" => {
                let filter = match args.first() {
                    Some(name) => Some(self.repository(name).await?.info.key),
                    None => None,
                };
                let index = self.index().await?;
                let mut found = index
                    .find(|s| s.kind.is_type() && filter.as_ref().is_none_or(|k| s.key.starts_with(&format!("{k}::"))));
                sort_by_name(&index, &mut found);
                let total = found.len();
                let classes: Vec<Value> = found
                    .iter()
                    .take(LIST_LIMIT)
                    .map(|&c| {
                        let s = index.symbol(c);
                        json!({"name": s.name, "full_name": s.qualified_name, "kind": s.kind.as_str(), "repository": index.repository_key(c.repo)})
                    })
                    .collect();
                Ok(answer(json!({"classes": classes, "repository_filter": args.first()}), total, total > LIST_LIMIT))
            }
            "class" => {
                let name =
                    args.first().ok_or_else(|| Error::bad_input(format!("class needs a class name; {USAGE}")))?;
                let index = self.index().await?;
                let mut found = index.types_named(name);
                sort_by_name(&index, &mut found);
                let Some(&first) = found.first() else {
                    let names: Vec<String> =
                        index.find(|s| s.kind.is_type()).iter().map(|&c| index.symbol(c).name.clone()).collect();
                    let closest = crate::domain::code_index::closest_names(name, &names, 5);
                    return Err(Error::NotFound(format!(
                        "no class '{name}' in the parsed repositories{}",
                        if closest.is_empty() { String::new() } else { format!("; closest: {}", closest.join(", ")) }
                    )));
                };
                let others: Vec<Value> = found[1..]
                    .iter()
                    .map(|&c| json!({"full_name": index.symbol(c).qualified_name, "repository": index.repository_key(c.repo)}))
                    .collect();
                Ok(answer(json!({"class": class_json(&index, first), "other_matches": others}), found.len(), false))
            }
            "method" => {
                let name =
                    args.first().ok_or_else(|| Error::bad_input(format!("method needs a method name; {USAGE}")))?;
                let class = args.get(1).copied();
                let index = self.index().await?;
                let mut found = index.find(|s| s.kind == SymbolKind::Method && s.name == *name);
                found.retain(|&m| {
                    class.is_none_or(|c| {
                        owner(&index, m)
                            .is_some_and(|o| index.symbol(o).name == c || index.symbol(o).qualified_name == c)
                    })
                });
                sort_by_name(&index, &mut found);
                let total = found.len();
                let limit = if class.is_some() { total } else { LIST_LIMIT };
                let methods: Vec<Value> = found
                    .iter()
                    .take(limit)
                    .map(|&m| {
                        let s = index.symbol(m);
                        let o = owner(&index, m).map(|o| index.symbol(o));
                        json!({
                            "class_name": o.map(|o| o.name.clone()),
                            "class_full_name": o.map(|o| o.qualified_name.clone()),
                            "method_name": s.name,
                            "parameters": s.params.iter().map(crate::domain::code::Param::detailed).collect::<Vec<_>>(),
                            "return_type": s.return_type,
                            "legacy_args": s.params.iter().map(|p| p.name.clone()).collect::<Vec<_>>(),
                            "binding": s.binding,
                            "visibility": s.visibility,
                            "file": s.file,
                            "line": s.line,
                            "repository": index.repository_key(m.repo),
                        })
                    })
                    .collect();
                Ok(answer(json!({"methods": methods, "class_filter": class}), total, total > limit))
            }
            "query" => {
                let cypher = unquote(rest);
                if cypher.is_empty() {
                    return Err(Error::bad_input(format!("query needs a Cypher query; {USAGE}")));
                }
                let graph = self
                    .cypher()
                    .ok_or_else(|| Error::unavailable("this server has no graph database for Cypher queries"))?;
                // The same guard as query_document_graph, before any backend sees the query.
                let checked = check_read_only(cypher).map_err(|e| Error::BadInput(e.to_string()))?;
                let rows = graph.read_query(&with_row_limit(&checked, QUERY_ROWS + 1), QUERY_ROWS + 1).await?;
                let limited = rows.len() > QUERY_ROWS;
                let results: Vec<_> = rows.into_iter().take(QUERY_ROWS).collect();
                let total = results.len();
                Ok(answer(json!({"query": cypher, "results": results}), total, limited))
            }
            "" => Err(Error::bad_input(format!("empty command; {USAGE}"))),
            other => Err(Error::bad_input(format!("unknown command '{other}'; {USAGE}"))),
        }
    }

    /// A stored repository by key or by unambiguous name.
    async fn repository(&self, name: &str) -> Result<RepositorySummary> {
        let repos = self.store().repositories().await?;
        if let Some(r) = repos.iter().find(|r| r.info.key == name) {
            return Ok(r.clone());
        }
        let matches: Vec<&RepositorySummary> = repos.iter().filter(|r| r.info.name == name).collect();
        match matches.as_slice() {
            [one] => Ok((*one).clone()),
            [] => Err(Error::bad_input(format!(
                "repository '{name}' is not parsed; parsed: {}",
                repos.iter().map(|r| r.info.key.as_str()).collect::<Vec<_>>().join(", ")
            ))),
            many => Err(Error::bad_input(format!(
                "'{name}' names several repositories; use one of their keys: {}",
                many.iter().map(|r| r.info.key.as_str()).collect::<Vec<_>>().join(", ")
            ))),
        }
    }
}

fn repository_json(r: &RepositorySummary) -> Value {
    json!({
        "key": r.info.key, "name": r.info.name, "url": r.info.url, "commit": r.info.commit,
        "reference": r.info.reference, "parsed_at": r.info.parsed_at, "files": r.counts.files,
        "classes": r.counts.classes, "functions": r.counts.functions, "methods": r.counts.methods,
    })
}

fn class_json(index: &CodeIndex, c: SymbolRef) -> Value {
    let s = index.symbol(c);
    let members = index.own_members(c);
    let of = |kind: SymbolKind| members.iter().map(|&m| index.symbol(m)).filter(move |m| m.kind == kind);
    let methods: Vec<Value> = of(SymbolKind::Method)
        .map(|m| {
            json!({
                "name": m.name,
                "parameters": m.params.iter().map(crate::domain::code::Param::detailed).collect::<Vec<_>>(),
                "return_type": m.return_type,
                "binding": m.binding,
                "visibility": m.visibility,
                "line": m.line,
            })
        })
        .collect();
    let attributes: Vec<Value> = of(SymbolKind::Attribute)
        .map(|a| json!({"name": a.name, "type": a.type_name, "visibility": a.visibility}))
        .collect();
    json!({
        "name": s.name,
        "full_name": s.qualified_name,
        "kind": s.kind.as_str(),
        "repository": index.repository_key(c.repo),
        "file": s.file,
        "line": s.line,
        "bases": index.bases_of(c),
        "methods": methods,
        "attributes": attributes,
    })
}

fn owner(index: &CodeIndex, member: SymbolRef) -> Option<SymbolRef> {
    index.parent_of(member)
}

fn sort_by_name(index: &CodeIndex, refs: &mut [SymbolRef]) {
    refs.sort_by(|a, b| {
        let (x, y) = (index.symbol(*a), index.symbol(*b));
        x.name.cmp(&y.name).then_with(|| x.qualified_name.cmp(&y.qualified_name))
    });
}

/// The anchor's examples quote the whole query; the quotes are not Cypher.
fn unquote(text: &str) -> &str {
    let t = text.trim();
    for q in ['"', '\''] {
        if t.len() >= 2 && t.starts_with(q) && t.ends_with(q) {
            return &t[1..t.len() - 1];
        }
    }
    t
}

#[cfg(test)]
mod tests {
    use super::unquote;

    #[test]
    fn quoted_queries_lose_their_quotes_only() {
        assert_eq!(unquote("\"MATCH (c:Class) RETURN c.name\""), "MATCH (c:Class) RETURN c.name");
        assert_eq!(unquote("MATCH (c {name: 'x'}) RETURN c"), "MATCH (c {name: 'x'}) RETURN c");
    }
}
