//! The FalkorDB backend of the graph port: the document graph (GraphRAG) as a property graph in
//! one FalkorDB graph, spoken over RESP with the `falkordb` crate. Why a graph server rather than
//! the embedded tables: users can query the graph in Cypher (`read_query`), and it takes graphs
//! larger than memory-searched entity vectors comfortably hold.
//!
//! The statements are the shared openCypher of `cypher/document/` (schema and rules in
//! `cypher/README.md`); only the DDL (indexes at connect, the vector index once the first
//! vector's dimension is known) and the vector statements of `cypher/falkordb/` are FalkorDB's
//! own. Entity vectors live on `EntityVector` nodes that are never updated: FalkorDB's vector
//! index degrades with every update of an indexed node.
//!
//! A page's write is several statements. FalkorDB runs each atomically and this process runs one
//! page write at a time, so its own writers never interleave; against writers in other processes
//! the statements converge (MERGE everywhere, counts recomputed from the edges that exist, an
//! entity deleted meanwhile re-created by its mention).
//!
//! The code graph (`CodeGraphStore`) lives in the same FalkorDB graph under labels of its own;
//! see `falkordb_code.rs`.
//!
//! Users' queries go through `GRAPH.RO_QUERY`, so the server itself refuses writes whatever the
//! text says, under a server-side timeout; their values come back as JSON. Paths are the one
//! value the crate cannot decode from FalkorDB 4.16; the error says what to return instead.

use std::collections::{BTreeSet, HashMap, HashSet};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use ::falkordb::{AsyncGraph, FalkorClientBuilder, FalkorConnectionInfo, FalkorDBError, FalkorValue, RetryPolicy, Row};
use async_trait::async_trait;
use futures::{StreamExt, TryStreamExt};
use serde_json::{Value, json};

use super::cypher::{MAX_ALIASES, decimal, document as q};
use crate::domain::SourceId;
use crate::ports::{
    ChunkMentions, DocumentRef, EntityFacts, EntityRecord, GraphDeleted, GraphError, GraphRow, GraphStore, PageGraph,
    RelationRecord, SourceGraphCounts,
};

/// `cypher/falkordb/`: the entity vector statements only FalkorDB runs. Vectors live on
/// `EntityVector` nodes that are never updated (see `set_entity_vectors.cypher` for why).
const SET_ENTITY_VECTORS: &str = include_str!("../../cypher/falkordb/set_entity_vectors.cypher");
const NEAREST_ENTITIES: &str = include_str!("../../cypher/falkordb/nearest_entities.cypher");
/// The label holding entity vectors, as `db.indexes()` names it.
const VECTOR_LABEL: &str = "EntityVector";

/// Exact-match indexes, created at connect. FalkorDB has no `IF NOT EXISTS`: an index that exists
/// already answers "already indexed", which is fine.
const INDEXES: [&str; 10] = [
    "CREATE INDEX FOR (e:Entity) ON (e.key)",
    "CREATE INDEX FOR (v:EntityVector) ON (v.key)",
    "CREATE INDEX FOR (d:Document) ON (d.url)",
    "CREATE INDEX FOR (d:Document) ON (d.source_id)",
    "CREATE INDEX FOR (c:Chunk) ON (c.key)",
    "CREATE INDEX FOR (c:Chunk) ON (c.url)",
    "CREATE INDEX FOR (c:Chunk) ON (c.source_id)",
    "CREATE INDEX FOR ()-[m:MENTIONS]-() ON (m.source_id)",
    "CREATE INDEX FOR ()-[r:RELATED]-() ON (r.url)",
    "CREATE INDEX FOR ()-[r:RELATED]-() ON (r.source_id)",
];
/// The indexes and their options, to find the vector index's dimension.
const INDEX_OPTIONS: &str = "CALL db.indexes() YIELD label, options RETURN label, options";
/// What FalkorDB answers to DDL for an index that exists.
const ALREADY_INDEXED: &str = "already indexed";
/// What `GRAPH.RO_QUERY` answers to a query that writes.
const READ_ONLY_REFUSAL: &str = "to be executed only on read-only queries";
/// What FalkorDB answers when a query's timeout runs out.
const TIMED_OUT: &str = "timed out";

