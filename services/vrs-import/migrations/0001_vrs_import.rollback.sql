DROP TABLE import_routes;
DROP TABLE imports;
DROP TABLE orders;
DROP TABLE routes;
DROP TABLE depots;
