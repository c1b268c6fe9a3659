-- The import history of a company, newest first (GET /companies/{id}/vrs-import).
-- depends: 0001_vrs_import

CREATE INDEX imports_company_created_idx ON imports (company_id, created_at DESC, id DESC);
