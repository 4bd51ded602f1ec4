import assert from "node:assert/strict";
import { parseScenario } from "../../src/simulator/scenario.ts";

const SHIPPED = ["dummy", "barge_in", "keepalive"];

Deno.test("parseScenario() accepts the shipped scenarios", async () => {
  for (const name of SHIPPED) {
    const parsed = parseScenario(
      await Deno.readTextFile(`tests/scenarios/${name}.json`),
    );
    assert.ok(parsed.ok, parsed.ok ? "" : `${name}: ${parsed.reason}`);
  }
});

Deno.test("parseScenario() names the field at fault", async (t) => {
  const cases: Array<[string, unknown, string]> = [
    ["a file that is not an object", [1], "Invalid input: expected object"],
    ["a missing steps list", { name: "x" }, "steps: Invalid input"],
    ["no steps", { steps: [] }, "steps: Too small"],
    [
      "an unknown top-level key",
      { steps: [{ say: "Hi" }], stpes: [] },
      'Unrecognized key: "stpes"',
    ],
    [
      "a variable that is not a string",
      { variables: { count: 2 }, steps: [{ say: "Hi" }] },
      "variables.count: Invalid input: expected string, received number",
    ],
    [
      "a wrong wait",
      { steps: [{ say: "Hi" }, { say: "Hello", wait: "later" }] },
      'steps[1].wait: Invalid option: expected one of "complete"|"first_frame"|"none"',
    ],
    [
      "a step of no known kind",
      { steps: [{ sya: "Hi" }] },
      'steps[0]: a step has exactly one of "say", "silence", "pause_ms", "expect_begin"',
    ],
    [
      "a step of two kinds",
      { steps: [{ say: "Hi", pause_ms: 3 }] },
      'found "say" and "pause_ms"',
    ],
    [
      "a misspelled expectation",
      { steps: [{ say: "Hi", expect: { contain: "x" } }] },
      'steps[0].expect: Unrecognized key: "contain"',
    ],
    [
      "a number where text is expected",
      { steps: [{ silence: true, expect: { contains: 3 } }] },
      "steps[0].expect.contains: Invalid input: expected a string or a list of strings",
    ],
    [
      "an unknown action",
      { steps: [{ expect_begin: { action: "hang_up" } }] },
      "steps[0].expect_begin.action: Invalid option",
    ],
    [
      "a negative pause",
      { steps: [{ pause_ms: -1 }] },
      "steps[0].pause_ms: Too small",
    ],
  ];
  for (const [name, value, expected] of cases) {
    await t.step(name, () => {
      const parsed = parseScenario(JSON.stringify(value));
      assert.ok(!parsed.ok);
      assert.ok(
        parsed.reason.includes(expected),
        `expected ${JSON.stringify(expected)} in:\n${parsed.reason}`,
      );
    });
  }
  await t.step("text that is not JSON", () => {
    const parsed = parseScenario("{ steps: ");
    assert.ok(
      !parsed.ok && parsed.reason.startsWith("Cannot parse scenario as JSON:"),
    );
  });
  await t.step("every problem at once, one per line", () => {
    const parsed = parseScenario(JSON.stringify({
      steps: [{ say: "" }, { pause_ms: 1.5 }, { silence: false }],
    }));
    assert.ok(!parsed.ok);
    assert.deepStrictEqual(
      parsed.reason.split("\n").map((line) => line.split(":")[0]),
      ["steps[0].say", "steps[1].pause_ms", "steps[2].silence"],
    );
  });
});
