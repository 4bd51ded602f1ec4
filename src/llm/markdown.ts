/**
 * {@linkcode createMarkdownStripper}, which removes markdown markers from a
 * model's streamed reply before text-to-speech reads them aloud, without
 * delaying the text.
 *
 * @module
 */

/** Removes markdown markers from streamed text, chunk by chunk. */
export interface MarkdownStripper {
  /** Returns the speakable part of `chunk` at once (never holds text back for later). */
  push(chunk: string): string;
}

// Where the stripper is within the current line.
/** Inside a line: only asterisks, backticks and `__` are removed. */
const MID = 0;
/** At the start of a line, or just after a line-start marker. */
const LINE_START = 1;
/** After a line-start `#`: more `#` and spaces are removed. */
const HEADING = 2;
/** After a code fence: the rest of the line (the info string) is removed. */
const FENCE_INFO = 3;

const TAB = 0x09;
const NEWLINE = 0x0a;
const SPACE = 0x20;
const HASH = 0x23;
const ASTERISK = 0x2a;
const PLUS = 0x2b;
const DASH = 0x2d;
const GREATER_THAN = 0x3e;
const UNDERSCORE = 0x5f;
const BACKTICK = 0x60;

/**
 * Creates a stripper for one stream of text, such as one agent reply. It
 * removes the markdown markers a model lets slip through so that
 * text-to-speech does not read them aloud, and it never delays text: each
 * {@linkcode MarkdownStripper.push} returns what of its chunk is speakable at
 * once. Markers may be split across chunks anywhere; the output is the same
 * however the text is cut.
 *
 * Rules:
 * - Every `*` is removed (`**bold**`, `*italic*`, `***`, `* ` bullets).
 * - Every backtick is removed. Three or more in a row (a code fence, even
 *   when split across chunks, and wherever it appears in a line) also remove
 *   the rest of that line, such as the `python` info string; the lines inside
 *   the fence are kept and spoken as text.
 * - A run of two or more `_` is removed (`__bold__`); a single `_` is kept
 *   (`snake_case`, and so `_italic_` too).
 * - At the start of a line (the start of the stream or after `\n`), spaces
 *   and tabs are removed, then so are: `#` markers of any count with the
 *   spaces after them; a `-` or `+` followed by a space or tab (a bullet)
 *   with its spaces; a `>` (blockquote) with its spaces; a `*` with its
 *   spaces. Markers may nest (`> - item`). A numbered item (`1. `), a `-` or
 *   `+` followed by anything else (`-5 degrees`, `+14155550123`) and a `#`,
 *   `-`, `+` or `>` inside a line (`room #5`, `well-known`, `a > b`) are kept.
 * - Newlines are kept (text-to-speech pauses on them); everything else, such
 *   as emoji and non-Latin text, passes through unchanged.
 *
 * The one exception to "never delays": a chunk that ends just after a
 * line-start `-` or `+`, or after a single `_`, cannot tell whether that
 * character is a marker. The stripper holds that one character (never more)
 * and returns it at the start of the next push unless the next character
 * shows it was a marker. If no push follows, it is never returned; a lone
 * trailing `-`, `+` or `_` has nothing to say anyway.
 *
 * Not handled: links (`[text](https://...)`) and `_italic_` are left as they
 * are, and a `---` rule is kept as dashes. `push` never throws; a chunk that
 * is not a string yields `""`.
 *
 * @returns A stripper that keeps a few counters of state between pushes.
 *
 * @example Usage
 * ```ts
 * import assert from "node:assert/strict";
 * import { createMarkdownStripper } from "./markdown.ts";
 *
 * const stripper = createMarkdownStripper();
 * const chunks = ["**Sure!** Here", " are your options:\n", "-", " Monday at 9"];
 * assert.equal(
 *   chunks.map((chunk) => stripper.push(chunk)).join(""),
 *   "Sure! Here are your options:\nMonday at 9",
 * );
 * ```
 */
export function createMarkdownStripper(): MarkdownStripper {
  let mode = LINE_START;
  // A line-start "-" or "+" that ended the previous chunk, or "".
  let heldMarker = "";
  // Length of the run of "_" just seen; a run of one is held.
  let underscores = 0;
  // Length of the run of backticks just seen.
  let backticks = 0;

  return {
    push(chunk: string): string {
      if (typeof chunk !== "string") return "";
      let out = "";
      // Start of the run of `chunk` being kept, or -1 while dropping.
      let start = -1;

      for (let i = 0; i < chunk.length; i++) {
        const code = chunk.charCodeAt(i);

        // Settle a character held back by the previous one.
        let held = "";
        if (heldMarker !== "") {
          if (code === SPACE || code === TAB) {
            mode = LINE_START; // a bullet: drop it; the spaces go below
          } else {
            held = heldMarker;
            mode = MID;
          }
          heldMarker = "";
        } else if (underscores !== 0 && code !== UNDERSCORE) {
          if (underscores === 1) held = "_";
          underscores = 0;
        }
        // Nothing is being kept here: the held character was dropped.
        if (held !== "") out += held;
        if (code !== BACKTICK) backticks = 0;

        let keep = false;
        if (mode === LINE_START) {
          if (code === SPACE || code === TAB || code === GREATER_THAN) {
            // dropped; still at line start
          } else if (code === HASH) {
            mode = HEADING;
          } else if (code === ASTERISK) {
            // dropped; the spaces after it go too
          } else if (code === DASH || code === PLUS) {
            heldMarker = code === DASH ? "-" : "+";
          } else {
            mode = MID;
          }
        } else if (mode === HEADING) {
          if (code !== HASH && code !== SPACE && code !== TAB) mode = MID;
        } else if (mode === FENCE_INFO) {
          if (code === NEWLINE) {
            keep = true;
            mode = LINE_START;
          }
        }

        if (mode === MID) {
          if (code === ASTERISK) {
            // dropped
          } else if (code === BACKTICK) {
            backticks++;
            if (backticks >= 3) mode = FENCE_INFO;
          } else if (code === UNDERSCORE) {
            underscores++;
          } else {
            keep = true;
            if (code === NEWLINE) mode = LINE_START;
          }
        }

        if (keep) {
          if (start < 0) start = i;
        } else if (start >= 0) {
          out += chunk.slice(start, i);
          start = -1;
        }
      }

      if (start >= 0) out += start === 0 ? chunk : chunk.slice(start);
      return out;
    },
  };
}