/// Server-side limit of a user's read-only query.
const READ_QUERY_TIMEOUT_MS: u64 = 10_000;
/// Rows per `UNWIND` batch: parameters travel inside the query text, so this bounds its size
/// (an entity row with a 384-dimension vector is a few kilobytes).
const BATCH_ROWS: usize = 256;
/// Connection setup; then any one command (a page write is several).
const CONNECT_TIMEOUT: Duration = Duration::from_secs(5);
const RESPONSE_TIMEOUT: Duration = Duration::from_secs(60);
/// Attempts of a read-only statement on a dropped connection (writes are never retried).
const READ_ATTEMPTS: u32 = 3;

pub(super) type Params = Vec<(&'static str, FalkorValue)>;

/// The document graph in one FalkorDB graph.
pub struct FalkorGraph {
    graph: AsyncGraph,
    /// One page write (several statements) at a time from this process; code graph writes
    /// (`falkordb_code`) take it too.
    pub(super) writes: tokio::sync::Mutex<()>,
    /// Dimension of the entity vector index; 0 until one exists.
    vector_dims: AtomicUsize,
}

impl std::fmt::Debug for FalkorGraph {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("FalkorGraph")
            .field("graph", &self.graph.graph_name())
            .field("vector_dims", &self.vector_dims.load(Ordering::Relaxed))
            .finish_non_exhaustive()
    }
}

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

impl FalkorGraph {
    /// Connect to `url` (`falkor://host:port`) and use the graph `graph_name`, creating its
    /// indexes if needed.
    ///
    /// # Errors
    /// [`GraphError::Unavailable`] when the URL is invalid or the server does not answer;
    /// [`GraphError::Query`] when it refuses the indexes.
    pub async fn connect(url: &str, graph_name: &str) -> Result<Self, GraphError> {
        let info = FalkorConnectionInfo::try_from(url)
            .map_err(|e| GraphError::Unavailable(format!("invalid FalkorDB URL: {e}")))?;
        let client = FalkorClientBuilder::new_async()
            .with_connection_info(info)
            .with_connect_timeout(Some(CONNECT_TIMEOUT))
            .with_response_timeout(Some(RESPONSE_TIMEOUT))
            .with_retry_policy(RetryPolicy::read_only().max_attempts(READ_ATTEMPTS))
            .build()
            .await
            .map_err(|e| GraphError::Unavailable(format!("cannot connect to FalkorDB: {e}")))?;
        let store = Self {
            graph: client.select_graph(graph_name),
            writes: tokio::sync::Mutex::new(()),
            vector_dims: AtomicUsize::new(0),
        };
        for index in INDEXES.into_iter().chain(super::falkordb_code::INDEXES) {
            store.ddl(index).await?;
        }
        store.vector_index_dims().await?;
        Ok(store)
    }

    /// Run one of our statements that writes.
    pub(super) async fn write(&self, statement: &str, params: Params) -> Result<Vec<Row>, GraphError> {
        let mut graph = self.graph.clone();
        // Boxed here and below: the crate's futures are so deeply nested that holding one inline
        // in the callers' futures overflows the compiler's query depth limit.
        let result = Box::pin(graph.query(statement).with_params(params).execute()).await.map_err(statement_error)?;
        result.data.try_collect().await.map_err(statement_error)
    }

    /// Run one of our statements that only reads (through the read-only path, retried on a
    /// dropped connection).
    pub(super) async fn read(&self, statement: &str, params: Params) -> Result<Vec<Row>, GraphError> {
        let mut graph = self.graph.clone();
        let result =
            Box::pin(graph.ro_query(statement).with_params(params).execute()).await.map_err(statement_error)?;
        result.data.try_collect().await.map_err(statement_error)
    }

    /// Run `statement` once per batch of `rows`, bound as `$rows` beside `shared`.
    async fn write_batches(&self, statement: &str, shared: &Params, rows: Vec<FalkorValue>) -> Result<(), GraphError> {
        let mut rows = rows.into_iter().peekable();
        while rows.peek().is_some() {
            let mut params = shared.clone();
            params.push(("rows", FalkorValue::Array(rows.by_ref().take(BATCH_ROWS).collect())));
            self.write(statement, params).await?;
        }
        Ok(())
    }

