//! The Bolt backend of the graph port: the document graph (GraphRAG) as a property graph on a
//! server that speaks Bolt (Neo4j, AuraDB, Memgraph, ArcadeDB's Bolt plugin), with the `neo4rs`
//! crate. Tested against ArcadeDB; no Neo4j server was at hand, so Neo4j-only behaviour (read
//! mode refusing writes, `tx_timeout`) is written to the protocol, not proven.
//!
//! The statements are the shared openCypher of `cypher/document/` (schema and rules in
//! `cypher/README.md`), as FalkorDB runs them; only the DDL (constraints and indexes with
//! `IF NOT EXISTS`, at connect) and the vector statements of `cypher/bolt/` are Bolt's own.
//!
//! Entity name vectors: Bolt servers have no common vector index (Neo4j 5 has one, ArcadeDB and
//! Memgraph their own), so the vectors are plain lists on `(:EntityVector {key, embedding, seq})`
//! nodes, searched in memory (`adapters::entity_vectors`, as the embedded backend does; see
//! `vectors.rs`). One `(:EntityVectorLog)` node says what changed: `seq` grows with every batch of
//! new vectors (each vector carries its batch's number), `generation` with every deletion, `dims`
//! is the dimension of the first vector stored. A search first reads the log: an unchanged log
//! costs nothing more, a higher `seq` loads only the vectors above the one held, a new
//! `generation` (or a log that went back) reloads them all.
//!
//! A page's write is one explicit transaction (forget what the page said, write it again, drop
//! unlinked stubs, recount and delete orphans), so a failure leaves the page as it was. This
//! process runs one page write at a time; against writers elsewhere a transaction that the
//! server aborts as a conflict (ArcadeDB: `Neo.TransientError.Transaction.DeadlockDetected` for
//! its optimistic-concurrency conflicts, `Neo.ClientError.Schema.ConstraintValidationFailed` for
//! two transactions creating the same key) is rolled back and run again.
//!
//! The code graph (`CodeGraphStore`: repositories' files, symbols and edges) is `code.rs`, on the
//! shared statements of `cypher/code/`, each repository replaced in one transaction.
//!
//! Users' queries run in Bolt's read access mode under a 10 s `tx_timeout` and a client-side
//! timeout around the whole fetch. ArcadeDB ignores the access mode (a write sent in read mode
//! runs), so the adapter also runs the read-only guard (`domain::cypher_guard`) itself; the
//! service runs it first, and this is a second line, never the only one.

mod code;
mod errors;
mod values;
mod vectors;
mod write;

use std::collections::{BTreeSet, HashMap};
use std::sync::RwLock;
use std::time::Duration;

use async_trait::async_trait;
use neo4rs::{BoltType, ConfigBuilder, Graph, Query, Row};

use super::cypher::{MAX_ALIASES, document as q};
use crate::domain::SourceId;
use crate::domain::cypher_guard::check_read_only;
use crate::ports::{
    ChunkMentions, DocumentRef, EntityRecord, GraphDeleted, GraphError, GraphRow, GraphStore, PageGraph,
    RelationRecord, SourceGraphCounts,
};
use errors::{refusal, statement_error, user_query_error};
use values::{Params, column, float, int, integer, optional_text, row_json, string, strings, text, text_param, texts};
use vectors::LoadedVectors;
use write::Change;

