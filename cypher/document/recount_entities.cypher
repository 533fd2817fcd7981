// mention_count of each of $keys, from the MENTIONS edges that exist now.
// (No WITH ... WHERE after the SET: FalkorDB 4.16 pushes such a filter below the SET, which then
// updates only the rows the filter keeps. delete_orphans.cypher is a statement of its own.)
UNWIND $keys AS k
MATCH (e:Entity {key: k})
OPTIONAL MATCH (:Chunk)-[m:MENTIONS]->(e)
WITH e, coalesce(toInteger(sum(m.count)), 0) AS total
SET e.mention_count = total
RETURN count(*) AS recounted
