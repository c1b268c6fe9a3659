-- depends: 0001_widgets
ALTER TABLE widgets ADD COLUMN colour text;
