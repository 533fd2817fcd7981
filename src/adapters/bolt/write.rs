//! Writes: a page's replace, a page's or a source's deletion, each one transaction of the shared
//! statements, run again when the server aborts it as a conflict with another writer.

use std::collections::{BTreeSet, HashSet};
use std::time::Duration;

use neo4rs::{BoltType, Row, Txn};

use super::errors::statement_error;
use super::values::{
    Params, column, count, float_param, integer, list, map, optional_text, strings, text_param, texts,
};
use super::vectors::{delete_entity_vectors, write_embeddings};
use super::{BATCH_ROWS, BoltGraph, statement_query};
use crate::adapters::cypher::{decimal, document as q};
use crate::domain::SourceId;
use crate::ports::{EntityFacts, GraphDeleted, GraphError, PageGraph};

/// Runs of a write (a page's, a repository's) that the server aborted as a conflict, the first
/// included.
pub(super) const WRITE_ATTEMPTS: u32 = 8;
/// Error codes of a write worth running again: a conflict with another transaction (ArcadeDB
/// answers its optimistic-concurrency conflicts with the first, two transactions creating one key
/// with the second).
const TRANSIENT: [&str; 2] = ["Neo.TransientError.", "Neo.ClientError.Schema.ConstraintValidationFailed"];

/// What forgetting a page's (or a source's) contribution removed.
#[derive(Debug, Default)]
struct Forgotten {
    /// Entities it mentioned: to recount, and to delete if nothing mentions them now.
    keys: Vec<String>,
    mentions: u64,
    relations: u64,
    /// Documents it linked to: stubs among them may be linked from nowhere now.
    targets: Vec<String>,
}

