/**
 * The terminal screen of an interactive call: the agent's words as they
 * stream, what the caller types, and the call's events in brackets.
 *
 * On a terminal (standard input in raw mode) the caller's line being typed
 * is an input line of its own, kept under everything else: before any
 * output it is erased, and after it, drawn again (ANSI erase-line and
 * cursor-up), so what is typed never mixes with the agent's words. Without
 * a terminal (piped input) each line read is echoed after `you> `.
 *
 * @module
 */
import type { SimulatorEvent } from "./simulator_event.ts";
import { describeAction, formatMs, formatViolation } from "./report.ts";

/** Where the screen writes, and whether the terminal echoes what is typed. */
export interface ScreenIo {
  /**
   * Whether standard input is a terminal, which shows what the user types.
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
   * The terminal's width in columns, to erase an input line that wraps.
   *
   * @default {() => 80}
   */
  columns?(): number;
}

/** Text output of an interactive call: the agent's words as they stream, and bracketed events. */
export interface Screen {
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
  /**
   * On a terminal: the input line now reads `text` (what the caller has
   * typed so far), and is drawn again. Without a terminal, nothing.
   */
  draft(text: string): void;
  /** Writes a line of its own. */
  line(text: string): void;
}

/**
 * Builds the screen of an interactive call.
 *
 * @param io Where it writes.
 * @returns The screen.
 */
export function createScreen(io: ScreenIo): Screen {
  const cursor = io.stdinIsTerminal === true
    ? createInputLineCursor(io)
    : createCursor(io);
  /** Whether the server's config asked Retell to reconnect dropped sockets. */
  let autoReconnect = false;
  /** Whether a socket of this call opened before: the next is a reconnect. */
  let reopened = false;
  /** The response whose words are streaming, if any. */
  let speaking: number | undefined;
  /** The `agent_interrupt` whose words are streaming, if any. */
  let interrupting: number | undefined;

  function startSpeaking(prefix: string): void {
    cursor.breakLine();
    cursor.hidePrompt();
    cursor.write(prefix);
  }

  function endSpeaking(): void {
    cursor.breakLine();
    speaking = undefined;
    interrupting = undefined;
  }

  /** Streams the agent's words, one response (or interruption) at a time. */
  function speak(event: SpeechEvent): void {
    switch (event.type) {
      case "agent_text":
        if (speaking !== event.responseId) {
          if (interrupting !== undefined) endSpeaking();
          startSpeaking("agent> ");
          speaking = event.responseId;
        }
        cursor.write(event.content);
        return;
      case "response_complete":
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
        cursor.write(
          `  (first frame ${formatMs(event.firstFrameMs)} ms, complete ${
            formatMs(event.completeMs)
          } ms)\n`,
        );
        return;
      case "response_interrupted":
        if (speaking === event.responseId) {
          if (cursor.midLine) cursor.write("…");
          endSpeaking();
          cursor.write("  [interrupted]\n");
        }
        return;
      case "agent_interrupt":
        if (interrupting !== event.interruptId) {
          if (speaking !== undefined) endSpeaking();
          startSpeaking("agent (interrupting)> ");
          interrupting = event.interruptId;
        }
        cursor.write(event.content);
        if (event.complete) endSpeaking();
        return;
    }
  }

  function show(event: SimulatorEvent): void {
    switch (event.type) {
      case "agent_text":
      case "response_complete":
      case "response_interrupted":
      case "agent_interrupt":
        speak(event);
        return;
      case "request":
        // A reminder: the agent speaks next, so no prompt until it has.
        if (event.kind === "reminder") cursor.hidePrompt();
        break;
      case "open":
        cursor.opened();
        break;
      case "config":
        autoReconnect = event.config.auto_reconnect === true;
        break;
      case "closed":
        cursor.closed();
        speaking = undefined;
        interrupting = undefined;
        break;
    }
    const text = event.type === "open" && reopened
      ? `Connected again to ${event.url}`
      : describeEvent(event, autoReconnect);
    if (event.type === "open") reopened = true;
    if (text !== undefined) cursor.line(text);
  }

  return {
    show,
    typed: cursor.typed,
    prompt: cursor.prompt,
    line: cursor.line,
    draft: cursor.draft,
  };
}

/** The events that carry the agent's words. */
type SpeechEvent = Extract<
  SimulatorEvent,
  {
    type:
      | "agent_text"
      | "response_complete"
      | "response_interrupted"
      | "agent_interrupt";
  }
>;

/**
 * The line an event is shown as, for the events shown on a line of their
 * own; undefined for the agent's words and for events not shown.
 */
