import assert from "node:assert/strict";
import { type ChatMessage, toChatMessages } from "../../src/llm/messages.ts";
import type { Utterance } from "../../src/protocol/inbound.ts";

const PROMPT = "You are a helpful receptionist.";
const REMINDER = "The caller has been silent. Check in briefly.";

/** An utterance as Retell sends it, with per-word timing. */
function said(role: string, content: string): Utterance {
  return {
    role,
    content,
    words: content.split(" ").map((word, index) => ({
      word,
      start: index,
      end: index + 0.5,
    })),
  };
}

/** Messages for `transcript` under {@linkcode PROMPT}. */
function messagesOf(transcript: readonly Utterance[]): ChatMessage[] {
  return toChatMessages({ prompt: PROMPT, transcript });
}

Deno.test("toChatMessages() puts the system prompt first", async (t) => {
  await t.step("before the transcript", () => {
    assert.deepStrictEqual(
      messagesOf([said("agent", "Hello!"), said("user", "Hi.")]),
      [
        { role: "system", content: PROMPT },
        { role: "assistant", content: "Hello!" },
        { role: "user", content: "Hi." },
      ],
    );
  });

  await t.step("an empty transcript gives only the system message", () => {
    assert.deepStrictEqual(messagesOf([]), [
      { role: "system", content: PROMPT },
    ]);
  });

  await t.step("the prompt is trimmed", () => {
    assert.deepStrictEqual(
      toChatMessages({ prompt: `\n  ${PROMPT}  \n`, transcript: [] }),
      [{ role: "system", content: PROMPT }],
    );
  });

  await t.step("an empty prompt gives no system message", () => {
    assert.deepStrictEqual(
      toChatMessages({ prompt: "", transcript: [said("user", "Hi.")] }),
      [{ role: "user", content: "Hi." }],
    );
    assert.deepStrictEqual(
      toChatMessages({ prompt: "  \n ", transcript: [said("user", "Hi.")] }),
      [{ role: "user", content: "Hi." }],
    );
  });

  await t.step("an empty prompt and transcript give no message", () => {
    assert.deepStrictEqual(toChatMessages({ prompt: "", transcript: [] }), []);
  });
});

Deno.test("toChatMessages() maps agent to assistant and every other role to user", async (t) => {
  await t.step("agent → assistant, user → user", () => {
    assert.deepStrictEqual(
      messagesOf([said("agent", "How can I help?"), said("user", "Hours?")]),
      [
        { role: "system", content: PROMPT },
        { role: "assistant", content: "How can I help?" },
        { role: "user", content: "Hours?" },
      ],
    );
  });

  await t.step("transfer_target, system and unknown roles → user", () => {
    for (const role of ["transfer_target", "system", "caller", "Agent", ""]) {
      assert.deepStrictEqual(
        messagesOf([said("agent", "One moment."), said(role, "Hello?")]),
        [
          { role: "system", content: PROMPT },
          { role: "assistant", content: "One moment." },
          { role: "user", content: "Hello?" },
        ],
        role,
      );
    }
  });
});

Deno.test("toChatMessages() merges consecutive utterances of one side", async (t) => {
  await t.step("two user utterances, joined by a line break", () => {
    assert.deepStrictEqual(
      messagesOf([
        said("agent", "Hi!"),
        said("user", "I need"),
        said("user", "a table for two."),
      ]),
      [
        { role: "system", content: PROMPT },
        { role: "assistant", content: "Hi!" },
        { role: "user", content: "I need\na table for two." },
      ],
    );
  });

  await t.step("agent utterances merge too", () => {
    assert.deepStrictEqual(
      messagesOf([
        said("agent", "Hello."),
        said("agent", "This is the clinic."),
        said("agent", "How can I help?"),
      ]),
      [
        { role: "system", content: PROMPT },
        {
          role: "assistant",
          content: "Hello.\nThis is the clinic.\nHow can I help?",
        },
      ],
    );
  });

  await t.step("user and other user-side roles merge into one message", () => {
    assert.deepStrictEqual(
      messagesOf([
        said("agent", "Transferring you."),
        said("user", "Thanks."),
        said("transfer_target", "Sales, hello?"),
        said("system", "Call transferred."),
      ]),
      [
        { role: "system", content: PROMPT },
        { role: "assistant", content: "Transferring you." },
        {
          role: "user",
          content: "Thanks.\nSales, hello?\nCall transferred.",
        },
      ],
    );
  });

  await t.step(
    "a user utterance is never merged into the system prompt",
    () => {
      assert.deepStrictEqual(
        messagesOf([said("system", "Note."), said("user", "Hi.")]),
        [
          { role: "system", content: PROMPT },
          { role: "user", content: "Note.\nHi." },
        ],
      );
    },
  );

  await t.step("sides alternating are not merged", () => {
    assert.deepStrictEqual(
      messagesOf([
        said("user", "Hi."),
        said("agent", "Hello."),
        said("user", "Bye."),
        said("agent", "Goodbye."),
      ]),
      [
        { role: "system", content: PROMPT },
        { role: "user", content: "Hi." },
        { role: "assistant", content: "Hello." },
        { role: "user", content: "Bye." },
        { role: "assistant", content: "Goodbye." },
      ],
    );
  });
});

