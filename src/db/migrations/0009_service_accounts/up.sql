-- 0009_service_accounts, identities issue (27): service accounts, their public keys (id = RFC
-- 7638 thumbprint), the sessions of the tokens they are issued (bound to the key that signed the
-- assertion), and the assertions seen (a hash of account id and jti, kept until the assertion's
-- exp: used once).

CREATE TABLE service_accounts (id TEXT NOT NULL, name TEXT NOT NULL, roles TEXT NOT NULL, allowed_owner_ids TEXT NOT NULL,
      allowed_account_ids TEXT NOT NULL, disabled INTEGER NOT NULL DEFAULT 0, disable_reason TEXT NULL, creator_id TEXT NOT NULL,
      create_time BIGINT NOT NULL, update_time BIGINT NOT NULL, PRIMARY KEY (id));

CREATE TABLE service_account_keys (key_id TEXT NOT NULL, service_account_id TEXT NOT NULL, public_jwk TEXT NOT NULL,
      create_time BIGINT NOT NULL, revoke_time BIGINT NULL, CONSTRAINT service_account_keys_service_account_id_foreign FOREIGN KEY (service_account_id) REFERENCES service_accounts (id) ON DELETE NO ACTION ON UPDATE NO ACTION, PRIMARY KEY (key_id));

CREATE INDEX service_account_keys_account ON service_account_keys (service_account_id, create_time);

CREATE TABLE service_sessions (id TEXT NOT NULL, service_account_id TEXT NOT NULL, key_id TEXT NOT NULL, create_time BIGINT NOT NULL,
      expire_time BIGINT NOT NULL, CONSTRAINT service_sessions_service_account_id_foreign FOREIGN KEY (service_account_id) REFERENCES service_accounts (id) ON DELETE NO ACTION ON UPDATE NO ACTION,
      CONSTRAINT service_sessions_key_id_foreign FOREIGN KEY (key_id) REFERENCES service_account_keys (key_id) ON DELETE NO ACTION ON UPDATE NO ACTION, PRIMARY KEY (id));

CREATE INDEX service_sessions_account ON service_sessions (service_account_id, create_time);

CREATE TABLE service_assertions (assertion_hash TEXT NOT NULL, service_account_id TEXT NOT NULL, expire_time BIGINT NOT NULL, PRIMARY KEY (assertion_hash));

CREATE INDEX service_assertions_expiry ON service_assertions (expire_time);
