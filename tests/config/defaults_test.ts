import assert from "node:assert/strict";
import { DEFAULT_CONFIG } from "../../src/config/defaults.ts";
import { loadConfig } from "../../src/config/load.ts";
import type { Config, LlmConfig } from "../../src/config/settings.ts";
import { createLogger } from "../../src/log.ts";
import { createDummyResponder } from "../../src/responders/dummy.ts";
import { createRetellServer } from "../../src/server.ts";

const SRC = new URL("../../src/", import.meta.url);

/** Every `.ts` file under `dir`, recursively. */
async function sourceFiles(dir: URL): Promise<URL[]> {
  const files: URL[] = [];
  for await (const entry of Deno.readDir(dir)) {
    const url = new URL(entry.name + (entry.isDirectory ? "/" : ""), dir);
    if (entry.isDirectory) files.push(...await sourceFiles(url));
    else if (entry.name.endsWith(".ts")) files.push(url);
  }
  return files;
}

/**
 * The `@default {value}` of each optional property documented in `text`,
 * by property name, where the value is a plain literal (`30000`,
 * `"/llm-websocket"`, `["100.20.5.228"]`, `{ auto_reconnect: true }`).
 */
function literalDefaults(text: string): [string, unknown][] {
  const found: [string, unknown][] = [];
  const property =
    /\/\*\*((?:(?!\*\/)[\s\S])*)\*\/\s*(?:readonly\s+)?(\w+)\?:/g;
  for (const [, doc, name] of text.matchAll(property)) {
    const value = doc!.match(/@default \{(.*)\}\s*$/m)?.[1];
    if (value === undefined) continue;
    try {
      found.push([name!, JSON.parse(value.replace(/(\w+):/g, '"$1":'))]);
    } catch {
      // Not a literal, such as {DEFAULT_AGENT_PROMPT}: nothing to compare.
    }
  }
  return found;
}

/** What the library's option called `name` defaults to, if it mirrors a setting. */
function settingDefault(name: string): { found: boolean; value?: unknown } {
  if (name === "callConfig") {
    return {
      found: true,
      value: {
        auto_reconnect: DEFAULT_CONFIG.autoReconnect,
        call_details: DEFAULT_CONFIG.callDetails,
      },
    };
  }
  if (name !== "llm" && name in DEFAULT_CONFIG) {
    return { found: true, value: DEFAULT_CONFIG[name as keyof Config] };
  }
  if (name in DEFAULT_CONFIG.llm) {
    return { found: true, value: DEFAULT_CONFIG.llm[name as keyof LlmConfig] };
  }
  return { found: false };
}

Deno.test("DEFAULT_CONFIG is the config of an empty environment", () => {
  assert.deepStrictEqual(DEFAULT_CONFIG, loadConfig(new Map()));
  assert.ok(Object.isFrozen(DEFAULT_CONFIG));
});

Deno.test("the library's @default tags match the settings table", async () => {
  const checked: string[] = [];
  for (const file of await sourceFiles(SRC)) {
    for (
      const [name, value] of literalDefaults(await Deno.readTextFile(file))
    ) {
      const expected = settingDefault(name);
      if (!expected.found) continue;
      assert.deepStrictEqual(
        value,
        expected.value,
        `${file.pathname.slice(SRC.pathname.length)}: @default of ${name}`,
      );
      checked.push(name);
    }
  }
  for (
    const name of [
      "allowedIps",
      "allowLoopback",
      "trustProxy",
      "websocketPath",
      "callConfig",
      "responderTimeoutMs",
    ]
  ) {
    assert.ok(checked.includes(name), `no @default found for ${name}`);
  }
});

Deno.test("createRetellServer() falls back on the table's defaults", async (t) => {
  const server = createRetellServer({
    responder: createDummyResponder(),
    log: createLogger({ sink: () => {} }),
  });
  const from = (hostname: string): Deno.ServeHandlerInfo => ({
    remoteAddr: { transport: "tcp", hostname, port: 40000 },
    completed: Promise.resolve(),
  });
  const socketPath = `http://127.0.0.1${DEFAULT_CONFIG.websocketPath}/call_1`;

  await t.step("the socket path is WEBSOCKET_PATH's default", async () => {
    const response = server.handler(
      new Request("http://127.0.0.1/"),
      from("127.0.0.1"),
    );
    assert.match(
      await response.text(),
      /wss:\/\/<this host>\/llm-websocket\n$/,
    );
  });

  await t.step("ALLOWED_IPS's default may call, loopback may not", async () => {
    const [allowed] = DEFAULT_CONFIG.allowedIps;
    const retell = server.handler(new Request(socketPath), from(allowed!));
    assert.equal(retell.status, 426);
    await retell.body?.cancel();
    const local = server.handler(new Request(socketPath), from("127.0.0.1"));
    assert.equal(local.status, 403);
    await local.body?.cancel();
  });
});
