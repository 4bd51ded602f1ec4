/**
 * Keeps the deploy recipes (docs/deploy.md, the Dockerfile, deploy/ and the
 * README's Deploy section) in step with the code they describe, by reading
 * them as text: they cannot be run here (no Docker engine, no systemd, no
 * Deno Deploy), but they can name the wrong version, permission set, binary
 * or variable.
 */
import assert from "node:assert/strict";
import { PERMISSION_SET } from "../src/config/docs.ts";
import { SETTINGS } from "../src/config/settings.ts";

/** Reads a file at the project root. */
function readProjectFile(name: string): Promise<string> {
  return Deno.readTextFile(new URL(`../${name}`, import.meta.url));
}

/** One Dockerfile instruction, continuation lines joined. */
interface DockerInstruction {
  name: string;
  args: string;
}

/** The instructions of a Dockerfile, comments and blank lines skipped. */
function dockerInstructions(text: string): DockerInstruction[] {
  return text.replace(/\\\n\s*/g, " ").split("\n")
    .map((line) => line.trim())
    .filter((line) => line !== "" && !line.startsWith("#"))
    .map((line) => {
      const space = line.search(/\s/);
      return {
        name: line.slice(0, space).toUpperCase(),
        args: line.slice(space + 1).trim(),
      };
    });
}

/** The one instruction called `name`; fails when there is not exactly one. */
function onlyInstruction(
  instructions: DockerInstruction[],
  name: string,
): string {
  const found = instructions.filter((instruction) => instruction.name === name);
  assert.equal(found.length, 1, `Dockerfile: one ${name} expected`);
  return found[0]!.args;
}

