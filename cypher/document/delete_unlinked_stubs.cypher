// Stub Documents (never crawled, or no longer) among $urls that no page links to any more.
UNWIND $urls AS u
MATCH (d:Document {url: u})
WHERE d.content_hash IS NULL
OPTIONAL MATCH (:Document)-[l:LINKS_TO]->(d)
WITH d, count(l) AS incoming
WHERE incoming = 0
DETACH DELETE d
RETURN count(*) AS deleted
