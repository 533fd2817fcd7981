// Bolt servers: new entities' name vectors, as plain lists of floats on EntityVector nodes
// (searched in memory by the adapter: vector indexes differ from one Bolt server to another),
// written once, when the entity first appears. The batch takes the log's next `seq`, so readers
// holding vectors up to some seq load only the newer ones; the log's write also serialises
// concurrent batches, so seqs become visible in order. $dims becomes the log's dimension unless
// it has one (the adapter sends only vectors of the log's dimension once it has one).
MERGE (log:EntityVectorLog {name: 'entity_vectors'})
ON CREATE SET log.seq = 0, log.generation = 0
SET log.seq = log.seq + 1, log.dims = coalesce(log.dims, $dims)
WITH log.seq AS seq
UNWIND $rows AS row
MERGE (v:EntityVector {key: row.key})
ON CREATE SET v.embedding = row.embedding, v.seq = seq
