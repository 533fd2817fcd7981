// $repo, $rows: {key, path, language, module, line_count}. The repository's node links them
// (contain_files.cypher) once everything else is written.
UNWIND $rows AS row
CREATE (f:CodeFile {key: row.key})
SET f.repo = $repo, f.path = row.path, f.language = row.language, f.module = row.module,
  f.line_count = row.line_count
