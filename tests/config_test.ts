import assert from "node:assert/strict";
import {
  type Config,
  ConfigError,
  ENV_VARIABLES,
  loadConfig,
} from "../src/config.ts";

/** Every setting when no variable is set. */
const DEFAULTS: Config = {
  port: 8080,
  listenHost: "0.0.0.0",
  allowedIps: ["100.20.5.228"],
  allowLoopback: false,
  trustProxy: [],
  websocketPath: "/llm-websocket",
  responder: "dummy",
  logLevel: "info",
  autoReconnect: true,
  callDetails: true,
  transcriptWithToolCalls: false,
  responderTimeoutMs: 30000,
  shutdownGraceMs: 30000,
};

/** Loads a config from `variables`. */
function load(variables: Record<string, string>): Config {
  return loadConfig(new Map(Object.entries(variables)));
}

/** Loads `variables`, expecting a ConfigError, and returns its problems. */
function problemsOf(variables: Record<string, string>): readonly string[] {
  let caught: unknown;
  try {
    load(variables);
  } catch (error) {
    caught = error;
  }
  assert.ok(
    caught instanceof ConfigError,
    `expected a ConfigError for ${JSON.stringify(variables)}, got ${caught}`,
  );
  return caught.problems;
}

/**
 * Asserts that `value` alone for `name` is refused with exactly one problem
 * line that starts with the name and contains each of `fragments`.
 */
function assertRefused(
  name: string,
  value: string,
  ...fragments: string[]
): void {
  const problems = problemsOf({ [name]: value });
  assert.equal(
    problems.length,
    1,
    `${name}=${JSON.stringify(value)}: ${JSON.stringify(problems)}`,
  );
  const line = problems[0]!;
  assert.ok(
    line.startsWith(`${name} `),
    `line should start with ${name}: ${line}`,
  );
  assert.ok(!line.includes("\n"), `line should be one line: ${line}`);
  for (const fragment of fragments) {
    assert.ok(
      line.includes(fragment),
      `line should contain ${JSON.stringify(fragment)}: ${line}`,
    );
  }
}

/** Reads a file next to the tests' parent, or fails naming what is missing. */
async function readProjectFile(name: string, why: string): Promise<string> {
  try {
    return await Deno.readTextFile(new URL(`../${name}`, import.meta.url));
  } catch (error) {
    if (error instanceof Deno.errors.NotFound) {
      assert.fail(`${name} does not exist yet: ${why}`);
    }
    throw error;
  }
}

/** The names granted by `--allow-env=` in `command`, or undefined when there is none. */
function allowedEnv(command: string): string[] | undefined {
  const match = command.match(/--allow-env=(\S+)/);
  return match?.[1]?.split(",").filter((name) => name !== "");
}

Deno.test("loadConfig() returns the defaults when no variable is set", async (t) => {
  await t.step("whole Config object", () => {
    assert.deepStrictEqual(loadConfig(new Map()), DEFAULTS);
  });

  await t.step("frozen, lists included", () => {
    const config = loadConfig(new Map());
    assert.ok(Object.isFrozen(config));
    assert.ok(Object.isFrozen(config.allowedIps));
    assert.ok(Object.isFrozen(config.trustProxy));
    assert.throws(() => {
      (config as { port: number }).port = 1;
    }, TypeError);
  });

  await t.step("each default matches ENV_VARIABLES", () => {
    const fromTable = loadConfig(
      new Map(
        ENV_VARIABLES.map((variable) => [variable.name, variable.default]),
      ),
    );
    assert.deepStrictEqual(fromTable, DEFAULTS);
  });

  await t.step("unknown variables are ignored", () => {
    assert.deepStrictEqual(
      load({ HOME: "/root", port: "1", RETELL_API_KEY: "x" }),
      DEFAULTS,
    );
  });
});

