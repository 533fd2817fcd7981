// One page of a repository's symbols, by key ($skip, $limit): sorted before the columns are read.
MATCH (s:CodeSymbol {repo: $repo})
WITH s ORDER BY s.key SKIP $skip LIMIT $limit
RETURN s.key AS key, s.file AS file, s.name AS name, s.qualified_name AS qualified_name,
  s.kind AS kind, s.parent AS parent, s.visibility AS visibility, s.binding AS binding,
  s.params_json AS params_json, s.return_type AS return_type, s.type_name AS type_name,
  s.is_async AS is_async, s.line AS line, s.end_line AS end_line
