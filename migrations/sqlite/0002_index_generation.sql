-- A counter bumped by every write to crawled_pages (in the writer's transaction), so each process
-- holding an in-memory copy of the vectors knows when to reload it.
create table if not exists index_generation (
    id integer primary key check (id = 1),
    n integer not null
);
insert or ignore into index_generation (id, n) values (1, 0);
