import assert from "node:assert/strict";
import { z } from "zod";
import { loadConfig, type LoadConfigOptions } from "../../src/config/load.ts";
import type { Config } from "../../src/config/settings.ts";
import { defineTool } from "../../src/llm/tools.ts";
import type {
  CallContext,
  Reply,
  Responder,
  ResponderOptions,
  ResponsePart,
  Turn,
} from "../../src/responder.ts";
import { DUMMY_GREETING, DUMMY_REPLY } from "../../src/responders/dummy.ts";
import { createResponderFromConfig } from "../../src/responders/from_config.ts";
import { DEFAULT_AGENT_PROMPT } from "../../src/responders/llm.ts";
import { offlineCall } from "../_support/call.ts";
import { type FakeLlm, startFakeLlm, tokens } from "../_support/llm_server.ts";
import { captureLogs, type LogCapture } from "../_support/logs.ts";

/** Loads a config from `variables`, as `main.ts` does from the environment. */
function configOf(
  variables: Record<string, string>,
  options?: LoadConfigOptions,
): Config {
  return loadConfig(new Map(Object.entries(variables)), options);
}

/** The least `RESPONDER=llm` needs, pointed at `llm`. */
function llmVariables(llm: FakeLlm): Record<string, string> {
  return {
    RESPONDER: "llm",
    OPENAI_BASE_URL: llm.baseUrl,
    OPENAI_API_KEY: "sk-from-config",
    OPENAI_MODEL: "configured-model",
  };
}

/** A live call whose dynamic variables are `variables`. */
function callWith(variables: Record<string, string> = {}): CallContext {
  return offlineCall({
    callId: "call_from_config",
    details: { retell_llm_dynamic_variables: variables },
  });
}

const OPTIONS: ResponderOptions = {
  signal: new AbortController().signal,
  mark: () => {},
};

/** A `response_required` turn in which the caller said `text`. */
function turnSaying(call: CallContext, text: string): Turn {
  return {
    call,
    responseId: 1,
    kind: "response",
    transcript: [{ role: "user", content: text }],
    transcriptWithToolCalls: undefined,
  };
}

/** Every part of a reply, in order. */
async function partsOf(reply: Reply | Promise<Reply>): Promise<ResponsePart[]> {
  const awaited = await reply;
  return typeof awaited === "string" ? [awaited] : Array.fromAsync(awaited);
}

/** Answers one turn and returns the request the model received for it. */
async function answer(
  responder: Responder,
  llm: FakeLlm,
  call: CallContext = callWith(),
): Promise<{ parts: ResponsePart[]; body: Record<string, unknown> }> {
  const index = llm.requests.length;
  const parts = await partsOf(
    responder.respond(turnSaying(call, "When are you open?"), OPTIONS),
  );
  const request = await llm.waitForRequest(index);
  assert.equal(await request.outcome, "completed");
  return { parts, body: request.body };
}

/** The names of the tools offered in a request body. */
function toolNames(body: Record<string, unknown>): string[] {
  const tools = body.tools as Array<{ function: { name: string } }>;
  return tools.map((tool) => tool.function.name);
}

/** The one `llm_failed` line, once the failed reply has been drained. */
function failureOf(logs: LogCapture): Record<string, unknown> {
  const lines = logs.events("llm_failed");
  assert.equal(lines.length, 1, JSON.stringify(logs.records));
  return lines[0]!;
}

Deno.test("createResponderFromConfig() gives the dummy responder when RESPONDER=dummy", async () => {
  await using llm = startFakeLlm();
  const logs = captureLogs();
  const responder = createResponderFromConfig(
    configOf({ ...llmVariables(llm), RESPONDER: "dummy" }),
    logs.log,
  );
  const call = callWith();
  assert.deepStrictEqual(await partsOf(responder.begin(call, OPTIONS)), [
    DUMMY_GREETING,
  ]);
  assert.deepStrictEqual(
    await partsOf(responder.respond(turnSaying(call, "Hello?"), OPTIONS)),
    [DUMMY_REPLY],
  );
  assert.equal(llm.requests.length, 0, "the dummy never calls a model");
});