Deno.test("toChatMessages() skips empty utterances and trims the rest", async (t) => {
  await t.step("empty and whitespace-only utterances are skipped", () => {
    assert.deepStrictEqual(
      messagesOf([
        said("agent", ""),
        said("user", "Hi."),
        said("agent", "   "),
        said("user", "\n\t"),
      ]),
      [
        { role: "system", content: PROMPT },
        { role: "user", content: "Hi." },
      ],
    );
  });

  await t.step("skipping one merges the neighbours of the same side", () => {
    assert.deepStrictEqual(
      messagesOf([
        said("agent", "Hello."),
        said("user", "I'd like"),
        said("agent", " "),
        said("user", "an appointment."),
      ]),
      [
        { role: "system", content: PROMPT },
        { role: "assistant", content: "Hello." },
        { role: "user", content: "I'd like\nan appointment." },
      ],
    );
  });

  await t.step(
    "content is trimmed (agent utterances carry trailing spaces)",
    () => {
      assert.deepStrictEqual(
        messagesOf([
          said("agent", "How can I help you today? "),
          said("user", "  Opening hours, please.\n"),
          said("agent", "We open at nine.  "),
          said("agent", " On weekdays. "),
        ]),
        [
          { role: "system", content: PROMPT },
          { role: "assistant", content: "How can I help you today?" },
          { role: "user", content: "Opening hours, please." },
          { role: "assistant", content: "We open at nine.\nOn weekdays." },
        ],
      );
    },
  );

  await t.step("(unintelligible audio) is kept", () => {
    assert.deepStrictEqual(
      messagesOf([
        said("agent", "Hello?"),
        said("user", "(unintelligible audio)"),
      ]),
      [
        { role: "system", content: PROMPT },
        { role: "assistant", content: "Hello?" },
        { role: "user", content: "(unintelligible audio)" },
      ],
    );
  });
});

Deno.test("toChatMessages() appends the reminder instruction to the system prompt", async (t) => {
  const transcript = [said("agent", "Anything else?")];

  await t.step("after a blank line", () => {
    assert.deepStrictEqual(
      toChatMessages({
        prompt: PROMPT,
        transcript,
        reminderInstruction: REMINDER,
      }),
      [
        { role: "system", content: `${PROMPT}\n\n${REMINDER}` },
        { role: "assistant", content: "Anything else?" },
      ],
    );
  });

  await t.step("alone when the prompt is empty", () => {
    assert.deepStrictEqual(
      toChatMessages({ prompt: "", transcript, reminderInstruction: REMINDER }),
      [
        { role: "system", content: REMINDER },
        { role: "assistant", content: "Anything else?" },
      ],
    );
  });

  await t.step("an undefined or empty instruction changes nothing", () => {
    const expected = [
      { role: "system", content: PROMPT },
      { role: "assistant", content: "Anything else?" },
    ];
    assert.deepStrictEqual(
      toChatMessages({
        prompt: PROMPT,
        transcript,
        reminderInstruction: undefined,
      }),
      expected,
    );
    assert.deepStrictEqual(
      toChatMessages({ prompt: PROMPT, transcript, reminderInstruction: "" }),
      expected,
    );
  });
});

Deno.test("toChatMessages() never copies extra utterance fields into messages", () => {
  const transcript: Utterance[] = [
    {
      role: "agent",
      content: "Hello.",
      words: [{ word: "Hello.", start: 0.1, end: 0.6 }],
      metadata: { source: "llm" },
    },
    {
      role: "user",
      content: "Hi.",
      words: [{ word: "Hi.", start: 1.2, end: 1.4 }],
      metadata: { confidence: 0.9 },
      name: "caller",
      tool_calls: [{ id: "x" }],
    },
  ];
  assert.deepStrictEqual(
    toChatMessages({ prompt: PROMPT, transcript }),
    [
      { role: "system", content: PROMPT },
      { role: "assistant", content: "Hello." },
      { role: "user", content: "Hi." },
    ],
  );
});

Deno.test("toChatMessages() leaves the transcript unchanged", () => {
  const transcript = [
    said("agent", "Hello. "),
    said("user", "Hi"),
    said("user", "there"),
  ];
  const before = structuredClone(transcript);
  toChatMessages({ prompt: PROMPT, transcript, reminderInstruction: REMINDER });
  assert.deepStrictEqual(transcript, before);
});
