// Forget what a source's pages said: their chunks (and MENTIONS) and RELATED edges. Answers the
// keys they mentioned (to recount) and the counts removed.
OPTIONAL MATCH (c:Chunk {source_id: $source})
OPTIONAL MATCH (c)-[m:MENTIONS]->(e:Entity)
WITH collect(DISTINCT c) AS chunks, collect(DISTINCT e.key) AS keys, count(m) AS mentions
OPTIONAL MATCH (:Entity)-[r:RELATED {source_id: $source}]->(:Entity)
WITH chunks, keys, mentions, collect(r) AS relations
FOREACH (r IN relations | DELETE r)
FOREACH (c IN chunks | DETACH DELETE c)
RETURN keys, mentions, size(relations) AS relations
