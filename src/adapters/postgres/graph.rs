//! Postgres SQL for the embedded graph body (`adapters/sql_body/graph.rs`).

use super::{PgStore, classify};
use crate::adapters::sql_body::graph::{HasDatabase, impl_embedded_graph};

impl HasDatabase for PgStore {
    type Db = sqlx::Postgres;
}

mod sql {
    use crate::domain::vector::to_le_bytes;
    use crate::ports::EntityFacts;

    /// Insert new entities; an existing one keeps its name and vector and takes the better
    /// description. One statement for the page: columns travel as arrays.
    pub(super) async fn upsert_entities(
        tx: &mut sqlx::Transaction<'_, sqlx::Postgres>,
        entities: &[EntityFacts],
    ) -> Result<(), sqlx::Error> {
        if entities.is_empty() {
            return Ok(());
        }
        let keys: Vec<&str> = entities.iter().map(|e| e.key.as_str()).collect();
        let names: Vec<&str> = entities.iter().map(|e| e.name.as_str()).collect();
        let types: Vec<&str> = entities.iter().map(|e| e.entity_type.as_str()).collect();
        let descriptions: Vec<&str> = entities.iter().map(|e| e.description.as_str()).collect();
        let scores: Vec<f64> = entities.iter().map(|e| f64::from(e.description_score)).collect();
        let vectors: Vec<Vec<u8>> = entities.iter().map(|e| to_le_bytes(&e.embedding)).collect();
        sqlx::query(UPSERT_ENTITIES)
            .bind(keys)
            .bind(names)
            .bind(types)
            .bind(descriptions)
            .bind(scores)
            .bind(vectors)
            .execute(&mut **tx)
            .await
            .map(|_| ())
    }

