import assert from "node:assert/strict";
import { findDuplicateKeys } from "../../src/config/env_file_check.ts";
import { ROOT, startServerProcess } from "../_support/server_process.ts";

Deno.test("findDuplicateKeys() reads export, quotes and comments as Deno's dotenv does", () => {
  const text = [
    "# RESPONDER=commented",
    "RESPONDER=dummy # the default",
    "export PORT=8080",
    'AGENT_PROMPT="You are # not a comment"',
    "",
    "PORT='9090'",
    "RESPONDER=llm",
    "not an assignment",
  ].join("\n");
  assert.deepEqual(findDuplicateKeys(text), [
    { key: "RESPONDER", lines: [2, 7], values: ["dummy", "llm"] },
    { key: "PORT", lines: [3, 6], values: ["8080", "9090"] },
  ]);
  assert.deepEqual(findDuplicateKeys("A=1\r\nB=2\r\n"), []);
});

/** Runs main.ts in `dir` as `deno task start` does, with or without `--env-file=.env`. */
function mainArgs(envFile: boolean): string[] {
  const root = ROOT.pathname;
  return [
    "run",
    `--config=${root}deno.json`,
    ...(envFile ? ["--env-file=.env"] : []),
    "--no-prompt",
    "-P=server",
    `${root}main.ts`,
  ];
}

Deno.test("a server started with --env-file warns once per key .env defines twice, naming the line Deno kept", async () => {
  await using dir = await temporaryDir();
  // LOG_LEVEL comes from the test's environment, which wins over the file;
  // DENO_KV_ACCESS_TOKEN does not, so its first value is loaded.
  await Deno.writeTextFile(
    `${dir.path}/.env`,
    [
      "LOG_LEVEL=info",
      "DENO_KV_ACCESS_TOKEN=first-token-value",
      "PORT_UNUSED=1",
      "LOG_LEVEL=debug",
      "DENO_KV_ACCESS_TOKEN=second-token-value",
    ].join("\n"),
  );
  await using server = await startServerProcess({
    cwd: dir.path,
    args: mainArgs(true),
    env: { LOG_LEVEL: "info" },
  });
  const warnings = server.logs.filter((record) =>
    record.event === "env_file_duplicate_key"
  );
  assert.deepEqual(
    warnings.map(({ key, lines, used_line, used_value }) => ({
      key,
      lines,
      used_line,
      used_value,
    })),
    [
      { key: "LOG_LEVEL", lines: [1, 4], used_line: 1, used_value: "info" },
      // Not a setting: its value may be a secret, and is left out.
      {
        key: "DENO_KV_ACCESS_TOKEN",
        lines: [2, 5],
        used_line: 2,
        used_value: undefined,
      },
    ],
  );
  const output = JSON.stringify(server.logs);
  assert.ok(!output.includes("token-value"));
});

Deno.test("a server started without --env-file does not warn about a .env it did not load", async () => {
  await using dir = await temporaryDir();
  await Deno.writeTextFile(
    `${dir.path}/.env`,
    "DENO_KV_ACCESS_TOKEN=first\nDENO_KV_ACCESS_TOKEN=second\n",
  );
  await using server = await startServerProcess({
    cwd: dir.path,
    args: mainArgs(false),
  });
  await server.waitForLog("settings");
  assert.equal(
    server.logs.filter((record) => record.event === "env_file_duplicate_key")
      .length,
    0,
  );
});

/** A directory under /tmp, removed on disposal. */
async function temporaryDir(): Promise<AsyncDisposable & { path: string }> {
  const path = await Deno.makeTempDir({ prefix: "env_file_check_" });
  return {
    path,
    [Symbol.asyncDispose]: () => Deno.remove(path, { recursive: true }),
  };
}
