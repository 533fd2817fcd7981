-- The code knowledge graph (embedded backend): repositories, their files, symbols and edges.
-- Every row carries its repository's key, so re-parsing replaces exactly one repository.
create table code_repositories (
    key text primary key,
    name text not null,
    url text not null,
    commit_sha text not null,
    reference text,
    parsed_at bigint not null,
    root_modules text not null,   -- JSON array of module names
    docs text not null,           -- JSON array of the Markdown paths indexed as pages
    counts text not null          -- JSON object: files, classes, functions, methods, attributes, imports, inherits
);

create table code_files (
    repo text not null,
    path text not null,
    language text not null,
    module text not null,
    line_count bigint not null,
    primary key (repo, path)
);

create table code_symbols (
    key text primary key,
    repo text not null,
    file text not null,
    name text not null,
    qualified_name text not null,
    kind text not null,
    parent text,
    visibility text not null,
    binding text not null,
    params text not null,         -- JSON array of {name, kind, type_name?, default?}
    return_type text,
    type_name text,
    is_async boolean not null,
    line bigint not null,
    end_line bigint not null
);
create index code_symbols_repo on code_symbols (repo);
create index code_symbols_name on code_symbols (name);

create table code_edges (
    repo text not null,
    kind text not null,           -- INHERITS, IMPLEMENTS, IMPORTS
    from_key text not null,
    to_key text not null,
    resolved boolean not null,
    names text not null           -- JSON array (imported names)
);
create index code_edges_repo on code_edges (repo);
