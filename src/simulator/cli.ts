/**
 * `deno task simulate`: the Retell simulator on the command line. Talk to
 * your agent from the terminal, or play a scenario file for CI, while every
 * frame the server sends is checked against the protocol.
 *
 * This is the one simulator file that touches the terminal, and only through
 * a {@linkcode SimulatorIo}, so tests can drive {@linkcode main}.
 *
 * @module
 */
import type { CallAction } from "../protocol/outbound.ts";
import { SimulatorConnectError, startSimulatedCall } from "./call.ts";
import type { SimulatorEvent } from "./simulator_event.ts";
import type { ConformanceOptions } from "./conformance.ts";
import type { Violation } from "./violation.ts";
import { parseScenario } from "./scenario.ts";
import {
  runScenario,
  type ScenarioReport,
  type ScenarioTurn,
} from "./scenario_runner.ts";

/** The server the simulator calls when no URL is given. */
export const DEFAULT_SIMULATOR_URL = "ws://127.0.0.1:8080/llm-websocket";

/** The terminal, as {@linkcode main} sees it. */
export interface SimulatorIo {
  /** What the user types (interactive mode). */
  readonly stdin: ReadableStream<Uint8Array>;
  /**
   * Whether standard input is a terminal, which shows what the user types.
   * When it is not (piped input, tests), each line read is echoed after the
   * prompt, so the output reads as a conversation.
   *
   * @default {false}
   */
  readonly stdinIsTerminal?: boolean;
  /**
   * Writes text to standard output, as is.
   *
   * @param text The text.
   */
  write(text: string): void;
  /**
   * Writes text to standard error, as is.
   *
   * @param text The text.
   */
  error(text: string): void;
  /**
   * Reads a scenario file.
   *
   * @param path The path given to `--script`.
   * @returns The file's text.
   */
  readTextFile(path: string): Promise<string>;
}

/** Settings that have no flag, for tests: shorter deadlines and periods. */
export interface MainOptions {
  /** Deadlines of the protocol referee, and its grace for frames in flight. */
  conformance?: ConformanceOptions;
  /** Keepalive period, default 2000 ms. */
  pingIntervalMs?: number;
  /** How often time-based rules are checked, default 250 ms. */
  checkIntervalMs?: number;
  /** Scripted mode: listening time after the last step, default 250 ms. */
  settleMs?: number;
}

/**
 * The process's standard streams and file system.
 *
 * @returns The io of the running process.
 */
export function denoIo(): SimulatorIo {
  const encoder = new TextEncoder();
  return {
    get stdin() {
      return Deno.stdin.readable;
    },
    get stdinIsTerminal() {
      return Deno.stdin.isTerminal();
    },
    write: (text) => writeAll(Deno.stdout, encoder.encode(text)),
    error: (text) => writeAll(Deno.stderr, encoder.encode(text)),
    readTextFile: (path) => Deno.readTextFile(path),
  };
}

function writeAll(
  target: { writeSync(p: Uint8Array): number },
  bytes: Uint8Array,
) {
  let written = 0;
  while (written < bytes.length) {
    written += target.writeSync(bytes.subarray(written));
  }
}

const USAGE =
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
interface Flags {
  url: string;
  script: string | undefined;
  json: boolean;
  variables: Record<string, string>;
  callId: string | undefined;
  reminderMs: number;
  timeoutMs: number | undefined;
  help: boolean;
}

type ParsedArgs = { ok: true; flags: Flags } | { ok: false; reason: string };

