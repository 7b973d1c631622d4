// The verifier: walks the sealed events by seq from 1, recomputes every hash and checks every
// link, then compares the end of the chain with audit_chain_head. It reports the first problem:
//   edited     an event's stored columns no longer give its stored hash
//   deleted    a seq is missing (a gap), or the chain ends before the head's seq
//   reordered  an event does not link to the one before it (swapped seqs)
//   head       the last event's hash is not the head's hash, or events lie beyond the head
// Unsealed events (seq NULL) are not part of the chain yet; verify-audit seals them first.
import type { Database } from "../db/database";
import { AuditEvent } from "../db/entities";
import { limits } from "../limits";
import { GENESIS_HASH, auditRowOf, chainHash, type AuditEventFields, type AuditEventRow } from "./chain";
import { readHead, type ChainHead } from "./sealer";

export interface VerifyResult {
  ok: boolean;
  /** Events whose hash and link were checked (including the bad one, if any). */
  eventsChecked: number;
  head: ChainHead;
  /** The first bad event; for a deletion, the deleted event the chain still names. */
  firstBadEventId: string;
  /** Its position in the chain; 0 when ok. */
  badSeq: number;
  /** One sentence for humans; empty when ok. */
  problem: string;
}

interface Bad {
  eventId: string;
  seq: number;
  problem: string;
}

/** Where the walk is: the last good event. */
interface Cursor {
  seq: number;
  hash: string;
  eventId: string;
  checked: number;
}

export async function verifyChain(db: Database, pageSize: number = limits.auditVerifyPageSize): Promise<VerifyResult> {
  const at: Cursor = { seq: 0, hash: GENESIS_HASH, eventId: "", checked: 0 };
  for (;;) {
    const page = await readPage(db, at.seq, pageSize);
    for (const row of page) {
      at.checked += 1;
      const bad = checkEvent(at, row);
      if (bad) return broken(at, await db.read((tx) => readHead(tx)), bad);
      at.seq = Number(row.seq);
      at.hash = row.hash ?? "";
      at.eventId = row.id;
    }
    if (page.length === pageSize) continue;
    // The head is read after the last page; a sealer may have moved it since that page was read,
    // so a head beyond the walk is confirmed by reading on before calling the events deleted.
    const head = await db.read((tx) => readHead(tx));
    if (head.seq > at.seq && (await readPage(db, at.seq, 1)).length > 0) continue;
    const bad = checkEnd(at, head, head.seq < at.seq ? await eventIdAt(db, head.seq + 1) : "");
    if (bad) return broken(at, head, bad);
    return { ok: true, eventsChecked: at.checked, head, firstBadEventId: "", badSeq: 0, problem: "" };
  }
}

async function eventIdAt(db: Database, seq: number): Promise<string> {
  return (await db.read((tx) => tx.em.findOne(AuditEvent, { seq }, { fields: ["id"], disableIdentityMap: true })))?.id ?? "";
}

/** A page of the chain. Through the entity's QueryBuilder without hydration: the verifier reads
 * the whole chain, and hashes the stored values as they are. */
async function readPage(db: Database, afterSeq: number, limit: number): Promise<AuditEventRow[]> {
  const events = await db.read((tx) =>
    tx.em.createQueryBuilder(AuditEvent).select("*").where({ seq: { $gt: afterSeq } }).orderBy({ seq: "asc" }).limit(limit).execute<AuditEventFields[]>("all"),
  );
  return events.map(auditRowOf);
}

/** The problem with `row`, the next sealed event after `at`, if any. */
function checkEvent(at: Cursor, row: AuditEventRow): Bad | undefined {
  const seq = Number(row.seq);
  const expected = at.seq + 1;
  const intact = row.prev_hash !== null && chainHash(row.prev_hash, row) === row.hash;
  const linked = row.prev_hash === at.hash && (row.prev_event_id ?? "") === at.eventId;
  if (seq !== expected) {
    // Deleted events: name the one this event says came before it, if this event is intact.
    const missing = seq - 1 === expected ? `seq ${expected} is missing` : `seq ${expected} to ${seq - 1} are missing`;
    const named = intact && row.prev_event_id ? row.prev_event_id : row.id;
    return { eventId: named, seq: intact && row.prev_event_id ? seq - 1 : seq, problem: `event deleted: ${missing} (the chain jumps from seq ${at.seq} to seq ${seq}, event ${row.id})` };
  }
  if (intact && linked) return undefined;
  if (linked) return { eventId: row.id, seq, problem: "event edited: its stored content does not match its hash" };
  if (!intact) {
    return { eventId: row.id, seq, problem: `events reordered or rewritten: it does not follow seq ${at.seq} (its previous-hash link and its content both fail to match)` };
  }
  // This event is intact but chained to something else: the event before it was rewritten and
  // given a new hash after this one was sealed.
  return { eventId: at.eventId, seq: at.seq, problem: `event rewritten and rehashed: its hash is not the one seq ${seq} was chained to` };
}

/** The problem with where the chain ends, compared with the head, if any. */
function checkEnd(at: Cursor, head: ChainHead, idAfterHead: string): Bad | undefined {
  if (head.seq > at.seq) {
    const missing = head.seq - 1 === at.seq ? `seq ${head.seq} is missing` : `seq ${at.seq + 1} to ${head.seq} are missing`;
    return { eventId: head.eventId, seq: head.seq, problem: `event deleted: ${missing} (the chain ends at seq ${at.seq} but the head records seq ${head.seq})` };
  }
  if (head.seq < at.seq) {
    return { eventId: idAfterHead, seq: head.seq + 1, problem: `event beyond the chain head: the chain reaches seq ${at.seq} but the head records seq ${head.seq}` };
  }
  if (head.hash !== at.hash || head.eventId !== at.eventId) {
    return { eventId: at.eventId, seq: at.seq, problem: "head mismatch: the last event's hash or id is not the one recorded in the chain head" };
  }
  return undefined;
}

function broken(at: Cursor, head: ChainHead, bad: Bad): VerifyResult {
  return { ok: false, eventsChecked: at.checked, head, firstBadEventId: bad.eventId, badSeq: bad.seq, problem: bad.problem };
}
