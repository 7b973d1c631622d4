-- 0007_settlement_shards_daily_limits, security V1 (docs/security.md): settlement accounts
-- sharded per currency (an account's deposits and withdrawals post against the shard its id
-- hashes to), and daily limits per account and direction with today's usage, counted in the
-- posting's unit of work. A limit column is NULL for the configured default, -1 for an explicit
-- "no limit", else the limit in minor units. Existing accounts, settlement ones included, are
-- shard 0 with the default limits and nothing used.

ALTER TABLE accounts ADD COLUMN shard INTEGER NOT NULL DEFAULT 0;

ALTER TABLE accounts ADD COLUMN deposit_limit BIGINT NULL;

ALTER TABLE accounts ADD COLUMN withdrawal_limit BIGINT NULL;

ALTER TABLE accounts ADD COLUMN transfer_out_limit BIGINT NULL;

-- Days since 1970-01-01 (UTC) of the usage below; a posting on a later day starts from zero.
ALTER TABLE accounts ADD COLUMN usage_day BIGINT NOT NULL DEFAULT 0;

ALTER TABLE accounts ADD COLUMN deposit_used BIGINT NOT NULL DEFAULT 0;

ALTER TABLE accounts ADD COLUMN withdrawal_used BIGINT NOT NULL DEFAULT 0;

ALTER TABLE accounts ADD COLUMN transfer_out_used BIGINT NOT NULL DEFAULT 0;

DROP INDEX accounts_settlement;

CREATE UNIQUE INDEX accounts_settlement ON accounts (currency, shard) WHERE kind = 'SETTLEMENT';