/// Constraints and indexes, created at connect before any write (a bulk MERGE without them is
/// some 40 times slower on ArcadeDB). Neo4j's `IF NOT EXISTS` forms, which ArcadeDB accepts too;
/// a server that refuses one (Memgraph has its own DDL) gets a warning and works without it.
const SCHEMA: [&str; 12] = [
    "CREATE CONSTRAINT crawlrag_entity_key IF NOT EXISTS FOR (e:Entity) REQUIRE e.key IS UNIQUE",
    "CREATE CONSTRAINT crawlrag_entity_vector_key IF NOT EXISTS FOR (v:EntityVector) REQUIRE v.key IS UNIQUE",
    "CREATE CONSTRAINT crawlrag_entity_vector_log_name IF NOT EXISTS FOR (l:EntityVectorLog) REQUIRE l.name IS UNIQUE",
    "CREATE CONSTRAINT crawlrag_document_url IF NOT EXISTS FOR (d:Document) REQUIRE d.url IS UNIQUE",
    "CREATE CONSTRAINT crawlrag_chunk_key IF NOT EXISTS FOR (c:Chunk) REQUIRE c.key IS UNIQUE",
    "CREATE INDEX crawlrag_entity_vector_seq IF NOT EXISTS FOR (v:EntityVector) ON (v.seq)",
    "CREATE INDEX crawlrag_document_source IF NOT EXISTS FOR (d:Document) ON (d.source_id)",
    "CREATE INDEX crawlrag_chunk_url IF NOT EXISTS FOR (c:Chunk) ON (c.url)",
    "CREATE INDEX crawlrag_chunk_source IF NOT EXISTS FOR (c:Chunk) ON (c.source_id)",
    "CREATE INDEX crawlrag_mentions_source IF NOT EXISTS FOR ()-[m:MENTIONS]-() ON (m.source_id)",
    "CREATE INDEX crawlrag_related_url IF NOT EXISTS FOR ()-[r:RELATED]-() ON (r.url)",
    "CREATE INDEX crawlrag_related_source IF NOT EXISTS FOR ()-[r:RELATED]-() ON (r.source_id)",
];

/// Limit of a user's read-only query (server-side where the server honours `tx_timeout`, and
/// around the whole fetch here).
const READ_QUERY_TIMEOUT_MS: u64 = 10_000;
/// Rows per `UNWIND` batch.
const BATCH_ROWS: usize = 256;
/// The first answer at connect (a closed port fails at once; this bounds a host that does not
/// answer).
const CONNECT_TIMEOUT: Duration = Duration::from_secs(5);
/// Any one answer of the server afterwards. neo4rs applies its connection timeout to the TCP
/// connect and to every receive alike, so it is this, and `CONNECT_TIMEOUT` bounds the connect.
const RESPONSE_TIMEOUT: Duration = Duration::from_secs(60);
/// Rows per Bolt `PULL`.
const FETCH_SIZE: usize = 500;

/// The document graph on a Bolt server.
pub struct BoltGraph {
    graph: Graph,
    database: Option<String>,
    /// One page write (one transaction) at a time from this process; code graph writes (`code`)
    /// take it too.
    writes: tokio::sync::Mutex<()>,
    /// The entity vectors as last loaded, with the log's dimension at that load.
    vectors: RwLock<LoadedVectors>,
}

impl std::fmt::Debug for BoltGraph {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("BoltGraph").field("database", &self.database).finish_non_exhaustive()
    }
}

impl BoltGraph {
    /// Connect to `uri` (`bolt://host:port`, `bolt+s://`, `neo4j://` without routing) as `user`,
    /// on `database` (the server's default when `None`; it is named on every transaction, as
    /// pooled connections otherwise stay on whichever database they used last), and create the
    /// constraints and indexes that are missing.
    ///
    /// # Errors
    /// [`GraphError::Unavailable`] when the URI is invalid, the server does not answer or refuses
    /// the credentials.
    pub async fn connect(uri: &str, user: &str, password: &str, database: Option<&str>) -> Result<Self, GraphError> {
        let mut config = ConfigBuilder::default()
            .uri(uri)
            .user(user)
            .password(password)
            .fetch_size(FETCH_SIZE)
            .connection_timeout(RESPONSE_TIMEOUT);
        if let Some(database) = database {
            config = config.db(database);
        }
        let config = config.build().map_err(|e| GraphError::Unavailable(format!("invalid Bolt settings: {e}")))?;
        let graph = Graph::connect(config).map_err(|e| GraphError::Unavailable(format!("invalid Bolt URI: {e}")))?;
        let store = Self {
            graph,
            database: database.map(str::to_owned),
            writes: tokio::sync::Mutex::new(()),
            vectors: RwLock::new(LoadedVectors::default()),
        };
        let answered = tokio::time::timeout(CONNECT_TIMEOUT, store.ping()).await;
        answered.map_err(|_| {
            GraphError::Unavailable(format!("the Bolt server did not answer within {} s", CONNECT_TIMEOUT.as_secs()))
        })??;
        for statement in SCHEMA.into_iter().chain(code::SCHEMA) {
            match store.graph.run(statement).await.map_err(statement_error) {
                Ok(()) => {}
                Err(GraphError::Unavailable(message)) => return Err(GraphError::Unavailable(message)),
                Err(refused) => {
                    tracing::warn!(%statement, error = %refused, "the Bolt server refused a schema statement")
                }
            }
        }
        Ok(store)
    }

