//! Read-only guard for user-supplied Cypher (`query_document_graph`, `query_knowledge_graph`).
//!
//! This guard is the first line of defence, not the only one: the adapters also run queries
//! through the backend's own read-only path where one exists (`FalkorDB` `GRAPH.RO_QUERY`, `Neo4j`
//! read transactions). `ArcadeDB` ignores Bolt's read mode, so there this guard is all there is.
//!
//! The query is lexed (comments, strings and backtick identifiers are skipped; no regex on raw
//! text) and every word that sits in a clause position is checked, at every nesting depth, so
//! `CALL { ... }` bodies are covered too. The guard errs on the side of refusing: a variable
//! named like a write clause (`MATCH (set)`), any `apoc.` reference, or a word split by a
//! non-ASCII character may be refused although harmless; a write must never get through.
//! It assumes the backend honours backslash escapes in strings (openCypher does; all three do).

/// Why a query was refused; the message is shown to the caller of the tool.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum CypherRefusal {
    /// Nothing but whitespace, comments or a lone `;`.
    #[error("the query is empty")]
    Empty,
    /// Longer than [`MAX_QUERY_BYTES`]: (actual, limit).
    #[error("the query is {0} bytes; the limit is {1}")]
    TooLong(usize, usize),
    /// A clause that writes (or administers); `offset` is the byte offset in the input.
    #[error(
        "read-only query refused: `{clause}` writes to the graph (at byte {offset}); this tool only reads — use MATCH ... RETURN"
    )]
    Write {
        /// The clause, upper-cased (`SET`, `LOAD CSV`, `IN TRANSACTIONS`, ...).
        clause: String,
        /// Byte offset of the clause's first keyword in the query as given.
        offset: usize,
    },
    /// A `CALL` of a procedure not on the allow-list, or any use of the `apoc` namespace.
    #[error("read-only query refused: procedure `{name}` is not on the read-only allow-list")]
    Procedure {
        /// The dotted procedure or function name as written.
        name: String,
    },
    /// Anything else: unterminated string or comment, several statements, malformed `CALL`.
    #[error("read-only query refused: {0}")]
    Other(String),
}

/// Longest query accepted, in bytes.
pub const MAX_QUERY_BYTES: usize = 16 * 1024;

/// Clause keywords that write or administer, refused wherever they stand in a clause position.
/// DETACH/NODETACH are listed on their own so `DETACH DELETE` reports where it starts.
const WRITE_KEYWORDS: &str = "CREATE MERGE SET DELETE DETACH NODETACH REMOVE DROP FOREACH INSERT \
    ALTER GRANT DENY REVOKE TERMINATE RENAME ENABLE DEALLOCATE REALLOCATE";

/// Procedures that only read (schema introspection, index queries, graph algorithms).
const READ_PROCEDURES: &str = "db.labels db.relationshipTypes db.propertyKeys db.indexes db.constraints \
    db.schema.visualization db.schema.nodeTypeProperties db.schema.relTypeProperties \
    db.idx.fulltext.queryNodes db.idx.fulltext.queryRelationships db.idx.vector.queryNodes \
    db.idx.vector.queryRelationships db.index.fulltext.queryNodes db.index.fulltext.queryRelationships \
    db.index.vector.queryNodes algo.pageRank algo.BFS algo.SPpaths algo.SSpaths dbms.components dbms.procedures";

/// Top-level words after which a preceding `LIMIT` no longer ends the query.
const TAIL_RESETS: &str =
    "RETURN WITH UNION MATCH OPTIONAL UNWIND CALL ORDER SKIP OFFSET YIELD WHERE FINISH LET FILTER NEXT";

/// Whether the whitespace-separated `list` holds `word`, ignoring case.
fn listed(list: &str, word: &str) -> bool {
    let word = fold(word);
    list.split_ascii_whitespace().any(|w| w.eq_ignore_ascii_case(&word))
}

