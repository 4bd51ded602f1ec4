import assert from "node:assert/strict";
import { createMarkdownStripper } from "../../src/llm/markdown.ts";

/** Pushes `chunks` through one fresh stripper and returns each push's output. */
function pushAll(chunks: readonly string[]): string[] {
  const stripper = createMarkdownStripper();
  return chunks.map((chunk) => stripper.push(chunk));
}

/** Strips `text` pushed as a single chunk. */
function stripWhole(text: string): string {
  return createMarkdownStripper().push(text);
}

/**
 * What `text` strips to if the stream ends right after it: a line break
 * settles any held character and is itself always kept, so it is cut off.
 */
function stripComplete(text: string): string {
  return stripWhole(text + "\n").slice(0, -1);
}

/** Asserts every way of cutting `text` in two gives `expected`, at each step. */
function assertEveryTwoChunkSplit(text: string, expected: string): void {
  for (let at = 0; at <= text.length; at++) {
    const head = text.slice(0, at);
    const [first, second] = pushAll([head, text.slice(at)]);
    assert.equal(first, stripWhole(head), `first push, split at ${at}`);
    assert.equal(first + second, expected, `split at ${at}`);
  }
}

/** Asserts one character (UTF-16 code unit) per chunk gives `expected`, at each step. */
function assertOneCharacterChunks(text: string, expected: string): void {
  const stripper = createMarkdownStripper();
  let out = "";
  for (let at = 1; at <= text.length; at++) {
    out += stripper.push(text.slice(at - 1, at));
    assert.equal(out, stripWhole(text.slice(0, at)), `after ${at} characters`);
  }
  assert.equal(out, expected);
}

/**
 * Asserts the no-delay property for `chunks`: after each push, the output so
 * far is what the text so far strips to if the stream ended there, except at
 * most its last character, which must then be a held `-`, `+` or `_`.
 */
function assertNoDelay(chunks: readonly string[]): void {
  const stripper = createMarkdownStripper();
  let text = "";
  let out = "";
  for (const chunk of chunks) {
    const piece = stripper.push(chunk);
    assert.ok(
      piece.length <= chunk.length + 1,
      `push(${JSON.stringify(chunk)})`,
    );
    text += chunk;
    out += piece;
    const complete = stripComplete(text);
    if (out !== complete) {
      assert.equal(out, complete.slice(0, -1), `after ${JSON.stringify(text)}`);
      assert.ok(
        ["-", "+", "_"].includes(complete.slice(-1)),
        `held ${JSON.stringify(complete.slice(-1))}`,
      );
    }
  }
}

interface Case {
  /** Test name after "createMarkdownStripper() ". */
  name: string;
  /** The chunks as a model might stream them. */
  chunks: string[];
  /** The concatenated output. */
  expected: string;
}

