-- Status transitions are written only by the statement that changes their matching (`_recorded` in
-- storage/matchings.py: the ids come from the rows that statement updated) and deleted with it by the
-- archive, explicitly. The foreign key's per-row check cost 12 % of an import of 100,000 matchings
-- (two transitions each) and could never fail.
-- depends: 0001_contractor_mentorship
ALTER TABLE status_transitions DROP CONSTRAINT status_transitions_matching_id_fkey;
