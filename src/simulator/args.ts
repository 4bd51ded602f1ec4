/**
 * The simulator's command line: its flags, their defaults, and the usage
 * text `--help` prints.
 *
 * @module
 */

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
  -h, --help        show this help

Interactive: type what the caller says and press Enter. Typing while the agent
speaks interrupts it. Ctrl-D hangs up.

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
  help: boolean;
}

/** The flags of a usable command line, or why it cannot be used. */
export type ParsedSimulatorArgs =
  | { ok: true; flags: SimulatorFlags }
  | { ok: false; reason: string };

/**
 * Reads the command line; never throws.
 *
 * @param args The arguments after the program name, such as `Deno.args`.
 * @returns The flags, or why the arguments cannot be used.
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
    help: false,
  };
  const positional: string[] = [];
  for (let index = 0; index < args.length; index++) {
    const arg = args[index]!;
    if (arg === "--") continue;
    if (!arg.startsWith("-") || arg === "-") {
      positional.push(arg);
      continue;
    }
    const equals = arg.indexOf("=");
    const name = equals > 0 ? arg.slice(0, equals) : arg;
    const takeValue = (): string | undefined => {
      if (equals > 0) return arg.slice(equals + 1);
      const next = args[index + 1];
      if (next === undefined) return undefined;
      index++;
      return next;
    };
    switch (name) {
      case "-h":
      case "--help":
        flags.help = true;
        break;
      case "--json":
        flags.json = true;
        break;
      case "--script":
      case "--call-id": {
        const value = takeValue();
        if (value === undefined || value === "") {
          return { ok: false, reason: `${name} needs a value` };
        }
        if (name === "--script") flags.script = value;
        else flags.callId = value;
        break;
      }
      case "--var": {
        const value = takeValue();
        const split = value?.indexOf("=") ?? -1;
        if (value === undefined || split <= 0) {
          return {
            ok: false,
            reason: `--var needs NAME=VALUE, such as --var customer_name=Dana${
              value === undefined ? "" : `: current value is "${value}"`
            }`,
          };
        }
        flags.variables[value.slice(0, split)] = value.slice(split + 1);
        break;
      }
      case "--reminder-ms":
      case "--timeout-ms": {
        const value = takeValue();
        const number = Number(value);
        const min = name === "--reminder-ms" ? 0 : 1;
        if (
          value === undefined || value.trim() === "" ||
          !Number.isSafeInteger(number) || number < min
        ) {
          return {
            ok: false,
            reason: `${name} must be a whole number of ms${
              min === 0 ? "" : " above 0"
            }${value === undefined ? "" : `: current value is "${value}"`}`,
          };
        }
        if (name === "--reminder-ms") flags.reminderMs = number;
        else flags.timeoutMs = number;
        break;
      }
      default:
        return { ok: false, reason: `Unknown option ${name}` };
    }
  }
  if (positional.length > 1) {
    return {
      ok: false,
      reason: `Expected at most one URL, got ${positional.length}: ${
        positional.join(" ")
      }`,
    };
  }
  if (positional[0] !== undefined) flags.url = positional[0];
  return { ok: true, flags };
}
