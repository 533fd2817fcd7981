// Bolt servers: the entity vectors written after batch $since (-1: all of them), oldest first.
MATCH (v:EntityVector)
WHERE v.seq > $since
RETURN v.key AS key, v.embedding AS embedding, v.seq AS seq
ORDER BY seq
