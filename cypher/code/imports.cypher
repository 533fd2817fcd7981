// $rows: {source, target, names}: file keys, both in the repository. CREATE, not MERGE: one file
// may import one module in two statements with different names.
UNWIND $rows AS row
MATCH (a:CodeFile {key: row.source})
MATCH (b:CodeFile {key: row.target})
CREATE (a)-[:IMPORTS {names: row.names}]->(b)
