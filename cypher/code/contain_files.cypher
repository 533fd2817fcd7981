// The repository contains its files.
MATCH (r:CodeRepository {key: $repo})
MATCH (f:CodeFile {repo: $repo})
CREATE (r)-[:CONTAINS]->(f)
