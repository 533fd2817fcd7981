// $keys (file keys) -> source, target, names: their IMPORTS of modules outside the repository
// (unresolved; target is the module as written).
UNWIND $keys AS k
MATCH (a:CodeFile {key: k})-[r:IMPORTS]->(b:CodeExternal)
RETURN a.path AS source, b.name AS target, r.names AS names
