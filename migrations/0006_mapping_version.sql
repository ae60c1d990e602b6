-- Which version of pmu-lake's mapping (payload -> rows) produced each loaded object's rows. A
-- release that changes what a stage's objects give (a new field, a fix) raises that stage's
-- version in the code; `load` then re-derives, from the lake alone, every object recorded with
-- an older one. Rows loaded before this migration count as version 1.

ALTER TABLE load_ledger ADD COLUMN mapping_version integer NOT NULL DEFAULT 1;

COMMENT ON COLUMN load_ledger.mapping_version IS 'Version of the mapping of this stage that produced the object''s rows (pmu-lake''s load::ledger::mapping_version); an older one is re-derived by the next load.';
