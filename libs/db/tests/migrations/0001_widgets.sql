-- a table to prove migrations land in the service schema
CREATE TABLE widgets (id bigserial PRIMARY KEY, name text NOT NULL UNIQUE);
