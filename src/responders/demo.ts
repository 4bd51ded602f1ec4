/**
 * The responder for trying the server with no model and no key: it streams
 * its answers word by word at the pace of speech and echoes the caller, so
 * interruptions, reminders and latency can be felt in the simulator.
 *
 * @module
 */
import { createCallTemplateFiller } from "../llm/call_template.ts";
import { hasPlaceholders } from "../llm/template.ts";
import type { Logger } from "../log.ts";
import type { Responder, ResponsePart } from "../responder.ts";

/** The demo agent's greeting; `{{customer_name|there}}` shows a placeholder default. */
export const DEMO_GREETING: string =
  "Hi {{customer_name|there}}! This is the demo agent. Say anything, and talk over me whenever you like.";

/**
 * What the demo agent says after echoing the caller: short enough that the
 * longest reply (12 words echoed) is spoken in under 13 s at the default
 * pace, inside the simulator's 15 s limit for a response to complete.
 */
export const DEMO_ANSWER: string =
  "I am the demo agent. Talk over me and I stop; stay quiet and I check in.";

/** What the demo agent says when Retell asks for a reminder. */
export const DEMO_REMINDER: string =
  "Are you still there? Say anything at all.";

/** The default pace: one word every 350 ms, about 170 words a minute. */
export const DEMO_WORD_MS = 350;

/** Words of the caller's last line that the demo agent repeats. */
const ECHO_WORDS = 12;

/** Options of {@linkcode createDemoResponder}. */
export interface DemoResponderOptions {
  /** Where `placeholder_unfilled` goes. */
  log: Logger;
  /**
   * Pause in ms before each word after the first. The default, 350 ms, is
   * about 170 words a minute: the pace of a brisk speaker, so the text
   * arrives about as fast as text-to-speech can say it and a caller who
   * talks over the agent cuts it off mid-sentence, as with a real model.
   *
   * @default {350}
   */
  wordMs?: number;
}

/**
 * Creates the demo responder (`RESPONDER=demo`): a short greeting, then for
 * each request "You said: ..." with the caller's last words and
 * {@linkcode DEMO_ANSWER}, and {@linkcode DEMO_REMINDER} for a reminder,
 * each streamed word by word. It stops the moment its signal aborts.
 *
 * @param options The logger and the pace.
 * @returns The responder.
 *
 * @example Usage
 * ```ts
 * import assert from "node:assert/strict";
 * import { createDemoResponder } from "./demo.ts";
 * import { createLogger } from "../log.ts";
 * import type { CallContext } from "../responder.ts";
 *
 * const responder = createDemoResponder({ log: createLogger(), wordMs: 0 });
 * const signal = new AbortController().signal;
 * // The greeting reads only the call's details, so a bare call will do.
 * const call = { callId: "c1", details: undefined, signal } as CallContext;
 * const words: string[] = [];
 * const reply = await responder.begin(call, { signal, mark: () => {} });
 * for await (const word of reply as AsyncIterable<string>) words.push(word);
 * assert.match(words.join(""), /^Hi there! This is the demo agent/);
 * ```
 */
export function createDemoResponder(options: DemoResponderOptions): Responder {
  const wordMs = options.wordMs ?? DEMO_WORD_MS;
  const fill = createCallTemplateFiller(options.log);
  return {
    beginAfterCallDetails: hasPlaceholders(DEMO_GREETING),
    begin: (call, { signal }) =>
      speakWords(fill(DEMO_GREETING, call), wordMs, signal),
    respond(turn, { signal }) {
      if (turn.kind === "reminder") {
        return speakWords(DEMO_REMINDER, wordMs, signal);
      }
      const last = turn.transcript.at(-1);
      const heard = last?.role === "user"
        ? last.content.trim().split(/\s+/).filter(Boolean)
        : [];
      const echo = heard.length === 0
        ? "I did not catch that."
        : `You said: ${echoOf(heard)}`;
      return speakWords(`${echo} ${DEMO_ANSWER}`, wordMs, signal);
    },
  };
}

/** Yields `text` a word at a time, `wordMs` apart, until `signal` aborts. */
async function* speakWords(
  text: string,
  wordMs: number,
  signal: AbortSignal,
): AsyncGenerator<ResponsePart> {
  const words = text.split(" ");
  for (const [index, word] of words.entries()) {
    if (index > 0 && !(await pause(wordMs, signal))) return;
    if (signal.aborted) return;
    yield index === 0 ? word : ` ${word}`;
  }
}

/** Waits `ms`; false when `signal` aborted first (at once, not at the timer). */
function pause(ms: number, signal: AbortSignal): Promise<boolean> {
  if (signal.aborted) return Promise.resolve(false);
  return new Promise((resolve) => {
    const timer = setTimeout(() => {
      signal.removeEventListener("abort", stop);
      resolve(true);
    }, ms);
    function stop() {
      clearTimeout(timer);
      resolve(false);
    }
    signal.addEventListener("abort", stop, { once: true });
  });
}

/**
 * The caller's first words as the demo repeats them: their own sentence
 * end kept, a period added when there is none, "..." when cut.
 */
function echoOf(heard: readonly string[]): string {
  const words = heard.slice(0, ECHO_WORDS).join(" ");
  if (heard.length > ECHO_WORDS) {
    return `${words.replace(/[.!?,;:…]+$/, "")}...`;
  }
  return /[.!?…]$/.test(words) ? words : `${words.replace(/[,;:]+$/, "")}.`;
}
