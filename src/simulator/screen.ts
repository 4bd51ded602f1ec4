/**
 * The terminal screen of an interactive call: the agent's words as they
 * stream, what the caller types, and the call's events in brackets.
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
  const cursor = createCursor(io);
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
      case "closed":
        cursor.hidePrompt();
        speaking = undefined;
        interrupting = undefined;
        break;
    }
    const text = describeEvent(event);
    if (text !== undefined) cursor.line(text);
  }

  return {
    show,
    typed: cursor.typed,
    prompt: cursor.prompt,
    line: cursor.line,
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
function describeEvent(event: SimulatorEvent): string | undefined {
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
      if (!event.byServer) return "[call ended]";
      return event.code === 1006
        ? "[call dropped without a close frame (1006): Retell would reconnect]"
        : `[call ended: the server closed the socket with code ${event.code}${
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
