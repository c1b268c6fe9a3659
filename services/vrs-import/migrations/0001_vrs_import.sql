-- depends: messaging_0001_tables
-- A company's depots, routes and orders, and the imports of routing-solver solutions into them.

CREATE TABLE depots (
    id bigserial PRIMARY KEY,
    company_id bigint NOT NULL CHECK (company_id > 0),
    -- The solver's depot ref (else its id): an import finds the company's depot by it.
    number text NOT NULL CHECK (length(number) BETWEEN 1 AND 100),
    lat double precision NOT NULL CHECK (lat BETWEEN -90 AND 90),
    lon double precision NOT NULL CHECK (lon BETWEEN -180 AND 180),
    time_window tstzrange,
    UNIQUE (company_id, number)
);

CREATE TABLE routes (
    id bigserial PRIMARY KEY,
    company_id bigint NOT NULL CHECK (company_id > 0),
    -- "{vehicle ref or id}-{run_number}-{date}", plus "-N" when an import renamed it.
    number text NOT NULL CHECK (length(number) BETWEEN 1 AND 200),
    date date NOT NULL,
    vehicle text NOT NULL CHECK (length(vehicle) BETWEEN 1 AND 100),
    run_number integer NOT NULL CHECK (run_number > 0),
    depot_id bigint REFERENCES depots (id),
    import_id uuid,
    created_at timestamptz NOT NULL DEFAULT now(),
    UNIQUE (company_id, date, number)
);

CREATE TABLE orders (
    id bigserial PRIMARY KEY,
    company_id bigint NOT NULL CHECK (company_id > 0),
    number text NOT NULL CHECK (length(number) BETWEEN 1 AND 200),
    status text NOT NULL CHECK (status IN ('new', 'confirmed', 'started', 'finished', 'cancelled')),
    address text NOT NULL DEFAULT '' CHECK (length(address) <= 1000),
    lat double precision NOT NULL CHECK (lat BETWEEN -90 AND 90),
    lon double precision NOT NULL CHECK (lon BETWEEN -180 AND 180),
    time_window tstzrange,
    service_duration_s integer NOT NULL DEFAULT 0 CHECK (service_duration_s >= 0),
    -- Its place on a route: all three together, or none (an unassigned order).
    route_id bigint REFERENCES routes (id),
    sequence integer,
    planned_arrival timestamptz,
    updated_at timestamptz NOT NULL DEFAULT now(),
    UNIQUE (company_id, number),
    CHECK ((route_id IS NULL) = (sequence IS NULL) AND (route_id IS NULL) = (planned_arrival IS NULL))
);
-- Not unique: while an import rewrites a route's orders the sequence is briefly shared.
CREATE INDEX orders_route_idx ON orders (route_id, sequence) WHERE route_id IS NOT NULL;

CREATE TABLE imports (
    id uuid PRIMARY KEY,
    company_id bigint NOT NULL CHECK (company_id > 0),
    task_id text NOT NULL,
    original_task_id text,
    order_status text NOT NULL CHECK (order_status IN ('new', 'confirmed')),
    route_conflict_mode text NOT NULL
        CHECK (route_conflict_mode IN ('no_conflict', 'replace_all', 'replace_not_started', 'rename_new')),
    order_conflict_mode text NOT NULL
        CHECK (order_conflict_mode IN ('no_conflict', 'rename_new', 'move_existing')),
    status text NOT NULL DEFAULT 'running'
        CHECK (status IN ('running', 'completed', 'error', 'internal_error')),
    message text NOT NULL,
    -- What a failed import collided with (numbers), for clients that want more than the message.
    details jsonb,
    orders_created integer NOT NULL DEFAULT 0,
    orders_renamed integer NOT NULL DEFAULT 0,
    orders_moved integer NOT NULL DEFAULT 0,
    -- Idempotency-Key header: the same key with the same body (by hash) is the same import.
    idempotency_key text,
    body_hash text NOT NULL,
    created_by text NOT NULL,
    created_at timestamptz NOT NULL DEFAULT now(),
    finished_at timestamptz,
    UNIQUE (company_id, idempotency_key)
);
CREATE INDEX imports_company_idx ON imports (company_id, created_at);

-- The routes an import created, in the solver's order. No foreign key: a later import may delete
-- those routes, and the result stays what this import did.
CREATE TABLE import_routes (
    import_id uuid NOT NULL REFERENCES imports (id) ON DELETE CASCADE,
    position integer NOT NULL,
    route_id bigint NOT NULL,
    number text NOT NULL,
    PRIMARY KEY (import_id, position)
);
