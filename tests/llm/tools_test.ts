import assert from "node:assert/strict";
import { z } from "zod";
import { offlineCall } from "../_support/call.ts";
import {
  type ArgumentsSchema,
  defineTool,
  type ParsedArguments,
  type ToolContext,
  type ValidationResult,
} from "../../src/llm/tools.ts";

/** A tool with a small zod schema whose handler echoes its arguments. */
function bookingTool() {
  return defineTool({
    name: "book_table",
    description: "Books a table.",
    parameters: z.object({
      party: z.number().int().min(1).max(20),
      name: z.string(),
      note: z.string().optional(),
    }),
    holdingLine: "One moment while I book that.",
    handler: (args) => args,
  });
}

/** A tool context for `run`, with a fresh signal. */
function toolContext(toolCallId = "call_1"): ToolContext {
  const signal = new AbortController().signal;
  return {
    call: offlineCall({ callId: "call_abc", signal }),
    signal,
    toolCallId,
  };
}

/** Asserts `parsed` failed and returns its error text. */
function errorOf(parsed: ParsedArguments): string {
  assert.equal(parsed.ok, false, JSON.stringify(parsed));
  return (parsed as { error: string }).error;
}

/** Asserts `parsed` succeeded and returns it. */
function okOf(parsed: ParsedArguments): { value: unknown; key: string } {
  assert.equal(parsed.ok, true, JSON.stringify(parsed));
  return parsed as { value: unknown; key: string };
}

/**
 * A hand-written Standard Schema (not zod's): accepts an object with a
 * string `city`, else reports issues with the given paths.
 */
function citySchema(
  issues: Extract<ValidationResult<unknown>, { issues: unknown }>["issues"],
): ArgumentsSchema<{ city: string }> {
  return {
    "~standard": {
      version: 1,
      vendor: "test",
      validate(value) {
        if (
          typeof value === "object" && value !== null &&
          typeof (value as { city?: unknown }).city === "string"
        ) {
          return { value: { city: (value as { city: string }).city } };
        }
        return { issues };
      },
    },
  };
}

const CITY_JSON_SCHEMA = {
  type: "object",
  properties: { city: { type: "string" } },
  required: ["city"],
};

Deno.test("defineTool() converts a zod schema to the JSON Schema sent to the model", async (t) => {
  const tool = bookingTool();

  await t.step("name, description and holding line are kept", () => {
    assert.equal(tool.name, "book_table");
    assert.equal(tool.description, "Books a table.");
    assert.equal(tool.holdingLine, "One moment while I book that.");
  });

  await t.step("parameters: type object, properties, required", () => {
    assert.equal(tool.parameters.type, "object");
    assert.deepStrictEqual(tool.parameters.properties, {
      party: { type: "integer", minimum: 1, maximum: 20 },
      name: { type: "string" },
      note: { type: "string" },
    });
    assert.deepStrictEqual(tool.parameters.required, ["party", "name"]);
  });

  await t.step("no $schema key", () => {
    assert.equal(Object.hasOwn(tool.parameters, "$schema"), false);
  });

  await t.step("a simple schema, whole value", () => {
    const simple = defineTool({
      name: "lookup",
      description: "Looks up a customer.",
      parameters: z.object({ phone: z.string() }),
      handler: () => "",
    });
    assert.deepStrictEqual(simple.parameters, {
      type: "object",
      properties: { phone: { type: "string" } },
      required: ["phone"],
    });
  });

  await t.step("holdingLine is undefined when not given", () => {
    const quiet = defineTool({
      name: "quiet",
      description: "No holding line.",
      parameters: z.object({}),
      handler: () => "",
    });
    assert.equal(quiet.holdingLine, undefined);
  });
});

