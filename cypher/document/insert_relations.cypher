// One RELATED edge per (page, pair, type): a page's replace deletes exactly its edges, and weights are
// summed over pages when read. The relation type is a property, never a dynamic edge type.
UNWIND $rows AS row
MATCH (a:Entity {key: row.source}), (b:Entity {key: row.target})
MERGE (a)-[r:RELATED {url: $url, type: row.type}]->(b)
ON CREATE SET r.source_id = $source, r.weight = row.weight, r.count = row.count
