ALTER TABLE widgets DROP COLUMN colour;
