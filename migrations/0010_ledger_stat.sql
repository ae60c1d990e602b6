-- The file's identity when it was loaded, so that a replay skips an unchanged object with one
-- stat() instead of reading and hashing its bytes (issue 11: a replay of the full history).

ALTER TABLE load_ledger ADD COLUMN stored_stat text;

COMMENT ON COLUMN load_ledger.stored_stat IS 'inode:mtime_ns:ctime_ns of the stored file when it was last read (pmu-lake''s load::ledger::file_stat). A load skips the object without reading it when this, the size and the mapping version are unchanged; otherwise it reads and hashes the file as before (content_sha256) and records the new value. NULL: unknown, the file is hashed.';
