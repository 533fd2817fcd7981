// $repo, $rows: {key, name}: what unresolved edges point at (an external base class or module),
// once per name and repository.
UNWIND $rows AS row
CREATE (x:CodeExternal {key: row.key})
SET x.repo = $repo, x.name = row.name