Deno.test("defineTool() parse() accepts valid arguments with a key", async (t) => {
  const tool = bookingTool();

  await t.step("valid arguments → ok with the value and a key", async () => {
    const parsed = okOf(await tool.parse('{"party":2,"name":"Dana"}'));
    assert.deepStrictEqual(parsed.value, { party: 2, name: "Dana" });
    assert.equal(typeof parsed.key, "string");
  });

  await t.step("the key ignores key order", async () => {
    const ab = okOf(await tool.parse('{"party":2,"name":"Dana"}'));
    const ba = okOf(await tool.parse('{ "name": "Dana", "party": 2 }'));
    assert.equal(ab.key, ba.key);
  });

  await t.step("the key is equal for {a:1,b:2} and {b:2,a:1}", async () => {
    const loose = defineTool({
      name: "loose",
      description: "Any numbers.",
      parameters: z.object({ a: z.number(), b: z.number() }),
      handler: () => "",
    });
    const first = okOf(await loose.parse('{"a":1,"b":2}'));
    const second = okOf(await loose.parse('{"b":2,"a":1}'));
    assert.equal(first.key, second.key);
    const other = okOf(await loose.parse('{"a":2,"b":1}'));
    assert.notEqual(first.key, other.key);
  });

  await t.step("the key ignores key order in nested objects", async () => {
    const nested = defineTool({
      name: "nested",
      description: "Nested.",
      parameters: z.object({
        who: z.object({ first: z.string(), last: z.string() }),
        tags: z.array(z.string()),
      }),
      handler: () => "",
    });
    const first = okOf(
      await nested.parse(
        '{"who":{"first":"D","last":"S"},"tags":["x","y"]}',
      ),
    );
    const second = okOf(
      await nested.parse(
        '{"tags":["x","y"],"who":{"last":"S","first":"D"}}',
      ),
    );
    assert.equal(first.key, second.key);
    const reordered = okOf(
      await nested.parse(
        '{"tags":["y","x"],"who":{"last":"S","first":"D"}}',
      ),
    );
    assert.notEqual(first.key, reordered.key, "array order matters");
  });

  await t.step("different values give different keys", async () => {
    const two = okOf(await tool.parse('{"party":2,"name":"Dana"}'));
    const three = okOf(await tool.parse('{"party":3,"name":"Dana"}'));
    const other = okOf(await tool.parse('{"party":2,"name":"Fox"}'));
    const noted = okOf(
      await tool.parse('{"party":2,"name":"Dana","note":"window"}'),
    );
    assert.equal(new Set([two.key, three.key, other.key, noted.key]).size, 4);
  });

  await t.step("the value is the schema's output", async () => {
    const trimming = defineTool({
      name: "trimming",
      description: "Trims.",
      parameters: z.object({ city: z.string().trim().toLowerCase() }),
      handler: () => "",
    });
    const parsed = okOf(await trimming.parse('{"city":"  Paris "}'));
    assert.deepStrictEqual(parsed.value, { city: "paris" });
    const same = okOf(await trimming.parse('{"city":"paris"}'));
    assert.equal(parsed.key, same.key);
  });

  await t.step("empty argument text counts as {}", async () => {
    const noArgs = defineTool({
      name: "no_args",
      description: "Takes nothing.",
      parameters: z.object({}),
      handler: () => "",
    });
    for (const text of ["", "  ", "\n"]) {
      const parsed = okOf(await noArgs.parse(text));
      assert.deepStrictEqual(parsed.value, {}, JSON.stringify(text));
      assert.equal(parsed.key, okOf(await noArgs.parse("{}")).key);
    }
  });
});

Deno.test("defineTool() parse() refuses bad arguments with an error for the model", async (t) => {
  const tool = bookingTool();

  await t.step("invalid JSON → ok:false naming the tool", async () => {
    for (const text of ["{", '{"party": 2,', "party=2", "{'a':1}"]) {
      assert.equal(
        errorOf(await tool.parse(text)),
        `Cannot read the arguments of tool "book_table" as JSON: ${
          JSON.stringify(text)
        }`,
      );
    }
  });

  await t.step("empty text fails when the schema needs fields", async () => {
    const error = errorOf(await tool.parse(""));
    assert.ok(error.includes("book_table"), error);
    assert.ok(error.includes("party"), error);
    assert.ok(error.includes("name"), error);
  });

  await t.step("a wrong field type names the field", async () => {
    const error = errorOf(await tool.parse('{"party":"two","name":"Dana"}'));
    assert.ok(
      error.startsWith(
        'Cannot call tool "book_table" with these arguments: ',
      ),
      error,
    );
    assert.ok(error.includes("party: "), error);
    assert.ok(!error.includes("name: "), error);
  });

  await t.step("a nested field is named by its whole path", async () => {
    const nested = defineTool({
      name: "nested",
      description: "Nested.",
      parameters: z.object({
        patient: z.object({ age: z.number() }),
        slots: z.array(z.string()),
      }),
      handler: () => "",
    });
    const error = errorOf(
      await nested.parse('{"patient":{"age":"old"},"slots":["9:00",10]}'),
    );
    assert.ok(
      error.startsWith('Cannot call tool "nested" with these arguments: '),
      error,
    );
    assert.ok(error.includes("patient.age: "), error);
    assert.ok(error.includes("slots[1]: "), error);
    assert.ok(error.includes("; "), `problems joined by "; ": ${error}`);
  });

  await t.step("JSON that is not an object is refused", async () => {
    for (const text of ["null", "[]", "2", '"x"']) {
      const error = errorOf(await tool.parse(text));
      assert.ok(error.includes("book_table"), error);
    }
  });
});

