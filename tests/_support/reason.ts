import assert from "node:assert/strict";

/**
 * Asserts `reason` is one non-empty line that names each of `names`, as
 * every `reason` of the protocol module must be.
 */
export function assertReason(reason: string, ...names: string[]): void {
  assert.equal(typeof reason, "string");
  assert.ok(reason.length > 0, "reason should not be empty");
  assert.ok(!reason.includes("\n"), `reason should be one line: ${reason}`);
  for (const name of names) {
    assert.ok(
      reason.includes(name),
      `reason should name ${JSON.stringify(name)}: ${reason}`,
    );
  }
}
