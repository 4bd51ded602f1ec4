import assert from "node:assert/strict";
import {
  PERMISSION_SET,
  renderEnvExample,
  renderSettingsTables,
  replacePermissionEnv,
  replaceSettingsTables,
  RUNTIME_ENV,
  TABLES_END,
  TABLES_START,
} from "../../src/config/docs.ts";
import { loadConfig } from "../../src/config/load.ts";
import { SETTING_NAMES, SETTINGS } from "../../src/config/settings.ts";

const FIX = "run `deno task docs:config` and commit the result";

/** Reads a file at the project root. */
function readProjectFile(name: string): Promise<string> {
  return Deno.readTextFile(new URL(`../../${name}`, import.meta.url));
}

/** The `NAME=value` lines of a dotenv text, comments and blank lines skipped. */
function dotenvEntries(text: string): [string, string][] {
  return text.split("\n")
    .filter((line) => line.trim() !== "" && !line.startsWith("#"))
    .map((line) => {
      const equals = line.indexOf("=");
      assert.ok(equals > 0, `not a NAME=value line: ${JSON.stringify(line)}`);
      return [line.slice(0, equals), line.slice(equals + 1)];
    });
}

/** The `deno.json` fields these tests read. */
interface DenoJson {
  tasks: Record<string, { command: string }>;
  permissions?: Record<string, { env?: string[] }>;
}

Deno.test("SETTINGS names unique upper-case variables, each described", () => {
  for (const name of SETTING_NAMES) {
    assert.match(name, /^[A-Z][A-Z0-9_]*$/);
    assert.match(SETTINGS[name].description, /^\S.*[.)]$/, name);
    assert.ok(!SETTINGS[name].description.includes("\n"), name);
    assert.ok(!SETTINGS[name].description.includes("|"), name);
  }
  assert.equal(new Set(SETTING_NAMES).size, SETTING_NAMES.length);
});

Deno.test("renderSettingsTables() gives one row per variable with its default", () => {
  const rows = renderSettingsTables().split("\n").filter((line) =>
    line.startsWith("| `")
  );
  assert.deepStrictEqual(
    rows.map((row) => row.match(/^\| `(\w+)`/)?.[1]),
    [
      ...SETTING_NAMES.filter((name) => SETTINGS[name].scope === "server"),
      ...SETTING_NAMES.filter((name) => SETTINGS[name].scope === "agent"),
    ],
  );
  const port = rows.find((row) => row.startsWith("| `PORT`"))!;
  assert.match(port, /\| `8080` +\| TCP port to listen on\. +\|$/);
  const model = rows.find((row) => row.startsWith("| `OPENAI_MODEL`"))!;
  assert.match(model, /\| \(empty\) +\| Model name/);
});

Deno.test("renderEnvExample() sets every variable to its default", () => {
  const entries = dotenvEntries(renderEnvExample());
  assert.deepStrictEqual(
    entries.map(([name]) => name).sort(),
    [...SETTING_NAMES].sort(),
  );
  for (const [name, value] of entries) {
    assert.equal(value, SETTINGS[name as keyof typeof SETTINGS].default, name);
  }
  // A copy of the file runs with the defaults.
  assert.deepStrictEqual(loadConfig(new Map(entries)), loadConfig(new Map()));
  for (const line of renderEnvExample().split("\n")) {
    assert.ok(line.length <= 80, `line too long: ${line}`);
  }
});

Deno.test("replaceSettingsTables() replaces only what is between the markers", () => {
  const before =
    `# Title\n\n${TABLES_START}\nold table\n${TABLES_END}\n\nAfter.\n`;
  assert.equal(
    replaceSettingsTables(before),
    `# Title\n\n${TABLES_START}\n\n${renderSettingsTables()}\n\n${TABLES_END}\n\nAfter.\n`,
  );
  assert.throws(
    () => replaceSettingsTables("# No markers\n"),
    SyntaxError,
  );
  assert.throws(
    () => replaceSettingsTables(`${TABLES_END}\n${TABLES_START}\n`),
    /Cannot update docs\/configuration\.md/,
  );
});

Deno.test("docs/configuration.md's settings tables are up to date", async () => {
  const doc = await readProjectFile("docs/configuration.md");
  assert.equal(
    doc,
    replaceSettingsTables(doc),
    `docs/configuration.md: ${FIX}`,
  );
});

Deno.test(".env.example is up to date", async () => {
  assert.equal(
    await readProjectFile(".env.example"),
    renderEnvExample(),
    `.env.example: ${FIX}`,
  );
});

Deno.test("deno.json's server permission set grants exactly the SETTINGS names", async (t) => {
  const text = await readProjectFile("deno.json");
  const denoJson = JSON.parse(text) as DenoJson;

  await t.step("its env list is the table's names, in order", () => {
    assert.deepStrictEqual(
      denoJson.permissions?.[PERMISSION_SET]?.env,
      [...SETTING_NAMES, ...RUNTIME_ENV],
      `deno.json: ${FIX}`,
    );
    assert.equal(replacePermissionEnv(text), text, `deno.json: ${FIX}`);
  });

  await t.step(
    "dev, start and compile use it and grant no env of their own",
    () => {
      for (const task of ["dev", "start", "compile"]) {
        const command = denoJson.tasks[task]?.command ?? "";
        assert.match(command, new RegExp(` -P=${PERMISSION_SET} `), task);
        assert.doesNotMatch(command, /--allow-env|--allow-all| -A /, task);
      }
    },
  );
});
