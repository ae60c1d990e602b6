-- Column comments re-issued with wording that stands on its own: the comments of earlier
-- migrations cannot be edited (they are checksummed), so the corrected text comes here.
-- Forward-only: the migration runner wraps this file in one transaction.

COMMENT ON COLUMN race_bet_offer.cagnotte IS 'paris[].cagnotte as sent; the API documents no unit. In every response examined where it is not 0 it equals the jackpot of the same bet type and race (meeting_jackpot.montant_eur), hence whole euros (inferred, not documented).';
