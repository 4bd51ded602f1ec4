/**
 * What the caller types on a terminal in raw mode, key by key: the line
 * being typed is reported as it changes (for the screen's input line), and
 * each Enter yields the line. Backspace deletes a character, Ctrl-U the
 * whole line; Ctrl-D on an empty line or Ctrl-C ends the input; other
 * control keys and escape sequences (arrows) are ignored.
 *
 * @module
 */

/** Lines typed on a raw terminal; see {@linkcode createKeyReader}. */
export interface KeyReader {
  /**
   * The next line, without its line break, once Enter is pressed.
   *
   * @returns The line, or undefined when the input has ended.
   */
  next(): Promise<string | undefined>;
  /** Ends the input: a pending `next` resolves with undefined. */
  cancel(): Promise<void>;
}

const ENTER = new Set(["\r", "\n"]);
const BACKSPACE = new Set(["\x7f", "\b"]);
const END = new Set(["\x03"]);

/**
 * Reads keys from a raw terminal's byte stream.
 *
 * @param stream The terminal's input, in raw mode.
 * @param onDraft Receives the line being typed each time it changes.
 * @returns The reader.
 *
 * @example Usage
 * ```ts
 * import assert from "node:assert/strict";
 * import { createKeyReader } from "./key_reader.ts";
 *
 * const drafts: string[] = [];
 * const keys = new TextEncoder().encode("hix\x7f\x1b[A!\r");
 * const reader = createKeyReader(
 *   ReadableStream.from([keys]),
 *   (draft) => drafts.push(draft),
 * );
 * assert.equal(await reader.next(), "hi!");
 * assert.deepEqual(drafts, ["h", "hi", "hix", "hi", "hi!"]);
 * assert.equal(await reader.next(), undefined);
 * ```
 */
export function createKeyReader(
  stream: ReadableStream<Uint8Array>,
  onDraft: (draft: string) => void,
): KeyReader {
  const reader = stream.pipeThrough(new TextDecoderStream()).getReader();
  const lines: string[] = [];
  let draft = "";
  let ended = false;
  /** Inside an escape sequence: after ESC (1), or after ESC [ or ESC O (2). */
  let escape = 0;
  let lastWasCr = false;

  function key(char: string): void {
    if (escape === 1) {
      escape = char === "[" || char === "O" ? 2 : 0;
      return;
    }
    if (escape === 2) {
      // Parameters and intermediates until the final byte (@ to ~).
      if (char >= "@" && char <= "~") escape = 0;
      return;
    }
    const crLf = lastWasCr && char === "\n";
    lastWasCr = char === "\r";
    if (crLf) return;
    if (ENTER.has(char)) {
      lines.push(draft);
      draft = "";
    } else if (BACKSPACE.has(char)) {
      if (draft === "") return;
      draft = Array.from(draft).slice(0, -1).join("");
      onDraft(draft);
    } else if (char === "\x15") {
      draft = "";
      onDraft(draft);
    } else if (END.has(char) || (char === "\x04" && draft === "")) {
      ended = true;
    } else if (char === "\x1b") {
      escape = 1;
    } else if (char >= " ") {
      draft += char;
      onDraft(draft);
    }
  }

  return {
    async next() {
      while (lines.length === 0 && !ended) {
        const { value, done } = await reader.read();
        if (done) {
          ended = true;
          break;
        }
        for (const char of value) {
          if (ended) break;
          key(char);
        }
      }
      return lines.shift();
    },
    cancel() {
      ended = true;
      lines.length = 0;
      return reader.cancel().catch(() => {});
    },
  };
}
