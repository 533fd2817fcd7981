// One MENTIONS edge per (chunk, entity). The entity is MERGEd, not matched: if another writer
// deleted it as an orphan since upsert_entities ran, it comes back (with the mention's name)
// instead of the mention being lost.
UNWIND $rows AS row
MATCH (c:Chunk {key: row.chunk})
MERGE (e:Entity {key: row.key})
ON CREATE SET e.name = row.name, e.type = row.type, e.description = '', e.description_score = 0.0,
  e.mention_count = 0
MERGE (c)-[m:MENTIONS]->(e)
SET m.count = row.count, m.name = row.name, m.source_id = $source