    /// Run `statement` once per batch of `keys` (bound as `$keys`), summing its first column.
    async fn sum_over_keys(&self, statement: &str, keys: &[String]) -> Result<u64, GraphError> {
        let mut total = 0;
        for batch in keys.chunks(BATCH_ROWS) {
            let rows = self.write(statement, vec![("keys", texts(batch))]).await?;
            total += rows.first().and_then(|row| row.get_at(0)).map_or(0, count);
        }
        Ok(total)
    }

    /// Create an index, unless it exists.
    async fn ddl(&self, statement: &str) -> Result<(), GraphError> {
        match self.write(statement, Vec::new()).await {
            Err(GraphError::Query(message)) if message.contains(ALREADY_INDEXED) => Ok(()),
            other => other.map(drop),
        }
    }

    /// The entity vector index's dimension (0 when there is none), asking the server while it is
    /// unknown (another process may have created the index since).
    async fn vector_index_dims(&self) -> Result<usize, GraphError> {
        let known = self.vector_dims.load(Ordering::Acquire);
        if known != 0 {
            return Ok(known);
        }
        let rows = self.read(INDEX_OPTIONS, Vec::new()).await?;
        let dims = rows.iter().filter(|row| text(row, "label") == VECTOR_LABEL).find_map(vector_dimension).unwrap_or(0);
        self.vector_dims.store(dims, Ordering::Release);
        Ok(dims)
    }

    /// The entity vector index's dimension, creating the index for `wanted` dimensions if there
    /// is none yet.
    async fn ensure_vector_index(&self, wanted: usize) -> Result<usize, GraphError> {
        let dims = self.vector_index_dims().await?;
        if dims != 0 {
            return Ok(dims);
        }
        self.ddl(&format!(
            "CREATE VECTOR INDEX FOR (v:EntityVector) ON (v.embedding) \
             OPTIONS {{dimension: {wanted}, similarityFunction: 'cosine'}}"
        ))
        .await?;
        let dims = self.vector_index_dims().await?;
        Ok(if dims == 0 { wanted } else { dims })
    }

    /// Delete what a page said (its chunks, mentions, relations and links), keeping its Document.
    async fn forget_page(&self, url: &str) -> Result<Forgotten, GraphError> {
        let rows = self.write(q::REPLACE_PAGE_DELETE, vec![("url", url.into())]).await?;
        Ok(rows.first().map(forgotten).unwrap_or_default())
    }

    /// Write a page's document, chunks, entities, mentions, vectors, relations and links, and
    /// last its content hash: a write that fails midway leaves an empty hash, which no page has,
    /// so the next crawl writes the page again.
    async fn write_page(&self, graph: &PageGraph<'_>) -> Result<(), GraphError> {
        let url = FalkorValue::from(graph.url);
        let source = FalkorValue::from(graph.source.as_str());
        let chunks = FalkorValue::Array((0..graph.chunk_mentions.len()).map(integer).collect());
        self.write(
            q::WRITE_DOCUMENT,
            vec![
                ("url", url.clone()),
                ("source", source.clone()),
                ("title", graph.title.map_or(FalkorValue::None, FalkorValue::from)),
                ("chunks", chunks),
            ],
        )
        .await?;
        self.write_batches(q::UPSERT_ENTITIES, &Vec::new(), entity_rows(graph.entities)).await?;
        self.write_batches(q::INSERT_MENTIONS, &vec![("source", source.clone())], mention_rows(graph)).await?;
        self.write_embeddings(graph.entities).await?;
        let page = vec![("url", url), ("source", source)];
        self.write_batches(q::INSERT_RELATIONS, &page, relation_rows(graph)).await?;
        for batch in graph.links.chunks(BATCH_ROWS) {
            let mut params = page.clone();
            params.push(("links", texts(batch)));
            self.write(q::INSERT_LINKS, params).await?;
        }
        let hash = vec![("url", graph.url.into()), ("content_hash", graph.content_hash.into())];
        self.write(q::SET_PAGE_HASH, hash).await?;
        Ok(())
    }

