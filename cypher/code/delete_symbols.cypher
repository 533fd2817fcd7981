// Every symbol of a repository, with its DEFINES, HAS_MEMBER, INHERITS and IMPLEMENTS edges.
MATCH (s:CodeSymbol {repo: $repo})
DETACH DELETE s
RETURN count(*) AS deleted
