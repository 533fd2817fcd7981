// The page's Document (created, or a stub filled in) and one Chunk per chunk number. The content
// hash is written last (set_page_hash.cypher): until then it is '' (no page's hash, and not a
// stub's null), so a write that fails midway is redone by the next crawl.
MERGE (d:Document {url: $url})
SET d.source_id = $source, d.title = $title, d.content_hash = ''
WITH d
UNWIND $chunks AS n
MERGE (c:Chunk {key: $url + '#' + toString(n)})
SET c.url = $url, c.chunk_number = n, c.source_id = $source
MERGE (d)-[:HAS_CHUNK]->(c)
