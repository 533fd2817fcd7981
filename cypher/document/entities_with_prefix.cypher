// Keys starting with $prefix, most mentioned first.
MATCH (e:Entity)
WHERE e.key STARTS WITH $prefix
RETURN e.key AS key
ORDER BY e.mention_count DESC, e.key
LIMIT $limit
