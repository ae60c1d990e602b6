-- The trend of a runner's reference odds, which participants payloads send and the loader read
-- and dropped until now. Rows loaded before this migration hold NULL until their participants
-- object is loaded again.

ALTER TABLE race_participant ADD COLUMN cote_reference_tendance text;

COMMENT ON COLUMN race_participant.cote_reference_tendance IS 'dernierRapportReference.indicateurTendance: trend of the reference odds, as sent ("+", "-", or a single space).';
