import assert from "node:assert/strict";
import { createLogger, type LogFields } from "../src/log.ts";

/** The line as the logger's contract defines it, built the plain way. */
function expectedLine(
  at: number,
  level: string,
  event: string,
  fields: LogFields | undefined,
  cap: number,
): string {
  const line: LogFields = {
    time: new Date(at).toISOString(),
    level,
    event,
    ...fields,
  };
  for (const key of ["reason", "error"]) {
    const value = line[key];
    if (typeof value === "string" && value.length > cap) {
      line[key] = `${value.slice(0, cap)}… (${value.length} chars)`;
    }
  }
  return JSON.stringify(line);
}

Deno.test("createLogger() writes the same line whichever way it builds it", () => {
  const lines: string[] = [];
  let at = Date.UTC(2026, 11, 2, 7, 0, 0, 123);
  const log = createLogger({
    sink: (line) => lines.push(line),
    now: () => at,
    reasonMaxChars: 10,
  });
  const cases: (LogFields | undefined)[] = [
    undefined,
    {},
    { call_id: "c1", response_id: 3, first_frame_ms: 0.25 },
    { nested: { a: [1, "two"] }, text: 'quote " and \\ and \u2028' },
    { reason: "short" },
    { reason: "far longer than ten characters" },
    { error: "x".repeat(50), call_id: "c2" },
    { time: "overridden", level: "x", event: "y" },
    { missing: undefined, call_id: "c3" },
  ];
  for (const fields of cases) {
    at += 1;
    log.info("something_happened", fields);
    assert.equal(
      lines.at(-1),
      expectedLine(at, "info", "something_happened", fields, 10),
    );
    // A second line in the same millisecond carries the same time.
    log.warn("again", fields);
    assert.equal(lines.at(-1), expectedLine(at, "warn", "again", fields, 10));
  }
});

Deno.test("createLogger() writes nothing below its level", () => {
  const lines: string[] = [];
  const log = createLogger({ level: "warn", sink: (line) => lines.push(line) });
  log.debug("a");
  log.info("b");
  log.warn("c");
  log.error("d");
  assert.deepStrictEqual(lines.map((line) => JSON.parse(line).event), [
    "c",
    "d",
  ]);
  assert.equal(log.enabled("info"), false);
  assert.equal(log.enabled("error"), true);
});

/** Runs a script that logs with the default sink, and returns its output. */
async function runLogging(ending: string) {
  const script = [
    `import { createLogger } from "${
      new URL("../src/log.ts", import.meta.url).href
    }";`,
    "const log = createLogger();",
    'for (let i = 0; i < 2000; i++) log.info("line", { i });',
    'log.warn("warned");',
    'log.info("after_warning");',
    ending,
  ].join("\n");
  const output = await new Deno.Command("deno", {
    args: ["eval", "--no-check", script],
    stdout: "piped",
    stderr: "piped",
  }).output();
  const text = new TextDecoder();
  return {
    stdout: text.decode(output.stdout).trim().split("\n"),
    stderr: text.decode(output.stderr),
  };
}

Deno.test("the default sink writes every info line, however the process ends", async (t) => {
  for (
    const [name, ending] of [
      ["at the end of the script", ""],
      ["on Deno.exit", "Deno.exit(0);"],
      ["when an error escapes", 'throw new Error("boom");'],
      [
        "when a rejection escapes",
        'Promise.reject(new Error("boom"));',
      ],
    ] as const
  ) {
    await t.step(name, async () => {
      const { stdout, stderr } = await runLogging(ending);
      const events = stdout.map((line) => JSON.parse(line));
      assert.equal(events.length, 2001);
      assert.deepStrictEqual(events.slice(0, 3).map((e) => e.i), [0, 1, 2]);
      assert.equal(events.at(-2).i, 1999);
      assert.equal(events.at(-1).event, "after_warning");
      assert.match(stderr, /"event":"warned"/);
    });
  }
});
