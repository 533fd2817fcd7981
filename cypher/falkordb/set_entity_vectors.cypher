// FalkorDB only: entities' name vectors, written once (when the entity first appears), on
// EntityVector nodes of their own that are never updated. FalkorDB 4.16 re-indexes a node on
// every property update, and each re-index leaves a dead entry in the HNSW vector index that
// still counts towards queryNodes' k: vectors on Entity (whose mention_count changes on every
// write) made searches answer fewer and fewer entities. vecf32() makes the list a vector; a
// parameter cannot be one itself.
UNWIND $rows AS row
MERGE (v:EntityVector {key: row.key})
ON CREATE SET v.embedding = vecf32(row.embedding)
