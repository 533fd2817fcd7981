// Entities by key, with the other spellings pages used for them (at most $max_aliases).
UNWIND $keys AS k
MATCH (e:Entity {key: k})
OPTIONAL MATCH (:Chunk)-[m:MENTIONS]->(e)
WITH e, collect(DISTINCT m.name) AS names
RETURN e.key AS key, e.name AS name, e.type AS type, e.description AS description,
  e.mention_count AS mention_count, [n IN names WHERE n <> e.name][..$max_aliases] AS aliases