    /// Run one of our statements that only reads, in read mode, outside any transaction.
    async fn read(&self, statement: &str, params: Params) -> Result<Vec<Row>, GraphError> {
        let mut stream = self.graph.execute_read(statement_query(statement, params)).await.map_err(statement_error)?;
        let mut rows = Vec::new();
        while let Some(row) = stream.next().await.map_err(statement_error)? {
            rows.push(row);
        }
        Ok(rows)
    }

    /// Entities of `keys`, in no particular order.
    async fn entity_records(&self, keys: &[String]) -> Result<Vec<EntityRecord>, GraphError> {
        let mut records = Vec::new();
        for batch in keys.chunks(BATCH_ROWS) {
            let params = vec![("keys", texts(batch)), ("max_aliases", BoltType::from(MAX_ALIASES))];
            records.extend(self.read(q::ENTITIES, params).await?.iter().map(entity_record));
        }
        Ok(records)
    }

    /// One hop of the neighbourhood walk: the entities related to any of `keys`.
    async fn neighbours(&self, keys: &[String]) -> Result<Vec<String>, GraphError> {
        let mut found = Vec::new();
        for batch in keys.chunks(BATCH_ROWS) {
            let rows = self.read(q::NEIGHBOURHOOD, vec![("keys", texts(batch))]).await?;
            found.extend(rows.iter().filter_map(|row| string(&column(row, "key"))));
        }
        Ok(found)
    }
}

