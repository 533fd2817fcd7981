// Documents mentioning $key, most mentions first.
MATCH (e:Entity {key: $key})<-[m:MENTIONS]-(:Chunk)<-[:HAS_CHUNK]-(d:Document)
RETURN d.url AS url, d.title AS title, d.source_id AS source_id, toInteger(sum(m.count)) AS mentions
ORDER BY mentions DESC, url
LIMIT $limit