/// Check that `query` only reads. Returns the query trimmed (and without a trailing `;`).
///
/// "Trimmed" means cut to its first and last token, so leading and trailing comments go too;
/// that keeps a trailing `// comment` from swallowing a `LIMIT` appended by [`with_row_limit`].
///
/// # Errors
/// A [`CypherRefusal`] saying what was refused and where.
pub fn check_read_only(query: &str) -> Result<String, CypherRefusal> {
    if query.len() > MAX_QUERY_BYTES {
        return Err(CypherRefusal::TooLong(query.len(), MAX_QUERY_BYTES));
    }
    let all = lex(query)?;
    let toks = statement(&all)?;
    let (Some(first), Some(last)) = (toks.first(), toks.last()) else { return Err(CypherRefusal::Empty) };
    let t = Tokens { src: query, toks };
    let mut i = 0;
    while i < toks.len() {
        i = check_at(&t, i)?;
    }
    Ok(query[first.start..last.end].to_owned())
}

/// Return a query that returns at most `limit` rows: if the final RETURN part already has a
/// `LIMIT n` with n <= limit keep it, else append ` LIMIT {limit}` (or replace a larger number,
/// a `$param` or an expression after the final `LIMIT` with `limit`).
///
/// Only top-level words count (a `LIMIT` inside `CALL { }` or `n.limit` does not). Queries
/// without a top-level `RETURN` (a standalone `CALL db.labels()`) are left alone, since `LIMIT`
/// would be a syntax error there. After a `UNION` the appended `LIMIT` binds to the last branch
/// only. So this is a server-side hint to save work; the adapters also truncate rows
/// client-side, and that is what makes the limit correct. Input that does not lex as one
/// statement comes back trimmed and unchanged (it cannot have passed [`check_read_only`]).
#[must_use]
pub fn with_row_limit(checked_query: &str, limit: usize) -> String {
    let src = checked_query;
    let Ok(all) = lex(src) else { return src.trim().to_owned() };
    let Ok(toks) = statement(&all) else { return src.trim().to_owned() };
    let (Some(first), Some(last)) = (toks.first(), toks.last()) else { return String::new() };
    let t = Tokens { src, toks };
    let (mut last_branch_returns, mut tail_limit) = (false, None);
    for (j, tok) in toks.iter().enumerate() {
        let Some(word) = t.clause_word(j).filter(|_| tok.depth == 0) else { continue };
        if word == "LIMIT" {
            tail_limit = Some(j);
        } else if listed(TAIL_RESETS, &word) {
            tail_limit = None;
            if word == "RETURN" {
                last_branch_returns = true;
            } else if word == "UNION" {
                last_branch_returns = false;
            }
        }
    }
    let body = &src[first.start..last.end];
    match tail_limit {
        Some(l) => {
            let small = matches!(&toks[l + 1..], [n] if n.kind == Kind::Number
                && src[n.start..n.end].replace('_', "").parse::<usize>().is_ok_and(|v| v <= limit));
            if small { body.to_owned() } else { format!("{} {limit}", &src[first.start..toks[l].end]) }
        }
        None if last_branch_returns => format!("{body} LIMIT {limit}"),
        None => body.to_owned(),
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Kind {
    /// Unquoted identifier or keyword.
    Word,
    /// Backtick-quoted identifier: never a keyword.
    Quoted,
    Str,
    Number,
    Punct(char),
}

#[derive(Debug, Clone, Copy)]
struct Token {
    kind: Kind,
    start: usize,
    end: usize,
    /// `{ }` depth before the token (map keys only exist inside braces).
    braces: usize,
    /// `( ) [ ] { }` depth before the token (a `LIMIT` only ends the query at depth 0).
    depth: usize,
}

fn other(msg: &str) -> CypherRefusal {
    CypherRefusal::Other(msg.to_owned())
}

/// A word character, upper-cased; `None` ends the word. Besides ASCII letters, digits and `_`
/// this keeps the few non-ASCII letters whose case mapping is an ASCII letter (`ſ`, Kelvin
/// `K`, `ı`, `İ`): a backend folding case the Unicode way could read `ſet` as SET. Any other
/// non-ASCII character splits a word, which can only make the guard stricter.
fn fold_char(c: char) -> Option<char> {
    if c.is_ascii_alphanumeric() || c == '_' {
        return Some(c.to_ascii_uppercase());
    }
    [c.to_uppercase().next(), c.to_lowercase().next()]
        .into_iter()
        .flatten()
        .find(char::is_ascii_alphabetic)
        .map(|a| a.to_ascii_uppercase())
}

/// The word as a keyword: upper-case ASCII (other characters kept).
fn fold(word: &str) -> String {
    word.chars().map(|c| fold_char(c).unwrap_or(c)).collect()
}

/// Every line terminator any backend might honour: ending a `//` comment too early only means
/// scanning more text, ending it too late could hide a clause.
fn is_line_end(c: char) -> bool {
    matches!(c, '\n' | '\r' | '\u{b}' | '\u{c}' | '\u{85}' | '\u{2028}' | '\u{2029}')
}

fn lex(src: &str) -> Result<Vec<Token>, CypherRefusal> {
    let b = src.as_bytes();
    let (mut tokens, mut i, mut braces, mut depth) = (Vec::new(), 0, 0usize, 0usize);
    while let Some(c) = src[i..].chars().next() {
        let start = i;
        let next = b.get(i + 1).copied();
        let kind = if c.is_whitespace() {
            i += c.len_utf8();
            continue;
        } else if c == '/' && next == Some(b'/') {
            i = src[i..].find(is_line_end).map_or(src.len(), |n| i + n);
            continue;
        } else if c == '/' && next == Some(b'*') {
            let n = src[i + 2..].find("*/").ok_or_else(|| other("unterminated /* comment"))?;
            i += 2 + n + 2;
            continue;
        } else if matches!(c, '\'' | '"' | '`') {
            i = close_quote(src, i, c)?;
            if c == '`' { Kind::Quoted } else { Kind::Str }
        } else if c.is_ascii_digit() {
            i = number_end(b, i);
            Kind::Number
        } else if fold_char(c).is_some() {
            i = src[i..].find(|c| fold_char(c).is_none()).map_or(src.len(), |n| i + n);
            Kind::Word
        } else {
            i += c.len_utf8();
            Kind::Punct(c)
        };
        tokens.push(Token { kind, start, end: i, braces, depth });
        match c {
            '{' => (braces, depth) = (braces + 1, depth + 1),
            '}' => (braces, depth) = (braces.saturating_sub(1), depth.saturating_sub(1)),
            '(' | '[' => depth += 1,
            ')' | ']' => depth = depth.saturating_sub(1),
            _ => {}
        }
    }
    Ok(tokens)
}

/// End (exclusive) of the quoted token opening at `start`. A doubled quote stays inside; that
/// agrees with backends reading it as two adjacent literals about what is inside a string.
fn close_quote(src: &str, start: usize, quote: char) -> Result<usize, CypherRefusal> {
    let body = start + 1;
    let mut chars = src[body..].char_indices();
    while let Some((k, c)) = chars.next() {
        if c == '\\' && quote != '`' {
            chars.next();
        } else if c == quote {
            if !src[body + k + 1..].starts_with(quote) {
                return Ok(body + k + 1);
            }
            chars.next();
        }
    }
    Err(other(if quote == '`' { "unterminated `quoted identifier" } else { "unterminated string literal" }))
}

/// A number never swallows letters beyond an exponent or hex digits: `LIMIT 1SET n.x = 1` must
/// lex as `1` `SET`, as the backends' lexers do.
fn number_end(b: &[u8], i: usize) -> usize {
    let run = |mut k: usize, digit: fn(&u8) -> bool| {
        while b.get(k).is_some_and(|c| digit(c) || *c == b'_') {
            k += 1;
        }
        k
    };
    if b.get(i) == Some(&b'0')
        && matches!(b.get(i + 1), Some(b'x' | b'X'))
        && b.get(i + 2).is_some_and(u8::is_ascii_hexdigit)
    {
        return run(i + 2, u8::is_ascii_hexdigit);
    }
    let mut k = run(i, u8::is_ascii_digit);
    if b.get(k) == Some(&b'.') && b.get(k + 1).is_some_and(u8::is_ascii_digit) {
        k = run(k + 1, u8::is_ascii_digit);
    }
    if matches!(b.get(k), Some(b'e' | b'E')) {
        let digits = if matches!(b.get(k + 1), Some(b'+' | b'-')) { k + 2 } else { k + 1 };
        if b.get(digits).is_some_and(u8::is_ascii_digit) {
            k = run(digits, u8::is_ascii_digit);
        }
    }
    k
}

/// The tokens of the one statement, without its trailing `;`.
fn statement(toks: &[Token]) -> Result<&[Token], CypherRefusal> {
    match toks.iter().position(|t| t.kind == Kind::Punct(';')) {
        None => Ok(toks),
        Some(p) if p + 1 == toks.len() => Ok(&toks[..p]),
        Some(_) => Err(other("multiple statements separated by `;`; send one query at a time")),
    }
}

/// The tokens of one statement, with the text they point into.
struct Tokens<'a> {
    src: &'a str,
    toks: &'a [Token],
}

impl<'a> Tokens<'a> {
    fn kind(&self, j: usize) -> Option<Kind> {
        self.toks.get(j).map(|t| t.kind)
    }

    fn back(&self, j: usize, n: usize) -> Option<Kind> {
        j.checked_sub(n).and_then(|p| self.kind(p))
    }

    fn word(&self, j: usize) -> Option<&'a str> {
        self.toks.get(j).filter(|t| t.kind == Kind::Word).map(|t| &self.src[t.start..t.end])
    }

    /// A name segment: a word, or a backtick identifier with its quotes and doubling undone.
    fn ident(&self, j: usize) -> Option<String> {
        let t = self.toks.get(j)?;
        match t.kind {
            Kind::Word => Some(self.src[t.start..t.end].to_owned()),
            Kind::Quoted => Some(self.src[t.start + 1..t.end - 1].replace("``", "`")),
            Kind::Str | Kind::Number | Kind::Punct(_) => None,
        }
    }

    /// `x.word` or a map projection `n {.word, .word}`: a property key. Only after something
    /// that can have properties, so a word after `..` (range) or a number's dot is still checked.
    fn after_dot(&self, j: usize) -> bool {
        let owner = self.back(j, 2);
        self.back(j, 1) == Some(Kind::Punct('.'))
            && (matches!(owner, Some(Kind::Word | Kind::Quoted | Kind::Punct(')' | ']' | '}')))
                || (self.toks[j].braces > 0 && matches!(owner, Some(Kind::Punct('{' | ',')))))
    }

    /// The word at `j` if it stands where a clause keyword could: not a property key (`n.set`),
    /// label or type (`:Set`), parameter (`$create`) or map key (`{delete: 1}`). Backends parse
    /// those positions as names too, so a keyword there cannot start a clause.
    fn clause_word(&self, j: usize) -> Option<String> {
        let word = self.word(j)?;
        let named = self.after_dot(j) || matches!(self.back(j, 1), Some(Kind::Punct(':' | '$')));
        let map_key = self.toks[j].braces > 0 && self.kind(j + 1) == Some(Kind::Punct(':'));
        (!named && !map_key).then(|| fold(word))
    }

    /// A dotted name starting at `j` (`db.idx.vector.queryNodes`, `` `db`.labels ``) and the
    /// index after it.
    fn dotted_name(&self, mut j: usize) -> (String, usize) {
        let mut name = String::new();
        while let Some(segment) = self.ident(j) {
            name.push_str(&segment);
            j += 1;
            if self.kind(j) != Some(Kind::Punct('.')) || self.ident(j + 1).is_none() {
                break;
            }
            name.push('.');
            j += 1;
        }
        (name, j)
    }
}

