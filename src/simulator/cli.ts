/**
 * `deno task simulate`: the Retell simulator on the command line. Talk to
 * your agent from the terminal, or play a scenario file for CI, while every
 * frame the server sends is checked against the protocol.
 *
 * This file wires the pieces: the command line is read in `args.ts`, an
 * interactive call is shown by `screen.ts`, and what a finished call prints
 * is written in `report.ts`. It is the one simulator file that touches the
 * terminal, and only through a {@linkcode SimulatorIo}, so tests can drive
 * {@linkcode main}.
 *
 * @module
 */
import { describeError } from "../log.ts";
import type { AgentConfigUpdate } from "../protocol/outbound.ts";
import {
  parseSimulatorArgs,
  SIMULATOR_USAGE,
  type SimulatorFlags,
} from "./args.ts";
import {
  type SimulatedCall,
  SimulatorConnectError,
  startSimulatedCall,
} from "./call.ts";
import { createKeyReader } from "./key_reader.ts";
import type { SimulatorEvent } from "./simulator_event.ts";
import type { ConformanceOptions } from "./conformance.ts";
import {
  formatReport,
  formatReportRecord,
  formatViolation,
  formatViolationCount,
} from "./report.ts";
import { parseScenario } from "./scenario.ts";
import { runScenario, type ScenarioReport } from "./scenario_runner.ts";
import { createScreen } from "./screen.ts";

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
   * Puts a terminal's standard input in raw mode (keys arrive one by one,
   * not echoed) or back; used only when `stdinIsTerminal` is true.
   *
   * @param on Whether raw mode is on.
   */
  setRaw?(on: boolean): void;
  /**
   * The terminal's width in columns.
   *
   * @default {() => 80}
   */
  columns?(): number;
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
    setRaw: (on) => Deno.stdin.setRaw(on),
    columns() {
      try {
        return Deno.consoleSize().columns;
      } catch {
        return 80; // standard output is not a terminal
      }
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
  const parsed = parseSimulatorArgs(args);
  if (!parsed.ok) {
    io.error(`${parsed.reason}\nRun with --help for usage.\n`);
    return 2;
  }
  const flags = parsed.flags;
  if (flags.help) {
    io.write(SIMULATOR_USAGE);
    return 0;
  }
  if (flags.script !== undefined) {
    const interactiveOnly = [
      flags.noWait && "--no-wait",
      flags.reconnectAfter !== undefined && "--reconnect-after",
    ].filter((name) => name !== false);
    if (interactiveOnly.length > 0) {
      io.error(
        `Cannot use ${
          interactiveOnly.join(" and ")
        } with --script: a scenario sets its own waits ("wait" on each step), and reconnects are for interactive and piped calls\nRun with --help for usage.\n`,
      );
      return 2;
    }
  }
  return flags.script === undefined
    ? await interactive(flags, io, options)
    : await scripted(flags, flags.script, io, options);
}

