// Bolt servers: which of $keys have a name vector already (an entity keeps its first).
UNWIND $keys AS k
MATCH (v:EntityVector {key: k})
RETURN v.key AS key
