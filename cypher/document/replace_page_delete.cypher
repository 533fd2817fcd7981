// Forget what one page said: its chunks (and their MENTIONS), its RELATED edges and its outgoing
// LINKS_TO. The Document node stays (other pages may link to it; it is rewritten or unset next).
// Answers the keys it mentioned (to recount), the counts removed, and the old link targets (to
// drop stubs nothing links to any more).
OPTIONAL MATCH (c:Chunk {url: $url})
OPTIONAL MATCH (c)-[m:MENTIONS]->(e:Entity)
WITH collect(DISTINCT c) AS chunks, collect(DISTINCT e.key) AS keys, count(m) AS mentions
OPTIONAL MATCH (:Entity)-[r:RELATED {url: $url}]->(:Entity)
WITH chunks, keys, mentions, collect(r) AS relations
OPTIONAL MATCH (:Document {url: $url})-[l:LINKS_TO]->(t:Document)
WITH chunks, keys, mentions, relations, collect(l) AS links, collect(DISTINCT t.url) AS targets
FOREACH (r IN relations | DELETE r)
FOREACH (l IN links | DELETE l)
FOREACH (c IN chunks | DETACH DELETE c)
RETURN keys, mentions, size(relations) AS relations, targets
