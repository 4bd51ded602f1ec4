import assert from "node:assert/strict";
import {
  DEFAULT_SIMULATOR_URL,
  parseSimulatorArgs,
  SIMULATOR_USAGE,
  type SimulatorFlags,
} from "../../src/simulator/args.ts";

const DEFAULTS: SimulatorFlags = {
  url: DEFAULT_SIMULATOR_URL,
  script: undefined,
  json: false,
  variables: {},
  callId: undefined,
  reminderMs: 10_000,
  timeoutMs: undefined,
  noWait: false,
  reconnectAfter: undefined,
  help: false,
};

/** The flags of `args`, failing the test when they cannot be used. */
function flagsOf(args: string[]): SimulatorFlags {
  const parsed = parseSimulatorArgs(args);
  if (!parsed.ok) throw new Error(parsed.reason);
  return parsed.flags;
}

/** Why `args` cannot be used, failing the test when they can. */
function reasonOf(args: string[]): string {
  const parsed = parseSimulatorArgs(args);
  if (parsed.ok) throw new Error(`${args.join(" ")} was accepted`);
  return parsed.reason;
}

Deno.test("parseSimulatorArgs() gives the defaults for no arguments", () => {
  assert.deepStrictEqual(flagsOf([]), DEFAULTS);
});

Deno.test("parseSimulatorArgs() reads every flag", async (t) => {
  const table: Array<[string[], Partial<SimulatorFlags>]> = [
    [["ws://127.0.0.1:9/llm"], { url: "ws://127.0.0.1:9/llm" }],
    [["--script", "a.json"], { script: "a.json" }],
    [["--script=a.json"], { script: "a.json" }],
    [["--json"], { json: true }],
    [["--var", "customer_name=Dana"], {
      variables: { customer_name: "Dana" },
    }],
    [["--var=greeting=a=b", "--var", "empty="], {
      variables: { greeting: "a=b", empty: "" },
    }],
    [["--var", "name=Ann", "--var", "name=Bo"], { variables: { name: "Bo" } }],
    [["--call-id", "sim_fixed"], { callId: "sim_fixed" }],
    [["--call-id=sim_fixed"], { callId: "sim_fixed" }],
    [["--reminder-ms", "0"], { reminderMs: 0 }],
    [["--reminder-ms=2500"], { reminderMs: 2500 }],
    [["--timeout-ms", "1"], { timeoutMs: 1 }],
    [["--timeout-ms=750"], { timeoutMs: 750 }],
    [["--no-wait"], { noWait: true }],
    [["--reconnect-after", "2"], { reconnectAfter: 2 }],
    [["--reconnect-after=1"], { reconnectAfter: 1 }],
    [["--help"], { help: true }],
    [["-h"], { help: true }],
    [["-"], { url: "-" }],
    [["--", "ws://127.0.0.1:9/llm"], { url: "ws://127.0.0.1:9/llm" }],
    [
      ["--json", "ws://127.0.0.1:9/llm", "--script", "a.json", "--call-id=c"],
      {
        url: "ws://127.0.0.1:9/llm",
        json: true,
        script: "a.json",
        callId: "c",
      },
    ],
  ];
  for (const [args, expected] of table) {
    await t.step(args.join(" "), () => {
      assert.deepStrictEqual(flagsOf(args), { ...DEFAULTS, ...expected });
    });
  }
});

Deno.test("parseSimulatorArgs() says why it cannot use bad arguments", async (t) => {
  const table: Array<[string[], string]> = [
    [["--frobnicate"], "Cannot use --frobnicate: there is no such option"],
    [["-x"], "Cannot use -x: there is no such option"],
    [["--Json"], "Cannot use --Json: there is no such option"],
    [["--script"], "Cannot use --script: it needs a value"],
    [
      ["--script="],
      'Cannot use --script as it needs a value: current value is ""',
    ],
    [["--call-id"], "Cannot use --call-id: it needs a value"],
    [
      ["--var"],
      "Cannot use --var: it needs NAME=VALUE, such as --var customer_name=Dana",
    ],
    [
      ["--var", "novalue"],
      'Cannot use --var as it needs NAME=VALUE, such as --var customer_name=Dana: current value is "novalue"',
    ],
    [
      ["--var", "=Dana"],
      'Cannot use --var as it needs NAME=VALUE, such as --var customer_name=Dana: current value is "=Dana"',
    ],
    [
      ["--timeout-ms", "soon"],
      'Cannot use --timeout-ms as it needs a whole number of ms above 0: current value is "soon"',
    ],
    [
      ["--timeout-ms", "0"],
      'Cannot use --timeout-ms as it needs a whole number of ms above 0: current value is "0"',
    ],
    [
      ["--timeout-ms=1.5"],
      'Cannot use --timeout-ms as it needs a whole number of ms above 0: current value is "1.5"',
    ],
    [
      ["--timeout-ms"],
      "Cannot use --timeout-ms: it needs a whole number of ms above 0",
    ],
    [
      ["--reconnect-after", "0"],
      'Cannot use --reconnect-after as it needs a whole number of turns above 0: current value is "0"',
    ],
    [
      ["--reminder-ms=-5"],
      'Cannot use --reminder-ms as it needs a whole number of ms: current value is "-5"',
    ],
    [
      ["--reminder-ms", "-5"],
      'Cannot use --reminder-ms as it needs a whole number of ms: current value is "-5"',
    ],
    [
      ["--reminder-ms", " "],
      'Cannot use --reminder-ms as it needs a whole number of ms: current value is " "',
    ],
    [
      ["ws://a/x", "ws://b/y"],
      "Cannot use 2 URLs: give at most one, got ws://a/x ws://b/y",
    ],
    [
      ["--timeout-ms", "soon", "--frobnicate"],
      'Cannot use --timeout-ms as it needs a whole number of ms above 0: current value is "soon"',
    ],
  ];
  for (const [args, reason] of table) {
    await t.step(args.join(" "), () => {
      assert.equal(reasonOf(args), reason);
    });
  }
});

Deno.test("SIMULATOR_USAGE names every flag and the default URL", () => {
  for (
    const flag of [
      "--script FILE",
      "--json",
      "--var NAME=VALUE",
      "--call-id ID",
      "--reminder-ms N",
      "--timeout-ms N",
      "--no-wait",
      "--reconnect-after N",
      "-h, --help",
    ]
  ) {
    assert.ok(SIMULATOR_USAGE.includes(flag), flag);
  }
  assert.ok(SIMULATOR_USAGE.includes(`(default ${DEFAULT_SIMULATOR_URL})`));
});
