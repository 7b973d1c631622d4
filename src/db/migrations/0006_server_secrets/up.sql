-- 0006_server_secrets: secrets every process on the database shares, made once: the key that
-- authenticates page tokens and statement cursors, so that a token from one process works on
-- another.

CREATE TABLE server_secrets (name TEXT NOT NULL, secret TEXT NOT NULL, create_time BIGINT NOT NULL, PRIMARY KEY (name));
