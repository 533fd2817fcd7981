// Every repository with its counts, by key.
MATCH (r:CodeRepository)
RETURN r.key AS key, r.name AS name, r.url AS url, r.commit AS commit, r.reference AS reference,
  r.parsed_at AS parsed_at, r.root_modules AS root_modules, r.docs AS docs, r.files AS files,
  r.classes AS classes, r.functions AS functions, r.methods AS methods,
  r.attributes AS attributes, r.imports AS imports, r.inherits AS inherits
ORDER BY key
