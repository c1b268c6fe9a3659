-- depends: messaging_0001_tables
-- Matchings of a newbie driver with a mentor, every status change, imported progress, the CRM import
-- watermarks and the archive's batches. Driver ids are text: parks and drivers are ids of other
-- systems, not ours. No personal data lives here: phones are fetched from `personal` when shown.

CREATE TABLE archive_batches (
    id uuid PRIMARY KEY,
    created_at timestamptz NOT NULL DEFAULT now()
);

CREATE TABLE matchings (
    id uuid PRIMARY KEY,
    created_at timestamptz NOT NULL DEFAULT now(),
    matched_at timestamptz,
    newbie_park_id text NOT NULL,
    newbie_driver_id text NOT NULL,
    -- The person behind every linked profile (driver-profiles' unique driver id): one matching per
    -- newbie whichever profile they accept from, guaranteed here under concurrent accepts.
    newbie_unique_driver_id text NOT NULL UNIQUE,
    mentor_park_id text,
    mentor_driver_id text,
    status text NOT NULL DEFAULT 'created' CHECK (
        status IN ('created', 'requested', 'matched', 'initialized', 'in_progress', 'finished', 'succeed', 'failed')
    ),
    mentor_promocode text,
    completed_at timestamptz,
    original_connected_dttm timestamptz,
    newbie_last_read_at timestamptz,
    mentor_last_read_at timestamptz,
    -- Why the CRM request was given up (upstream failures after every retry); the matching stays
    -- `created`. Never holds personal data: reasons name the upstream and its status only.
    request_failure text,
    -- Set while the archive job copies the matching to the archive dataset (then it is deleted).
    archive_batch_id uuid REFERENCES archive_batches (id),
    CHECK ((mentor_park_id IS NULL) = (mentor_driver_id IS NULL))
);
CREATE INDEX matchings_mentor_idx ON matchings (mentor_park_id, mentor_driver_id)
    WHERE mentor_park_id IS NOT NULL;
CREATE INDEX matchings_newbie_idx ON matchings (newbie_park_id, newbie_driver_id);
CREATE INDEX matchings_status_matched_at_idx ON matchings (status, matched_at);
CREATE INDEX matchings_completed_idx ON matchings (completed_at) WHERE status IN ('succeed', 'failed');
CREATE INDEX matchings_created_idx ON matchings (created_at, id);
CREATE INDEX matchings_archive_batch_idx ON matchings (archive_batch_id) WHERE archive_batch_id IS NOT NULL;

CREATE TABLE status_transitions (
    id bigserial PRIMARY KEY,
    matching_id uuid NOT NULL REFERENCES matchings (id) ON DELETE CASCADE,
    created_at timestamptz NOT NULL DEFAULT now(),
    from_status text,
    to_status text NOT NULL
);
CREATE INDEX status_transitions_matching_idx ON status_transitions (matching_id, id);

-- The CRM's figures of a newbie's progress, one row per stage (after 7 and after 14 days). Text as in
-- the CRM's table: it owns their formats.
CREATE TABLE results (
    matching_id uuid NOT NULL REFERENCES matchings (id) ON DELETE CASCADE,
    stage text NOT NULL CHECK (stage IN ('7d', '14d')),
    newbie_park_id text NOT NULL,
    newbie_driver_id text NOT NULL,
    rate_avg_7d text,
    rate_avg_14d text,
    avg_dp_7d text,
    avg_dp_14d text,
    sh_7d text,
    sh_14d text,
    correct_answers text,
    passed_test_flg text,
    imported_at timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (matching_id, stage)
);

-- How far each CRM import has read (e.g. the newest `connected_dttm` of distribution rows imported).
CREATE TABLE import_watermarks (
    name text PRIMARY KEY,
    watermark timestamptz NOT NULL,
    updated_at timestamptz NOT NULL DEFAULT now()
);
