-- HTTP validators of each stored page, sent back on re-crawl (If-None-Match / If-Modified-Since)
-- so an unchanged page answers 304 and costs no download.
alter table pages add column if not exists etag text;
alter table pages add column if not exists last_modified text;
