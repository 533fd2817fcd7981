// Bolt servers: which of $keys (the nearest entities found in memory) $source's pages mention.
UNWIND $keys AS k
MATCH (:Chunk)-[m:MENTIONS]->(e:Entity {key: k})
WHERE m.source_id = $source
RETURN DISTINCT e.key AS key
