/**
 * The simulator's command line in a real pseudo-terminal (util-linux
 * `script`), as a person uses it: raw mode, the input line under a
 * streaming reply, a barge-in, Ctrl-D.
 */
import assert from "node:assert/strict";
import { slowResponder } from "../_support/responders.ts";
import { startTestServer } from "../_support/server.ts";
import { virtualTerminal } from "../_support/virtual_terminal.ts";
import { waitUntil } from "../_support/wait.ts";

const hasScript = (await new Deno.Command("sh", {
  args: ["-c", "command -v script"],
  stdout: "null",
  stderr: "null",
}).output()).success;
if (!hasScript) {
  // deno-lint-ignore no-console
  console.warn(
    "SKIPPED: the simulator's pseudo-terminal test (no `script`; .ci/run installs it, or run: apt-get install bsdutils)",
  );
}

/** Runs the simulator CLI under `script`, on a terminal of 100 columns. */
function startInTerminal(args: string[]) {
  const command = [
    "stty cols 100 rows 40;",
    "exec deno run --no-prompt --allow-net=127.0.0.1 --allow-read",
    "src/simulator/cli.ts",
    ...args,
  ].join(" ");
  const child = new Deno.Command("sh", {
    args: ["-c", 'exec script -qfec "$0" /dev/null', command],
    stdin: "piped",
    stdout: "piped",
    stderr: "piped",
  }).spawn();
  const screen = virtualTerminal(100);
  const waiters = new Set<() => void>();
  const keys = child.stdin.getWriter();
  const encoder = new TextEncoder();
  const reading = (async () => {
    for await (
      const chunk of child.stdout.pipeThrough(new TextDecoderStream())
    ) {
      screen.write(chunk);
      waiters.forEach((waiter) => waiter());
    }
  })();
  return {
    screen,
    type: (keysTyped: string) => keys.write(encoder.encode(keysTyped)),
    /** Resolves once `enough` holds for the screen's lines. */
    until(enough: (lines: string[]) => boolean, timeoutMs = 5000) {
      return waitUntil(
        () => enough(screen.lines),
        waiters,
        timeoutMs,
        () =>
          `The screen did not show what was expected within ${timeoutMs} ms:\n${
            screen.lines.join("\n")
          }`,
      );
    },
    async exit(): Promise<number> {
      await keys.close().catch(() => {});
      const [status] = await Promise.all([
        child.status,
        reading,
        child.stderr.cancel(),
      ]);
      return status.code;
    },
  };
}

Deno.test({
  name:
    "the simulator on a terminal keeps typing apart from a streaming reply, and barges in on Enter",
  ignore: !hasScript,
  async fn() {
    // Reply 1 streams "Let me see. " and holds until it is superseded.
    await using server = startTestServer({
      responder: slowResponder(new Set([1])),
    });
    const sim = startInTerminal([
      server.url("").slice(0, -1),
      "--reminder-ms",
      "0",
    ]);
    try {
      await sim.until((lines) =>
        lines.includes("agent> Hello, slow here.") && lines.at(-1) === "you>"
      );
      await sim.type("Can you check Friday?\r");
      await sim.until((lines) => lines.at(-2) === "agent> Let me see.");
      // Typed while the agent speaks: it stays on the input line.
      await sim.type("Actu");
      await sim.until((lines) => lines.at(-1) === "you> Actu");
      assert.equal(sim.screen.lines.at(-2), "agent> Let me see.");
      await sim.type("ally, Monday.\r");
      // The terminal may show the reply's last line before the input line
      // drawn under it: wait for both.
      await sim.until((lines) =>
        lines.filter((line) => line.startsWith("  (first frame")).length ===
          2 && lines.at(-1) === "you>"
      );
      const lines = sim.screen.lines;
      const from = lines.indexOf("you> Can you check Friday?");
      assert.deepStrictEqual(
        lines.slice(from, from + 5),
        [
          "you> Can you check Friday?",
          "agent> Let me see. …",
          "  [interrupted]",
          "you> Actually, Monday.",
          "agent> Let me see. Done.",
        ],
      );
      await sim.type("\x04");
      await sim.until((lines) => lines.at(-1) === "[call ended]");
    } finally {
      assert.equal(await sim.exit(), 0);
    }
  },
});
