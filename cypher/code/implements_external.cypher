// $rows: {source, target}: a symbol key and the key of a CodeExternal.
UNWIND $rows AS row
MATCH (a:CodeSymbol {key: row.source})
MATCH (b:CodeExternal {key: row.target})
CREATE (a)-[:IMPLEMENTS]->(b)