Deno.test("defineTool() run() reports the handler's result and never throws", async (t) => {
  await t.step("a string result is passed through", async () => {
    const tool = defineTool({
      name: "hours",
      description: "Opening hours.",
      parameters: z.object({}),
      handler: () => "9 to 5",
    });
    assert.deepStrictEqual(await tool.run({}, toolContext()), {
      content: "9 to 5",
      successful: true,
    });
  });

  await t.step("an object result is JSON-stringified", async () => {
    const tool = bookingTool();
    assert.deepStrictEqual(
      await tool.run({ party: 2, name: "Dana" }, toolContext()),
      { content: '{"party":2,"name":"Dana"}', successful: true },
    );
  });

  await t.step("an async handler is awaited", async () => {
    const tool = defineTool({
      name: "slow",
      description: "Slow.",
      parameters: z.object({}),
      handler: async () => {
        await Promise.resolve();
        return [1, 2];
      },
    });
    assert.deepStrictEqual(await tool.run({}, toolContext()), {
      content: "[1,2]",
      successful: true,
    });
  });

  await t.step(
    "a throwing handler → successful:false with the message",
    async () => {
      const tool = defineTool({
        name: "broken",
        description: "Always fails.",
        parameters: z.object({}),
        handler: () => {
          throw new Error("database is down");
        },
      });
      assert.deepStrictEqual(await tool.run({}, toolContext()), {
        content: 'Cannot run tool "broken": database is down',
        successful: false,
      });
    },
  );

  await t.step("a rejecting async handler → successful:false", async () => {
    const tool = defineTool({
      name: "rejects",
      description: "Rejects.",
      parameters: z.object({}),
      handler: async () => {
        await Promise.resolve();
        throw new TypeError("bad slot");
      },
    });
    const outcome = await tool.run({}, toolContext());
    assert.equal(outcome.successful, false);
    assert.ok(outcome.content.includes("bad slot"), outcome.content);
  });

  await t.step(
    "a thrown non-Error → successful:false with its text",
    async () => {
      const tool = defineTool({
        name: "throws_string",
        description: "Throws a string.",
        parameters: z.object({}),
        handler: () => {
          // deno-lint-ignore no-throw-literal -- what a careless handler does
          throw "quota exceeded";
        },
      });
      const outcome = await tool.run({}, toolContext());
      assert.equal(outcome.successful, false);
      assert.ok(outcome.content.includes("quota exceeded"), outcome.content);
    },
  );

  await t.step(
    "the handler receives the arguments and the context",
    async () => {
      const seen: { args: unknown; context: ToolContext }[] = [];
      const tool = defineTool({
        name: "spy",
        description: "Records its calls.",
        parameters: z.object({ city: z.string() }),
        handler: (args, context) => {
          seen.push({ args, context });
          return "ok";
        },
      });
      const context = toolContext("call_xyz");
      await tool.run({ city: "Paris" }, context);
      assert.equal(seen.length, 1);
      assert.deepStrictEqual(seen[0]!.args, { city: "Paris" });
      assert.equal(seen[0]!.context, context);
      assert.equal(seen[0]!.context.toolCallId, "call_xyz");
      assert.equal(seen[0]!.context.call.callId, "call_abc");
      assert.equal(seen[0]!.context.signal, context.signal);
    },
  );
});

