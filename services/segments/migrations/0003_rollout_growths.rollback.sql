DROP TABLE rollout_growths;
