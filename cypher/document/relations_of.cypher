// Relations touching any of $keys (optionally only those $source's pages support), summed over
// the pages that support them, heaviest first. DISTINCT: an edge between two asked keys is
// reached from both ends.
UNWIND $keys AS k
MATCH (:Entity {key: k})-[r:RELATED]-(:Entity)
WHERE $source IS NULL OR r.source_id = $source
WITH DISTINCT r
WITH startNode(r).key AS source, endNode(r).key AS target, r
RETURN source, target, r.type AS type, sum(r.weight) AS weight, toInteger(sum(r.count)) AS count
ORDER BY weight DESC, source, target
LIMIT $limit
