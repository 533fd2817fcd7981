// One page of a repository's files, by key ($skip, $limit): sorted before the columns are read.
MATCH (f:CodeFile {repo: $repo})
WITH f ORDER BY f.key SKIP $skip LIMIT $limit
RETURN f.key AS key, f.path AS path, f.language AS language, f.module AS module,
  f.line_count AS line_count