#[async_trait]
impl GraphStore for BoltGraph {
    fn backend(&self) -> &'static str {
        "bolt"
    }

    async fn replace_page(&self, graph: PageGraph<'_>) -> Result<(), GraphError> {
        let _writing = self.writes.lock().await;
        self.transaction(Change::Replace(&graph)).await.map(drop)
    }

    async fn page_hash(&self, url: &str) -> Result<Option<String>, GraphError> {
        let rows = self.read(q::PAGE_HASH, vec![("url", text_param(url))]).await?;
        Ok(rows.first().and_then(|row| string(&column(row, "hash"))))
    }

    async fn delete_page(&self, url: &str) -> Result<GraphDeleted, GraphError> {
        let _writing = self.writes.lock().await;
        self.transaction(Change::DeletePage(url)).await
    }

    async fn delete_source(&self, source: &SourceId) -> Result<GraphDeleted, GraphError> {
        let _writing = self.writes.lock().await;
        self.transaction(Change::DeleteSource(source)).await
    }

    async fn nearest_entities(
        &self,
        embedding: &[f32],
        source: Option<&SourceId>,
        limit: usize,
    ) -> Result<Vec<(EntityRecord, f32)>, GraphError> {
        self.nearest(embedding, source, limit).await
    }

    async fn entities(&self, keys: &[String]) -> Result<Vec<EntityRecord>, GraphError> {
        let unique: BTreeSet<String> = keys.iter().cloned().collect();
        self.entity_records(&unique.into_iter().collect::<Vec<_>>()).await
    }

    async fn entities_with_prefix(&self, prefix: &str, limit: usize) -> Result<Vec<EntityRecord>, GraphError> {
        let rows =
            self.read(q::ENTITIES_WITH_PREFIX, vec![("prefix", text_param(prefix)), ("limit", integer(limit))]).await?;
        let keys: Vec<String> = rows.iter().filter_map(|row| string(&column(row, "key"))).collect();
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
            ("source", optional_text(source.map(SourceId::as_str))),
            ("limit", integer(limit)),
        ];
        let rows = self.read(q::RELATIONS_OF, params).await?;
        Ok(rows.iter().map(relation_record).collect())
    }

    async fn neighbourhood(&self, key: &str, max_hops: u32, limit: usize) -> Result<Vec<(String, u32)>, GraphError> {
        crate::adapters::cypher::breadth_first(key, max_hops, limit, |frontier| async move {
            self.neighbours(&frontier).await
        })
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
            ("source", optional_text(source.map(SourceId::as_str))),
            ("limit", integer(limit)),
        ];
        let rows = self.read(q::CHUNKS_MENTIONING, params).await?;
        Ok(rows
            .iter()
            .map(|row| ChunkMentions {
                url: text(row, "url"),
                chunk_number: i32::try_from(int(&column(row, "chunk_number"))).unwrap_or(i32::MAX),
                keys: strings(&column(row, "keys")),
            })
            .collect())
    }

    async fn documents_mentioning(&self, key: &str, limit: usize) -> Result<Vec<DocumentRef>, GraphError> {
        let rows =
            self.read(q::DOCUMENTS_MENTIONING, vec![("key", text_param(key)), ("limit", integer(limit))]).await?;
        Ok(rows
            .iter()
            .map(|row| DocumentRef {
                url: text(row, "url"),
                title: string(&column(row, "title")),
                source_id: text(row, "source_id"),
                mentions: int(&column(row, "mentions")),
            })
            .collect())
    }

    async fn source_counts(&self) -> Result<Vec<SourceGraphCounts>, GraphError> {
        let entities = self.read(q::SOURCE_COUNTS_ENTITIES, Vec::new()).await?;
        let relations: HashMap<String, i64> = self
            .read(q::SOURCE_COUNTS_RELATIONS, Vec::new())
            .await?
            .iter()
            .map(|row| (text(row, "source"), int(&column(row, "relations"))))
            .collect();
        let mut counts: Vec<SourceGraphCounts> = entities
            .iter()
            .map(|row| {
                let source = text(row, "source");
                SourceGraphCounts {
                    relations: relations.get(&source).copied().unwrap_or(0),
                    entities: int(&column(row, "entities")),
                    source: SourceId::from(source),
                }
            })
            .collect();
        counts.sort_by(|a, b| a.source.as_str().cmp(b.source.as_str()));
        Ok(counts)
    }

    async fn read_query(&self, query: &str, row_limit: usize) -> Result<Vec<GraphRow>, GraphError> {
        // A second line behind the service's guard: not every Bolt server enforces read mode.
        let checked = check_read_only(query).map_err(refusal)?;
        let fetch = async {
            let query = neo4rs::query(&checked).extra("tx_timeout", BoltType::from(READ_QUERY_TIMEOUT_MS as i64));
            let mut stream = self.graph.execute_read(query).await.map_err(user_query_error)?;
            let mut rows = Vec::new();
            while rows.len() < row_limit {
                match stream.next().await.map_err(user_query_error)? {
                    Some(row) => rows.push(row_json(&row)),
                    None => break,
                }
            }
            Ok(rows)
        };
        let limit = Duration::from_millis(READ_QUERY_TIMEOUT_MS);
        tokio::time::timeout(limit, fetch).await.unwrap_or(Err(GraphError::Timeout(READ_QUERY_TIMEOUT_MS)))
    }

    async fn ping(&self) -> Result<(), GraphError> {
        match self.read("RETURN 1 AS one", Vec::new()).await {
            Ok(_) => Ok(()),
            Err(GraphError::Unavailable(message)) => Err(GraphError::Unavailable(message)),
            Err(other) => Err(GraphError::Unavailable(other.to_string())),
        }
    }
}

/// One of our statements with its parameters.
fn statement_query(statement: &str, params: Params) -> Query {
    neo4rs::query(statement).params(params)
}

fn entity_record(row: &Row) -> EntityRecord {
    EntityRecord {
        key: text(row, "key"),
        name: text(row, "name"),
        entity_type: text(row, "type"),
        description: text(row, "description"),
        aliases: strings(&column(row, "aliases")),
        mention_count: int(&column(row, "mention_count")),
    }
}

fn relation_record(row: &Row) -> RelationRecord {
    RelationRecord {
        source: text(row, "source"),
        target: text(row, "target"),
        relation_type: text(row, "type"),
        weight: float(&column(row, "weight")),
        count: int(&column(row, "count")),
    }
}