    /// Name vectors of new entities (an entity keeps its first), creating the vector index for
    /// the first vector's dimension. Vectors of another dimension than the index's are not
    /// stored: the index could not hold them.
    async fn write_embeddings(&self, entities: &[EntityFacts]) -> Result<(), GraphError> {
        let Some(first) = entities.iter().find(|e| !e.embedding.is_empty()) else { return Ok(()) };
        let dims = self.ensure_vector_index(first.embedding.len()).await?;
        let rows: Vec<FalkorValue> = entities
            .iter()
            .filter(|e| e.embedding.len() == dims)
            .map(|e| map([("key", e.key.as_str().into()), ("embedding", floats(&e.embedding))]))
            .collect();
        if rows.len() < entities.iter().filter(|e| !e.embedding.is_empty()).count() {
            tracing::warn!(
                index_dims = dims,
                "entity vectors of another dimension than the graph's vector index were not stored"
            );
        }
        self.write_batches(SET_ENTITY_VECTORS, &Vec::new(), rows).await
    }

    /// Delete the stub Documents among `urls` nothing links to any more.
    async fn delete_stubs(&self, urls: &[String]) -> Result<(), GraphError> {
        for batch in urls.chunks(BATCH_ROWS) {
            self.write(q::DELETE_UNLINKED_STUBS, vec![("urls", texts(batch))]).await?;
        }
        Ok(())
    }

    /// Recount the mentions of `keys` and delete the entities nothing mentions (and their
    /// vectors); answers how many went.
    async fn refresh_entities(&self, keys: &[String]) -> Result<u64, GraphError> {
        self.sum_over_keys(q::RECOUNT_ENTITIES, keys).await?;
        let orphans = self.sum_over_keys(q::DELETE_ORPHANS, keys).await?;
        self.sum_over_keys(q::DELETE_ENTITY_VECTORS, keys).await?;
        Ok(orphans)
    }

    /// Entities of `keys`, in no particular order.
    async fn entity_records(&self, keys: &[String]) -> Result<Vec<EntityRecord>, GraphError> {
        let mut records = Vec::new();
        for batch in keys.chunks(BATCH_ROWS) {
            let rows = self
                .read(q::ENTITIES, vec![("keys", texts(batch)), ("max_aliases", FalkorValue::I64(MAX_ALIASES))])
                .await?;
            records.extend(rows.iter().map(entity_record));
        }
        Ok(records)
    }

    /// One hop of the neighbourhood walk: the entities related to any of `keys`.
    async fn neighbours(&self, keys: &[String]) -> Result<Vec<String>, GraphError> {
        let mut found = Vec::new();
        for batch in keys.chunks(BATCH_ROWS) {
            let rows = self.read(q::NEIGHBOURHOOD, vec![("keys", texts(batch))]).await?;
            found.extend(rows.iter().filter_map(|row| string(column(row, "key"))));
        }
        Ok(found)
    }
}

