DROP TABLE generation_tables;
DROP TABLE generations;
DROP TABLE generation_versions;
DROP TABLE template_brands;
DROP TABLE template_places;
DROP TABLE templates;
DROP TABLE place_tables;
DROP TABLE places;
