import assert from "node:assert/strict";
import { beforeDeadline, TIMED_OUT } from "../src/deadline.ts";

Deno.test("beforeDeadline() passes a rejection that comes in time", async () => {
  await assert.rejects(
    beforeDeadline(Promise.reject(new Error("no")), 1000),
    /no/,
  );
});

Deno.test("beforeDeadline() drops a rejection that comes after the deadline", async () => {
  const late = Promise.withResolvers<never>();
  assert.equal(await beforeDeadline(late.promise, 1), TIMED_OUT);
  // Unhandled, this would fail the test run.
  late.reject(new Error("too late"));
  await new Promise((resolve) => setTimeout(resolve, 0));
});

Deno.test("beforeDeadline() leaves no timer behind when the work wins", async () => {
  // The test's sanitizers fail it if the 60 s timer were left running.
  assert.equal(await beforeDeadline(Promise.resolve(7), 60_000), 7);
});
