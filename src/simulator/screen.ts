/**
 * The terminal screen of an interactive call: the agent's words as they
 * stream, what the caller types, and the call's events in brackets.
 *
 * @module
 */
import type { SimulatorEvent } from "./call.ts";
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