Deno.test("loadConfig() reads every variable when each is set to a valid value", async (t) => {
  await t.step("every variable at a non-default value", () => {
    assert.deepStrictEqual(
      load({
        PORT: "9000",
        LISTEN_HOST: "::",
        ALLOWED_IPS: " 10.0.0.0/8 , ::1 ",
        ALLOW_LOOPBACK: "yes",
        TRUST_PROXY: "127.0.0.1, 172.16.0.0/12",
        WEBSOCKET_PATH: "/retell/ws/",
        RESPONDER: "dummy",
        LOG_LEVEL: "debug",
        AUTO_RECONNECT: "0",
        CALL_DETAILS: "OFF",
        TRANSCRIPT_WITH_TOOL_CALLS: "On",
        RESPONDER_TIMEOUT_MS: "5000",
        SHUTDOWN_GRACE_MS: "0",
      }),
      {
        port: 9000,
        listenHost: "::",
        allowedIps: ["10.0.0.0/8", "::1"],
        allowLoopback: true,
        trustProxy: ["127.0.0.1", "172.16.0.0/12"],
        websocketPath: "/retell/ws",
        responder: "dummy",
        logLevel: "debug",
        autoReconnect: false,
        callDetails: false,
        transcriptWithToolCalls: true,
        responderTimeoutMs: 5000,
        shutdownGraceMs: 0,
      },
    );
  });

  await t.step("ALLOWED_IPS * lets everyone in", () => {
    assert.deepStrictEqual(load({ ALLOWED_IPS: "*" }), {
      ...DEFAULTS,
      allowedIps: ["*"],
    });
  });

  await t.step("ALLOWED_IPS skips empty entries between commas", () => {
    assert.deepStrictEqual(
      load({ ALLOWED_IPS: "100.20.5.228,, 2001:db8::/32," }),
      {
        ...DEFAULTS,
        allowedIps: ["100.20.5.228", "2001:db8::/32"],
      },
    );
  });

  await t.step("every spelling of a flag", () => {
    for (const value of ["true", "TRUE", "1", "yes", "Yes", "on", " on "]) {
      assert.equal(load({ ALLOW_LOOPBACK: value }).allowLoopback, true, value);
    }
    for (const value of ["false", "False", "0", "no", "NO", "off", "OFF"]) {
      assert.equal(load({ AUTO_RECONNECT: value }).autoReconnect, false, value);
    }
  });

  await t.step("WEBSOCKET_PATH loses its trailing slashes", () => {
    assert.equal(
      load({ WEBSOCKET_PATH: "/retell/ws/" }).websocketPath,
      "/retell/ws",
    );
    assert.equal(
      load({ WEBSOCKET_PATH: "/a.b_c~d-e//" }).websocketPath,
      "/a.b_c~d-e",
    );
  });

  await t.step("each log level", () => {
    for (const level of ["debug", "info", "warn", "error"]) {
      assert.equal(load({ LOG_LEVEL: level }).logLevel, level);
    }
  });

  await t.step(
    "numbers at the ends of their ranges, surrounded by spaces",
    () => {
      assert.equal(load({ PORT: "1" }).port, 1);
      assert.equal(load({ PORT: " 65535 " }).port, 65535);
      assert.equal(load({ RESPONDER_TIMEOUT_MS: "1" }).responderTimeoutMs, 1);
      assert.equal(
        load({ RESPONDER_TIMEOUT_MS: "600000" }).responderTimeoutMs,
        600000,
      );
    },
  );
});

Deno.test("loadConfig() treats an empty value as a value only for lists", async (t) => {
  await t.step('ALLOWED_IPS="" refuses everyone', () => {
    assert.deepStrictEqual(load({ ALLOWED_IPS: "" }), {
      ...DEFAULTS,
      allowedIps: [],
    });
    assert.deepStrictEqual(load({ ALLOWED_IPS: "  " }), {
      ...DEFAULTS,
      allowedIps: [],
    });
  });

  await t.step('TRUST_PROXY="" trusts no proxy', () => {
    assert.deepStrictEqual(load({ TRUST_PROXY: "" }), DEFAULTS);
  });

  await t.step(
    'PORT="" and every other empty variable means the default',
    () => {
      assert.deepStrictEqual(load({ PORT: "" }), DEFAULTS);
      const empty = ENV_VARIABLES
        .filter((variable) =>
          variable.name !== "ALLOWED_IPS" && variable.name !== "TRUST_PROXY"
        )
        .map((variable) => [variable.name, ""] as const);
      assert.deepStrictEqual(loadConfig(new Map(empty)), DEFAULTS);
    },
  );

  await t.step("LISTEN_HOST of only spaces means the default", () => {
    assert.equal(load({ LISTEN_HOST: "   " }).listenHost, "0.0.0.0");
  });
});

