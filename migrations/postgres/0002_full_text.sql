-- Full-text search for hybrid retrieval: a generated tsvector column and its GIN index.
alter table crawled_pages
    add column if not exists content_tsv tsvector generated always as (to_tsvector('english', content)) stored;
create index if not exists idx_crawled_pages_content_tsv on crawled_pages using gin (content_tsv);
