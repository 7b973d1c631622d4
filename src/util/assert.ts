// Assertions for programmer errors (TIGER_STYLE): an impossible state crashes loudly with the
// invariant it broke. Never for user input: expected failures are domain errors (errors.ts).
export function assert(condition: boolean, invariant: string): asserts condition {
  if (!condition) throw new Error(`invariant violated: ${invariant}`);
}
