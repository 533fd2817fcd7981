// $repo, $rows: the symbols of kind attribute, labelled :CodeSymbol:Attribute (one file per
// label: the shared subset has no dynamic labels). Parameters are listed twice: `params_json`
// is what is read back, `params_list`/`params_detailed` the forms users' Cypher reads.
UNWIND $rows AS row
CREATE (s:CodeSymbol:Attribute {key: row.key})
SET s.repo = $repo, s.file = row.file, s.name = row.name, s.qualified_name = row.qualified_name,
  s.kind = row.kind, s.parent = row.parent, s.visibility = row.visibility, s.binding = row.binding,
  s.params_json = row.params_json, s.params_list = row.params_list,
  s.params_detailed = row.params_detailed, s.return_type = row.return_type,
  s.type_name = row.type_name, s.is_async = row.is_async, s.line = row.line, s.end_line = row.end_line
