// Distinct related pairs each source's pages support.
MATCH (a:Entity)-[r:RELATED]->(b:Entity)
WITH DISTINCT r.source_id AS source, a.key AS s, b.key AS t
RETURN source, count(*) AS relations