const CASES: Case[] = [
  {
    name: "removes bold markers when they span chunks",
    chunks: ["That is ", "*", "*very", "** important."],
    expected: "That is very important.",
  },
  {
    name: "removes italic and bold-italic markers",
    chunks: ["I *really* mean ", "***it***", " now."],
    expected: "I really mean it now.",
  },
  {
    name: "removes a heading at the start of the stream",
    chunks: ["##", " Opening hours\nWe open at 9."],
    expected: "Opening hours\nWe open at 9.",
  },
  {
    name: "removes a heading after a newline",
    chunks: ["Intro.\n", "#", "## Details\nMore."],
    expected: "Intro.\nDetails\nMore.",
  },
  {
    name: "keeps # inside a sentence",
    chunks: ["Go to room #5, ", "then #6 ## done."],
    expected: "Go to room #5, then #6 ## done.",
  },
  {
    name: "removes - bullets when the marker ends a chunk",
    chunks: ["Options:\n", "-", " Monday\n- Tuesday"],
    expected: "Options:\nMonday\nTuesday",
  },
  {
    name: "removes + bullets",
    chunks: ["+ one\n", "+", " two"],
    expected: "one\ntwo",
  },
  {
    name: "removes * bullets with their space",
    chunks: ["* one\n", "*", " two\n*   three"],
    expected: "one\ntwo\nthree",
  },
  {
    name: "keeps numbered lists",
    chunks: ["1. Monday\n", "2. Tuesday"],
    expected: "1. Monday\n2. Tuesday",
  },
  {
    name: "keeps a line-start minus sign before a digit",
    chunks: ["-", "5 degrees tonight\n-3 tomorrow"],
    expected: "-5 degrees tonight\n-3 tomorrow",
  },
  {
    name: "keeps hyphens and dashes inside a line",
    chunks: ["It is a well-", "known fact - really."],
    expected: "It is a well-known fact - really.",
  },
  {
    name: "keeps a phone number's +",
    chunks: ["Call ", "+14155550123", "\n+", "14155550123"],
    expected: "Call +14155550123\n+14155550123",
  },
  {
    name: "removes blockquote markers but keeps > inside a line",
    chunks: ["> Quoted", "\n>no space\n> > nested\n> - item\nSo a > b."],
    expected: "Quoted\nno space\nnested\nitem\nSo a > b.",
  },
  {
    name: "removes a code fence and its language tag when split across chunks",
    chunks: ["Run this:\n``", "`python\nprint(1)\n```", "\nDone."],
    expected: "Run this:\n\nprint(1)\n\nDone.",
  },
  {
    name: "removes inline code backticks",
    chunks: ["Type `ls", "` then press enter."],
    expected: "Type ls then press enter.",
  },
  {
    name: "removes __bold__ markers",
    chunks: ["This is __very__ important."],
    expected: "This is very important.",
  },
  {
    name: "removes __bold__ markers when they span chunks",
    chunks: ["This is _", "_very_", "_ important."],
    expected: "This is very important.",
  },
  {
    name: "keeps single underscores",
    chunks: ["Set snake_case and ", "_private", "_"],
    expected: "Set snake_case and _private",
  },
  {
    name: "removes leading spaces and tabs but keeps newlines",
    chunks: ["  indented\n\t- tabbed ", "bullet\n\n", "   "],
    expected: "indented\ntabbed bullet\n\n",
  },
  {
    name: "removes an asterisk rule",
    chunks: ["Before\n***\nAfter"],
    expected: "Before\n\nAfter",
  },
  {
    name: "passes emoji and non-Latin text through",
    chunks: ["Grüße 👋 — ", "你好！ → done. Привет"],
    expected: "Grüße 👋 — 你好！ → done. Привет",
  },
  {
    name: "leaves links as they are",
    chunks: ["See [the docs](https://example.com/a_b)."],
    expected: "See [the docs](https://example.com/a_b).",
  },
  {
    name: "strips realistic model output",
    chunks: [
      "**",
      "Sure!**",
      " Here are your options:\n",
      "-",
      " Monday at 9\n- Tuesday at 1\n\nWhich works?",
    ],
    expected:
      "Sure! Here are your options:\nMonday at 9\nTuesday at 1\n\nWhich works?",
  },
];

for (const { name, chunks, expected } of CASES) {
  Deno.test(`createMarkdownStripper() ${name}`, async (t) => {
    const text = chunks.join("");
    await t.step("as streamed", () => {
      assert.equal(pushAll(chunks).join(""), expected);
    });
    await t.step("as one chunk", () => {
      assert.equal(stripWhole(text), expected);
    });
    await t.step("cut in two at every position", () => {
      assertEveryTwoChunkSplit(text, expected);
    });
    await t.step("one character per chunk", () => {
      assertOneCharacterChunks(text, expected);
    });
    await t.step("holds back at most one character", () => {
      assertNoDelay(chunks);
      assertNoDelay([...text]);
    });
  });
}

Deno.test("createMarkdownStripper() holds a line-start - only until the next push", () => {
  const stripper = createMarkdownStripper();
  assert.equal(stripper.push("Low:\n-"), "Low:\n");
  assert.equal(stripper.push("5"), "-5");
  assert.equal(stripper.push("\n-"), "\n");
  assert.equal(stripper.push(" item"), "item");
});

Deno.test("createMarkdownStripper() keeps state per stripper", () => {
  const first = createMarkdownStripper();
  const second = createMarkdownStripper();
  assert.equal(first.push("Text `"), "Text ");
  assert.equal(second.push("``"), "");
  assert.equal(first.push("`x"), "x");
  assert.equal(second.push("`ts\nA"), "\nA");
});

Deno.test("createMarkdownStripper() returns an empty string without throwing when the chunk is empty or not a string", () => {
  const stripper = createMarkdownStripper();
  assert.equal(stripper.push(""), "");
  assert.equal(stripper.push(undefined as unknown as string), "");
  assert.equal(stripper.push(42 as unknown as string), "");
  assert.equal(stripper.push("ok"), "ok");
});
