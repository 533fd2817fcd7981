// A repository's own node first: with it gone the repository is not listed or loaded, so a
// reader never sees a graph that is only partly deleted (or, on FalkorDB, partly rewritten).
MATCH (r:CodeRepository {key: $repo})
DETACH DELETE r
RETURN count(*) AS deleted
