// Goal: UUIDv7 ids sort in the order they were made, also within one millisecond (lists ordered
// by id, "newest first", depend on it: ListAccounts showed two accounts made in the same
// millisecond in random order), and they are valid version-7, variant-10 UUIDs.
import { isUuid, uuidv7 } from "../../src/util/ids";

test("ids made in the same millisecond are strictly increasing, and so are ids of later milliseconds", () => {
  const ms = Date.UTC(2026, 10, 26, 12, 0, 0);
  const ids = [...Array.from({ length: 2_000 }, () => uuidv7(ms)), uuidv7(ms + 1), uuidv7(ms + 1), uuidv7(ms + 2)];
  for (let i = 1; i < ids.length; i++) expect([i, ids[i - 1]! < ids[i]!]).toEqual([i, true]);
  expect(new Set(ids).size).toBe(ids.length);
});

test("ids are canonical version-7, variant-10 UUIDs carrying their millisecond", () => {
  const ms = Date.UTC(2026, 10, 26, 12, 0, 0);
  for (let i = 0; i < 100; i++) {
    const id = uuidv7(ms);
    expect(isUuid(id)).toBe(true);
    expect(id[14]).toBe("7");
    expect(["8", "9", "a", "b"]).toContain(id[19]);
    expect(parseInt(id.replace(/-/g, "").slice(0, 12), 16)).toBe(ms);
  }
});
