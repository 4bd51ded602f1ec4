import assert from "node:assert/strict";
import { createKeyReader } from "../../src/simulator/key_reader.ts";

/** Reads every line typed as `chunks` (each one read of the terminal), and the drafts shown. */
async function typeKeys(...chunks: string[]) {
  const encoder = new TextEncoder();
  const drafts: string[] = [];
  const reader = createKeyReader(
    ReadableStream.from(chunks.map((chunk) => encoder.encode(chunk))),
    (draft) => drafts.push(draft),
  );
  const lines: string[] = [];
  for (let line = await reader.next(); line !== undefined;) {
    lines.push(line);
    line = await reader.next();
  }
  await reader.cancel();
  return { lines, drafts };
}

Deno.test("createKeyReader() turns keys into lines", async (t) => {
  await t.step("Enter as CR, LF or CR LF ends one line each", async () => {
    const { lines } = await typeKeys("a\rb\nc\r", "\nd\r\n");
    assert.deepStrictEqual(lines, ["a", "b", "c", "d"]);
  });
  await t.step("Backspace deletes a character, even an emoji", async () => {
    const { lines, drafts } = await typeKeys("hi😀\x7f\x7f!\r");
    assert.deepStrictEqual(lines, ["h!"]);
    assert.deepStrictEqual(drafts, ["h", "hi", "hi😀", "hi", "h", "h!"]);
  });
  await t.step("Ctrl-U clears the line", async () => {
    assert.deepStrictEqual((await typeKeys("oops\x15ok\r")).lines, ["ok"]);
  });
  await t.step(
    "arrow keys and other escape sequences are ignored",
    async () => {
      const { lines } = await typeKeys("a\x1b[A\x1b[1;5Cb\x1bOPc\x01\r");
      assert.deepStrictEqual(lines, ["abc"]);
    },
  );
  await t.step("Ctrl-D on an empty line ends the input", async () => {
    const { lines } = await typeKeys("one\r\x04two\r");
    assert.deepStrictEqual(lines, ["one"]);
  });
  await t.step("Ctrl-D with text typed is ignored", async () => {
    const { lines } = await typeKeys("on\x04e\r");
    assert.deepStrictEqual(lines, ["one"]);
  });
  await t.step("Ctrl-C ends the input, dropping the draft", async () => {
    const { lines } = await typeKeys("one\rtw\x03o\r");
    assert.deepStrictEqual(lines, ["one"]);
  });
});
