// $rows: {file, key}: a file defines its symbols that have no parent.
UNWIND $rows AS row
MATCH (f:CodeFile {key: row.file})
MATCH (s:CodeSymbol {key: row.key})
CREATE (f)-[:DEFINES]->(s)
