// Goal: the console signs an idle staff screen out (issue 27): no input for
// consoleLimits.staffIdleMs (15 minutes, the server's idle limit of a staff session) signs out,
// with a warning consoleLimits.idleWarningLeadMs (a minute) before; any input restarts the
// count and takes the warning away; a stopped watch (signed out) does nothing.
import { IdleWatch } from "../../web/src/idle";
import { consoleLimits } from "../../web/src/limits";
import { FakeTimers } from "./fake-timers";

const MINUTE = 60_000;

function watch() {
  const timers = new FakeTimers();
  const seen: string[] = [];
  const idle = new IdleWatch({ warn: (ms) => seen.push(`warn ${ms}`), resumed: () => seen.push("resumed"), idle: () => seen.push("idle") }, timers);
  return { timers, seen, idle };
}

describe("signing an idle staff screen out", () => {
  test("the limits are the server's: 15 minutes, warned a minute before", () => {
    expect(consoleLimits.staffIdleMs).toBe(15 * MINUTE);
    expect(consoleLimits.idleWarningLeadMs).toBe(MINUTE);
  });

  test("no input for 14 minutes warns; at 15 it signs out, once", async () => {
    const { timers, seen, idle } = watch();
    idle.start();
    await timers.advance(14 * MINUTE - 1);
    expect(seen).toEqual([]);
    await timers.advance(1);
    expect(seen).toEqual([`warn ${MINUTE}`]);
    await timers.advance(MINUTE - 1);
    expect(seen).toEqual([`warn ${MINUTE}`]);
    await timers.advance(1);
    expect(seen).toEqual([`warn ${MINUTE}`, "idle"]);
    expect(idle.active).toBe(false);
    await timers.advance(60 * MINUTE);
    expect(seen).toEqual([`warn ${MINUTE}`, "idle"]);
  });

  test("input restarts the count and takes the warning away", async () => {
    const { timers, seen, idle } = watch();
    idle.start();
    await timers.advance(10 * MINUTE);
    idle.activity();
    await timers.advance(13 * MINUTE);
    expect(seen).toEqual([]);
    await timers.advance(MINUTE + 30_000);
    expect(seen).toEqual([`warn ${MINUTE}`]);
    idle.activity();
    expect(seen).toEqual([`warn ${MINUTE}`, "resumed"]);
    await timers.advance(14 * MINUTE - 1);
    expect(seen).toEqual([`warn ${MINUTE}`, "resumed"]);
  });

  test("a stopped watch (signed out, or a customer) ignores input and never fires", async () => {
    const { timers, seen, idle } = watch();
    idle.activity();
    idle.start();
    idle.stop();
    idle.activity();
    await timers.advance(60 * MINUTE);
    expect(seen).toEqual([]);
    expect(timers.delays()).toEqual([]);
  });
});