#[async_trait]
impl GraphStore for FalkorGraph {
    fn backend(&self) -> &'static str {
        "falkordb"
    }

    async fn replace_page(&self, graph: PageGraph<'_>) -> Result<(), GraphError> {
        let _writing = self.writes.lock().await;
        let old = self.forget_page(graph.url).await?;
        self.write_page(&graph).await?;
        self.delete_stubs(&old.targets).await?;
        let mentioned = graph.chunk_mentions.iter().flatten().map(|m| m.key.clone());
        let affected: BTreeSet<String> =
            old.keys.into_iter().chain(graph.entities.iter().map(|e| e.key.clone())).chain(mentioned).collect();
        self.refresh_entities(&affected.into_iter().collect::<Vec<_>>()).await?;
        Ok(())
    }

    async fn page_hash(&self, url: &str) -> Result<Option<String>, GraphError> {
        let rows = self.read(q::PAGE_HASH, vec![("url", url.into())]).await?;
        Ok(rows.first().and_then(|row| string(column(row, "hash"))))
    }

    async fn delete_page(&self, url: &str) -> Result<GraphDeleted, GraphError> {
        let _writing = self.writes.lock().await;
        let old = self.forget_page(url).await?;
        let rows = self.write(q::UNSET_DOCUMENT, vec![("url", url.into())]).await?;
        let documents = rows.first().map_or(0, |row| count(column(row, "documents")));
        let mut stubs = old.targets;
        stubs.push(url.to_owned());
        self.delete_stubs(&stubs).await?;
        let entities = self.refresh_entities(&old.keys).await?;
        Ok(GraphDeleted { documents, mentions: old.mentions, relations: old.relations, entities })
    }

    async fn delete_source(&self, source: &SourceId) -> Result<GraphDeleted, GraphError> {
        let _writing = self.writes.lock().await;
        let rows = self.write(q::DELETE_SOURCE, vec![("source", source.as_str().into())]).await?;
        let gone = rows.first().map(forgotten).unwrap_or_default();
        let rows = self.write(q::DELETE_SOURCE_DOCUMENTS, vec![("source", source.as_str().into())]).await?;
        let documents = rows.first().map_or(0, |row| count(column(row, "documents")));
        let outside = rows.first().map(|row| strings(column(row, "outside"))).unwrap_or_default();
        self.delete_stubs(&outside).await?;
        let entities = self.refresh_entities(&gone.keys).await?;
        Ok(GraphDeleted { documents, mentions: gone.mentions, relations: gone.relations, entities })
    }

    async fn nearest_entities(
        &self,
        embedding: &[f32],
        source: Option<&SourceId>,
        limit: usize,
    ) -> Result<Vec<(EntityRecord, f32)>, GraphError> {
        let dims = self.vector_index_dims().await?;
        if dims == 0 || embedding.len() != dims || limit == 0 {
            return Ok(Vec::new());
        }
        // A source filter is applied to the index's answers: ask it for more so enough survive.
        let k = if source.is_some() { limit.saturating_mul(8).max(64) } else { limit };
        let params = vec![
            ("k", integer(k)),
            ("vector", floats(embedding)),
            ("source", source.map_or(FalkorValue::None, |s| s.as_str().into())),
            ("limit", integer(limit)),
        ];
        let rows = self.read(NEAREST_ENTITIES, params).await?;
        // The index answers a cosine distance; the port speaks similarity.
        let ranked: Vec<(String, f32)> = rows
            .iter()
            .filter_map(|row| Some((string(column(row, "key"))?, (1.0 - float(column(row, "score"))) as f32)))
            .collect();
        let keys: Vec<String> = ranked.iter().map(|(key, _)| key.clone()).collect();
        let mut by_key: HashMap<String, EntityRecord> =
            self.entity_records(&keys).await?.into_iter().map(|e| (e.key.clone(), e)).collect();
        Ok(ranked.into_iter().filter_map(|(key, score)| by_key.remove(&key).map(|e| (e, score))).collect())
    }

    async fn entities(&self, keys: &[String]) -> Result<Vec<EntityRecord>, GraphError> {
        let unique: BTreeSet<String> = keys.iter().cloned().collect();
        self.entity_records(&unique.into_iter().collect::<Vec<_>>()).await
    }

    async fn entities_with_prefix(&self, prefix: &str, limit: usize) -> Result<Vec<EntityRecord>, GraphError> {
        let rows =
            self.read(q::ENTITIES_WITH_PREFIX, vec![("prefix", prefix.into()), ("limit", integer(limit))]).await?;
        let keys: Vec<String> = rows.iter().filter_map(|row| string(column(row, "key"))).collect();
        let mut found = self.entity_records(&keys).await?;
        found.sort_by(|a, b| b.mention_count.cmp(&a.mention_count).then_with(|| a.key.cmp(&b.key)));
        Ok(found)
    }

    async fn relations_of(
        &self,
        keys: &[String],
        source: Option<&SourceId>,
        limit: usize,
    ) -> Result<Vec<RelationRecord>, GraphError> {
        if keys.is_empty() {
            return Ok(Vec::new());
        }
        let unique: BTreeSet<&String> = keys.iter().collect();
        let params = vec![
            ("keys", texts(unique)),
            ("source", source.map_or(FalkorValue::None, |s| s.as_str().into())),
            ("limit", integer(limit)),
        ];
        let rows = self.read(q::RELATIONS_OF, params).await?;
        Ok(rows.iter().map(relation_record).collect())
    }

    async fn neighbourhood(&self, key: &str, max_hops: u32, limit: usize) -> Result<Vec<(String, u32)>, GraphError> {
        super::cypher::breadth_first(key, max_hops, limit, |frontier| async move { self.neighbours(&frontier).await })
            .await
    }

    async fn chunks_mentioning(
        &self,
        keys: &[String],
        source: Option<&SourceId>,
        limit: usize,
    ) -> Result<Vec<ChunkMentions>, GraphError> {
        if keys.is_empty() {
            return Ok(Vec::new());
        }
        let unique: BTreeSet<&String> = keys.iter().collect();
        let params = vec![
            ("keys", texts(unique)),
            ("source", source.map_or(FalkorValue::None, |s| s.as_str().into())),
            ("limit", integer(limit)),
        ];
        let rows = self.read(q::CHUNKS_MENTIONING, params).await?;
        Ok(rows
            .iter()
            .map(|row| ChunkMentions {
                url: text(row, "url"),
                chunk_number: i32::try_from(int(column(row, "chunk_number"))).unwrap_or(i32::MAX),
                keys: strings(column(row, "keys")),
            })
            .collect())
    }

    async fn documents_mentioning(&self, key: &str, limit: usize) -> Result<Vec<DocumentRef>, GraphError> {
        let rows = self.read(q::DOCUMENTS_MENTIONING, vec![("key", key.into()), ("limit", integer(limit))]).await?;
        Ok(rows
            .iter()
            .map(|row| DocumentRef {
                url: text(row, "url"),
                title: string(column(row, "title")),
                source_id: text(row, "source_id"),
                mentions: int(column(row, "mentions")),
            })
            .collect())
    }

    async fn source_counts(&self) -> Result<Vec<SourceGraphCounts>, GraphError> {
        let entities = self.read(q::SOURCE_COUNTS_ENTITIES, Vec::new()).await?;
        let relations: HashMap<String, i64> = self
            .read(q::SOURCE_COUNTS_RELATIONS, Vec::new())
            .await?
            .iter()
            .map(|row| (text(row, "source"), int(column(row, "relations"))))
            .collect();
        let mut counts: Vec<SourceGraphCounts> = entities
            .iter()
            .map(|row| {
                let source = text(row, "source");
                SourceGraphCounts {
                    relations: relations.get(&source).copied().unwrap_or(0),
                    entities: int(column(row, "entities")),
                    source: SourceId::from(source),
                }
            })
            .collect();
        counts.sort_by(|a, b| a.source.as_str().cmp(b.source.as_str()));
        Ok(counts)
    }

    async fn read_query(&self, query: &str, row_limit: usize) -> Result<Vec<GraphRow>, GraphError> {
        let mut graph = self.graph.clone();
        let timeout = i64::try_from(READ_QUERY_TIMEOUT_MS).unwrap_or(i64::MAX);
        let result = Box::pin(graph.ro_query(query).with_timeout(timeout).execute()).await.map_err(user_query_error)?;
        let rows: Vec<Row> = result.data.take(row_limit).try_collect().await.map_err(user_query_error)?;
        Ok(rows.into_iter().map(row_json).collect())
    }

    async fn ping(&self) -> Result<(), GraphError> {
        match self.read("RETURN 1", Vec::new()).await {
            Ok(_) => Ok(()),
            Err(GraphError::Unavailable(message)) => Err(GraphError::Unavailable(message)),
            Err(other) => Err(GraphError::Unavailable(other.to_string())),
        }
    }
}

