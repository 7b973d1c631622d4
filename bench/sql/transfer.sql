-- pgbench baseline: ONE TRANSACTION PER TRANSFER, in plain SQL: the reference bankd's batching
-- is measured against (issue 12: transfer-uniform >= 1.0x, transfer-hot >= 2.0x, BatchTransfer
-- of 100 >= 5x this script's rate at the same concurrency).
--
-- What it writes is what one bankd transfer writes, row for row, on the same schema (same
-- indexes, constraints and foreign keys): the account locks, a TRANSFER transaction row, two
-- entries with seq and running balance_after, both accounts' balance / held / entry_count /
-- update_time, an unsealed audit event (bankd's sealer seals these too) and the idempotency key
-- with its outcome. How it writes it is NOT bankd's way any more. bankd (src/ledger/engine/,
-- store/batch-sqlite.ts) gathers the postings that arrive while a batch commits and runs the whole batch
-- as one MikroORM unit of work: claim every idempotency key (INSERT ... ON CONFLICT DO NOTHING),
-- lock every account once in id order (SELECT ... FOR UPDATE), apply the postings in JavaScript,
-- then one set-based statement per table (transactions, entries, accounts, key outcomes, audit
-- events) and one COMMIT, whatever the batch's size. This script is the best a per-transfer
-- design gets on the same rows: 2 round trips per transfer with pgbench pipelines
--   round trip 1  BEGIN + SELECT <account columns> ... WHERE id IN (a, b) ORDER BY id FOR UPDATE
--                 + ONE statement: WITH ts (the later of now and the accounts' update_time),
--                 INSERT INTO transactions, UPDATE accounts ... RETURNING, INSERT INTO entries
--   round trip 2  INSERT INTO audit_events + INSERT INTO idempotency_keys (outcome included) + COMMIT
-- with prepared statements (-M prepared). Ids are UUIDs made by the server (bankd makes UUIDv7 in
-- JavaScript); the two account ids are looked up in bench_accounts (a helper table the bench
-- fills: n = 0 is the house account, 1..naccounts the customer accounts) BEFORE the transaction
-- begins, so the lookup does not lengthen the time the locks are held. Every parameter is cast:
-- with -M prepared pgbench sends them untyped.
--
-- Variables (pgbench -D): naccounts, hot (0 = random pairs, 1 = every transfer touches the house
-- account, half paying out and half paying in), caller (the user id recorded as initiator).
-- Run by bench/jobs.ts as: pgbench -n -M prepared -c <concurrency, 32> -j 2 -f transfer.sql ...
\set a random(1, :naccounts)
\set step random(1, :naccounts - 1)
\set b ((:a + :step - 1) % :naccounts) + 1
\set out random(0, 1)
\set src CASE WHEN :hot = 1 THEN (CASE WHEN :out = 1 THEN 0 ELSE :a END) ELSE :a END
\set dst CASE WHEN :hot = 1 THEN (CASE WHEN :out = 1 THEN :a ELSE 0 END) ELSE :b END
\set amount random(1, 1000)
SELECT (SELECT id FROM bench_accounts WHERE n = :src) AS src_id,
       (SELECT id FROM bench_accounts WHERE n = :dst) AS dst_id,
       gen_random_uuid()::text AS tx_id,
       gen_random_uuid()::text AS request_id,
       (extract(epoch FROM clock_timestamp()) * 1000)::bigint AS now_ms \gset
\startpipeline
BEGIN;
SELECT id, number, owner_id, kind, currency, account_type, status, display_name,
       CAST(balance AS TEXT) AS balance, CAST(held AS TEXT) AS held, CAST(overdraft_limit AS TEXT) AS overdraft_limit,
       entry_count, version, create_time, update_time
  FROM accounts WHERE id IN (CAST(:src_id AS TEXT), CAST(:dst_id AS TEXT)) ORDER BY id FOR UPDATE;
WITH ts AS (SELECT GREATEST(CAST(:now_ms AS BIGINT), MAX(update_time)) AS t FROM accounts WHERE id IN (CAST(:src_id AS TEXT), CAST(:dst_id AS TEXT))),
     new_transaction AS (
       INSERT INTO transactions (id, tx_type, status, currency, amount, from_account_id, to_account_id, description,
              request_id, initiated_by, reverses_id, hold_id, expire_time, create_time, update_time)
       VALUES (CAST(:tx_id AS TEXT), 'TRANSFER', 'POSTED', 'USD', CAST(:amount AS BIGINT), CAST(:src_id AS TEXT), CAST(:dst_id AS TEXT), 'bench',
               CAST(:request_id AS TEXT), CAST(:caller AS TEXT), NULL, NULL, NULL, (SELECT t FROM ts), (SELECT t FROM ts))),
     updated AS (
       UPDATE accounts
          SET balance = balance + CASE id WHEN CAST(:src_id AS TEXT) THEN -CAST(:amount AS BIGINT) WHEN CAST(:dst_id AS TEXT) THEN CAST(:amount AS BIGINT) END,
              held = held + CASE id WHEN CAST(:src_id AS TEXT) THEN CAST(0 AS BIGINT) WHEN CAST(:dst_id AS TEXT) THEN CAST(0 AS BIGINT) END,
              entry_count = entry_count + 1,
              update_time = (SELECT t FROM ts)
        WHERE id IN (CAST(:src_id AS TEXT), CAST(:dst_id AS TEXT))
    RETURNING id, balance, held, entry_count),
     new_entries AS (
       INSERT INTO entries (transaction_id, account_id, seq, amount, balance_after, create_time)
       SELECT CAST(:tx_id AS TEXT), updated.id, updated.entry_count, leg.amount, updated.balance, (SELECT t FROM ts)
         FROM updated JOIN (VALUES (CAST(0 AS INTEGER), CAST(:src_id AS TEXT), -CAST(:amount AS BIGINT)),
                                   (CAST(1 AS INTEGER), CAST(:dst_id AS TEXT), CAST(:amount AS BIGINT))) AS leg (ord, account_id, amount)
           ON leg.account_id = updated.id
        ORDER BY leg.ord
       RETURNING 1)
SELECT id, CAST(balance AS TEXT) AS balance, CAST(held AS TEXT) AS held, entry_count, (SELECT COUNT(*) FROM new_entries) AS entries_written,
       (SELECT t FROM ts) AS create_time
  FROM updated;
\endpipeline
\startpipeline
INSERT INTO audit_events (id, event_time, actor_id, action, target_id, outcome, client_address, request_id, details)
VALUES (gen_random_uuid()::text, CAST(:now_ms AS BIGINT), CAST(:caller AS TEXT), 'transaction.transfer', CAST(:tx_id AS TEXT), 'SUCCESS', '127.0.0.1', CAST(:request_id AS TEXT),
        '{"amount":"' || CAST(:amount AS TEXT) || '","currency":"USD","from_account_id":"' || CAST(:src_id AS TEXT) || '","to_account_id":"' || CAST(:dst_id AS TEXT) || '"}');
INSERT INTO idempotency_keys (caller_id, method, request_id, payload_hash, payload_fields, outcome, create_time)
VALUES (CAST(:caller AS TEXT), 'TransactionService/Transfer', CAST(:request_id AS TEXT), md5(CAST(:request_id AS TEXT)) || md5(CAST(:tx_id AS TEXT)),
        '{"currency":"0123456789abcdef0123456789abcdef","description":"0123456789abcdef0123456789abcdef","from_account_id":"0123456789abcdef0123456789abcdef","minor_units":"0123456789abcdef0123456789abcdef","to_account_id":"0123456789abcdef0123456789abcdef","to_account_number":"0123456789abcdef0123456789abcdef"}',
        '{"ok":{"id":"' || CAST(:tx_id AS TEXT) || '","type":"TRANSFER","status":"POSTED","currency":"USD","amount":{"$bigint":"' || CAST(:amount AS TEXT) || '"},"fromAccountId":"' || CAST(:src_id AS TEXT) || '","toAccountId":"' || CAST(:dst_id AS TEXT) || '","description":"bench","requestId":"' || CAST(:request_id AS TEXT) || '","initiatedBy":"' || CAST(:caller AS TEXT) || '","reversesId":"","holdId":"","createTimeMs":' || CAST(:now_ms AS TEXT) || ',"expireTimeMs": null}}',
        CAST(:now_ms AS BIGINT));
COMMIT;
\endpipeline
