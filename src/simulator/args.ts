/**
 * The simulator's command line: its flags, their defaults, and the usage
 * text `--help` prints.
 *
 * @module
 */
import { parseArgs, type ParseArgsOptionDescriptor } from "node:util";

/** The server the simulator calls when no URL is given. */
export const DEFAULT_SIMULATOR_URL = "ws://127.0.0.1:8080/llm-websocket";

/** What `--help` prints. */
export const SIMULATOR_USAGE =
  `Retell simulator: talk to your agent from the terminal, and check a
server's protocol, without Retell or a tunnel.

Usage:
  deno task simulate [URL] [options]                 interactive call
  deno task simulate --script FILE [URL] [options]   scripted call, for CI

URL is the server's socket URL without the call id, as you would give it to
Retell (default ${DEFAULT_SIMULATOR_URL}); a fresh call id is
appended, as Retell does.

Options:
  --script FILE     play a scenario file without a terminal; print a table of
                    turns; exit 1 on any violation or failed expectation
  --json            print one JSON object per event (and, with --script, the
                    report last) instead of text
  --var NAME=VALUE  a dynamic variable for call_details (repeatable)
  --call-id ID      the call id to append (default sim_<random>)
  --reminder-ms N   interactive: caller silence in ms before reminder_required
                    (default 10000; 0 turns reminders off)
  --timeout-ms N    longest wait in ms for a reply (scripted mode: overrides
                    the scenario's timeout_ms; interactive: wait for the last
                    reply after input ends) (default 10000)
  --no-wait         piped input: send each line as soon as it is read, without
                    waiting for the greeting and the previous reply (barge-in)
  --reconnect-after N
                    after N caller turns, drop the socket without a close
                    frame and reconnect with the same call id, as Retell does,
                    checking that the call continues
  -h, --help        show this help

Interactive: type what the caller says and press Enter. Typing while the agent
speaks interrupts it. Ctrl-D hangs up. Piped input (printf 'hi\nbye\n' | ...)
is said one line per turn: each line waits for the greeting or the previous
reply to complete.

Exit status: 0 when the call ran (scripted: and passed); 1 scripted run with
violations or failed expectations; 2 bad arguments, bad scenario file, or no
connection.
`;

/** The parsed command line. */
export interface SimulatorFlags {
  url: string;
  script: string | undefined;
  json: boolean;
  variables: Record<string, string>;
  callId: string | undefined;
  reminderMs: number;
  timeoutMs: number | undefined;
  noWait: boolean;
  reconnectAfter: number | undefined;
  help: boolean;
}

/** The flags of a usable command line, or why it cannot be used. */
export type ParsedSimulatorArgs =
  | { ok: true; flags: SimulatorFlags }
  | { ok: false; reason: string };

/**
 * The flags, as `parseArgs` reads them: which take a value, which repeat,
 * which have a short name. They are read loosely (`strict: false`) and each
 * value is checked in {@linkcode setFlag}, so that every message is ours.
 */
const OPTIONS = {
  script: { type: "string" },
  json: { type: "boolean" },
  var: { type: "string", multiple: true },
  "call-id": { type: "string" },
  "reminder-ms": { type: "string" },
  "timeout-ms": { type: "string" },
  "no-wait": { type: "boolean" },
  "reconnect-after": { type: "string" },
  help: { type: "boolean", short: "h" },
} as const satisfies Record<string, ParseArgsOptionDescriptor>;

type OptionName = keyof typeof OPTIONS;

/**
 * Reads the command line; never throws.
 *
 * @param args The arguments after the program name, such as `Deno.args`.
 * @returns The flags, or why the arguments cannot be used.
 *
 * @example Usage
 * ```ts
 * import assert from "node:assert/strict";
 * import { parseSimulatorArgs } from "./args.ts";
 *
 * const parsed = parseSimulatorArgs(["--var", "customer_name=Dana", "--json"]);
 * assert.ok(parsed.ok);
 * assert.deepEqual(parsed.flags.variables, { customer_name: "Dana" });
 * assert.equal(parsed.flags.json, true);
 * ```
 */
export function parseSimulatorArgs(
  args: readonly string[],
): ParsedSimulatorArgs {
  const flags: SimulatorFlags = {
    url: DEFAULT_SIMULATOR_URL,
    script: undefined,
    json: false,
    variables: {},
    callId: undefined,
    reminderMs: 10_000,
    timeoutMs: undefined,
    noWait: false,
    reconnectAfter: undefined,
    help: false,
  };
  const { tokens, positionals } = parseArgs({
    args: [...args],
    options: OPTIONS,
    strict: false,
    allowPositionals: true,
    tokens: true,
  });
  for (const token of tokens) {
    if (token.kind !== "option") continue;
    const reason = isOptionName(token.name)
      ? setFlag(flags, token.name, token.value)
      : `Cannot use ${token.rawName}: there is no such option`;
    if (reason !== undefined) return { ok: false, reason };
  }
  if (positionals.length > 1) {
    return {
      ok: false,
      reason: `Cannot use ${positionals.length} URLs: give at most one, got ${
        positionals.join(" ")
      }`,
    };
  }
  if (positionals[0] !== undefined) flags.url = positionals[0];
  return { ok: true, flags };
}

function isOptionName(name: string): name is OptionName {
  return Object.hasOwn(OPTIONS, name);
}

/**
 * Stores one option in `flags`.
 *
 * @returns Why the option cannot be used, or undefined when it was stored.
 */
function setFlag(
  flags: SimulatorFlags,
  name: OptionName,
  value: string | undefined,
): string | undefined {
  switch (name) {
    case "help":
      flags.help = true;
      return undefined;
    case "json":
      flags.json = true;
      return undefined;
    case "no-wait":
      flags.noWait = true;
      return undefined;
    case "script":
    case "call-id":
      if (value === undefined || value === "") {
        return cannotUse(name, "a value", value);
      }
      if (name === "script") flags.script = value;
      else flags.callId = value;
      return undefined;
    case "var": {
      const split = value?.indexOf("=") ?? -1;
      if (value === undefined || split <= 0) {
        return cannotUse(
          name,
          "NAME=VALUE, such as --var customer_name=Dana",
          value,
        );
      }
      flags.variables[value.slice(0, split)] = value.slice(split + 1);
      return undefined;
    }
    case "reminder-ms":
    case "timeout-ms":
    case "reconnect-after": {
      const number = Number(value);
      const min = name === "reminder-ms" ? 0 : 1;
      if (
        value === undefined || value.trim() === "" ||
        !Number.isSafeInteger(number) || number < min
      ) {
        const unit = name === "reconnect-after" ? "turns" : "ms";
        return cannotUse(
          name,
          `a whole number of ${unit}${min === 0 ? "" : " above 0"}`,
          value,
        );
      }
      if (name === "reminder-ms") flags.reminderMs = number;
      else if (name === "timeout-ms") flags.timeoutMs = number;
      else flags.reconnectAfter = number;
      return undefined;
    }
  }
}

/** Why `--name` cannot be used: it needs `wanted`, and got `value` (or none). */
function cannotUse(
  name: OptionName,
  wanted: string,
  value: string | undefined,
): string {
  return value === undefined
    ? `Cannot use --${name}: it needs ${wanted}`
    : `Cannot use --${name} as it needs ${wanted}: current value is "${value}"`;
}
