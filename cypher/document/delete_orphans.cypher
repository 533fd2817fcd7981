// The entities among $keys that no chunk mentions any more, deleted with any edge left on them.
UNWIND $keys AS k
MATCH (e:Entity {key: k})
OPTIONAL MATCH (:Chunk)-[m:MENTIONS]->(e)
WITH e, count(m) AS edges
WHERE edges = 0
DETACH DELETE e
RETURN count(*) AS orphans