/// Whether the server could not be reached (as opposed to answering with an error).
fn is_connection_error(err: &FalkorDBError) -> bool {
    matches!(
        err,
        FalkorDBError::ConnectionDown
            | FalkorDBError::NoConnection
            | FalkorDBError::EmptyConnection
            | FalkorDBError::SentinelConnection(_)
            | FalkorDBError::SentinelMastersCount
    )
}

/// An error of one of our own statements: a bug or a server in trouble, never the user's.
fn statement_error(err: FalkorDBError) -> GraphError {
    if is_connection_error(&err) {
        GraphError::Unavailable(err.to_string())
    } else {
        GraphError::Query(err.to_string())
    }
}

/// An error of a user's query: refused writes, timeouts, the server's rejections and answers the
/// client cannot decode are theirs to change.
fn user_query_error(err: FalkorDBError) -> GraphError {
    if let FalkorDBError::RedisError(message) = err {
        return server_rejection(message);
    }
    if is_connection_error(&err) {
        return GraphError::Unavailable(err.to_string());
    }
    // Anything else failed to decode. The falkordb crate (0.11) reads a path as two plain lists,
    // but FalkorDB 4.16 sends typed lists, so any row holding a path fails; as lists it decodes.
    GraphError::Invalid(format!(
        "the answer could not be decoded ({err}); paths cannot be returned from FalkorDB yet: \
         return nodes(p) and relationships(p) instead of p"
    ))
}