    // language=PostgreSQL
    const UPSERT_ENTITIES: &str =
        "insert into graph_entities (key, name, entity_type, description, description_score, embedding)
         select * from unnest($1::text[], $2::text[], $3::text[], $4::text[], $5::float8[], $6::bytea[])
         on conflict (key) do update set
           description = case when excluded.description_score > graph_entities.description_score
                              then excluded.description else graph_entities.description end,
           description_score = greatest(graph_entities.description_score, excluded.description_score)";
    // language=PostgreSQL
    pub(super) const DELETE_DOCUMENT: &str = "delete from graph_documents where url = $1";
    // language=PostgreSQL
    pub(super) const INSERT_DOCUMENT: &str =
        "insert into graph_documents (url, source_id, title, content_hash) values ($1, $2, $3, $4)";
    // language=PostgreSQL
    pub(super) const DOCUMENT_HASH: &str = "select content_hash from graph_documents where url = $1";
    // language=PostgreSQL
    pub(super) const PAGE_ENTITY_KEYS: &str = "select distinct entity_key from graph_mentions where url = $1";
    // language=PostgreSQL
    pub(super) const DELETE_PAGE_MENTIONS: &str = "delete from graph_mentions where url = $1";
    // language=PostgreSQL
    pub(super) const DELETE_PAGE_RELATIONS: &str = "delete from graph_relations where url = $1";
    // language=PostgreSQL
    pub(super) const DELETE_PAGE_LINKS: &str = "delete from graph_links where from_url = $1";
    // language=PostgreSQL
    pub(super) const INSERT_MENTIONS: &str =
        "insert into graph_mentions (url, chunk_number, entity_key, source_id, name, count)
         select $1, (e ->> 'c')::int, e ->> 'k', $2, e ->> 'n', (e ->> 'm')::bigint from jsonb_array_elements($3) as e
         on conflict do nothing";
    // language=PostgreSQL
    pub(super) const INSERT_RELATIONS: &str = "insert into graph_relations
           (url, source_key, target_key, source_id, relation_type, weight, count)
         select $1, e ->> 's', e ->> 't', $2, e ->> 'y', (e ->> 'w')::float8, (e ->> 'c')::bigint
         from jsonb_array_elements($3) as e
         on conflict do nothing";
    // language=PostgreSQL
    pub(super) const INSERT_LINKS: &str = "insert into graph_links (from_url, to_url, source_id)
         select $1, e, $2 from jsonb_array_elements_text($3) as e
         on conflict do nothing";
    // language=PostgreSQL
    pub(super) const RECOUNT_MENTIONS: &str = "update graph_entities set mention_count =
           (select coalesce(sum(m.count), 0) from graph_mentions m where m.entity_key = graph_entities.key)
         where key in (select jsonb_array_elements_text($1))";
    // language=PostgreSQL
    pub(super) const DELETE_ORPHANS: &str =
        "delete from graph_entities where mention_count = 0 and key in (select jsonb_array_elements_text($1))";
    // language=PostgreSQL
    pub(super) const BUMP_GRAPH_GENERATION: &str = "update graph_generation set n = n + 1 where id = 1";
    // language=PostgreSQL
    pub(super) const READ_GRAPH_GENERATION: &str = "select n from graph_generation where id = 1";
    // language=PostgreSQL
    pub(super) const ENTITY_VECTORS_SINCE: &str =
        "select id, key, embedding from graph_entities where id > $1 order by id";
    // language=PostgreSQL
    pub(super) const DELETE_SOURCE_DOCUMENTS: &str = "delete from graph_documents where source_id = $1";
    // language=PostgreSQL
    pub(super) const SOURCE_ENTITY_KEYS: &str = "select distinct entity_key from graph_mentions where source_id = $1";
    // language=PostgreSQL
    pub(super) const DELETE_SOURCE_MENTIONS: &str = "delete from graph_mentions where source_id = $1";
    // language=PostgreSQL
    pub(super) const DELETE_SOURCE_RELATIONS: &str = "delete from graph_relations where source_id = $1";
    // language=PostgreSQL
    pub(super) const DELETE_SOURCE_LINKS: &str = "delete from graph_links where source_id = $1";
    // language=PostgreSQL
    pub(super) const ENTITIES_BY_KEY: &str = "select e.key, e.name, e.entity_type, e.description, e.mention_count,
           (select coalesce(jsonb_agg(a.name), '[]'::jsonb)::text from
              (select distinct m.name from graph_mentions m where m.entity_key = e.key limit $2) as a)
         from graph_entities e where e.key in (select jsonb_array_elements_text($1))";
    // language=PostgreSQL
    pub(super) const KEYS_IN_SOURCE: &str = "select distinct entity_key from graph_mentions
         where source_id = $1 and entity_key in (select jsonb_array_elements_text($2))";
    // language=PostgreSQL
    pub(super) const KEYS_WITH_PREFIX: &str = "select key from graph_entities where key >= $1 and key < $2
         order by mention_count desc, key limit $3";
    // language=PostgreSQL
    /// Two indexed lookups (by either end) instead of an `or`, which would scan every relation;
    /// the second leaves out rows the first already has.
    // language=PostgreSQL
    pub(super) const RELATIONS_OF: &str =
        "select source_key, target_key, relation_type, sum(weight), sum(count)::bigint
         from (
           select * from graph_relations where source_key = any(array(select jsonb_array_elements_text($1)))
           union all
           select * from graph_relations where target_key = any(array(select jsonb_array_elements_text($1)))
             and source_key <> all(array(select jsonb_array_elements_text($1)))
         ) as r
         where $2::text is null or source_id = $2
         group by source_key, target_key, relation_type
         order by sum(weight) desc, source_key, target_key limit $3";
    /// Breadth-first over relations in both directions; `union` keeps each (entity, hops) once,
    /// so the walk is bounded by entities x hops.
    // language=PostgreSQL
    pub(super) const NEIGHBOURHOOD: &str = "with recursive walk (key, hops) as (
           select $1::text, 0::bigint
           union
           select case when r.source_key = w.key then r.target_key else r.source_key end, w.hops + 1
           from walk w join graph_relations r on r.source_key = w.key or r.target_key = w.key
           where w.hops < $2
         )
         select key, min(hops) as hops from walk where key <> $1
         group by key order by hops, key limit $3";
    // language=PostgreSQL
    pub(super) const CHUNKS_MENTIONING: &str = "select url, chunk_number, jsonb_agg(entity_key)::text
         from graph_mentions
         where entity_key in (select jsonb_array_elements_text($1)) and ($2::text is null or source_id = $2)
         group by url, chunk_number
         order by count(*) desc, sum(count) desc, url, chunk_number limit $3";
    // language=PostgreSQL
    pub(super) const DOCUMENTS_MENTIONING: &str = "select d.url, d.title, d.source_id, sum(m.count)::bigint
         from graph_mentions m join graph_documents d on d.url = m.url
         where m.entity_key = $1
         group by d.url, d.title, d.source_id
         order by sum(m.count) desc, d.url limit $2";
    // language=PostgreSQL
    pub(super) const ENTITIES_PER_SOURCE: &str =
        "select source_id, count(distinct entity_key) from graph_mentions group by source_id";
    // language=PostgreSQL
    pub(super) const RELATIONS_PER_SOURCE: &str = "select source_id, count(*) from
           (select distinct source_id, source_key, target_key from graph_relations) as pairs group by source_id";
}

impl_embedded_graph!(PgStore, sql, classify);
