// New entities are created; an existing one keeps its name and type and takes the better
// description. mention_count is recounted after the mentions are written.
UNWIND $rows AS row
MERGE (e:Entity {key: row.key})
ON CREATE SET e.name = row.name, e.type = row.type, e.description = row.description,
  e.description_score = row.score, e.mention_count = 0
ON MATCH SET
  e.description = CASE WHEN row.score > e.description_score THEN row.description ELSE e.description END,
  e.description_score = CASE WHEN row.score > e.description_score THEN row.score ELSE e.description_score END
