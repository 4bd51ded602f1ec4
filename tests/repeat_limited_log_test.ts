import assert from "node:assert/strict";
import { createLogger } from "../src/log.ts";
import { createRepeatLimitedLogger } from "../src/repeat_limited_log.ts";

function setup() {
  const lines: Record<string, unknown>[] = [];
  let clock = 0;
  const log = createRepeatLimitedLogger(
    createLogger({
      level: "debug",
      sink: (line) => lines.push(JSON.parse(line)),
    }),
    { burst: 2, intervalMs: 1_000, now: () => clock },
  );
  return { lines, log, advance: (ms: number) => clock += ms };
}

Deno.test("createRepeatLimitedLogger carries the count on the first line of the next window", () => {
  const { lines, log, advance } = setup();
  for (let index = 0; index < 5; index++) log.warn("frame_rejected", { index });
  assert.deepStrictEqual(lines.map((line) => line.index), [0, 1]);
  advance(1_000);
  log.warn("frame_rejected", { index: 5 });
  assert.deepStrictEqual(
    [lines[2]?.index, lines[2]?.suppressed],
    [5, 3],
  );
  log.flush();
  assert.equal(lines.length, 3, "nothing left to summarise");
});

Deno.test("createRepeatLimitedLogger limits each event on its own, and not below warn", () => {
  const { lines, log } = setup();
  for (let index = 0; index < 5; index++) {
    log.warn("a");
    log.error("b");
    log.info("c");
    log.debug("d");
  }
  const count = (event: string) =>
    lines.filter((line) => line.event === event).length;
  assert.deepStrictEqual([count("a"), count("b"), count("c"), count("d")], [
    2,
    2,
    5,
    5,
  ]);
  log.flush();
  const summaries = lines.filter((line) => line.suppressed !== undefined);
  assert.deepStrictEqual(
    summaries.map((line) => [line.event, line.level, line.suppressed]),
    [["a", "warn", 3], ["b", "error", 3]],
  );
});
