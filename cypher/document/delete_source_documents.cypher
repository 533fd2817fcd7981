// A source's Documents (crawled pages and stubs) with their links. Answers how many were crawled
// pages, and the other sources' documents they linked to (stubs among them may now be unlinked).
OPTIONAL MATCH (d:Document {source_id: $source})
OPTIONAL MATCH (d)-[:LINKS_TO]->(t:Document)
WHERE t.source_id <> $source
WITH collect(DISTINCT d) AS docs, collect(DISTINCT t.url) AS outside
WITH docs, outside, size([d IN docs WHERE d.content_hash IS NOT NULL]) AS documents
FOREACH (d IN docs | DETACH DELETE d)
RETURN documents, outside
