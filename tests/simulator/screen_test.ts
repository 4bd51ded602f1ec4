import assert from "node:assert/strict";
import { createScreen } from "../../src/simulator/screen.ts";
import { emptyRecord } from "../../src/simulator/response_record.ts";
import type { SimulatorEvent } from "../../src/simulator/simulator_event.ts";
import { virtualTerminal } from "../_support/virtual_terminal.ts";

function text(responseId: number, content: string): SimulatorEvent {
  return { type: "agent_text", at: 0, responseId, content };
}

function complete(responseId: number, body: string): SimulatorEvent {
  return {
    type: "response_complete",
    at: 0,
    ...emptyRecord(responseId, "response"),
    status: "complete",
    text: body,
    frames: 1,
    firstFrameMs: 12,
    completeMs: 30,
  };
}

Deno.test("createScreen() on a terminal keeps the typed line under the agent's words", async (t) => {
  const terminal = virtualTerminal(40);
  const screen = createScreen({ stdinIsTerminal: true, ...terminal });
  screen.show({ type: "open", at: 0, callId: "sim_1", url: "ws://x/sim_1" });

  await t.step("the input line sits under the output from the start", () => {
    assert.deepStrictEqual(terminal.lines.slice(-1), ["you>"]);
  });

  await t.step("typing while the agent streams never mixes", () => {
    screen.show(text(1, "Let me check the "));
    screen.draft("actu");
    screen.show(text(1, "calendar for you, "));
    screen.draft("actually, Sat");
    screen.show(text(1, "one moment."));
    assert.deepStrictEqual(terminal.lines.slice(-3), [
      "agent> Let me check the calendar for you",
      ", one moment.",
      "you> actually, Sat",
    ]);
  });

  await t.step(
    "Enter interrupts once, after the last frame, then shows the you> line",
    () => {
      screen.typed("actually, Saturday", () => {
        screen.show({
          type: "response_interrupted",
          at: 0,
          ...emptyRecord(1, "response"),
          status: "superseded",
          by: 2,
        });
        screen.show({
          type: "request",
          at: 0,
          responseId: 2,
          kind: "response",
          said: "actually, Saturday",
        });
      });
      screen.show(text(2, "Saturday works."));
      screen.show(complete(2, "Saturday works."));
      assert.deepStrictEqual(terminal.lines.slice(-7), [
        "agent> Let me check the calendar for you",
        ", one moment.…",
        "  [interrupted]",
        "you> actually, Saturday",
        "agent> Saturday works.",
        "  (first frame 12 ms, complete 30 ms)",
        "you>",
      ]);
      assert.equal(terminal.lines.join("\n").split("[interrupted]").length, 2);
    },
  );

  await t.step("words that end exactly at the right edge go on below", () => {
    screen.show(text(3, "x".repeat(40 - "agent> ".length)));
    screen.draft("a");
    screen.show(text(3, "next"));
    assert.deepStrictEqual(terminal.lines.slice(-3), [
      "agent> " + "x".repeat(33),
      "next",
      "you> a",
    ]);
    screen.draft("");
    screen.show(complete(3, "x".repeat(33) + "next"));
  });

  await t.step("a long draft that wraps is erased whole", () => {
    screen.draft("x".repeat(50));
    screen.line("[metadata {}]");
    screen.draft("");
    assert.deepStrictEqual(terminal.lines.slice(-2), ["[metadata {}]", "you>"]);
  });

  await t.step("the input line goes when the call ends", () => {
    screen.show({
      type: "closed",
      at: 0,
      code: 1000,
      reason: "",
      byServer: false,
    });
    assert.deepStrictEqual(terminal.lines.slice(-1), ["[call ended]"]);
  });
});

Deno.test("createScreen() says what Retell does when the server drops the socket (1006)", async (t) => {
  for (const autoReconnect of [true, false]) {
    await t.step(`auto_reconnect ${autoReconnect}`, () => {
      let out = "";
      const screen = createScreen({ write: (chunk) => void (out += chunk) });
      screen.show({
        type: "config",
        at: 0,
        config: { auto_reconnect: autoReconnect },
      });
      screen.show({
        type: "closed",
        at: 0,
        code: 1006,
        reason: "",
        byServer: true,
      });
      assert.match(
        out,
        autoReconnect
          ? /\[socket dropped without a close frame \(1006\): Retell reconnects with the same call id, since the server's config asked for auto_reconnect/
          : /\[socket dropped without a close frame \(1006\): the server's config did not ask for auto_reconnect, so Retell may end the call as an error\]/,
      );
    });
  }
});