function describeEvent(
  event: SimulatorEvent,
  autoReconnect: boolean,
): string | undefined {
  switch (event.type) {
    case "open":
      return `Connected to ${event.url}\n` +
        "Type what the caller says and press Enter; typing while the agent speaks interrupts it. Ctrl-D hangs up.";
    case "config": {
      const settings = Object.entries(event.config).map(([name, on]) =>
        `${name} ${on ? "on" : "off"}`
      );
      return `[config: ${settings.join(", ") || "defaults"}]`;
    }
    case "call_details": {
      const variables = Object.entries(
        event.call.retell_llm_dynamic_variables ?? {},
      ).map(([name, value]) => `${name}=${value}`);
      return `[call_details sent; dynamic variables: ${
        variables.join(", ") || "none"
      }]`;
    }
    case "request":
      return event.kind === "reminder"
        ? `[the caller is silent: reminder_required, response ${event.responseId}]`
        : undefined;
    case "action":
      return describeAction(event.action);
    case "update_agent":
      return `[update_agent ${JSON.stringify(event.agentConfig)}]`;
    case "tool_call_invocation":
      return `[tool ${event.name}(${event.arguments})]`;
    case "tool_call_result":
      return `[tool result ${event.content}${
        event.successful === undefined
          ? ""
          : event.successful
          ? " (ok)"
          : " (failed)"
      }]`;
    case "metadata":
      return `[metadata ${JSON.stringify(event.metadata)}]`;
    case "violation":
      return formatViolation(event.violation);
    case "closed":
      if (!event.byServer) {
        return event.code === 1006
          ? "[socket dropped without a close frame (1006), as a network failure would]"
          : "[call ended]";
      }
      if (event.code === 1006) {
        return autoReconnect
          ? "[socket dropped without a close frame (1006): Retell reconnects with the same call id, since the server's config asked for auto_reconnect (--reconnect-after N plays this)]"
          : "[socket dropped without a close frame (1006): the server's config did not ask for auto_reconnect, so Retell may end the call as an error]";
      }
      return `[call ended: the server closed the socket with code ${event.code}${
        event.reason ? ` (${event.reason})` : ""
      }]`;
    default:
      return undefined;
  }
}

/**
 * Where the next text goes: whether the cursor is mid-line, and whether the
 * prompt is showing, so that lines of their own keep the prompt after them
 * and what the caller types reads as a conversation.
 */
interface Cursor {
  /** Whether the last text written did not end its line. */
  readonly midLine: boolean;
  /** Writes text as is. */
  write(text: string): void;
  /** Ends the current line, unless the cursor is at the start of one. */
  breakLine(): void;
  /** Writes a line of its own, then the prompt again if it was showing. */
  line(text: string): void;
  /** The prompt is no longer showing (the agent speaks, or the call ended). */
  hidePrompt(): void;
  /** As {@linkcode Screen.prompt}. */
  prompt(): void;
  /** As {@linkcode Screen.typed}. */
  typed(text: string, say: () => void): void;
  /** As {@linkcode Screen.draft}. */
  draft(text: string): void;
  /** The call ended: no prompt or input line any more. */
  closed(): void;
  /** A socket opened (again, after a reconnect): the input line is back. */
  opened(): void;
}

function createCursor(io: ScreenIo): Cursor {
  const echo = io.stdinIsTerminal !== true;
  let midLine = false;
  let prompting = false;

  function write(text: string): void {
    if (text === "") return;
    io.write(text);
    midLine = !text.endsWith("\n");
  }

  function breakLine(): void {
    if (midLine) write("\n");
  }

  return {
    get midLine() {
      return midLine;
    },
    write,
    breakLine,
    draft() {},
    closed() {
      prompting = false;
    },
    opened() {},
    line(text) {
      breakLine();
      write(`${text}\n`);
      if (prompting) write("you> ");
    },
    hidePrompt() {
      prompting = false;
    },
    prompt() {
      if (prompting) return;
      breakLine();
      prompting = true;
      write("you> ");
    },
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
      breakLine();
      write(`you> ${text}\n`);
    },
  };
}

/** What precedes the caller's words on the input line and on `you>` lines. */
const PROMPT = "you> ";

/**
 * The cursor of a terminal in raw mode: output goes above an input line
 * (`you> ` and the caller's draft) that is erased before each write and
 * drawn again after it. Line breaks are written as CR LF, since a raw
 * terminal may not add the carriage return.
 */
function createInputLineCursor(io: ScreenIo): Cursor {
  /** Characters on the last output line, after its last line break. */
  let column = 0;
  /** Whether the input line is drawn under the output. */
  let shown = false;
  let active = true;
  let draft = "";
  // A terminal of unknown size (0 columns) is taken as 80 wide.
  const columns = () => io.columns?.() || 80;

  /** Erases the input line, leaving the cursor where output continues. */
  function hideInput(): string {
    if (!shown) return "";
    shown = false;
    const rows = Math.max(1, Math.ceil((PROMPT + draft).length / columns()));
    let text = "\r\x1b[2K" + "\x1b[1A\x1b[2K".repeat(rows - 1);
    if (column > 0) text += `\x1b[1A\x1b[${(column % columns()) + 1}G`;
    return text;
  }

  function showInput(): string {
    if (!active || shown) return "";
    shown = true;
    return `${column > 0 ? "\r\n" : ""}${PROMPT}${draft}`;
  }

  function write(text: string): void {
    if (text === "") return;
    const erase = hideInput();
    const lastBreak = text.lastIndexOf("\n");
    column = lastBreak === -1
      ? column + text.length
      : text.length - lastBreak - 1;
    // Output that ends exactly at the right edge goes on at the start of the
    // next row, where the terminal wraps it: the input line is drawn there
    // with no line break of its own, and erased back to it.
    if (column % columns() === 0) column = 0;
    io.write(erase + text.replaceAll("\n", "\r\n") + showInput());
  }

  function breakLine(): void {
    if (column > 0) write("\n");
  }

  return {
    get midLine() {
      return column > 0;
    },
    write,
    breakLine,
    line(text) {
      breakLine();
      write(`${text}\n`);
    },
    hidePrompt() {},
    prompt() {},
    draft(text) {
      const erase = hideInput();
      draft = text;
      io.write(erase + showInput());
    },
    closed() {
      io.write(hideInput());
      active = false;
    },
    opened() {
      active = true;
    },
    typed(text, say) {
      io.write(hideInput());
      draft = "";
      // Show the interruption (if any) before the words that caused it.
      say();
      breakLine();
      write(`${PROMPT}${text}\n`);
    },
  };
}
