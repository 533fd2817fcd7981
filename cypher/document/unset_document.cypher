// A page gone from its site: its Document becomes a stub (delete_unlinked_stubs then removes it
// unless another page still links to it). Answers 1 if the page was in the graph.
MATCH (d:Document {url: $url})
WHERE d.content_hash IS NOT NULL
SET d.content_hash = null, d.title = null
RETURN count(d) AS documents
