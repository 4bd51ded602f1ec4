import assert from "node:assert/strict";
import {
  describeEffectiveSettings,
  REDACTED,
} from "../../src/config/effective.ts";
import { loadConfig } from "../../src/config/load.ts";
import { SETTING_NAMES, SETTINGS } from "../../src/config/settings.ts";
import { createMemoryCallStore } from "../../src/call_store/memory.ts";
import { createDummyResponder } from "../../src/responders/dummy.ts";
import { startServerProcess } from "../_support/server_process.ts";

/** A value for each secret setting of today, valid for its schema. */
const SECRETS = {
  WS_SECRET: "ws-secret-0123456789",
  METRICS_TOKEN: "metrics-token-0123456789",
  OPENAI_API_KEY: "sk-test-key-0123456789",
  REDIS_URL: "redis://:redis-password-0123@127.0.0.1:6379",
};

Deno.test("describeEffectiveSettings() redacts every secret that is set and shows which are empty", () => {
  const config = loadConfig(new Map(Object.entries(SECRETS)));
  const described = describeEffectiveSettings(config);
  const text = JSON.stringify(described);
  for (const value of Object.values(SECRETS)) {
    assert.ok(!text.includes(value), `${value} is in ${text}`);
  }
  for (const name of SETTING_NAMES.filter((name) => SETTINGS[name].secret)) {
    const expected = name in SECRETS ? REDACTED : "";
    assert.equal(described.values[name], expected, name);
  }
  const empty = describeEffectiveSettings(loadConfig(new Map()));
  assert.equal(empty.values.WS_SECRET, "");
  assert.equal(empty.socket_path, "/llm-websocket/{call_id}");
});

Deno.test("describeEffectiveSettings() shows plain values, a long prompt's start, and null for unset optional ones", () => {
  const prompt = "You are a clinic's receptionist. ".repeat(20);
  const described = describeEffectiveSettings(loadConfig(
    new Map([
      ["PORT", "9001"],
      ["ALLOWED_IPS", "10.0.0.0/8"],
      ["RESPONDER", "llm"],
      ["OPENAI_API_KEY", SECRETS.OPENAI_API_KEY],
      ["OPENAI_MODEL", "gpt-test"],
      ["AGENT_PROMPT", prompt],
    ]),
  ));
  assert.equal(described.values.PORT, 9001);
  assert.deepEqual(described.values.ALLOWED_IPS, ["10.0.0.0/8"]);
  assert.equal(described.values.LLM_TEMPERATURE, null);
  assert.equal(
    described.values.AGENT_PROMPT,
    `${prompt.slice(0, 80)}… (${prompt.trim().length} chars)`,
  );
  assert.ok(!("AGENT_PROMPT_FILE" in described.values));
});

Deno.test("describeEffectiveSettings() adds loopback to the allowed addresses and names what code replaced", async () => {
  const config = loadConfig(
    new Map([["ALLOW_LOOPBACK", "true"], ["CALL_STORE", "kv"]]),
  );
  const fromSettings = describeEffectiveSettings(config);
  assert.deepEqual(fromSettings.allowed_ips, [
    ...config.allowedIps,
    "127.0.0.0/8",
    "::1",
  ]);
  assert.equal(fromSettings.responder, "dummy");
  assert.equal(fromSettings.call_store, "kv");
  const callStore = createMemoryCallStore({ ttlMs: 60_000 });
  const fromCode = describeEffectiveSettings(config, {
    responder: createDummyResponder(),
    callStore,
  });
  await callStore.close();
  assert.equal(fromCode.responder, "custom");
  assert.equal(fromCode.call_store, "custom");
});

Deno.test("a started server logs one settings line, and no line carries a secret", async () => {
  await using server = await startServerProcess({ env: SECRETS });
  const settings = server.logs.filter((record) => record.event === "settings");
  assert.equal(settings.length, 1);
  const [line] = settings;
  assert.equal(line!.responder, "dummy");
  assert.equal(line!.call_store, "memory");
  assert.deepEqual(line!.allowed_ips, ["100.20.5.228", "127.0.0.0/8", "::1"]);
  assert.equal(line!.socket_path, "/llm-websocket/{WS_SECRET}/{call_id}");
  const output = JSON.stringify(server.logs) + server.stderrText.join("\n");
  for (const value of Object.values(SECRETS)) {
    assert.ok(!output.includes(value), `${value} is in the output`);
  }
});