/// Check the token at `i`; returns the index of the next token to check.
fn check_at(t: &Tokens<'_>, i: usize) -> Result<usize, CypherRefusal> {
    // apoc functions write without CALL (`apoc.create.node(...)`), so the namespace is refused
    // wherever it appears as a name head; a property `x.apoc` is not one.
    if !t.after_dot(i) && t.ident(i).is_some_and(|s| fold(&s).starts_with("APOC")) {
        let (name, _) = t.dotted_name(i);
        if fold(&name).starts_with("APOC.") {
            return Err(CypherRefusal::Procedure { name });
        }
    }
    let Some(upper) = t.clause_word(i) else { return Ok(i + 1) };
    let next_is = |n: usize, w: &str| t.word(i + n).is_some_and(|x| fold(x) == w);
    let clause = match upper.as_str() {
        "CALL" => return check_call(t, i + 1),
        "LOAD" if next_is(1, "CSV") => "LOAD CSV".to_owned(),
        "USING" if next_is(1, "PERIODIC") => "USING PERIODIC COMMIT".to_owned(),
        // `start`/`stop` alone are common variable names (`MATCH (start)-->(end)`)
        "START" | "STOP" if next_is(1, "DATABASE") => format!("{upper} DATABASE"),
        // `CALL { } IN [n] [CONCURRENT] TRANSACTIONS`; a bare `x IN transactions` is a list test
        "IN" if t.back(i, 1) == Some(Kind::Punct('}'))
            && (1..=3).any(|n| next_is(n, "TRANSACTIONS") || next_is(n, "CONCURRENT")) =>
        {
            "IN TRANSACTIONS".to_owned()
        }
        kw if listed(WRITE_KEYWORDS, kw) => kw.to_owned(),
        _ => return Ok(i + 1),
    };
    Err(CypherRefusal::Write { clause, offset: t.toks[i].start })
}

