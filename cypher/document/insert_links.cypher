// The page's links. A target not crawled yet becomes a stub Document (a url and the linking
// page's source, no content_hash).
MATCH (d:Document {url: $url})
UNWIND $links AS target
MERGE (t:Document {url: target})
ON CREATE SET t.source_id = $source
MERGE (d)-[:LINKS_TO]->(t)
