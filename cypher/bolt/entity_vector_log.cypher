// Bolt servers: the entity vector log, one node: `seq` grows with every batch of new vectors,
// `generation` with every deletion of vectors, `dims` is the dimension of the first vector
// stored. No row (or nulls) until the first vector is written.
MATCH (log:EntityVectorLog {name: 'entity_vectors'})
RETURN log.generation AS generation, log.seq AS seq, log.dims AS dims
