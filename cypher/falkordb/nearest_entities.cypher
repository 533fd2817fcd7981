// FalkorDB only: the $k entity vectors nearest $vector in the EntityVector.embedding index,
// kept when $source is null or its pages mention the entity, best first. score is a cosine
// DISTANCE (0 = same direction); the caller turns it into a similarity (1 - distance).
CALL db.idx.vector.queryNodes('EntityVector', 'embedding', $k, vecf32($vector)) YIELD node, score
MATCH (e:Entity {key: node.key})
OPTIONAL MATCH (:Chunk)-[m:MENTIONS]->(e)
WHERE m.source_id = $source
WITH e, score, count(m) AS inside
WHERE $source IS NULL OR inside > 0
RETURN e.key AS key, score
ORDER BY score, key
LIMIT $limit
