// One hop of the neighbourhood walk: the entities related (either direction) to any of $keys.
// The walk (hop counts, the visited set, the limit) is the caller's, one statement per hop, so
// the work is bounded by entities x hops rather than by the number of paths.
UNWIND $keys AS k
MATCH (:Entity {key: k})-[:RELATED]-(n:Entity)
RETURN DISTINCT n.key AS key
