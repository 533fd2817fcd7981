// Chunks mentioning the most of $keys (optionally within $source), then the most mentions.
UNWIND $keys AS k
MATCH (c:Chunk)-[m:MENTIONS]->(e:Entity {key: k})
WHERE $source IS NULL OR m.source_id = $source
RETURN c.url AS url, c.chunk_number AS chunk_number, collect(e.key) AS keys, count(*) AS matched,
  sum(m.count) AS mentions
ORDER BY matched DESC, mentions DESC, url, chunk_number
LIMIT $limit
