// $keys (file keys) -> source, target, names: their IMPORTS of files of the repository
// (resolved; paths).
UNWIND $keys AS k
MATCH (a:CodeFile {key: k})-[r:IMPORTS]->(b:CodeFile)
RETURN a.path AS source, b.path AS target, r.names AS names