Deno.test("createResponderFromConfig() wires every llm setting into the llm responder", async (t) => {
  await using llm = startFakeLlm();
  const logs = captureLogs();
  const checkHours = defineTool({
    name: "check_opening_hours",
    description: "Opening hours of the clinic on a weekday.",
    parameters: z.object({ weekday: z.string() }),
    handler: () => "9 to 5",
  });
  const responder = createResponderFromConfig(
    configOf({
      ...llmVariables(llm),
      AGENT_PROMPT: "You answer the phone for {{clinic}}.",
      BEGIN_MESSAGE: "Hi, this is {{clinic}}.",
      LLM_TEMPERATURE: "0.3",
      LLM_MAX_TOKENS: "64",
      TRANSFER_NUMBER: "+14155550123",
    }),
    logs.log,
    { tools: [checkHours] },
  );
  const call = callWith({ clinic: "Harbor Dental" });

  await t.step("BEGIN_MESSAGE, filled from the call's variables", async () => {
    assert.equal(responder.beginAfterCallDetails, true);
    assert.deepStrictEqual(await partsOf(responder.begin(call, OPTIONS)), [
      "Hi, this is Harbor Dental.",
    ]);
  });

  await t.step(
    "OPENAI_BASE_URL, OPENAI_API_KEY, OPENAI_MODEL, AGENT_PROMPT and the LLM_ values reach the model",
    async () => {
      llm.enqueue(tokens("We open ", "at nine."));
      const { parts, body } = await answer(responder, llm, call);
      assert.deepStrictEqual(parts, ["We open ", "at nine."]);
      const request = llm.requests.at(-1)!;
      assert.equal(
        request.headers.get("authorization"),
        "Bearer sk-from-config",
      );
      assert.equal(body.model, "configured-model");
      assert.deepStrictEqual(body.messages, [
        { role: "system", content: "You answer the phone for Harbor Dental." },
        { role: "user", content: "When are you open?" },
      ]);
      assert.equal(body.temperature, 0.3);
      assert.equal(body.max_tokens, 64);
    },
  );

  await t.step(
    "TRANSFER_NUMBER and the given tools are offered next to end_call",
    async () => {
      llm.enqueue({
        steps: [{
          toolCall: {
            id: "call_1",
            name: "transfer_call",
            arguments: JSON.stringify({ message: "Connecting you now." }),
          },
        }],
      });
      const { parts, body } = await answer(responder, llm, call);
      assert.deepStrictEqual(toolNames(body), [
        "end_call",
        "transfer_call",
        "check_opening_hours",
      ]);
      assert.deepStrictEqual(parts, [
        "Connecting you now.",
        { type: "transfer_call", number: "+14155550123" },
      ]);
    },
  );
});

Deno.test("createResponderFromConfig() uses the built-in prompt and the default greeting when only the required llm variables are set", async () => {
  await using llm = startFakeLlm();
  const logs = captureLogs();
  const responder = createResponderFromConfig(
    configOf(llmVariables(llm)),
    logs.log,
  );
  assert.deepStrictEqual(
    await partsOf(responder.begin(callWith(), OPTIONS)),
    ["Hello! How can I help you today?"],
  );
  llm.enqueue(tokens("Nine to five."));
  const { body } = await answer(responder, llm);
  assert.deepStrictEqual(
    (body.messages as Array<{ content: string }>)[0],
    { role: "system", content: DEFAULT_AGENT_PROMPT },
  );
  assert.equal("temperature" in body, false);
  assert.equal("max_tokens" in body, false);
  assert.deepStrictEqual(toolNames(body), ["end_call"]);
});

Deno.test("createResponderFromConfig() prompts with the contents of AGENT_PROMPT_FILE", async () => {
  await using llm = startFakeLlm();
  const logs = captureLogs();
  const responder = createResponderFromConfig(
    configOf({ ...llmVariables(llm), AGENT_PROMPT_FILE: "prompt.md" }, {
      readTextFile: () => "Answer in one sentence.\n",
    }),
    logs.log,
  );
  llm.enqueue(tokens("Nine to five."));
  const { body } = await answer(responder, llm);
  assert.deepStrictEqual(
    (body.messages as Array<{ content: string }>)[0],
    { role: "system", content: "Answer in one sentence." },
  );
});

Deno.test("createResponderFromConfig() gives the model LLM_FIRST_TOKEN_TIMEOUT_MS and LLM_STALL_TIMEOUT_MS", async (t) => {
  await using llm = startFakeLlm();

  for (
    const [kind, variables, steps] of [
      ["first_token_timeout", { LLM_FIRST_TOKEN_TIMEOUT_MS: "150" }, []],
      [
        "stall",
        { LLM_STALL_TIMEOUT_MS: "150", LLM_FIRST_TOKEN_TIMEOUT_MS: "20000" },
        [{ text: "Let me see" }],
      ],
    ] as const
  ) {
    await t.step(
      `${kind} after 150 ms instead of the default 8000`,
      async () => {
        const logs = captureLogs();
        const responder = createResponderFromConfig(
          configOf({ ...llmVariables(llm), ...variables }),
          logs.log,
        );
        const index = llm.requests.length;
        llm.enqueue({ steps: [...steps, { hang: true }] });
        await assert.rejects(
          partsOf(
            responder.respond(turnSaying(callWith(), "Hello?"), OPTIONS),
          ),
          new RegExp(`\\(${kind}\\)`),
        );
        assert.equal(await llm.requests[index]!.outcome, "aborted");
        const failure = failureOf(logs);
        assert.equal(failure.kind, kind);
        const elapsed = failure.elapsed_ms as number;
        assert.ok(elapsed >= 140 && elapsed < 4000, `elapsed_ms ${elapsed}`);
      },
    );
  }
});
