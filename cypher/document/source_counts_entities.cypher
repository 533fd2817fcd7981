// Distinct entities each source's pages mention.
MATCH (:Chunk)-[m:MENTIONS]->(e:Entity)
RETURN m.source_id AS source, count(DISTINCT e) AS entities
