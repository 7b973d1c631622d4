// Goal: AuditService over a real server. Only AUDITOR and ADMIN may list or verify; events are
// listed newest first with their chain position and hash once sealed, filtered by actor,
// action, target and time range, paginated with page tokens bound to the filters; the
// unsealed count is a metric; a refused call is itself an audited event.
import { Code, ConnectError } from "@connectrpc/connect";
import { timestampFromMs } from "@bufbuild/protobuf/wkt";
import { Role } from "../../gen/bank/v1/access_pb";
import { AuditService } from "../../gen/bank/v1/audit_service_pb";
import { AuditOutcome } from "../../gen/bank/v1/audit_event_pb";
import { recordAudit } from "../../src/audit/recorder";
import { uuidv7 } from "../../src/util/ids";
import { engines } from "../support/db";
import { client, startTestApp, type TestApp } from "../support/app";
import type { TestUser } from "../support/users";
import { createUsers, sampleEvent } from "./support";
import { metricsText } from "../support/metrics";

const codeOf = async (p: Promise<unknown>) => ConnectError.from(await p.then(() => undefined, (e: unknown) => e)).code;

describe.each(engines())("AuditService on %s", (engine) => {
  let t: TestApp;
  let admin: TestUser;
  let auditor: TestUser;
  let teller: TestUser;
  let customer: TestUser;
  const audit = (u?: TestUser) => client(t.baseUrl, AuditService, { token: u?.token });

  // Seven known events about one target, one millisecond apart, by one actor.
  const base = 1_750_000_000_000;
  const target = uuidv7();
  const actor = uuidv7();
  let ids: string[] = [];

  beforeAll(async () => {
    t = await startTestApp(engine);
    [admin, auditor, teller, customer] = (await createUsers(t, [Role.ADMIN], [Role.AUDITOR], [Role.TELLER], [Role.CUSTOMER])) as [TestUser, TestUser, TestUser, TestUser];
    ids = [];
    for (let i = 0; i < 7; i++) {
      const input = sampleEvent(i, { actorId: i === 6 ? "anonymous" : actor, targetId: target, action: i % 2 === 0 ? "test.even" : "test.odd" });
      ids.push(await t.app.db.transaction((tx) => recordAudit(tx, input, base + i)));
    }
  });
  afterAll(() => t.stop());

  test("only AUDITOR and ADMIN may list and verify; others are refused", async () => {
    for (const call of [(u?: TestUser) => audit(u).listAuditEvents({}), (u?: TestUser) => audit(u).verifyAuditLog({})]) {
      expect(await codeOf(call())).toBe(Code.Unauthenticated);
      expect(await codeOf(call(customer))).toBe(Code.PermissionDenied);
      expect(await codeOf(call(teller))).toBe(Code.PermissionDenied);
      await expect(call(auditor)).resolves.toBeDefined();
      await expect(call(admin)).resolves.toBeDefined();
    }
  });

  test("a refused call is recorded as a DENIED event of the caller", async () => {
    await codeOf(audit(customer).verifyAuditLog({}));
    const { events } = await audit(auditor).listAuditEvents({ actorId: customer.id, pageSize: 500 });
    expect(events.some((e) => e.outcome === AuditOutcome.DENIED && e.action === "auth.permission_denied")).toBe(true);
  });

  test("VerifyAuditLog seals what was recorded, then listed events carry sequence and hash", async () => {
    const verified = await audit(auditor).verifyAuditLog({});
    expect(verified).toMatchObject({ ok: true, firstBadEventId: "", problem: "" });
    expect(verified.eventsChecked).toBeGreaterThanOrEqual(7n);
    const { events } = await audit(auditor).listAuditEvents({ targetId: target });
    expect(events.map((e) => e.id)).toEqual([...ids].reverse());
    for (const e of events) {
      expect(e.sequence).toBeGreaterThan(0n);
      expect(e.hash).toMatch(/^[0-9a-f]{64}$/);
    }
    const newest = events[0]!;
    expect(newest).toMatchObject({ actorId: "", action: "test.even", targetId: target, clientAddress: "127.0.0.1", requestId: "req-6" });
    expect(Number(newest.time!.seconds) * 1000 + newest.time!.nanos / 1e6).toBe(base + 6);
    expect(JSON.parse(newest.details)).toEqual({ amount_minor: "600", note: "event 6 ✓" });
    expect(events.find((e) => e.id === ids[3])!.outcome).toBe(AuditOutcome.FAILED);
    expect(events.find((e) => e.id === ids[0])!.outcome).toBe(AuditOutcome.SUCCESS);
  });

  test("filters: actor, action, target and a [start, end) time range", async () => {
    const list = async (req: Parameters<ReturnType<typeof audit>["listAuditEvents"]>[0]) => (await audit(admin).listAuditEvents(req)).events.map((e) => e.id);
    expect(await list({ actorId: actor })).toEqual(ids.slice(0, 6).reverse());
    expect(await list({ targetId: target, action: "test.odd" })).toEqual([ids[5], ids[3], ids[1]]);
    expect(await list({ targetId: target, startTime: timestampFromMs(base + 2), endTime: timestampFromMs(base + 5) })).toEqual([ids[4], ids[3], ids[2]]);
    expect(await list({ targetId: target, startTime: timestampFromMs(base + 6) })).toEqual([ids[6]]);
    expect(await list({ actorId: uuidv7() })).toEqual([]);
  });

  test("pagination walks every page once; tokens are bound to the filters", async () => {
    const seen: string[] = [];
    let pageToken = "";
    const sizes: number[] = [];
    do {
      const page = await audit(auditor).listAuditEvents({ targetId: target, pageSize: 3, pageToken });
      sizes.push(page.events.length);
      seen.push(...page.events.map((e) => e.id));
      pageToken = page.nextPageToken;
    } while (pageToken !== "");
    expect(sizes).toEqual([3, 3, 1]);
    expect(seen).toEqual([...ids].reverse());

    const first = await audit(auditor).listAuditEvents({ targetId: target, pageSize: 2 });
    expect(await codeOf(audit(auditor).listAuditEvents({ targetId: target, action: "test.odd", pageToken: first.nextPageToken }))).toBe(Code.InvalidArgument);
    expect(await codeOf(audit(auditor).listAuditEvents({ pageToken: "not-a-token" }))).toBe(Code.InvalidArgument);
  });

  test("page_size: 0 means 50, above 500 or negative is INVALID_ARGUMENT; an empty time range is refused", async () => {
    const filler = uuidv7();
    await t.app.db.transaction(async (tx) => {
      for (let i = 0; i < 51; i++) await recordAudit(tx, sampleEvent(i, { targetId: filler }));
    });
    expect((await audit(auditor).listAuditEvents({ targetId: filler })).events).toHaveLength(50);
    expect((await audit(auditor).listAuditEvents({ targetId: filler, pageSize: 500 })).events).toHaveLength(51);
    expect(await codeOf(audit(auditor).listAuditEvents({ pageSize: 501 }))).toBe(Code.InvalidArgument);
    expect(await codeOf(audit(auditor).listAuditEvents({ pageSize: -1 }))).toBe(Code.InvalidArgument);
    expect(await codeOf(audit(auditor).listAuditEvents({ startTime: timestampFromMs(base), endTime: timestampFromMs(base) }))).toBe(Code.InvalidArgument);
    expect(await codeOf(audit(auditor).listAuditEvents({ actorId: "x".repeat(201) }))).toBe(Code.InvalidArgument);
  });

  test("GET /metrics reports the unsealed count", async () => {
    expect(await metricsText(t.baseUrl)).toMatch(/^bankd_audit_unsealed_events \d+$/m);
  });
});
