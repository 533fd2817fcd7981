-- HTTP validators of each stored page, sent back on re-crawl so an unchanged page answers 304.
alter table pages add column etag text;
alter table pages add column last_modified text;
