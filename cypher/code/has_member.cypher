// $rows: {parent, key}: a type owns its members (and nested types).
UNWIND $rows AS row
MATCH (p:CodeSymbol {key: row.parent})
MATCH (s:CodeSymbol {key: row.key})
CREATE (p)-[:HAS_MEMBER]->(s)
