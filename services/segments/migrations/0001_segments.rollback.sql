DROP TABLE reports;
DROP TABLE membership_history;
DROP TABLE opt_outs;
DROP TABLE memberships;
DROP TABLE users;
DROP TABLE segments;
DROP FUNCTION rollout_bucket(text, bigint);