Deno.test("defineTool() takes a Standard Schema that is not zod's", async (t) => {
  await t.step("without jsonSchema → TypeError", () => {
    assert.throws(
      () =>
        defineTool({
          name: "weather",
          description: "Weather.",
          parameters: citySchema([]),
          handler: () => "",
        }),
      (error: unknown) =>
        error instanceof TypeError && error.message.includes("weather") &&
        error.message.includes("jsonSchema"),
    );
  });

  await t.step("with jsonSchema → parameters is that schema", () => {
    const tool = defineTool({
      name: "weather",
      description: "Weather.",
      parameters: citySchema([]),
      jsonSchema: CITY_JSON_SCHEMA,
      handler: () => "",
    });
    assert.deepStrictEqual(tool.parameters, CITY_JSON_SCHEMA);
  });

  await t.step("valid arguments → the validator's value", async () => {
    const tool = defineTool({
      name: "weather",
      description: "Weather.",
      parameters: citySchema([]),
      jsonSchema: CITY_JSON_SCHEMA,
      handler: ({ city }) => `Sunny in ${city}`,
    });
    const parsed = okOf(await tool.parse('{"city":"Oslo","extra":1}'));
    assert.deepStrictEqual(parsed.value, { city: "Oslo" });
    assert.deepStrictEqual(await tool.run(parsed.value, toolContext()), {
      content: "Sunny in Oslo",
      successful: true,
    });
  });

  await t.step("its issues are reported, with their paths", async () => {
    const tool = defineTool({
      name: "weather",
      description: "Weather.",
      parameters: citySchema([
        { message: "city is required" },
        { message: "must be a string", path: ["where", { key: "city" }, 0] },
      ]),
      jsonSchema: CITY_JSON_SCHEMA,
      handler: () => "",
    });
    assert.deepStrictEqual(await tool.parse('{"town":"Oslo"}'), {
      ok: false,
      error:
        'Cannot call tool "weather" with these arguments: city is required; where.city[0]: must be a string',
    });
  });

  await t.step("an async validate is awaited", async () => {
    const tool = defineTool({
      name: "async_check",
      description: "Async.",
      parameters: {
        "~standard": {
          version: 1,
          vendor: "test",
          validate: (value: unknown) =>
            Promise.resolve(
              value !== null && typeof value === "object" && "id" in value
                ? { value: value as { id: unknown } }
                : { issues: [{ message: "id missing", path: ["id"] }] },
            ),
        },
      },
      jsonSchema: { type: "object" },
      handler: () => "",
    });
    assert.deepStrictEqual(
      okOf(await tool.parse('{"id":1}')).value,
      { id: 1 },
    );
    assert.deepStrictEqual(await tool.parse("{}"), {
      ok: false,
      error:
        'Cannot call tool "async_check" with these arguments: id: id missing',
    });
  });

  await t.step("a throwing validate → ok:false naming the tool", async () => {
    const tool = defineTool({
      name: "fragile",
      description: "Validator throws.",
      parameters: {
        "~standard": {
          version: 1,
          vendor: "test",
          validate: () => {
            throw new Error("validator crashed");
          },
        },
      },
      jsonSchema: { type: "object" },
      handler: () => "",
    });
    assert.equal(
      errorOf(await tool.parse("{}")),
      'Cannot check the arguments of tool "fragile": validator crashed',
    );
  });
});

Deno.test("defineTool() refuses a name that is not a valid function name", async (t) => {
  /** Defines a tool called `name`. */
  function named(name: string) {
    return defineTool({
      name,
      description: "A tool.",
      parameters: z.object({}),
      handler: () => "",
    });
  }

  await t.step('"has space", "", 65 characters and others → TypeError', () => {
    for (
      const name of [
        "has space",
        "",
        "a".repeat(65),
        "dot.name",
        "ünïcode",
        "a/b",
      ]
    ) {
      assert.throws(() => named(name), TypeError, JSON.stringify(name));
    }
  });

  await t.step("letters, digits, _ and -, up to 64 characters", () => {
    for (const name of ["a", "get_weather", "Check-Hours2", "a".repeat(64)]) {
      assert.equal(named(name).name, name);
    }
  });
});
