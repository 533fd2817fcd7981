// The repository's node, written last: until it exists the repository is neither listed nor
// loaded. Its counts are the graph's (RepoGraph::counts()).
CREATE (r:CodeRepository {key: $repo})
SET r.name = $name, r.url = $url, r.commit = $commit, r.reference = $reference,
  r.parsed_at = $parsed_at, r.root_modules = $root_modules, r.docs = $docs, r.files = $files,
  r.classes = $classes, r.functions = $functions, r.methods = $methods,
  r.attributes = $attributes, r.imports = $imports, r.inherits = $inherits