/** Reports a failed connection and returns exit status 2. */
function connectFailed(
  error: unknown,
  flags: SimulatorFlags,
  io: SimulatorIo,
): number {
  const message = describeError(error);
  let hint = "";
  if (error instanceof SimulatorConnectError) {
    if (error.status === 403) {
      hint =
        "\nThe server refused the call: either this address is not allowed (run it with ALLOW_LOOPBACK=true, as deno task dev does, or add your address to ALLOWED_IPS), or it has a WS_SECRET and the URL does not carry it (add it as the segment before the call id: ws://host/llm-websocket/<secret>).";
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

/**
 * Retell's reminder on caller silence: once the agent is done speaking,
 * `ms` of silence calls `remind`, at most `reminder_max_count` times (1)
 * per silence; `remind` returns whether it sent one.
 */
function createReminders(ms: number, remind: () => boolean) {
  let max = 1;
  let sent = 0;
  let timer: ReturnType<typeof setTimeout> | undefined;
  return {
    /** The agent is done speaking: the silence starts. */
    arm(): void {
      clearTimeout(timer);
      if (ms <= 0 || sent >= max) return;
      timer = setTimeout(() => {
        if (remind()) sent++;
      }, ms);
    },
    /** The caller spoke: the silence ends, and the next may be reminded. */
    reset(): void {
      clearTimeout(timer);
      sent = 0;
    },
    /** Retell applies these mid-call (§4.5); the simulator follows the reminder settings. */
    update(config: AgentConfigUpdate): void {
      if (config.reminder_trigger_ms !== undefined) {
        ms = config.reminder_trigger_ms;
      }
      if (config.reminder_max_count !== undefined) {
        max = config.reminder_max_count;
      }
    },
    /** The call ended. */
    stop(): void {
      clearTimeout(timer);
    },
  };
}

async function interactive(
  flags: SimulatorFlags,
  io: SimulatorIo,
  options: MainOptions,
): Promise<number> {
  const screen = flags.json ? undefined : createScreen(io);
  const timeoutMs = flags.timeoutMs ?? 10_000;
  // A terminal is read key by key, so the screen can keep the line being
  // typed apart from the agent's words.
  const raw = screen !== undefined && io.stdinIsTerminal === true &&
    io.setRaw !== undefined;
  const input = raw
    ? createKeyReader(io.stdin, (draft) => screen.draft(draft))
    : createLineReader(io.stdin);
  // Piped lines are said one per turn, as a caller would.
  const waitForReplies = io.stdinIsTerminal !== true && !flags.noWait;
  let call: SimulatedCall | undefined;
  /** Violations of the sockets dropped by --reconnect-after. */
  let earlierViolations = 0;
  /** Set while --reconnect-after replaces the socket. */
  let reconnecting = false;
  /** After a reconnect: the first reply on the new socket reports whether the call continued. */
  let continuing = false;
  const reminders = createReminders(flags.reminderMs, () => {
    if (call === undefined || !call.isOpen) return false;
    if (call.response(call.latestResponseId)?.status !== "complete") {
      return false;
    }
    call.remind();
    return true;
  });

  function onEvent(event: SimulatorEvent): void {
    if (flags.json) io.write(`${JSON.stringify(event)}\n`);
    else screen?.show(event);
    switch (event.type) {
      case "response_complete":
        if (
          event.responseId === (call?.latestResponseId ?? 0) &&
          event.action?.type !== "end_call"
        ) {
          reportContinuation();
          screen?.prompt();
          reminders.arm();
        }
        return;
      case "action":
        if (event.action.type !== "end_call") screen?.prompt();
        return;
      case "update_agent":
        reminders.update(event.agentConfig);
        return;
      case "closed":
        reminders.stop();
        if (!reconnecting) void input.cancel();
        return;
    }
  }

  /** The first reply after a reconnect: did the call carry on cleanly? */
  function reportContinuation(): void {
    if (!continuing || call === undefined) return;
    const count = call.violations.length;
    continuing = false;
    const text = count === 0
      ? "[reconnect ok: the call continued on the new socket, no second greeting, no violation]"
      : `[reconnect failed: ${formatViolationCount(count)} on the new socket]`;
    if (flags.json) {
      io.write(
        `${
          JSON.stringify({
            type: "reconnect",
            ok: count === 0,
            violations: count,
          })
        }\n`,
      );
    } else screen?.line(text);
  }

  function start(resume?: SimulatedCall): Promise<SimulatedCall> {
    return startSimulatedCall({
      url: flags.url,
      ...(flags.callId !== undefined && { callId: flags.callId }),
      ...(resume !== undefined && {
        callId: resume.callId,
        resume: {
          transcript: resume.transcript,
          latestResponseId: resume.latestResponseId,
        },
      }),
      variables: flags.variables,
      onEvent,
      ...callOptions(options),
    });
  }

  /** Drops the socket without a close frame and reconnects as Retell does (§5.7). */
  async function reconnect(old: SimulatedCall): Promise<SimulatedCall> {
    reconnecting = true;
    earlierViolations += old.violations.length;
    await old.drop();
    screen?.line(`[reconnecting as Retell does: same call id ${old.callId}]`);
    try {
      const next = await start(old);
      continuing = true;
      return next;
    } finally {
      reconnecting = false;
    }
  }

  // Raw before anything is drawn: keys typed while the call connects or
  // the greeting streams must not be echoed by the terminal.
  if (raw) io.setRaw?.(true);
  try {
    call = await start();
  } catch (error) {
    if (raw) io.setRaw?.(false);
    await input.cancel();
    return connectFailed(error, flags, io);
  }
  try {
    // Frames that came with the handshake are handled before `call` is set:
    // the begin message may be complete already.
    if (call.response(call.latestResponseId)?.status === "complete") {
      reminders.arm();
    }
    if (waitForReplies) await call.waitForCompletion(0, timeoutMs);
    let turns = 0;
    while (call.isOpen) {
      const line = await input.next();
      if (line === undefined || !call.isOpen) break;
      const text = line.trim();
      if (text === "") {
        screen?.typed("", () => {});
        screen?.prompt();
        continue;
      }
      reminders.reset();
      const active = call;
      let id = 0;
      const say = () => void (id = active.say(text));
      if (screen === undefined) say();
      else screen.typed(text, say);
      turns++;
      const reconnectNow = turns === flags.reconnectAfter;
      if (waitForReplies || reconnectNow) {
        await active.waitForCompletion(id, timeoutMs);
      }
      if (reconnectNow && active.isOpen) {
        try {
          call = await reconnect(active);
        } catch (error) {
          return connectFailed(error, flags, io);
        }
      }
    }
    if (call.isOpen) {
      // Input ended (Ctrl-D, or the end of piped lines): hear the last reply out, then hang up.
      await call.waitForCompletion(call.latestResponseId, timeoutMs);
      await call.close();
    }
    await call.closed;
  } finally {
    if (raw) io.setRaw?.(false);
    reminders.stop();
    await input.cancel();
  }
  const count = earlierViolations + call.violations.length;
  if (screen !== undefined && count > 0) {
    screen.line(formatViolationCount(count));
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
  flags: SimulatorFlags,
  path: string,
  io: SimulatorIo,
  options: MainOptions,
): Promise<number> {
  let text: string;
  try {
    text = await io.readTextFile(path);
  } catch (error) {
    const detail = describeError(error);
    io.error(`Cannot read scenario file "${path}": ${detail}\n`);
    return 2;
  }
  const parsed = parseScenario(text);
  if (!parsed.ok) {
    io.error(
      `Cannot use scenario file "${path}":\n${
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
  io.write(flags.json ? formatReportRecord(report) : formatReport(report));
  return report.ok ? 0 : 1;
}

if (import.meta.main) {
  Deno.exit(await main(Deno.args, denoIo()));
}