/** The values of `key` in a systemd unit's `[Service]` section. */
function serviceValues(unit: string, key: string): string[] {
  const service = unit.split(/^\[/m).find((section) =>
    section.startsWith("Service]")
  );
  assert.ok(service, "the unit has a [Service] section");
  return [...service.matchAll(new RegExp(`^${key}=(.*)$`, "gm"))]
    .map((match) => match[1]!.trim());
}

/** The argument after `flag=` or `flag ` in a command line. */
function flagValue(command: string, flag: string): string | undefined {
  return new RegExp(`(?:^|\\s)${flag}[= ](\\S+)`).exec(command)?.[1];
}

/** The `deno.json` fields these tests read. */
interface DenoJson {
  tasks: Record<string, { command: string }>;
  permissions?: Record<string, { write?: boolean | string[] }>;
}

async function readDenoJson(): Promise<DenoJson> {
  return JSON.parse(await readProjectFile("deno.json")) as DenoJson;
}

/** The README's `## Deploy` section, up to the next `## ` heading. */
function readmeDeploySection(readme: string): string {
  const start = readme.indexOf("\n## Deploy\n");
  assert.ok(start >= 0, "README.md has a ## Deploy section");
  const end = readme.indexOf("\n## ", start + 1);
  return readme.slice(start, end < 0 ? undefined : end);
}

/** Upper-case words in the recipes that are not environment variables. */
const NOT_VARIABLES: ReadonlySet<string> = new Set([
  "AF_INET", // RestrictAddressFamilies= in the systemd unit
  "AF_INET6",
  "AF_UNIX",
  "CAP_NET_BIND_SERVICE", // a Linux capability
  "HEALTHCHECK", // Dockerfile instructions
  "EXPOSE",
  "STOPSIGNAL",
  "NAME", // the placeholder in "NAME=value"
]);

/** Names the runtime or OpenTelemetry read, not the server's settings. */
const RUNTIME_VARIABLE_REGEXP = /^(DENO|OTEL)_[A-Z0-9_]+$/;

/** Environment variable names a recipe text mentions. */
function mentionedVariables(text: string): Set<string> {
  const patterns = [
    /\b[A-Z][A-Z0-9]*(?:_[A-Z0-9]+)+\b/g, // any NAME_WITH_UNDERSCORES
    /(?<![\w$.-])([A-Z][A-Z0-9_]*)=/g, // NAME=value
    /\$\{?([A-Z][A-Z0-9_]*)\b/g, // $NAME, ${NAME}
    /env\.get\(["']([A-Z][A-Z0-9_]*)["']\)/g, // Deno.env.get("NAME")
    /`([A-Z][A-Z0-9_]*[A-Z0-9])`/g, // `NAME`, but not a prefix such as `DENO_`
  ];
  const names = new Set<string>();
  for (const pattern of patterns) {
    for (const match of text.matchAll(pattern)) {
      names.add(match[1] ?? match[0]);
    }
  }
  return names;
}

/** Every recipe, by the name a failure should point at. */
async function readRecipes(): Promise<Map<string, string>> {
  const recipes = new Map<string, string>();
  for (const name of ["docs/deploy.md", "Dockerfile", ".dockerignore"]) {
    recipes.set(name, await readProjectFile(name));
  }
  for await (
    const entry of Deno.readDir(new URL("../deploy/", import.meta.url))
  ) {
    if (entry.isFile) {
      recipes.set(
        `deploy/${entry.name}`,
        await readProjectFile(`deploy/${entry.name}`),
      );
    }
  }
  recipes.set(
    "README.md (Deploy)",
    readmeDeploySection(await readProjectFile("README.md")),
  );
  return recipes;
}

Deno.test("Dockerfile pins the Deno version .ci/run installs", async () => {
  const ci = await readProjectFile(".ci/run");
  const ciVersion = /^DENO_VERSION=(\d+\.\d+\.\d+)$/m.exec(ci)?.[1];
  assert.ok(ciVersion, ".ci/run sets DENO_VERSION=x.y.z");
  const from = onlyInstruction(
    dockerInstructions(await readProjectFile("Dockerfile")),
    "FROM",
  );
  assert.equal(from, `denoland/deno:${ciVersion}`);
});

Deno.test("Dockerfile runs main.ts with the permission set deno task start uses, and no other grant", async () => {
  const { tasks } = await readDenoJson();
  const startSet = flagValue(tasks.start?.command ?? "", "-P");
  assert.equal(startSet, PERMISSION_SET);
  const instructions = dockerInstructions(await readProjectFile("Dockerfile"));
  const cmd = JSON.parse(onlyInstruction(instructions, "CMD")) as string[];
  assert.deepStrictEqual(cmd.slice(0, 1), ["run"]);
  assert.equal(cmd.at(-1), "main.ts");
  assert.ok(cmd.includes(`-P=${startSet}`), `CMD ${JSON.stringify(cmd)}`);
  assert.ok(
    !cmd.some((arg) => /^(-A|--allow-|--unstable)/.test(arg)),
    `CMD grants nothing beyond the set: ${JSON.stringify(cmd)}`,
  );
  assert.equal(onlyInstruction(instructions, "USER"), "deno");
  assert.equal(onlyInstruction(instructions, "STOPSIGNAL"), "SIGTERM");
});

Deno.test("Dockerfile's health check asks /healthz on PORT, a route the server has", async () => {
  const instructions = dockerInstructions(await readProjectFile("Dockerfile"));
  const healthcheck = onlyInstruction(instructions, "HEALTHCHECK");
  const command = JSON.parse(
    healthcheck.slice(healthcheck.indexOf("CMD ") + 4),
  ) as string[];
  assert.deepStrictEqual(command.slice(0, 2), ["deno", "eval"]);
  assert.match(command.at(-1)!, /Deno\.env\.get\('PORT'\)/);
  assert.match(command.at(-1)!, /\/healthz'/);
  assert.match(
    await readProjectFile("src/server.ts"),
    /pathname === "\/healthz"/,
  );
  assert.equal(
    onlyInstruction(instructions, "EXPOSE"),
    SETTINGS.PORT.default,
  );
});

Deno.test(".dockerignore keeps .env out and lets every COPY source in", async () => {
  const ignored = (await readProjectFile(".dockerignore")).split("\n")
    .map((line) => line.trim())
    .filter((line) => line !== "" && !line.startsWith("#"))
    .map((line) => line.replace(/\/$/, ""));
  assert.ok(ignored.includes(".env"), ".dockerignore lists .env");
  const sources = dockerInstructions(await readProjectFile("Dockerfile"))
    .filter((instruction) => instruction.name === "COPY")
    .flatMap((instruction) => instruction.args.split(/\s+/).slice(0, -1))
    .map((source) => source.replace(/\/$/, ""));
  assert.ok(sources.includes("main.ts") && sources.includes("src"));
  for (const source of sources) {
    assert.ok(
      !ignored.includes(source),
      `${source} is both copied and ignored`,
    );
  }
});

Deno.test("the systemd unit starts the binary deno task compile writes, and stops it with SIGTERM", async () => {
  const { tasks } = await readDenoJson();
  const output = flagValue(tasks.compile?.command ?? "", "--output");
  assert.ok(output, "the compile task names its --output");
  const binary = output.split("/").at(-1)!;

  const unit = await readProjectFile("deploy/retell-llm-server.service");
  const [execStart, ...more] = serviceValues(unit, "ExecStart");
  assert.equal(more.length, 0, "one ExecStart");
  const program = execStart!.split(/\s+/)[0]!;
  assert.equal(program.split("/").at(-1), binary, `ExecStart=${execStart}`);
  assert.deepStrictEqual(serviceValues(unit, "KillSignal"), ["SIGTERM"]);
  assert.deepStrictEqual(serviceValues(unit, "LimitNOFILE"), ["65536"]);
  assert.equal(serviceValues(unit, "EnvironmentFile").length, 1);

  // The install line the unit and the docs give copies that output there.
  const install = `install -m 0755 ${output} ${program}`;
  assert.ok(unit.includes(install), `the unit's comment shows: ${install}`);
  assert.ok(
    (await readProjectFile("docs/deploy.md")).includes(install),
    `docs/deploy.md shows: ${install}`,
  );
});

Deno.test("every variable the recipes name is a setting, or Deno's or OpenTelemetry's own", async (t) => {
  const recipes = await readRecipes();
  const all = new Set<string>();
  for (const [file, text] of recipes) {
    await t.step(file, () => {
      for (const name of mentionedVariables(text)) {
        if (NOT_VARIABLES.has(name)) continue;
        all.add(name);
        assert.ok(
          name in SETTINGS || RUNTIME_VARIABLE_REGEXP.test(name),
          `${file} names ${name}, which src/config/settings.ts does not define`,
        );
      }
    });
  }
  // The extraction itself works: these are named in the docs on purpose.
  for (const name of ["PORT", "TRUST_PROXY", "SHUTDOWN_GRACE_MS", "KV_PATH"]) {
    assert.ok(all.has(name), `the recipes were read for ${name}`);
  }
});

Deno.test({
  name:
    "the stop fits the recipes' kill deadlines, and docs/deploy.md gives the default",
  // Until the SHUTDOWN_GRACE_MS default changes from 30000 to 3000 (issue 8).
  ignore: SETTINGS.SHUTDOWN_GRACE_MS.default === "30000",
  fn: async () => {
    const graceMs = Number(SETTINGS.SHUTDOWN_GRACE_MS.default);
    const deployKillMs = 5000; // Deno Deploy: SIGKILL 5 s after SIGINT
    assert.ok(graceMs < deployKillMs, `${graceMs} ms`);
    const unit = await readProjectFile("deploy/retell-llm-server.service");
    const [timeoutStopSec] = serviceValues(unit, "TimeoutStopSec");
    assert.ok(graceMs < Number(timeoutStopSec) * 1000, `${graceMs} ms`);
    assert.match(
      await readProjectFile("docs/deploy.md"),
      new RegExp(`\`SHUTDOWN_GRACE_MS\` \\(default ${graceMs} ms\\)`),
    );
  },
});

Deno.test({
  name: "the server permission set may write the KV files the recipes use",
  // Until CALL_STORE=kv lands in SETTINGS (issue 8).
  ignore: !("KV_PATH" in SETTINGS),
  fn: async () => {
    const write = (await readDenoJson()).permissions?.[PERMISSION_SET]?.write;
    for (
      const path of [
        "/data/calls.sqlite3", // Dockerfile's volume
        "/var/lib/retell-llm-server/calls.sqlite3", // systemd StateDirectory
      ]
    ) {
      assert.ok(
        write === true ||
          (Array.isArray(write) &&
            write.some((allowed) =>
              path === allowed || path.startsWith(`${allowed}/`)
            )),
        `the "${PERMISSION_SET}" set must allow writing ${path}: ${
          JSON.stringify(write)
        }`,
      );
    }
  },
});

Deno.test("SECURITY.md states each limit's default as the settings table has it", async () => {
  const text = await readProjectFile("SECURITY.md");
  const rows = [...text.matchAll(/^\| `([A-Z_]+)`\s*\| `([^`]*)`\s*\|/gm)];
  assert.ok(rows.length >= 10, `${rows.length} limit rows read`);
  for (const [, name, stated] of rows) {
    assert.ok(name! in SETTINGS, `SECURITY.md names ${name}, not a setting`);
    assert.equal(
      stated,
      SETTINGS[name as keyof typeof SETTINGS].default,
      `SECURITY.md's default of ${name}`,
    );
  }
});