Deno.test("loadConfig() throws a ConfigError naming the variable when one is invalid", async (t) => {
  await t.step('PORT "80a", "0", "70000", "-1", "8080.5"', () => {
    for (const value of ["80a", "0", "70000", "-1", "8080.5"]) {
      assertRefused(
        "PORT",
        value,
        "must be a whole number from 1 to 65535",
        JSON.stringify(value),
      );
    }
  });

  await t.step('ALLOWED_IPS "100.20.5.0/33" quotes the rule', () => {
    assertRefused("ALLOWED_IPS", "100.20.5.0/33", '"100.20.5.0/33"');
    assertRefused("ALLOWED_IPS", "100.20.5.228, not-an-ip", '"not-an-ip"');
  });

  await t.step('TRUST_PROXY "*" and "nope"', () => {
    assertRefused("TRUST_PROXY", "*", '"*"');
    assertRefused("TRUST_PROXY", "nope", '"nope"');
  });

  await t.step('WEBSOCKET_PATH "no-slash", "/a b", "/" and "//"', () => {
    for (const value of ["no-slash", "/a b", "/a?b=1", "/", "//", "/a//b"]) {
      assertRefused(
        "WEBSOCKET_PATH",
        value,
        "must be a path such as /llm-websocket",
        JSON.stringify(value),
      );
    }
  });

  await t.step('RESPONDER "gpt"', () => {
    assertRefused("RESPONDER", "gpt", "must be one of dummy", '"gpt"');
  });

  await t.step('LOG_LEVEL "verbose"', () => {
    assertRefused(
      "LOG_LEVEL",
      "verbose",
      "must be one of debug, info, warn, error",
      '"verbose"',
    );
  });

  await t.step('AUTO_RECONNECT "maybe" and the other flags', () => {
    assertRefused(
      "AUTO_RECONNECT",
      "maybe",
      "must be true or false",
      '"maybe"',
    );
    assertRefused("ALLOW_LOOPBACK", "y", "must be true or false");
    assertRefused("CALL_DETAILS", "2", "must be true or false");
    assertRefused(
      "TRANSCRIPT_WITH_TOOL_CALLS",
      "enabled",
      "must be true or false",
    );
  });

  await t.step('RESPONDER_TIMEOUT_MS "-5", "0" and "600001"', () => {
    for (const value of ["-5", "0", "600001", "1e3"]) {
      assertRefused(
        "RESPONDER_TIMEOUT_MS",
        value,
        "must be a whole number from 1 to 600000",
        JSON.stringify(value),
      );
    }
  });

  await t.step('SHUTDOWN_GRACE_MS "-1" and "soon"', () => {
    for (const value of ["-1", "soon"]) {
      assertRefused(
        "SHUTDOWN_GRACE_MS",
        value,
        "must be a whole number",
        JSON.stringify(value),
      );
    }
  });

  await t.step(
    "the error is a ConfigError with name and a one-problem message",
    () => {
      let caught: unknown;
      try {
        load({ PORT: "80a" });
      } catch (error) {
        caught = error;
      }
      assert.ok(caught instanceof ConfigError);
      assert.ok(caught instanceof Error);
      assert.equal(caught.name, "ConfigError");
      assert.equal(
        caught.message,
        'Cannot start: 1 setting is invalid\n- PORT must be a whole number from 1 to 65535: current value is "80a"',
      );
    },
  );
});

Deno.test("loadConfig() reports every invalid variable in one ConfigError when several are invalid", () => {
  let caught: unknown;
  try {
    load({
      PORT: "70000",
      LOG_LEVEL: "verbose",
      AUTO_RECONNECT: "maybe",
      LISTEN_HOST: "::",
    });
  } catch (error) {
    caught = error;
  }
  assert.ok(caught instanceof ConfigError, String(caught));
  assert.equal(caught.problems.length, 3, JSON.stringify(caught.problems));
  assert.deepStrictEqual(
    caught.problems.map((line) => line.split(" ")[0]).sort(),
    ["AUTO_RECONNECT", "LOG_LEVEL", "PORT"],
  );
  const lines = caught.message.split("\n");
  assert.ok(
    caught.message.startsWith("Cannot start: 3 settings are invalid\n"),
    caught.message,
  );
  assert.equal(lines.length, 4, caught.message);
  assert.deepStrictEqual(
    lines.slice(1),
    caught.problems.map((line) => `- ${line}`),
  );
});

Deno.test("ENV_VARIABLES matches deno.json, .env.example and README.md", async (t) => {
  const names = ENV_VARIABLES.map((variable) => variable.name);

  await t.step("names are unique upper-case identifiers", () => {
    assert.equal(new Set(names).size, names.length);
    for (const name of names) assert.match(name, /^[A-Z][A-Z0-9_]*$/);
  });

  await t.step(
    "start, dev and compile grant --allow-env for exactly these names",
    async () => {
      const denoJson = JSON.parse(
        await readProjectFile("deno.json", "it holds the tasks"),
      ) as {
        tasks?: Record<string, string | { command?: string }>;
      };
      for (const task of ["start", "dev", "compile"]) {
        const entry = denoJson.tasks?.[task];
        assert.ok(
          entry !== undefined,
          `deno.json has no "${task}" task yet: add it with --allow-env=${
            names.join(",")
          }`,
        );
        const command = typeof entry === "string" ? entry : entry.command ?? "";
        const granted = allowedEnv(command);
        assert.ok(
          granted !== undefined,
          `the "${task}" task has no --allow-env=<names> flag: ${
            JSON.stringify(command)
          }`,
        );
        assert.deepStrictEqual(
          [...granted].sort(),
          [...names].sort(),
          `the "${task}" task's --allow-env list differs from ENV_VARIABLES`,
        );
      }
    },
  );

  await t.step(".env.example sets or mentions every name", async () => {
    const text = await readProjectFile(
      ".env.example",
      "it should list every variable of ENV_VARIABLES",
    );
    const missing = names.filter((name) =>
      !new RegExp(`^\\s*#?\\s*${name}=`, "m").test(text)
    );
    assert.deepStrictEqual(
      missing,
      [],
      `.env.example lacks a NAME= line for ${missing.join(", ")}`,
    );
  });

  await t.step(
    "README.md's configuration table has a row for every name",
    async () => {
      const text = await readProjectFile(
        "README.md",
        "its configuration table should list every variable",
      );
      const rows = text.split("\n").filter((line) =>
        line.trimStart().startsWith("|")
      );
      const missing = names.filter((name) =>
        !rows.some((row) => new RegExp(`\\b${name}\\b`).test(row))
      );
      assert.deepStrictEqual(
        missing,
        [],
        `README.md has no table row for ${missing.join(", ")}`,
      );
    },
  );
});
