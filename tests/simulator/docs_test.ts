/**
 * docs/simulator.md stays true: each `deno task simulate` command in it
 * uses options the simulator accepts and files that exist, its JSON is a
 * valid scenario, and the screens it shows use the words the simulator
 * prints. (What each mode does is tested in cli_test.ts and
 * cli_terminal_test.ts.)
 */
import assert from "node:assert/strict";
import { parseSimulatorArgs } from "../../src/simulator/args.ts";
import { parseScenario } from "../../src/simulator/scenario.ts";

const doc = await Deno.readTextFile("docs/simulator.md");

/** The arguments after `deno task simulate`, each time it appears in code. */
function simulateCommands(): string[][] {
  const commands: string[][] = [];
  for (const [, command] of doc.matchAll(/deno task simulate([^`\n]*)/g)) {
    commands.push(command!.trim().split(/\s+/).filter((arg) => arg !== ""));
  }
  return commands;
}

Deno.test("docs/simulator.md: every simulate command is one the simulator accepts", async () => {
  const commands = simulateCommands();
  assert.ok(commands.length >= 6, `only ${commands.length} commands found`);
  for (const args of commands) {
    const parsed = parseSimulatorArgs(args);
    assert.ok(parsed.ok, `${args.join(" ")}: ${!parsed.ok && parsed.reason}`);
    if (parsed.flags.script !== undefined) {
      await Deno.stat(parsed.flags.script);
    }
  }
});

Deno.test("docs/simulator.md: its scenario is valid and its screens use the simulator's words", () => {
  const json = /```json\n([\s\S]*?)```/.exec(doc);
  assert.ok(json);
  assert.ok(parseScenario(json[1]!).ok);
  for (
    const words of [
      "[socket dropped without a close frame (1006), as a network failure would]",
      "[reconnecting as Retell does: same call id",
      "[reconnect ok: the call continued on the new socket, no second greeting, no violation]",
      "  [interrupted]",
      "violations  expectations",
      "1 failed",
    ]
  ) {
    assert.ok(doc.includes(words), words);
  }
});
