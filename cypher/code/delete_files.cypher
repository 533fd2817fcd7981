// Every file of a repository, with its CONTAINS and IMPORTS edges.
MATCH (f:CodeFile {repo: $repo})
DETACH DELETE f
RETURN count(*) AS deleted