/** Reads the command line; never throws. */
function parseArgs(args: readonly string[]): ParsedArgs {
  const flags: Flags = {
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

/**
 * Runs the simulator with command-line arguments and returns the exit
 * status: 0 when the call ran (in scripted mode: with no violation and no
 * failed expectation), 1 for a scripted run that found problems, 2 for bad
 * arguments, an unusable scenario file, or no connection.
 *
 * @param args The arguments after the program name, such as `Deno.args`.
 * @param io Where input comes from and output goes.
 * @param options Settings without a flag, for tests.
 * @returns The exit status.
 *
 * @example Usage
 * ```ts
 * import assert from "node:assert/strict";
 * import { main } from "./cli.ts";
 *
 * let out = "";
 * const io = {
 *   stdin: new ReadableStream<Uint8Array>(),
 *   write: (text: string) => void (out += text),
 *   error: (text: string) => void (out += text),
 *   readTextFile: (path: string) => Deno.readTextFile(path),
 * };
 * assert.equal(await main(["--help"], io), 0);
 * assert.match(out, /--script FILE/);
 * ```
 */
export async function main(
  args: readonly string[],
  io: SimulatorIo,
  options: MainOptions = {},
): Promise<number> {
  const parsed = parseArgs(args);
  if (!parsed.ok) {
    io.error(`${parsed.reason}\nRun with --help for usage.\n`);
    return 2;
  }
  const flags = parsed.flags;
  if (flags.help) {
    io.write(USAGE);
    return 0;
  }
  return flags.script === undefined
    ? await interactive(flags, io, options)
    : await scripted(flags, flags.script, io, options);
}

/** Reports a failed connection and returns exit status 2. */
function connectFailed(error: unknown, flags: Flags, io: SimulatorIo): number {
  const message = error instanceof Error ? error.message : String(error);
  let hint = "";
  if (error instanceof SimulatorConnectError) {
    if (error.status === 403) {
      hint =
        "\nThe server refused this address. Run it with ALLOW_LOOPBACK=true (deno task dev does), or add your address to ALLOWED_IPS.";
    } else if (error.status === 404) {
      hint =
        "\nNo socket at that path. Give the URL Retell would use, such as ws://127.0.0.1:8080/llm-websocket (see WEBSOCKET_PATH).";
    } else if (error.status === undefined && /refused/.test(error.message)) {
      hint = "\nStart the server first, for example with: deno task dev";
    }
  }
  if (flags.json) {
    io.write(`${JSON.stringify({ type: "error", message })}\n`);
  }
  io.error(`${message}${hint}\n`);
  return 2;
}

/** Plain-words names of violation codes. */
const VIOLATION_LABELS: Readonly<Record<Violation["code"], string>> = {
  not_json: "not JSON",
  not_event: "not an event",
  missing_response_type: "missing response_type",
  unknown_response_type: "unknown response_type",
  invalid_frame: "invalid frame",
  binary_frame: "binary frame",
  config_not_first: "config not first",
  no_begin: "no begin message",
  stale_response: "stale response",
  after_complete: "content after completion",
  unrequested_response: "unrequested response",
  never_completed: "response never completed",
  ping_late: "late ping echo",
  ping_missing: "missing ping echo",
  ping_unknown: "unknown ping echo",
  bad_close_code: "bad close code",
};

/**
 * One violation on one line, as printed: its rule, its name in words and
 * what happened (`! §4.0, §8.4 missing response_type: The server sent ...`).
 *
 * @param violation The violation.
 * @returns The line, without a line break.
 */
export function formatViolation(violation: Violation): string {
  return `! ${violation.rule} ${
    VIOLATION_LABELS[violation.code] ?? violation.code
  }: ${violation.message}`;
}

function describeAction(action: CallAction): string {
  switch (action.type) {
    case "end_call":
      return "[agent hangs up]";
    case "transfer_call":
      return `[transfer to ${action.number}${
        action.showTransfereeAsCaller ? ", showing the caller's number" : ""
      }]`;
    case "press_digit":
      return `[press digits ${action.digits}]`;
  }
}

function formatMs(ms: number | undefined): string {
  if (ms === undefined) return "-";
  return ms < 10 ? ms.toFixed(1) : String(Math.round(ms));
}

/** Text output of an interactive call: the agent's words as they stream, and bracketed events. */
interface Screen {
  /** Shows an event. */
  show(event: SimulatorEvent): void;
  /**
   * A line was read and is about to be said: `say` sends it. With a
   * terminal the user's Enter has already moved the cursor to a new line;
   * without one the line is echoed, after whatever `say` shows.
   */
  typed(line: string, say: () => void): void;
  /** Shows the prompt, unless it is showing. */
  prompt(): void;
  /** Writes a line of its own. */
  line(text: string): void;
}

function createScreen(io: SimulatorIo): Screen {
  const echo = io.stdinIsTerminal !== true;
  let midLine = false;
  let prompting = false;
  let speaking: number | undefined;
  let interrupting: number | undefined;

  function write(text: string): void {
    if (text === "") return;
    io.write(text);
    midLine = !text.endsWith("\n");
  }

  function line(text: string): void {
    if (midLine) write("\n");
    write(`${text}\n`);
    if (prompting) write("you> ");
  }

  function startSpeaking(prefix: string): void {
    if (midLine) write("\n");
    prompting = false;
    write(prefix);
  }

  function endSpeaking(): void {
    if (midLine) write("\n");
    speaking = undefined;
    interrupting = undefined;
  }

  function show(event: SimulatorEvent): void {
    switch (event.type) {
      case "open":
        line(`Connected to ${event.url}`);
        line(
          "Type what the caller says and press Enter; typing while the agent speaks interrupts it. Ctrl-D hangs up.",
        );
        return;
      case "config": {
        const settings = Object.entries(event.config).map(([name, on]) =>
          `${name} ${on ? "on" : "off"}`
        );
        line(`[config: ${settings.join(", ") || "defaults"}]`);
        return;
      }
      case "call_details": {
        const variables = Object.entries(
          event.call.retell_llm_dynamic_variables ?? {},
        ).map(([name, value]) => `${name}=${value}`);
        line(
          `[call_details sent; dynamic variables: ${
            variables.join(", ") || "none"
          }]`,
        );
        return;
      }
      case "request":
        if (event.kind === "reminder") {
          // The agent speaks next: no prompt until it has.
          prompting = false;
          line(
            `[the caller is silent: reminder_required, response ${event.responseId}]`,
          );
        }
        return;
      case "agent_text":
        if (speaking !== event.responseId) {
          if (interrupting !== undefined) endSpeaking();
          startSpeaking("agent> ");
          speaking = event.responseId;
        }
        write(event.content);
        return;
      case "response_complete": {
        if (speaking !== event.responseId) {
          startSpeaking(
            event.text === ""
              ? event.kind === "begin"
                ? "agent> (empty begin message: the caller speaks first)"
                : "agent> (nothing)"
              : "agent> ",
          );
        }
        endSpeaking();
        write(
          `  (first frame ${formatMs(event.firstFrameMs)} ms, complete ${
            formatMs(event.completeMs)
          } ms)\n`,
        );
        return;
      }
      case "response_interrupted":
        if (speaking === event.responseId) {
          if (midLine) write("…");
          endSpeaking();
          write("  [interrupted]\n");
        }
        return;
      case "action":
        line(describeAction(event.action));
        return;
      case "agent_interrupt":
        if (interrupting !== event.interruptId) {
          if (speaking !== undefined) endSpeaking();
          startSpeaking("agent (interrupting)> ");
          interrupting = event.interruptId;
        }
        write(event.content);
        if (event.complete) endSpeaking();
        return;
      case "update_agent":
        line(`[update_agent ${JSON.stringify(event.agentConfig)}]`);
        return;
      case "tool_call_invocation":
        line(`[tool ${event.name}(${event.arguments})]`);
        return;
      case "tool_call_result":
        line(
          `[tool result ${event.content}${
            event.successful === undefined
              ? ""
              : event.successful
              ? " (ok)"
              : " (failed)"
          }]`,
        );
        return;
      case "metadata":
        line(`[metadata ${JSON.stringify(event.metadata)}]`);
        return;
      case "ping_echo":
        return;
      case "violation":
        line(formatViolation(event.violation));
        return;
      case "closed":
        prompting = false;
        speaking = undefined;
        interrupting = undefined;
        line(
          event.byServer
            ? `[call ended: the server closed the socket with code ${event.code}${
              event.reason ? ` (${event.reason})` : ""
            }]`
            : "[call ended]",
        );
        return;
    }
  }

  return {
    show,
    typed(text, say) {
      if (!echo) {
        midLine = false;
        prompting = false;
        say();
        return;
      }
      const wasPrompting = prompting && midLine;
      prompting = false;
      if (wasPrompting) {
        write(`${text}\n`);
        say();
        return;
      }
      // Show the interruption (if any) before the words that caused it.
      say();
      if (midLine) write("\n");
      write(`you> ${text}\n`);
    },
    prompt() {
      if (prompting) return;
      if (midLine) write("\n");
      prompting = true;
      write("you> ");
    },
    line,
  };
}

/** Reads lines from a byte stream; `cancel` ends a pending read. */
function createLineReader(stream: ReadableStream<Uint8Array>) {
  const reader = stream.pipeThrough(new TextDecoderStream()).getReader();
  const lines: string[] = [];
  let buffer = "";
  let ended = false;
  return {
    /** The next line without its line break, or undefined at the end. */
    async next(): Promise<string | undefined> {
      while (lines.length === 0 && !ended) {
        const { value, done } = await reader.read();
        if (done) {
          ended = true;
          if (buffer !== "") lines.push(buffer);
          buffer = "";
          break;
        }
        buffer += value;
        const parts = buffer.split("\n");
        buffer = parts.pop() ?? "";
        lines.push(...parts.map((part) => part.replace(/\r$/, "")));
      }
      return lines.shift();
    },
    cancel(): Promise<void> {
      ended = true;
      lines.length = 0;
      return reader.cancel().catch(() => {});
    },
  };
}

async function interactive(
  flags: Flags,
  io: SimulatorIo,
  options: MainOptions,
): Promise<number> {
  const screen = flags.json ? undefined : createScreen(io);
  const timeoutMs = flags.timeoutMs ?? 10_000;
  const reminders = {
    ms: flags.reminderMs,
    max: 1,
    sent: 0,
    timer: undefined as ReturnType<typeof setTimeout> | undefined,
  };
  const input = createLineReader(io.stdin);
  let call: Awaited<ReturnType<typeof startSimulatedCall>> | undefined;

  function armReminder(): void {
    clearTimeout(reminders.timer);
    if (reminders.ms <= 0 || reminders.sent >= reminders.max) return;
    reminders.timer = setTimeout(() => {
      if (call === undefined || !call.isOpen) return;
      if (call.response(call.latestResponseId)?.status !== "complete") return;
      reminders.sent++;
      call.remind();
    }, reminders.ms);
  }

  function onEvent(event: SimulatorEvent): void {
    if (flags.json) io.write(`${JSON.stringify(event)}\n`);
    else screen?.show(event);
    switch (event.type) {
      case "response_complete":
        if (
          event.responseId === (call?.latestResponseId ?? 0) &&
          event.action?.type !== "end_call"
        ) {
          screen?.prompt();
          armReminder();
        }
        return;
      case "action":
        if (event.action.type !== "end_call") screen?.prompt();
        return;
      case "update_agent":
        // Retell applies these mid-call (§4.5); the simulator follows the reminder settings.
        if (event.agentConfig.reminder_trigger_ms !== undefined) {
          reminders.ms = event.agentConfig.reminder_trigger_ms;
        }
        if (event.agentConfig.reminder_max_count !== undefined) {
          reminders.max = event.agentConfig.reminder_max_count;
        }
        return;
      case "closed":
        clearTimeout(reminders.timer);
        void input.cancel();
        return;
    }
  }

  try {
    call = await startSimulatedCall({
      url: flags.url,
      ...(flags.callId !== undefined && { callId: flags.callId }),
      variables: flags.variables,
      onEvent,
      ...callOptions(options),
    });
  } catch (error) {
    await input.cancel();
    return connectFailed(error, flags, io);
  }
  // Frames that came with the handshake are handled before `call` is set:
  // the begin message may be complete already.
  if (call.response(call.latestResponseId)?.status === "complete") {
    armReminder();
  }
  while (call.isOpen) {
    const line = await input.next();
    if (line === undefined || !call.isOpen) break;
    const text = line.trim();
    if (text === "") {
      screen?.typed("", () => {});
      screen?.prompt();
      continue;
    }
    clearTimeout(reminders.timer);
    reminders.sent = 0;
    const active = call;
    if (screen === undefined) active.say(text);
    else screen.typed(text, () => active.say(text));
  }
  if (call.isOpen) {
    // Input ended (Ctrl-D, or the end of piped lines): hear the last reply out, then hang up.
    await call.waitForCompletion(call.latestResponseId, timeoutMs);
    await call.close();
  }
  await call.closed;
  clearTimeout(reminders.timer);
  await input.cancel();
  const count = call.violations.length;
  if (screen !== undefined && count > 0) {
    screen.line(
      `${count} protocol violation${
        count === 1 ? "" : "s"
      } (lines starting with !)`,
    );
  }
  return 0;
}

function callOptions(options: MainOptions) {
  return {
    ...(options.conformance !== undefined &&
      { conformance: options.conformance }),
    ...(options.pingIntervalMs !== undefined &&
      { pingIntervalMs: options.pingIntervalMs }),
    ...(options.checkIntervalMs !== undefined &&
      { checkIntervalMs: options.checkIntervalMs }),
  };
}

async function scripted(
  flags: Flags,
  path: string,
  io: SimulatorIo,
  options: MainOptions,
): Promise<number> {
  let text: string;
  try {
    text = await io.readTextFile(path);
  } catch (error) {
    const detail = error instanceof Error ? error.message : String(error);
    io.error(`Cannot read scenario file ${path}: ${detail}\n`);
    return 2;
  }
  const parsed = parseScenario(text);
  if (!parsed.ok) {
    io.error(
      `Cannot use scenario file ${path}:\n${
        parsed.reason.split("\n").map((line) => `  ${line}`).join("\n")
      }\n`,
    );
    return 2;
  }
  const name = parsed.scenario.name ?? path.split(/[\\/]/).pop() ?? path;
  let report: ScenarioReport;
  try {
    report = await runScenario({ ...parsed.scenario, name }, {
      url: flags.url,
      ...(flags.callId !== undefined && { callId: flags.callId }),
      variables: flags.variables,
      ...(flags.timeoutMs !== undefined && { timeoutMs: flags.timeoutMs }),
      ...(options.settleMs !== undefined && { settleMs: options.settleMs }),
      ...callOptions(options),
      onEvent(event) {
        if (flags.json) {
          io.write(`${JSON.stringify(event)}\n`);
        } else if (event.type === "open") {
          io.write(`Scenario "${name}": ${event.url}\n`);
        } else if (event.type === "violation") {
          io.write(`${formatViolation(event.violation)}\n`);
        }
      },
    });
  } catch (error) {
    return connectFailed(error, flags, io);
  }
  if (flags.json) {
    io.write(`${JSON.stringify({ type: "report", ...report })}\n`);
  } else {
    io.write(formatReport(report));
  }
  return report.ok ? 0 : 1;
}

/** Cuts `text` to `width` characters, on one line. */
function truncate(text: string, width: number): string {
  const flat = text.replace(/\s+/g, " ").trim();
  return flat.length > width ? `${flat.slice(0, width - 1)}…` : flat;
}

function replyCell(turn: ScenarioTurn): string {
  const notes: string[] = [];
  if (turn.action !== undefined) notes.push(describeAction(turn.action));
  if (turn.status === "superseded") notes.push("[interrupted]");
  if (turn.status === "closed") notes.push("[call closed]");
  if (turn.status === "waiting" || turn.status === "streaming") {
    notes.push("[incomplete]");
  }
  const suffix = notes.length > 0 ? ` ${notes.join(" ")}` : "";
  const text = turn.reply === "" && turn.frames === 0 ? "-" : turn.reply;
  return `${truncate(JSON.stringify(text).slice(1, -1), 40)}${suffix}`;
}

/**
 * The per-turn table and summary of a scripted run, as printed.
 *
 * @param report The report of {@linkcode runScenario}.
 * @returns Text ending in a line break.
 */
export function formatReport(report: ScenarioReport): string {
  const header = [
    "#",
    "id",
    "kind",
    "caller",
    "reply",
    "first ms",
    "complete ms",
    "frames",
    "violations",
  ];
  const rows = report.turns.map((turn) => [
    String(turn.index),
    String(turn.responseId),
    turn.kind,
    turn.said === undefined ? "-" : truncate(turn.said, 24),
    replyCell(turn),
    formatMs(turn.firstFrameMs),
    formatMs(turn.completeMs),
    String(turn.frames),
    String(turn.violations.length),
  ]);
  const numeric = new Set([0, 1, 5, 6, 7, 8]);
  const widths = header.map((title, column) =>
    Math.max(title.length, ...rows.map((row) => row[column]!.length))
  );
  const render = (row: string[]) =>
    row.map((cell, column) =>
      numeric.has(column)
        ? cell.padStart(widths[column]!)
        : cell.padEnd(widths[column]!)
    ).join("  ").trimEnd();
  const lines = [render(header), ...rows.map(render), ""];
  const problems = report.violations.length + report.failures.length;
  if (problems === 0) {
    lines.push(
      `PASS ${report.name}: ${report.turns.length} turns, no violations, every expectation met`,
    );
  } else {
    lines.push(
      `FAIL ${report.name}: ${plural(report.violations.length, "violation")}, ${
        plural(report.failures.length, "failed expectation")
      }`,
    );
    if (report.violations.length > 0) {
      lines.push("Violations:");
      for (const violation of report.violations) {
        lines.push(`  ${formatViolation(violation)}`);
      }
    }
    if (report.failures.length > 0) {
      lines.push("Failed expectations:");
      for (const failure of report.failures) lines.push(`  - ${failure}`);
    }
  }
  return `${lines.join("\n")}\n`;
}

function plural(count: number, noun: string): string {
  return `${count} ${noun}${count === 1 ? "" : "s"}`;
}

if (import.meta.main) {
  Deno.exit(await main(Deno.args, denoIo()));
}
