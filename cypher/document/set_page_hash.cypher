// The last statement of a page's write: the content hash its graph was built from.
MATCH (d:Document {url: $url})
SET d.content_hash = $content_hash