/// What the server said about a user's query.
fn server_rejection(message: String) -> GraphError {
    if message.contains(READ_ONLY_REFUSAL) {
        GraphError::Refused(format!(
            "the graph accepts read-only queries only, and FalkorDB refused this one because it writes ({message})"
        ))
    } else if message.contains(TIMED_OUT) {
        GraphError::Timeout(READ_QUERY_TIMEOUT_MS)
    } else {
        GraphError::Invalid(message)
    }
}

fn map<const N: usize>(entries: [(&str, FalkorValue); N]) -> FalkorValue {
    FalkorValue::Map(entries.into_iter().map(|(key, value)| (key.to_owned(), value)).collect())
}

fn texts<S: AsRef<str>>(items: impl IntoIterator<Item = S>) -> FalkorValue {
    FalkorValue::Array(items.into_iter().map(|s| FalkorValue::from(s.as_ref())).collect())
}

/// A vector as a list (the crate cannot send a vector itself: statements wrap it in `vecf32()`).
fn floats(vector: &[f32]) -> FalkorValue {
    FalkorValue::Array(vector.iter().map(|&x| FalkorValue::F64(decimal(x))).collect())
}

fn integer(n: usize) -> FalkorValue {
    FalkorValue::I64(i64::try_from(n).unwrap_or(i64::MAX))
}

fn entity_rows(entities: &[EntityFacts]) -> Vec<FalkorValue> {
    entities
        .iter()
        .map(|e| {
            map([
                ("key", e.key.as_str().into()),
                ("name", e.name.as_str().into()),
                ("type", e.entity_type.as_str().into()),
                ("description", e.description.as_str().into()),
                ("score", decimal(e.description_score).into()),
            ])
        })
        .collect()
}

/// One row per (chunk, entity); the first mention of a key in a chunk wins.
fn mention_rows(graph: &PageGraph<'_>) -> Vec<FalkorValue> {
    let mut seen = HashSet::new();
    let mut rows = Vec::new();
    for (chunk, mentions) in graph.chunk_mentions.iter().enumerate() {
        for m in mentions.iter().filter(|m| seen.insert((chunk, m.key.as_str()))) {
            rows.push(map([
                ("chunk", format!("{}#{chunk}", graph.url).into()),
                ("key", m.key.as_str().into()),
                ("name", m.name.as_str().into()),
                ("type", m.entity_type.as_str().into()),
                ("count", m.count.into()),
            ]));
        }
    }
    rows
}

fn relation_rows(graph: &PageGraph<'_>) -> Vec<FalkorValue> {
    graph
        .relations
        .iter()
        .map(|r| {
            map([
                ("source", r.source.as_str().into()),
                ("target", r.target.as_str().into()),
                ("type", r.relation_type.as_str().into()),
                ("weight", decimal(r.weight).into()),
                ("count", r.count.into()),
            ])
        })
        .collect()
}

static NULL: FalkorValue = FalkorValue::None;

/// The value of `name` in `row` (null when the row has no such column).
fn column<'r>(row: &'r Row, name: &str) -> &'r FalkorValue {
    row.get(name).unwrap_or(&NULL)
}

fn string(value: &FalkorValue) -> Option<String> {
    value.as_string().cloned()
}

/// The text in `name` (empty for null).
fn text(row: &Row, name: &str) -> String {
    string(column(row, name)).unwrap_or_default()
}

fn strings(value: &FalkorValue) -> Vec<String> {
    value.as_vec().map(|items| items.iter().filter_map(string).collect()).unwrap_or_default()
}

