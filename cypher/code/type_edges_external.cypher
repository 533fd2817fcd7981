// $keys (symbol keys) -> kind, source, target: their INHERITS and IMPLEMENTS edges to names
// outside the repository (unresolved; target is the name as written).
UNWIND $keys AS k
MATCH (a:CodeSymbol {key: k})-[r:INHERITS|IMPLEMENTS]->(b:CodeExternal)
RETURN type(r) AS kind, a.key AS source, b.name AS target
