// Bolt servers: vectors were deleted (delete_entity_vectors.cypher), so readers reload them all.
MERGE (log:EntityVectorLog {name: 'entity_vectors'})
ON CREATE SET log.seq = 0
SET log.generation = coalesce(log.generation, 0) + 1