/// An integer, also from a float (FalkorDB's `sum` answers floats).
fn int(value: &FalkorValue) -> i64 {
    value.to_i64().or_else(|| value.to_f64().map(|x| x as i64)).unwrap_or(0)
}

fn count(value: &FalkorValue) -> u64 {
    u64::try_from(int(value)).unwrap_or(0)
}

fn float(value: &FalkorValue) -> f64 {
    value.to_f64().or_else(|| value.to_i64().map(|n| n as f64)).unwrap_or(0.0)
}

fn forgotten(row: &Row) -> Forgotten {
    Forgotten {
        keys: strings(column(row, "keys")),
        mentions: count(column(row, "mentions")),
        relations: count(column(row, "relations")),
        targets: strings(column(row, "targets")),
    }
}

fn entity_record(row: &Row) -> EntityRecord {
    EntityRecord {
        key: text(row, "key"),
        name: text(row, "name"),
        entity_type: text(row, "type"),
        description: text(row, "description"),
        aliases: strings(column(row, "aliases")),
        mention_count: int(column(row, "mention_count")),
    }
}

fn relation_record(row: &Row) -> RelationRecord {
    RelationRecord {
        source: text(row, "source"),
        target: text(row, "target"),
        relation_type: text(row, "type"),
        weight: float(column(row, "weight")),
        count: int(column(row, "count")),
    }
}

/// `dimension` of the `embedding` entry of an index row's options.
fn vector_dimension(row: &Row) -> Option<usize> {
    let options = column(row, "options").as_map()?;
    let dimension = options.get("embedding")?.as_map()?.get("dimension")?;
    usize::try_from(int(dimension)).ok().filter(|&d| d > 0)
}

pub(super) fn row_json(row: Row) -> GraphRow {
    let columns = row.columns().to_vec();
    columns.into_iter().zip(row.into_values().into_iter().map(value_json)).collect()
}

/// A FalkorDB value as JSON: nodes, relationships and paths as objects, the rest as is.
fn value_json(value: FalkorValue) -> Value {
    match value {
        FalkorValue::Node(node) => node_json(node),
        FalkorValue::Edge(edge) => edge_json(edge),
        FalkorValue::Path(path) => json!({
            "nodes": path.nodes.into_iter().map(node_json).collect::<Vec<_>>(),
            "relationships": path.relationships.into_iter().map(edge_json).collect::<Vec<_>>(),
        }),
        FalkorValue::Array(items) => Value::Array(items.into_iter().map(value_json).collect()),
        FalkorValue::Map(entries) => Value::Object(properties_json(entries)),
        FalkorValue::Vec32(vector) => vector.values.into_iter().map(|x| float_json(f64::from(x))).collect(),
        FalkorValue::String(s) | FalkorValue::Unparseable(s) => Value::String(s),
        FalkorValue::Bool(b) => Value::Bool(b),
        FalkorValue::I64(n) => Value::from(n),
        FalkorValue::F64(x) => float_json(x),
        FalkorValue::Point(point) => json!({"latitude": point.latitude, "longitude": point.longitude}),
        FalkorValue::DateTime(t) => Value::String(t.to_string()),
        FalkorValue::Date(d) => Value::String(d.to_string()),
        FalkorValue::Time(t) => Value::String(t.to_string()),
        FalkorValue::Duration(d) => Value::String(d.to_string()),
        FalkorValue::None => Value::Null,
        // FalkorValue is non-exhaustive: a type this crate version does not know reads as text.
        other => Value::String(format!("{other:?}")),
    }
}

fn float_json(x: f64) -> Value {
    serde_json::Number::from_f64(x).map_or(Value::Null, Value::Number)
}

fn properties_json(entries: HashMap<String, FalkorValue>) -> serde_json::Map<String, Value> {
    entries.into_iter().map(|(key, value)| (key, value_json(value))).collect()
}

fn node_json(node: ::falkordb::Node) -> Value {
    json!({"id": node.entity_id, "labels": node.labels, "properties": properties_json(node.properties)})
}

fn edge_json(edge: ::falkordb::Edge) -> Value {
    json!({
        "id": edge.entity_id,
        "type": edge.relationship_type,
        "start": edge.src_node_id,
        "end": edge.dst_node_id,
        "properties": properties_json(edge.properties),
    })
}
