//! SQLite SQL for the embedded graph body (`adapters/sql_body/graph.rs`).

use super::{SqliteStore, classify};
use crate::adapters::sql_body::graph::{HasDatabase, impl_embedded_graph};

impl HasDatabase for SqliteStore {
    type Db = sqlx::Sqlite;
}

mod sql {
    use crate::domain::vector::to_le_bytes;
    use crate::ports::EntityFacts;

    /// Insert new entities; an existing one keeps its name and vector and takes the better
    /// description. One statement per row: they carry vector bytes, and SQLite runs them in-process.
    pub(super) async fn upsert_entities(
        tx: &mut sqlx::Transaction<'_, sqlx::Sqlite>,
        entities: &[EntityFacts],
    ) -> Result<(), sqlx::Error> {
        for e in entities {
            sqlx::query(UPSERT_ENTITY)
                .bind(&e.key)
                .bind(&e.name)
                .bind(e.entity_type.as_str())
                .bind(&e.description)
                .bind(f64::from(e.description_score))
                .bind(to_le_bytes(&e.embedding))
                .execute(&mut **tx)
                .await?;
        }
        Ok(())
    }

    // language=SQLite
    const UPSERT_ENTITY: &str = "insert into graph_entities (key, name, entity_type, description, description_score, embedding)
         values (?1, ?2, ?3, ?4, ?5, ?6)
         on conflict (key) do update set
           description = case when excluded.description_score > description_score then excluded.description else description end,
           description_score = max(description_score, excluded.description_score)";
    // language=SQLite
    pub(super) const DELETE_DOCUMENT: &str = "delete from graph_documents where url = ?1";
    // language=SQLite
    pub(super) const INSERT_DOCUMENT: &str =
        "insert into graph_documents (url, source_id, title, content_hash) values (?1, ?2, ?3, ?4)";
    // language=SQLite
    pub(super) const DOCUMENT_HASH: &str = "select content_hash from graph_documents where url = ?1";
    // language=SQLite
    pub(super) const PAGE_ENTITY_KEYS: &str = "select distinct entity_key from graph_mentions where url = ?1";
    // language=SQLite
    pub(super) const DELETE_PAGE_MENTIONS: &str = "delete from graph_mentions where url = ?1";
    // language=SQLite
    pub(super) const DELETE_PAGE_RELATIONS: &str = "delete from graph_relations where url = ?1";
    // language=SQLite
    pub(super) const DELETE_PAGE_LINKS: &str = "delete from graph_links where from_url = ?1";
    // language=SQLite
    pub(super) const INSERT_MENTIONS: &str =
        "insert into graph_mentions (url, chunk_number, entity_key, source_id, name, count)
         select ?1, json_extract(e.value, '$.c'), json_extract(e.value, '$.k'), ?2, json_extract(e.value, '$.n'),
                json_extract(e.value, '$.m')
         from json_each(?3) as e where true
         on conflict do nothing";
    // language=SQLite
    pub(super) const INSERT_RELATIONS: &str = "insert into graph_relations
           (url, source_key, target_key, source_id, relation_type, weight, count)
         select ?1, json_extract(e.value, '$.s'), json_extract(e.value, '$.t'), ?2, json_extract(e.value, '$.y'),
                json_extract(e.value, '$.w'), json_extract(e.value, '$.c')
         from json_each(?3) as e where true
         on conflict do nothing";
    // language=SQLite
    pub(super) const INSERT_LINKS: &str = "insert into graph_links (from_url, to_url, source_id)
         select ?1, e.value, ?2 from json_each(?3) as e where true
         on conflict do nothing";
    // language=SQLite
    pub(super) const RECOUNT_MENTIONS: &str = "update graph_entities set mention_count =
           (select coalesce(sum(m.count), 0) from graph_mentions m where m.entity_key = graph_entities.key)
         where key in (select value from json_each(?1))";
    // language=SQLite
    pub(super) const DELETE_ORPHANS: &str =
        "delete from graph_entities where mention_count = 0 and key in (select value from json_each(?1))";
    // language=SQLite
    pub(super) const BUMP_GRAPH_GENERATION: &str = "update graph_generation set n = n + 1 where id = 1";
    // language=SQLite
    pub(super) const READ_GRAPH_GENERATION: &str = "select n from graph_generation where id = 1";
    // language=SQLite
    pub(super) const ENTITY_VECTORS_SINCE: &str =
        "select id, key, embedding from graph_entities where id > ?1 order by id";
    // language=SQLite
    pub(super) const DELETE_SOURCE_DOCUMENTS: &str = "delete from graph_documents where source_id = ?1";
    // language=SQLite
    pub(super) const SOURCE_ENTITY_KEYS: &str = "select distinct entity_key from graph_mentions where source_id = ?1";
    // language=SQLite
    pub(super) const DELETE_SOURCE_MENTIONS: &str = "delete from graph_mentions where source_id = ?1";
    // language=SQLite
    pub(super) const DELETE_SOURCE_RELATIONS: &str = "delete from graph_relations where source_id = ?1";
    // language=SQLite
    pub(super) const DELETE_SOURCE_LINKS: &str = "delete from graph_links where source_id = ?1";
    // language=SQLite
    pub(super) const ENTITIES_BY_KEY: &str = "select e.key, e.name, e.entity_type, e.description, e.mention_count,
           (select json_group_array(a.name) from
              (select distinct m.name from graph_mentions m where m.entity_key = e.key limit ?2) as a)
         from graph_entities e where e.key in (select value from json_each(?1))";
    // language=SQLite
    pub(super) const KEYS_IN_SOURCE: &str = "select distinct entity_key from graph_mentions
         where source_id = ?1 and entity_key in (select value from json_each(?2))";
    // language=SQLite
    pub(super) const KEYS_WITH_PREFIX: &str = "select key from graph_entities where key >= ?1 and key < ?2
         order by mention_count desc, key limit ?3";
    // language=SQLite
    /// Two indexed lookups (by either end) instead of an `or`, which would scan every relation;
    /// the second leaves out rows the first already has.
    // language=SQLite
    pub(super) const RELATIONS_OF: &str = "select source_key, target_key, relation_type, sum(weight), sum(count) from (
           select * from graph_relations where source_key in (select value from json_each(?1))
           union all
           select * from graph_relations where target_key in (select value from json_each(?1))
             and source_key not in (select value from json_each(?1))
         ) as r
         where ?2 is null or source_id = ?2
         group by source_key, target_key, relation_type
         order by sum(weight) desc, source_key, target_key limit ?3";
    /// Breadth-first over relations in both directions; `union` keeps each (entity, hops) once,
    /// so the walk is bounded by entities x hops.
    // language=SQLite
    pub(super) const NEIGHBOURHOOD: &str = "with recursive walk (key, hops) as (
           select ?1, 0
           union
           select case when r.source_key = w.key then r.target_key else r.source_key end, w.hops + 1
           from walk w join graph_relations r on r.source_key = w.key or r.target_key = w.key
           where w.hops < ?2
         )
         select key, min(hops) as hops from walk where key <> ?1
         group by key order by hops, key limit ?3";
    // language=SQLite
    pub(super) const CHUNKS_MENTIONING: &str = "select url, chunk_number, json_group_array(entity_key)
         from graph_mentions
         where entity_key in (select value from json_each(?1)) and (?2 is null or source_id = ?2)
         group by url, chunk_number
         order by count(*) desc, sum(count) desc, url, chunk_number limit ?3";
    // language=SQLite
    pub(super) const DOCUMENTS_MENTIONING: &str = "select d.url, d.title, d.source_id, sum(m.count)
         from graph_mentions m join graph_documents d on d.url = m.url
         where m.entity_key = ?1
         group by d.url, d.title, d.source_id
         order by sum(m.count) desc, d.url limit ?2";
    // language=SQLite
    pub(super) const ENTITIES_PER_SOURCE: &str =
        "select source_id, count(distinct entity_key) from graph_mentions group by source_id";
    // language=SQLite
    pub(super) const RELATIONS_PER_SOURCE: &str = "select source_id, count(*) from
           (select distinct source_id, source_key, target_key from graph_relations) group by source_id";
}

impl_embedded_graph!(SqliteStore, sql, classify);
