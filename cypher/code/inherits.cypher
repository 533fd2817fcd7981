// $rows: {source, target}: symbol keys, both in the repository.
UNWIND $rows AS row
MATCH (a:CodeSymbol {key: row.source})
MATCH (b:CodeSymbol {key: row.target})
CREATE (a)-[:INHERITS]->(b)
