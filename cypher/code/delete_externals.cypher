// The repository's stand-ins for external base classes and modules.
MATCH (x:CodeExternal {repo: $repo})
DETACH DELETE x
RETURN count(*) AS deleted
