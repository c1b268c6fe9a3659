ALTER TABLE status_transitions
    ADD CONSTRAINT status_transitions_matching_id_fkey
    FOREIGN KEY (matching_id) REFERENCES matchings (id) ON DELETE CASCADE;