/// One write, run as one transaction.
#[derive(Debug, Clone, Copy)]
pub(super) enum Change<'a, 'g> {
    Replace(&'a PageGraph<'g>),
    DeletePage(&'a str),
    DeleteSource(&'a SourceId),
}

impl BoltGraph {
    /// Run `change` in a write transaction, committed when it succeeds and rolled back when it
    /// fails; run again (up to [`WRITE_ATTEMPTS`]) when the server aborted it as a conflict.
    pub(super) async fn transaction(&self, change: Change<'_, '_>) -> Result<GraphDeleted, GraphError> {
        let mut attempt = 1;
        loop {
            let mut txn = self.graph.start_txn().await.map_err(statement_error)?;
            let done = match change {
                Change::Replace(graph) => replace_page(&mut txn, graph).await.map(|()| GraphDeleted::default()),
                Change::DeletePage(url) => delete_page(&mut txn, url).await,
                Change::DeleteSource(source) => delete_source(&mut txn, source).await,
            };
            let result = match done {
                Ok(done) => txn.commit().await.map(|()| done).map_err(statement_error),
                Err(failed) => {
                    // If this fails too, the pool resets the connection before reusing it.
                    if let Err(e) = txn.rollback().await {
                        tracing::debug!(error = %e, "rollback after a failed graph write");
                    }
                    Err(failed)
                }
            };
            match result {
                Err(GraphError::Query(message)) if attempt < WRITE_ATTEMPTS && is_transient(&message) => {
                    tracing::debug!(attempt, %message, "graph write conflicted with another; running it again");
                    tokio::time::sleep(backoff(attempt)).await;
                    attempt += 1;
                }
                other => return other,
            }
        }
    }
}

/// Run one of our statements inside `txn`, answering its rows.
pub(super) async fn write(txn: &mut Txn, statement: &str, params: Params) -> Result<Vec<Row>, GraphError> {
    let mut stream = txn.execute(statement_query(statement, params)).await.map_err(statement_error)?;
    let mut rows = Vec::new();
    while let Some(row) = stream.next(txn.handle()).await.map_err(statement_error)? {
        rows.push(row);
    }
    Ok(rows)
}

/// Run `statement` once per batch of `rows`, bound as `$rows` beside `shared`.
pub(super) async fn write_batches(
    txn: &mut Txn,
    statement: &str,
    shared: &Params,
    rows: Vec<BoltType>,
) -> Result<(), GraphError> {
    let mut rows = rows.into_iter().peekable();
    while rows.peek().is_some() {
        let mut params = shared.clone();
        params.push(("rows", list(rows.by_ref().take(BATCH_ROWS).collect())));
        write(txn, statement, params).await?;
    }
    Ok(())
}

/// Run `statement` once per batch of `keys` (bound as `$keys`), summing its first column.
pub(super) async fn sum_over_keys(
    txn: &mut Txn,
    statement: &str,
    column_name: &str,
    keys: &[String],
) -> Result<u64, GraphError> {
    let mut total = 0;
    for batch in keys.chunks(BATCH_ROWS) {
        let rows = write(txn, statement, vec![("keys", texts(batch))]).await?;
        total += rows.first().map_or(0, |row| count(&column(row, column_name)));
    }
    Ok(total)
}

/// Delete what a page said (its chunks, mentions, relations and links), keeping its Document.
async fn forget_page(txn: &mut Txn, url: &str) -> Result<Forgotten, GraphError> {
    let rows = write(txn, q::REPLACE_PAGE_DELETE, vec![("url", text_param(url))]).await?;
    Ok(rows.first().map(forgotten).unwrap_or_default())
}

/// Write a page's document, chunks, entities, mentions, vectors, relations and links, and last
/// its content hash (as FalkorDB does, though here the transaction makes the order moot).
async fn write_page(txn: &mut Txn, graph: &PageGraph<'_>) -> Result<(), GraphError> {
    let url = text_param(graph.url);
    let source = text_param(graph.source.as_str());
    let chunks = (0..graph.chunk_mentions.len()).map(integer).collect();
    let document = vec![
        ("url", url.clone()),
        ("source", source.clone()),
        ("title", optional_text(graph.title)),
        ("chunks", list(chunks)),
    ];
    write(txn, q::WRITE_DOCUMENT, document).await?;
    write_batches(txn, q::UPSERT_ENTITIES, &Vec::new(), entity_rows(graph.entities)).await?;
    write_batches(txn, q::INSERT_MENTIONS, &vec![("source", source.clone())], mention_rows(graph)).await?;
    write_embeddings(txn, graph.entities).await?;
    let page = vec![("url", url), ("source", source)];
    write_batches(txn, q::INSERT_RELATIONS, &page, relation_rows(graph)).await?;
    for batch in graph.links.chunks(BATCH_ROWS) {
        let mut params = page.clone();
        params.push(("links", texts(batch)));
        write(txn, q::INSERT_LINKS, params).await?;
    }
    let hash = vec![("url", text_param(graph.url)), ("content_hash", text_param(graph.content_hash))];
    write(txn, q::SET_PAGE_HASH, hash).await?;
    Ok(())
}

/// Delete the stub Documents among `urls` nothing links to any more.
async fn delete_stubs(txn: &mut Txn, urls: &[String]) -> Result<(), GraphError> {
    for batch in urls.chunks(BATCH_ROWS) {
        write(txn, q::DELETE_UNLINKED_STUBS, vec![("urls", texts(batch))]).await?;
    }
    Ok(())
}

/// Recount the mentions of `keys` and delete the entities nothing mentions (and their vectors);
/// answers how many entities went.
async fn refresh_entities(txn: &mut Txn, keys: &[String]) -> Result<u64, GraphError> {
    sum_over_keys(txn, q::RECOUNT_ENTITIES, "recounted", keys).await?;
    let orphans = sum_over_keys(txn, q::DELETE_ORPHANS, "orphans", keys).await?;
    delete_entity_vectors(txn, keys).await?;
    Ok(orphans)
}

/// Replace what `graph.url` said.
pub(super) async fn replace_page(txn: &mut Txn, graph: &PageGraph<'_>) -> Result<(), GraphError> {
    let old = forget_page(txn, graph.url).await?;
    write_page(txn, graph).await?;
    delete_stubs(txn, &old.targets).await?;
    let mentioned = graph.chunk_mentions.iter().flatten().map(|m| m.key.clone());
    let affected: BTreeSet<String> =
        old.keys.into_iter().chain(graph.entities.iter().map(|e| e.key.clone())).chain(mentioned).collect();
    refresh_entities(txn, &affected.into_iter().collect::<Vec<_>>()).await?;
    Ok(())
}

/// Forget what `url` said, leaving a stub if other pages link to it.
pub(super) async fn delete_page(txn: &mut Txn, url: &str) -> Result<GraphDeleted, GraphError> {
    let old = forget_page(txn, url).await?;
    let rows = write(txn, q::UNSET_DOCUMENT, vec![("url", text_param(url))]).await?;
    let documents = rows.first().map_or(0, |row| count(&column(row, "documents")));
    let mut stubs = old.targets;
    stubs.push(url.to_owned());
    delete_stubs(txn, &stubs).await?;
    let entities = refresh_entities(txn, &old.keys).await?;
    Ok(GraphDeleted { documents, mentions: old.mentions, relations: old.relations, entities })
}

/// Forget everything `source` said.
pub(super) async fn delete_source(txn: &mut Txn, source: &SourceId) -> Result<GraphDeleted, GraphError> {
    let rows = write(txn, q::DELETE_SOURCE, vec![("source", text_param(source.as_str()))]).await?;
    let gone = rows.first().map(forgotten).unwrap_or_default();
    let rows = write(txn, q::DELETE_SOURCE_DOCUMENTS, vec![("source", text_param(source.as_str()))]).await?;
    let documents = rows.first().map_or(0, |row| count(&column(row, "documents")));
    let outside = rows.first().map(|row| strings(&column(row, "outside"))).unwrap_or_default();
    delete_stubs(txn, &outside).await?;
    let entities = refresh_entities(txn, &gone.keys).await?;
    Ok(GraphDeleted { documents, mentions: gone.mentions, relations: gone.relations, entities })
}

/// Whether a failed write may succeed if run again (a conflict with another transaction).
pub(super) fn is_transient(message: &str) -> bool {
    TRANSIENT.iter().any(|code| message.contains(code))
}

/// Pause before running conflicting write `attempt` again: 20 ms doubling, with jitter so two
/// writers that conflicted do not meet again.
pub(super) fn backoff(attempt: u32) -> Duration {
    let jitter = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map_or(0, |d| d.subsec_nanos());
    Duration::from_millis(20 << attempt.min(6)) + Duration::from_micros(u64::from(jitter % 20_000))
}

/// A vector as a list of floats, each the f64 its shortest decimal form reads as.
pub(super) fn floats(vector: &[f32]) -> BoltType {
    list(vector.iter().map(|&x| float_param(decimal(x))).collect())
}

fn entity_rows(entities: &[EntityFacts]) -> Vec<BoltType> {
    entities
        .iter()
        .map(|e| {
            map([
                ("key", text_param(&e.key)),
                ("name", text_param(&e.name)),
                ("type", text_param(e.entity_type.as_str())),
                ("description", text_param(&e.description)),
                ("score", float_param(decimal(e.description_score))),
            ])
        })
        .collect()
}

/// One row per (chunk, entity); the first mention of a key in a chunk wins.
fn mention_rows(graph: &PageGraph<'_>) -> Vec<BoltType> {
    let mut seen = HashSet::new();
    let mut rows = Vec::new();
    for (chunk, mentions) in graph.chunk_mentions.iter().enumerate() {
        for m in mentions.iter().filter(|m| seen.insert((chunk, m.key.as_str()))) {
            rows.push(map([
                ("chunk", text_param(&format!("{}#{chunk}", graph.url))),
                ("key", text_param(&m.key)),
                ("name", text_param(&m.name)),
                ("type", text_param(m.entity_type.as_str())),
                ("count", BoltType::from(i64::from(m.count))),
            ]));
        }
    }
    rows
}

fn relation_rows(graph: &PageGraph<'_>) -> Vec<BoltType> {
    graph
        .relations
        .iter()
        .map(|r| {
            map([
                ("source", text_param(&r.source)),
                ("target", text_param(&r.target)),
                ("type", text_param(&r.relation_type)),
                ("weight", float_param(decimal(r.weight))),
                ("count", BoltType::from(i64::from(r.count))),
            ])
        })
        .collect()
}

fn forgotten(row: &Row) -> Forgotten {
    Forgotten {
        keys: strings(&column(row, "keys")),
        mentions: count(&column(row, "mentions")),
        relations: count(&column(row, "relations")),
        targets: strings(&column(row, "targets")),
    }
}
