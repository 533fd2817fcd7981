// The content hash a page's graph was built from (null for a page only linked to, never crawled).
MATCH (d:Document {url: $url})
RETURN d.content_hash AS hash