/// After `CALL` at `i - 1`: a subquery (`{`, or `(vars) {`) is scanned like the rest; a
/// procedure must be on the allow-list. Returns the index after the procedure name.
fn check_call(t: &Tokens<'_>, i: usize) -> Result<usize, CypherRefusal> {
    if matches!(t.kind(i), Some(Kind::Punct('{' | '('))) {
        return Ok(i);
    }
    let (name, next) = t.dotted_name(i);
    if name.is_empty() {
        return Err(other("`CALL` must name a procedure or open a `{ }` subquery"));
    }
    if listed(READ_PROCEDURES, &name) { Ok(next) } else { Err(CypherRefusal::Procedure { name }) }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn refused(q: &str) -> CypherRefusal {
        check_read_only(q).expect_err(q)
    }

    fn write_clause(q: &str) -> String {
        let e = refused(q);
        let CypherRefusal::Write { clause, .. } = &e else { panic!("{q}: expected Write, got {e:?}") };
        clause.clone()
    }

    fn passes(q: &str) -> String {
        check_read_only(q).unwrap_or_else(|e| panic!("{q}: {e}"))
    }

    #[test]
    fn each_write_clause_is_refused() {
        for (q, clause) in [
            ("CREATE (n)", "CREATE"),
            ("create (n)", "CREATE"),
            ("MATCH (a) CrEaTe (a)-[:R]->(b {name: 'x'})", "CREATE"),
            ("MERGE (n:A {id: 1})", "MERGE"),
            ("MATCH (n) SET n.x = 1", "SET"),
            ("MATCH (n) DELETE n", "DELETE"),
            ("MATCH (n) DETACH DELETE n", "DETACH"),
            ("MATCH (n) REMOVE n:Label", "REMOVE"),
            ("DROP INDEX my_index", "DROP"),
            ("LOAD CSV FROM 'file:///x.csv' AS row RETURN row", "LOAD CSV"),
            ("MATCH p=(a)-->(b) FOREACH (n IN nodes(p) | SET n.seen = true)", "FOREACH"),
            ("USING PERIODIC COMMIT 500 LOAD CSV FROM 'f' AS r RETURN r", "USING PERIODIC COMMIT"),
            ("MATCH (n) CALL { WITH n RETURN n } IN TRANSACTIONS RETURN n", "IN TRANSACTIONS"),
            ("MATCH (n) CALL (n) { RETURN n } IN 4 CONCURRENT TRANSACTIONS RETURN n", "IN TRANSACTIONS"),
            ("ALTER USER bob SET PASSWORD 'x'", "ALTER"),
            ("GRANT ROLE admin TO bob", "GRANT"),
            ("STOP DATABASE neo4j", "STOP DATABASE"),
            ("TERMINATE TRANSACTIONS 'tx-1'", "TERMINATE"),
            ("INSERT (n:A)", "INSERT"),
        ] {
            assert_eq!(write_clause(q), clause, "{q}");
        }
    }

    #[test]
    fn writes_inside_subqueries_and_after_comments_are_refused() {
        assert_eq!(write_clause("CALL { CREATE (n) }"), "CREATE");
        assert_eq!(write_clause("MATCH (n) RETURN COUNT { MATCH (m) SET m.x = 1 RETURN m }"), "SET");
        assert_eq!(write_clause("// harmless\nCREATE (n)"), "CREATE");
        assert_eq!(write_clause("// harmless\rCREATE (n)"), "CREATE", "\\r ends a line comment");
        assert_eq!(write_clause("/* harmless */ CREATE (n)"), "CREATE");
        assert_eq!(write_clause("MATCH (n) /* */ SET n.x=1"), "SET");
        assert_eq!(write_clause("MATCH (n) RETURN 'a' + \"b\" // x\nDELETE n"), "DELETE");
    }

    #[test]
    fn glued_writes_are_refused_with_their_offset() {
        assert_eq!(refused("MATCH(n)SET n.x=1"), CypherRefusal::Write { clause: "SET".into(), offset: 8 });
        assert_eq!(refused("MATCH (n)DETACH DELETE n"), CypherRefusal::Write { clause: "DETACH".into(), offset: 9 });
        assert_eq!(write_clause("MATCH (n) WITH n LIMIT 1SET n.x = 1"), "SET");
        assert_eq!(write_clause("MATCH (n) WITH n LIMIT 0x1FSET n.x = 1"), "SET");
        assert_eq!(write_clause("MATCH (n)-[*1..SET]->(m) RETURN m"), "SET", "a word after `..` is no property");
        assert_eq!(write_clause("MATCH (n) WHERE n.x = 1 ANDé SET n.y = 2"), "SET");
        assert_eq!(write_clause("MATCH (n) ſet n.x = 1"), "SET", "long s upper-cases to S");
        assert_eq!(write_clause("REVO\u{212a}E ROLE r FROM bob"), "REVOKE", "Kelvin sign lower-cases to k");
    }

    #[test]
    fn procedures_off_the_allow_list_are_refused() {
        for (q, name) in [
            ("CALL apoc.create.node(['A'], {})", "apoc.create.node"),
            ("CALL db.idx.fulltext.createNodeIndex('Entity', 'name')", "db.idx.fulltext.createNodeIndex"),
            ("CALL dbms.security.createUser('bob', 'pw')", "dbms.security.createUser"),
            ("CALL db.create.setNodeVectorProperty(n, 'v', [1])", "db.create.setNodeVectorProperty"),
            ("CALL `apoc`.`periodic`.iterate('a', 'b', {})", "apoc.periodic.iterate"),
            ("MATCH (n) RETURN apoc.create.uuid()", "apoc.create.uuid"),
            ("RETURN `apoc.create.vNode`(['A'], {})", "apoc.create.vNode"),
            ("MATCH (n) WITH n RETURN APOC.nodes.delete(n, 1)", "APOC.nodes.delete"),
        ] {
            assert_eq!(refused(q), CypherRefusal::Procedure { name: name.into() }, "{q}");
        }
        assert!(matches!(refused("CALL 42"), CypherRefusal::Other(_)));
    }

    #[test]
    fn multiple_statements_are_refused() {
        for q in
            ["MATCH (n) RETURN n; CREATE (m)", "RETURN 1; RETURN 2", "RETURN 1;;", "RETURN ';'; MATCH (n) RETURN n"]
        {
            assert!(matches!(refused(q), CypherRefusal::Other(m) if m.contains("multiple statements")), "{q}");
        }
    }

    #[test]
    fn empty_too_long_and_unterminated() {
        for q in ["", "   \n\t", "// only a comment", "/* block */", ";", " /* a */ ; // b"] {
            assert_eq!(refused(q), CypherRefusal::Empty, "{q:?}");
        }
        let long = format!("RETURN '{}'", "x".repeat(MAX_QUERY_BYTES));
        assert_eq!(refused(&long), CypherRefusal::TooLong(long.len(), MAX_QUERY_BYTES));
        for q in ["RETURN 'abc", "RETURN \"abc\\\"", "RETURN 'it\\'s", "MATCH (n:`Label) RETURN n", "RETURN 1 /* x"] {
            assert!(matches!(refused(q), CypherRefusal::Other(m) if m.contains("unterminated")), "{q}");
        }
    }

    #[test]
    fn plain_reads_pass() {
        for q in [
            "MATCH (n) RETURN n LIMIT 5",
            "MATCH p=(a)-[*1..2]-(b) RETURN p",
            "UNWIND [1,2] AS x RETURN x",
            "OPTIONAL MATCH (n)-[r:KNOWS]->(m) WHERE m.age >= 1.5e3 RETURN n, r, m ORDER BY m.age DESC SKIP 1",
            "MATCH (n) RETURN n.name AS name UNION MATCH (m) RETURN m.title AS name",
            "SHOW INDEXES",
            "MATCH (n) WHERE n.x IN [1, 2] AND NOT n:Hidden RETURN count(n)",
            "MATCH (n) CALL { WITH n MATCH (n)--(m) RETURN count(m) AS c } RETURN n, c",
            "USE neo4j MATCH (n) USING INDEX n:Person(name) WHERE n.name = 'x' RETURN n",
        ] {
            assert_eq!(passes(q), q);
        }
    }

    #[test]
    fn keywords_in_strings_comments_and_backticks_pass() {
        for q in [
            "MATCH (n) WHERE n.name = 'CREATE TABLE' RETURN n",
            "MATCH (n) WHERE n.note = \"MERGE \\\"quoted\\\"\" RETURN n",
            "MATCH (n) WHERE n.note = 'it''s; DELETE it' RETURN n",
            "MATCH (n:`CREATE`) RETURN n",
            "MATCH (n:`odd``SET`) RETURN n",
            "MATCH (n) RETURN n.`SET`",
        ] {
            assert_eq!(passes(q), q);
        }
        assert_eq!(passes("// CREATE in a comment\nMATCH (n) RETURN n"), "MATCH (n) RETURN n");
        assert_eq!(passes("/* DELETE */ MATCH (n) RETURN n"), "MATCH (n) RETURN n");
    }

    #[test]
    fn keywords_as_names_pass() {
        for q in [
            "MATCH (n) RETURN n.set, n.create",
            "RETURN {delete: 1, merge: 2}",
            "MATCH (n {set: 1}) RETURN n",
            "MATCH (n:Set) RETURN n",
            "MATCH (a)-[:DELETE|:Merge]->(b) RETURN a",
            "MATCH (n) WHERE n.x = $create RETURN n",
            "WITH 1 AS settings RETURN settings",
            "MATCH (n) WHERE n.offset > 1 RETURN n",
            "RETURN toSet([1]), created, deleted_at",
            "MATCH (start)-->(stop) RETURN start, stop",
            "MATCH (t) WITH collect(t) AS transactions UNWIND [1] AS x RETURN x IN transactions",
            "MATCH (n) RETURN n.apoc, n.call, n {.name, .set}",
            "MATCH (n:Persön {naïve: 'é'}) RETURN n.größe",
        ] {
            assert_eq!(passes(q), q);
        }
    }

    #[test]
    fn allow_listed_procedures_pass() {
        for q in [
            "CALL db.labels()",
            "CALL DB.LABELS() YIELD label RETURN label",
            "CALL `db`.`relationshipTypes`()",
            "CALL db.idx.vector.queryNodes('Entity','embedding',3,vecf32([1,2])) YIELD node RETURN node",
            "CALL db.index.fulltext.queryNodes('idx', 'text') YIELD node, score RETURN node, score",
            "MATCH (n) CALL algo.pageRank('Page', 'LINKS') YIELD node, score RETURN node, score",
            "CALL dbms.components() YIELD name RETURN name",
        ] {
            assert_eq!(passes(q), q);
        }
        assert_eq!(write_clause("CALL db.labels() YIELD label CREATE (:X {l: label})"), "CREATE");
    }

    #[test]
    fn result_is_trimmed_without_trailing_semicolon() {
        assert_eq!(passes("RETURN 1;"), "RETURN 1");
        assert_eq!(passes("  \n MATCH (n) RETURN n ; // done\n"), "MATCH (n) RETURN n");
        assert_eq!(passes("MATCH (n) RETURN n // trailing"), "MATCH (n) RETURN n");
    }

    #[test]
    fn row_limit_is_appended_or_tightened() {
        for (q, want) in [
            ("MATCH (n) RETURN n", "MATCH (n) RETURN n LIMIT 25"),
            ("MATCH (n) RETURN n LIMIT 5", "MATCH (n) RETURN n LIMIT 5"),
            ("MATCH (n) RETURN n LIMIT 25", "MATCH (n) RETURN n LIMIT 25"),
            ("MATCH (n) RETURN n LIMIT 500", "MATCH (n) RETURN n LIMIT 25"),
            ("MATCH (n) RETURN n limit $k", "MATCH (n) RETURN n limit 25"),
            ("MATCH (n) RETURN n LIMIT 2 + 3", "MATCH (n) RETURN n LIMIT 25"),
            ("MATCH (n) WITH n LIMIT 3 RETURN n", "MATCH (n) WITH n LIMIT 3 RETURN n LIMIT 25"),
            ("CALL { MATCH (n) RETURN n LIMIT 2 } RETURN n", "CALL { MATCH (n) RETURN n LIMIT 2 } RETURN n LIMIT 25"),
            ("MATCH (n) RETURN n.limit", "MATCH (n) RETURN n.limit LIMIT 25"),
            ("MATCH (n) RETURN n, 'LIMIT 1'", "MATCH (n) RETURN n, 'LIMIT 1' LIMIT 25"),
            ("RETURN 1 AS x LIMIT 1 UNION RETURN 2 AS x", "RETURN 1 AS x LIMIT 1 UNION RETURN 2 AS x LIMIT 25"),
            ("MATCH (n) RETURN n // note", "MATCH (n) RETURN n LIMIT 25"),
            ("RETURN 1;", "RETURN 1 LIMIT 25"),
            ("CALL db.labels()", "CALL db.labels()"),
            ("", ""),
        ] {
            assert_eq!(with_row_limit(q, 25), want, "{q}");
        }
    }

    #[test]
    fn row_limit_output_still_passes_the_guard() {
        let q = passes("MATCH (n) RETURN n // LIMIT 1");
        assert_eq!(passes(&with_row_limit(&q, 10)), "MATCH (n) RETURN n LIMIT 10");
    }
}
