// $keys (symbol keys) -> kind, source, target: their INHERITS and IMPLEMENTS edges to symbols of
// the repository (resolved).
UNWIND $keys AS k
MATCH (a:CodeSymbol {key: k})-[r:INHERITS|IMPLEMENTS]->(b:CodeSymbol)
RETURN type(r) AS kind, a.key AS source, b.key AS target
