// $rows: {source, target, names}: a file key and the key of a CodeExternal (a module not in the
// repository).
UNWIND $rows AS row
MATCH (a:CodeFile {key: row.source})
MATCH (b:CodeExternal {key: row.target})
CREATE (a)-[:IMPORTS {names: row.names}]->(b)
