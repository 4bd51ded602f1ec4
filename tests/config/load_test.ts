import assert from "node:assert/strict";
import {
  ConfigError,
  loadConfig,
  type LoadConfigOptions,
} from "../../src/config/load.ts";
import {
  type Config,
  SETTING_NAMES,
  SETTINGS,
} from "../../src/config/settings.ts";

/** Every setting when no variable is set. */
const DEFAULTS: Config = {
  port: 8080,
  listenHost: "0.0.0.0",
  allowedIps: ["100.20.5.228"],
  allowLoopback: false,
  trustProxy: [],
  websocketPath: "/llm-websocket",
  wsSecret: "",
  responder: "dummy",
  logLevel: "info",
  metricsAllowedIps: ["127.0.0.0/8", "::1"],
  metricsToken: "",
  playground: false,
  autoReconnect: true,
  callDetails: true,
  transcriptWithToolCalls: false,
  responderTimeoutMs: 30000,
  turnStallMs: 5000,
  shutdownGraceMs: 3000,
  maxCalls: 2000,
  maxCallsPerAddress: 50,
  maxFrameBytes: 4194304,
  maxTranscriptItems: 2000,
  maxCallDetailsBytes: 32768,
  maxFramesPerSecond: 100,
  slowReaderBytes: 1048576,
  slowReaderMs: 5000,
  callStore: "memory",
  kvPath: undefined,
  redisUrl: undefined,
  callStoreTtlHours: 6,
  agentsFile: undefined,
  agents: [],
  llm: {
    apiKey: "",
    baseUrl: "https://api.openai.com/v1",
    model: "",
    fallbackModel: undefined,
    fallbackBaseUrl: undefined,
    fallbackApiKey: undefined,
    prompt: undefined,
    beginMessage: "Hello! How can I help you today?",
    temperature: undefined,
    maxTokens: undefined,
    firstTokenTimeoutMs: 8000,
    stallTimeoutMs: 8000,
    toolProgressMs: 2500,
    transferNumber: undefined,
  },
};

/** The least a valid `RESPONDER=llm` configuration sets. */
const LLM_REQUIRED = {
  RESPONDER: "llm",
  OPENAI_API_KEY: "sk-test",
  OPENAI_MODEL: "gpt-4o-mini",
} as const;

/** The settings of {@linkcode LLM_REQUIRED}. */
const LLM_DEFAULTS: Config = {
  ...DEFAULTS,
  responder: "llm",
  llm: { ...DEFAULTS.llm, apiKey: "sk-test", model: "gpt-4o-mini" },
};

/** Loads a config from `variables`. */
function load(
  variables: Record<string, string>,
  options?: LoadConfigOptions,
): Config {
  return loadConfig(new Map(Object.entries(variables)), options);
}

/** Loads `variables`, expecting a ConfigError, and returns it. */
function configErrorOf(
  variables: Record<string, string>,
  options?: LoadConfigOptions,
): ConfigError {
  let caught: unknown;
  try {
    load(variables, options);
  } catch (error) {
    caught = error;
  }
  assert.ok(
    caught instanceof ConfigError,
    `expected a ConfigError for ${JSON.stringify(variables)}, got ${caught}`,
  );
  return caught;
}

/** Loads `variables`, expecting a ConfigError, and returns its problems. */
function problemsOf(
  variables: Record<string, string>,
  options?: LoadConfigOptions,
): readonly string[] {
  return configErrorOf(variables, options).problems;
}

