import assert from "node:assert/strict";
import { createLatencySample } from "../src/latency_sample.ts";

Deno.test("createLatencySample() has no summary before the first duration", () => {
  assert.equal(createLatencySample().summary(), undefined);
});

Deno.test("createLatencySample() gives the nearest-rank median and the maximum", () => {
  const sample = createLatencySample();
  sample.add(300);
  assert.deepEqual(sample.summary(), { p50Ms: 300, maxMs: 300 });
  sample.add(100);
  // Two middles: the lower one.
  assert.deepEqual(sample.summary(), { p50Ms: 100, maxMs: 300 });
  for (const ms of [900, 200, 250.5]) sample.add(ms);
  assert.deepEqual(sample.summary(), { p50Ms: 250.5, maxMs: 900 });
});

Deno.test("createLatencySample() keeps at most its capacity, uniformly, and the exact maximum", () => {
  // A random source that always picks the first slot.
  const sample = createLatencySample({ capacity: 3, random: () => 0 });
  for (const ms of [10, 20, 30]) sample.add(ms);
  assert.deepEqual(sample.summary(), { p50Ms: 20, maxMs: 30 });
  // The 4th of 4 replaces slot 0 (0 * 4 < 3); the maximum is kept apart.
  sample.add(5_000);
  assert.deepEqual(sample.summary(), { p50Ms: 30, maxMs: 5_000 });

  // A random source that always picks past the end: nothing is replaced.
  const kept = createLatencySample({ capacity: 3, random: () => 0.99 });
  for (const ms of [10, 20, 30, 1, 2, 3]) kept.add(ms);
  assert.deepEqual(kept.summary(), { p50Ms: 20, maxMs: 30 });
});
