DROP TABLE import_watermarks;
DROP TABLE results;
DROP TABLE status_transitions;
DROP TABLE matchings;
DROP TABLE archive_batches;