/** A `readTextFile` that records the paths it is asked for and returns `text`. */
function fakeReadTextFile(text: string) {
  const paths: string[] = [];
  return {
    paths,
    readTextFile(path: string): string {
      paths.push(path);
      return text;
    },
  };
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

Deno.test("loadConfig() returns the defaults when no variable is set", async (t) => {
  await t.step("whole Config object", () => {
    assert.deepStrictEqual(loadConfig(new Map()), DEFAULTS);
  });

  await t.step("frozen, lists and llm included", () => {
    const config = loadConfig(new Map());
    assert.ok(Object.isFrozen(config));
    assert.ok(Object.isFrozen(config.allowedIps));
    assert.ok(Object.isFrozen(config.trustProxy));
    assert.ok(Object.isFrozen(config.llm));
    assert.throws(() => {
      (config as { port: number }).port = 1;
    }, TypeError);
  });

  await t.step(
    "each default of SETTINGS, set explicitly, gives the same",
    () => {
      const fromTable = loadConfig(
        new Map(
          Object.entries(SETTINGS).map(([name, setting]) => [
            name,
            setting.default,
          ]),
        ),
      );
      assert.deepStrictEqual(fromTable, DEFAULTS);
    },
  );

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
        WS_SECRET: "ws-secret_0123456789.~",
        RESPONDER: "dummy",
        LOG_LEVEL: "debug",
        METRICS_ALLOWED_IPS: "10.9.0.0/16, 2001:db8::1",
        METRICS_TOKEN: "scrape-token-0123456789",
        PLAYGROUND: "true",
        AUTO_RECONNECT: "0",
        CALL_DETAILS: "OFF",
        TRANSCRIPT_WITH_TOOL_CALLS: "On",
        RESPONDER_TIMEOUT_MS: "5000",
        TURN_STALL_MS: "0",
        SHUTDOWN_GRACE_MS: "0",
        MAX_CALLS: "10",
        MAX_CALLS_PER_ADDRESS: "0",
        MAX_FRAME_BYTES: "65536",
        MAX_TRANSCRIPT_ITEMS: "50",
        MAX_CALL_DETAILS_BYTES: "4096",
        MAX_FRAMES_PER_SECOND: "20",
        SLOW_READER_BYTES: "262144",
        SLOW_READER_MS: "1000",
        CALL_STORE: "redis",
        KV_PATH: "/var/lib/retell/calls.sqlite",
        REDIS_URL: "redis://127.0.0.1:6379",
        CALL_STORE_TTL_HOURS: "0.5",
      }),
      {
        port: 9000,
        listenHost: "::",
        allowedIps: ["10.0.0.0/8", "::1"],
        allowLoopback: true,
        trustProxy: ["127.0.0.1", "172.16.0.0/12"],
        websocketPath: "/retell/ws",
        wsSecret: "ws-secret_0123456789.~",
        responder: "dummy",
        logLevel: "debug",
        metricsAllowedIps: ["10.9.0.0/16", "2001:db8::1"],
        metricsToken: "scrape-token-0123456789",
        playground: true,
        autoReconnect: false,
        callDetails: false,
        transcriptWithToolCalls: true,
        responderTimeoutMs: 5000,
        turnStallMs: 0,
        shutdownGraceMs: 0,
        maxCalls: 10,
        maxCallsPerAddress: 0,
        maxFrameBytes: 65536,
        maxTranscriptItems: 50,
        maxCallDetailsBytes: 4096,
        maxFramesPerSecond: 20,
        slowReaderBytes: 262144,
        slowReaderMs: 1000,
        callStore: "redis",
        kvPath: "/var/lib/retell/calls.sqlite",
        redisUrl: "redis://127.0.0.1:6379",
        agentsFile: undefined,
        agents: [],
        callStoreTtlHours: 0.5,
        llm: DEFAULTS.llm,
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

Deno.test("loadConfig() treats an empty value as a value only for lists and BEGIN_MESSAGE", async (t) => {
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

  await t.step('METRICS_ALLOWED_IPS="" leaves only the token', () => {
    assert.deepStrictEqual(load({ METRICS_ALLOWED_IPS: "" }), {
      ...DEFAULTS,
      metricsAllowedIps: [],
    });
  });

  await t.step(
    'PORT="" and every other empty variable means the default',
    () => {
      assert.deepStrictEqual(load({ PORT: "" }), DEFAULTS);
      const empty = SETTING_NAMES
        .filter((name) =>
          ![
            "ALLOWED_IPS",
            "TRUST_PROXY",
            "METRICS_ALLOWED_IPS",
            "BEGIN_MESSAGE",
          ].includes(name)
        )
        .map((name) => [name, ""] as const);
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

  await t.step("the settings issues 11 and 12 added", () => {
    assertRefused("PLAYGROUND", "maybe", "must be true or false", '"maybe"');
    for (const value of ["-1", "soon", "600001"]) {
      assertRefused("TOOL_PROGRESS_MS", value, JSON.stringify(value));
    }
    assertRefused(
      "OPENAI_FALLBACK_BASE_URL",
      "ftp://models.example",
      "must be an http or https URL",
    );
    assertRefused(
      "OPENAI_FALLBACK_BASE_URL",
      "not a url",
      "must be an http or https URL",
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

  await t.step('METRICS_ALLOWED_IPS "10.0.0.0/40" quotes the rule', () => {
    assertRefused("METRICS_ALLOWED_IPS", "10.0.0.0/40", "10.0.0.0/40");
  });

  await t.step("METRICS_TOKEN shorter than 16 characters, value hidden", () => {
    const token = "short-token";
    assertRefused(
      "METRICS_TOKEN",
      token,
      "must be empty or at least 16 characters",
    );
    const [line] = problemsOf({ METRICS_TOKEN: token });
    assert.ok(!line!.includes(token), line);
  });

  await t.step("WS_SECRET short or not URL-safe, value hidden", () => {
    for (const secret of ["short-secret", "has/a/slash-0123456789"]) {
      assertRefused(
        "WS_SECRET",
        secret,
        "must be empty or at least 16 letters, digits and . _ ~ -",
      );
      const [line] = problemsOf({ WS_SECRET: secret });
      assert.ok(!line!.includes(secret), line);
    }
  });

  await t.step('TURN_STALL_MS "-1" and "600001"', () => {
    for (const value of ["-1", "600001"]) {
      assertRefused(
        "TURN_STALL_MS",
        value,
        "must be a whole number from 0 to 600000",
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
    'CALL_STORE "postgres", CALL_STORE_TTL_HOURS "0" and "1e3"',
    () => {
      assertRefused(
        "CALL_STORE",
        "postgres",
        "must be one of memory, kv, redis",
        '"postgres"',
      );
      for (const value of ["0", "1e3", "9000"]) {
        assertRefused(
          "CALL_STORE_TTL_HOURS",
          value,
          "must be a number of hours above 0, at most 8760",
          JSON.stringify(value),
        );
      }
    },
  );

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

Deno.test("loadConfig() reads the llm settings when RESPONDER=llm", async (t) => {
  await t.step("OPENAI_API_KEY and OPENAI_MODEL alone are enough", () => {
    assert.deepStrictEqual(load(LLM_REQUIRED), LLM_DEFAULTS);
  });

  await t.step("every llm variable at a non-default value", () => {
    assert.deepStrictEqual(
      load({
        ...LLM_REQUIRED,
        OPENAI_BASE_URL: "http://localhost:11434/v1",
        AGENT_PROMPT: "You are a receptionist for {{clinic}}.",
        BEGIN_MESSAGE: "Hi {{customer_name}}!",
        LLM_TEMPERATURE: "0.7",
        LLM_MAX_TOKENS: "256",
        LLM_FIRST_TOKEN_TIMEOUT_MS: "3000",
        LLM_STALL_TIMEOUT_MS: "4000",
        TRANSFER_NUMBER: "+14155550123",
      }),
      {
        ...LLM_DEFAULTS,
        llm: {
          apiKey: "sk-test",
          baseUrl: "http://localhost:11434/v1",
          model: "gpt-4o-mini",
          fallbackModel: undefined,
          fallbackBaseUrl: undefined,
          fallbackApiKey: undefined,
          prompt: "You are a receptionist for {{clinic}}.",
          beginMessage: "Hi {{customer_name}}!",
          temperature: 0.7,
          maxTokens: 256,
          firstTokenTimeoutMs: 3000,
          stallTimeoutMs: 4000,
          toolProgressMs: 2500,
          transferNumber: "+14155550123",
        },
      },
    );
  });

  await t.step("OPENAI_API_KEY and OPENAI_MODEL are required", () => {
    assert.deepStrictEqual(problemsOf({ RESPONDER: "llm" }), [
      "OPENAI_API_KEY is required when RESPONDER=llm",
      "OPENAI_MODEL is required when RESPONDER=llm",
    ]);
    assert.deepStrictEqual(
      problemsOf({ RESPONDER: "llm", OPENAI_API_KEY: "sk-test" }),
      ["OPENAI_MODEL is required when RESPONDER=llm"],
    );
    assert.deepStrictEqual(
      problemsOf({ RESPONDER: "llm", OPENAI_API_KEY: "  ", OPENAI_MODEL: "m" }),
      ["OPENAI_API_KEY is required when RESPONDER=llm"],
    );
  });

  await t.step("neither is required when RESPONDER=dummy", () => {
    assert.deepStrictEqual(load({ RESPONDER: "dummy" }), DEFAULTS);
  });

  await t.step("both are reported next to any other bad variable", () => {
    for (
      const [name, value] of [
        ["PORT", "x"],
        ["LOG_LEVEL", "verbose"],
        ["AUTO_RECONNECT", "maybe"],
        ["ALLOWED_IPS", "bad"],
      ]
    ) {
      assert.deepStrictEqual(
        problemsOf({ RESPONDER: "llm", [name!]: value! }).map((line) =>
          line.split(" ")[0]
        ),
        [name, "OPENAI_API_KEY", "OPENAI_MODEL"],
      );
    }
  });

  await t.step("the key's value never appears in a ConfigError", () => {
    const secret = "sk-secret-123";
    for (
      const variables of [
        { ...LLM_REQUIRED, OPENAI_API_KEY: secret, PORT: "80a" },
        { ...LLM_REQUIRED, OPENAI_API_KEY: secret, LLM_TEMPERATURE: "warm" },
        { ...LLM_REQUIRED, OPENAI_API_KEY: secret, OPENAI_MODEL: "" },
        { RESPONDER: "dummy", OPENAI_API_KEY: secret, LOG_LEVEL: "loud" },
      ] as Record<string, string>[]
    ) {
      const error = configErrorOf(variables);
      assert.ok(error.problems.length > 0);
      for (const line of error.problems) {
        assert.ok(!line.includes(secret), line);
      }
      assert.ok(!error.message.includes(secret), error.message);
      assert.ok(!error.message.includes("secret-123"), error.message);
      assert.ok(!String(error.stack).includes(secret), String(error.stack));
    }
  });

  await t.step("AGENT_PROMPT becomes llm.prompt", () => {
    assert.deepStrictEqual(
      load({ ...LLM_REQUIRED, AGENT_PROMPT: "Be brief." }),
      { ...LLM_DEFAULTS, llm: { ...LLM_DEFAULTS.llm, prompt: "Be brief." } },
    );
  });

  await t.step("AGENT_PROMPT_FILE is read through readTextFile", () => {
    const text = "You are the front desk of {{clinic}}.\nBe brief.\n";
    const fake = fakeReadTextFile(text);
    assert.deepStrictEqual(
      load({ ...LLM_REQUIRED, AGENT_PROMPT_FILE: "prompts/agent.md" }, fake),
      { ...LLM_DEFAULTS, llm: { ...LLM_DEFAULTS.llm, prompt: text.trim() } },
    );
    assert.deepStrictEqual(fake.paths, ["prompts/agent.md"]);
  });

  await t.step("an empty AGENT_PROMPT_FILE is refused", () => {
    const problems = problemsOf(
      { ...LLM_REQUIRED, AGENT_PROMPT_FILE: "empty.md" },
      fakeReadTextFile(" \n\t\n"),
    );
    assert.deepStrictEqual(problems, [
      'AGENT_PROMPT_FILE names an empty file: current value is "empty.md"',
    ]);
  });

  await t.step(
    "an unreadable AGENT_PROMPT_FILE is reported with other problems",
    () => {
      const problems = problemsOf(
        { ...LLM_REQUIRED, PORT: "x", AGENT_PROMPT_FILE: "/nope" },
        {
          readTextFile() {
            throw new Deno.errors.NotFound("No such file or directory");
          },
        },
      );
      assert.deepStrictEqual(problems.map((line) => line.split(" ")[0]), [
        "PORT",
        "AGENT_PROMPT_FILE",
      ]);
    },
  );

  await t.step(
    "an unreadable AGENT_PROMPT_FILE is one problem naming it and the path",
    () => {
      const paths: string[] = [];
      const problems = problemsOf(
        { ...LLM_REQUIRED, AGENT_PROMPT_FILE: "/missing/prompt.txt" },
        {
          readTextFile(path) {
            paths.push(path);
            throw new Deno.errors.NotFound(
              `No such file or directory (os error 2): readfile '${path}'`,
            );
          },
        },
      );
      assert.deepStrictEqual(paths, ["/missing/prompt.txt"]);
      assert.equal(problems.length, 1, JSON.stringify(problems));
      const line = problems[0]!;
      assert.ok(line.startsWith("AGENT_PROMPT_FILE "), line);
      assert.ok(line.includes('"/missing/prompt.txt"'), line);
      assert.ok(!line.includes("\n"), line);
    },
  );

  await t.step(
    "AGENT_PROMPT and AGENT_PROMPT_FILE together are refused",
    () => {
      const fake = fakeReadTextFile("From the file.");
      const problems = problemsOf(
        {
          ...LLM_REQUIRED,
          AGENT_PROMPT: "Inline.",
          AGENT_PROMPT_FILE: "prompt.txt",
        },
        fake,
      );
      assert.equal(problems.length, 1, JSON.stringify(problems));
      const line = problems[0]!;
      assert.ok(line.startsWith("AGENT_PROMPT_FILE "), line);
      assert.match(line, /\bAGENT_PROMPT\b/);
      assert.deepStrictEqual(fake.paths, []);
    },
  );

  await t.step("AGENT_PROMPT_FILE is not read when RESPONDER=dummy", () => {
    const fake = fakeReadTextFile("From the file.");
    assert.deepStrictEqual(
      load({ AGENT_PROMPT_FILE: "prompt.txt" }, fake),
      DEFAULTS,
    );
    assert.deepStrictEqual(fake.paths, []);
  });

  await t.step('BEGIN_MESSAGE="" is kept (the caller speaks first)', () => {
    assert.equal(
      load({ ...LLM_REQUIRED, BEGIN_MESSAGE: "" }).llm.beginMessage,
      "",
    );
    assert.equal(
      load({ ...LLM_REQUIRED, BEGIN_MESSAGE: "   " }).llm.beginMessage,
      "",
    );
    assert.equal(
      load(LLM_REQUIRED).llm.beginMessage,
      "Hello! How can I help you today?",
    );
  });

  await t.step('LLM_TEMPERATURE "0.7" → 0.7, "0" and "2" at the ends', () => {
    assert.equal(
      load({ ...LLM_REQUIRED, LLM_TEMPERATURE: "0.7" }).llm.temperature,
      0.7,
    );
    assert.equal(
      load({ ...LLM_REQUIRED, LLM_TEMPERATURE: "0" }).llm.temperature,
      0,
    );
    assert.equal(
      load({ ...LLM_REQUIRED, LLM_TEMPERATURE: "2" }).llm.temperature,
      2,
    );
  });

  await t.step('LLM_TEMPERATURE "3", "warm" and "-1" refused', () => {
    for (const value of ["3", "warm", "-1", "2.01"]) {
      assertRefused(
        "LLM_TEMPERATURE",
        value,
        "must be a number from 0 to 2",
        JSON.stringify(value),
      );
    }
  });

  await t.step('LLM_MAX_TOKENS "256" → 256, "0" refused', () => {
    assert.equal(
      load({ ...LLM_REQUIRED, LLM_MAX_TOKENS: "256" }).llm.maxTokens,
      256,
    );
    for (const value of ["0", "-1", "1.5", "lots"]) {
      assertRefused(
        "LLM_MAX_TOKENS",
        value,
        "must be a whole number",
        JSON.stringify(value),
      );
    }
  });

  await t.step(
    'LLM_FIRST_TOKEN_TIMEOUT_MS and LLM_STALL_TIMEOUT_MS "0" refused',
    () => {
      assertRefused(
        "LLM_FIRST_TOKEN_TIMEOUT_MS",
        "0",
        "must be a whole number",
        '"0"',
      );
      assertRefused(
        "LLM_STALL_TIMEOUT_MS",
        "0",
        "must be a whole number",
        '"0"',
      );
    },
  );

  await t.step(
    'TRANSFER_NUMBER "+14155550123" ok; "4155550123" and "+1 415" refused',
    () => {
      assert.equal(
        load({ ...LLM_REQUIRED, TRANSFER_NUMBER: "+14155550123" }).llm
          .transferNumber,
        "+14155550123",
      );
      for (const value of ["4155550123", "+1 415", "+0123456789"]) {
        assertRefused(
          "TRANSFER_NUMBER",
          value,
          "must be an E.164 number",
          JSON.stringify(value),
        );
      }
    },
  );

  await t.step(
    'OPENAI_BASE_URL "http://localhost:11434/v1" ok; "ftp://x" and "not a url" refused',
    () => {
      assert.equal(
        load({ ...LLM_REQUIRED, OPENAI_BASE_URL: "http://localhost:11434/v1" })
          .llm.baseUrl,
        "http://localhost:11434/v1",
      );
      for (const value of ["ftp://x", "not a url"]) {
        assertRefused(
          "OPENAI_BASE_URL",
          value,
          "must be an http or https URL",
          JSON.stringify(value),
        );
      }
    },
  );
});
