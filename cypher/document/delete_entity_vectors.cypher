// The name vectors (EntityVector nodes, however each backend stores the embedding) of the
// entities among $keys that are gone (run after delete_orphans.cypher).
UNWIND $keys AS k
MATCH (v:EntityVector {key: k})
OPTIONAL MATCH (e:Entity {key: k})
WITH v, e
WHERE e IS NULL
DELETE v
RETURN count(*) AS deleted
