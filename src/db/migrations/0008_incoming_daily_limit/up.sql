-- 0008_incoming_daily_limit, money-rules issue, item 1: what may arrive in one account per day,
-- deposits and incoming transfers together (NULL = the configured default, -1 = no limit), and
-- today's count.

ALTER TABLE accounts ADD COLUMN incoming_limit BIGINT NULL;

ALTER TABLE accounts ADD COLUMN incoming_used BIGINT NOT NULL DEFAULT 0;
