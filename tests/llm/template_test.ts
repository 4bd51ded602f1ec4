import assert from "node:assert/strict";
import { fillTemplate, hasPlaceholders } from "../../src/llm/template.ts";

Deno.test("fillTemplate() fills a placeholder from the variables", async (t) => {
  await t.step("one placeholder", () => {
    assert.equal(
      fillTemplate("Hi {{customer_name}}!", { customer_name: "Dana" }),
      "Hi Dana!",
    );
  });

  await t.step("several placeholders", () => {
    assert.equal(
      fillTemplate("{{first}} {{last}}, room {{room_no}}.", {
        first: "Dana",
        last: "Scully",
        room_no: "42",
      }),
      "Dana Scully, room 42.",
    );
  });

  await t.step("names with digits, dots and dashes", () => {
    assert.equal(
      fillTemplate("{{a1}} {{user.name}} {{order-id}}", {
        a1: "x",
        "user.name": "Dana",
        "order-id": "7",
      }),
      "x Dana 7",
    );
  });

  await t.step("an empty value counts as none", () => {
    assert.equal(fillTemplate("[{{note}}]", { note: "" }), "[]");
  });
});

Deno.test("fillTemplate() removes a placeholder without a value and tidies around it", async (t) => {
  const cases: [string, string][] = [
    ["Hi {{customer_name}}, {{ missing }}!", "Hi Dana!"],
    ["Hi {{missing}}, welcome!", "Hi, welcome!"],
    ["Hi {{missing}}!", "Hi!"],
    ["{{missing}}, welcome!", "welcome!"],
    ["{{missing}} Welcome.", "Welcome."],
    ["Hi {{missing}} there.", "Hi there."],
    ["Hi {{a}} {{b}}!", "Hi!"],
    ["Call {{a}} {{b}} today", "Call today"],
    ["Line one {{a}}\n{{b}}, line two", "Line one\nline two"],
    ["[{{a}}]", "[]"],
    ["{{a}}", ""],
  ];
  for (const [template, expected] of cases) {
    await t.step(JSON.stringify(template), () => {
      assert.equal(
        fillTemplate(template, { customer_name: "Dana" }),
        expected,
      );
    });
  }

  await t.step("an undefined map removes them too", () => {
    assert.equal(fillTemplate("{{a}} and {{b}}", undefined), "and");
  });

  await t.step("tells onUnfilled each name left without a value", () => {
    const names: string[] = [];
    fillTemplate(
      "{{a}} {{b|B}} {{c}} {{a}} {{d|}} {{e}}",
      { e: "E", c: "" },
      (name) => names.push(name),
    );
    assert.deepStrictEqual(names, ["a", "c", "a"]);
  });
});

Deno.test("fillTemplate() uses a default when the value is missing or empty", async (t) => {
  await t.step("missing", () => {
    assert.equal(fillTemplate("Hi {{name|there}}!", {}), "Hi there!");
  });
  await t.step("empty", () => {
    assert.equal(fillTemplate("Hi {{name|there}}!", { name: "" }), "Hi there!");
  });
  await t.step("spaces around the bar are trimmed", () => {
    assert.equal(
      fillTemplate("Hi {{ name | dear caller }}!", undefined),
      "Hi dear caller!",
    );
  });
  await t.step("a value wins over the default", () => {
    assert.equal(
      fillTemplate("Hi {{name|there}}!", { name: "Dana" }),
      "Hi Dana!",
    );
  });
  await t.step("an empty default removes it quietly", () => {
    const names: string[] = [];
    assert.equal(
      fillTemplate("Hi {{name|}}!", {}, (name) => names.push(name)),
      "Hi!",
    );
    assert.deepStrictEqual(names, []);
  });
});

Deno.test("fillTemplate() allows whitespace inside the braces", () => {
  const variables = { name: "Dana" };
  assert.equal(fillTemplate("{{ name }}", variables), "Dana");
  assert.equal(fillTemplate("{{name   }}", variables), "Dana");
  assert.equal(fillTemplate("{{\tname\n}}", variables), "Dana");
  assert.equal(fillTemplate("{{   name}}", variables), "Dana");
});

Deno.test("fillTemplate() fills every occurrence of a repeated placeholder", () => {
  assert.equal(
    fillTemplate("{{name}}, {{ name }}, {{name}}!", { name: "Dana" }),
    "Dana, Dana, Dana!",
  );
});

Deno.test("fillTemplate() returns the same string when there is no placeholder", async (t) => {
  await t.step("plain text", () => {
    const text = "Be brief and friendly.";
    assert.equal(fillTemplate(text, { name: "Dana" }), text);
  });

  await t.step("braces that are not a placeholder", () => {
    for (
      const text of [
        "{name}",
        "{{}}",
        "{{ }}",
        "{{has space}}",
        "{{name",
        "name}}",
        '{"json": {"nested": 1}}',
        "",
      ]
    ) {
      assert.equal(fillTemplate(text, { name: "Dana" }), text, text);
    }
  });
});

Deno.test("fillTemplate() never fills a placeholder from Object.prototype", () => {
  for (
    const name of [
      "__proto__",
      "constructor",
      "toString",
      "hasOwnProperty",
      "valueOf",
    ]
  ) {
    const text = `[{{${name}}}] [{{ ${name} }}]`;
    assert.equal(fillTemplate(text, {}), "[] []", name);
    assert.equal(fillTemplate(text, { other: "x" }), "[] []", name);
  }
});

Deno.test("fillTemplate() inserts values literally", async (t) => {
  await t.step("a value holding a placeholder is not expanded again", () => {
    assert.equal(
      fillTemplate("{{a}} / {{b}}", { a: "{{b}}", b: "B" }),
      "{{b}} / B",
    );
    assert.equal(fillTemplate("{{x}}", { x: "{{x}}" }), "{{x}}");
  });

  await t.step(
    "replacement patterns ($&, $1, $$, $`, $') stay as typed",
    () => {
      for (const value of ["$&", "$1", "$$", "$`", "$'", "$<name>", "a$&b"]) {
        assert.equal(
          fillTemplate("<{{price}}>", { price: value }),
          `<${value}>`,
          value,
        );
      }
    },
  );
});

Deno.test("hasPlaceholders() tells whether text has a placeholder", async (t) => {
  await t.step("true for a placeholder, spaced or not", () => {
    assert.equal(hasPlaceholders("Hi {{name}}"), true);
    assert.equal(hasPlaceholders("Hi {{ name }}"), true);
    assert.equal(hasPlaceholders("{{a.b-c_1}}"), true);
    assert.equal(hasPlaceholders("{{name|there}}"), true);
  });

  await t.step("false without one", () => {
    assert.equal(hasPlaceholders("Hi there"), false);
    assert.equal(hasPlaceholders(""), false);
    assert.equal(hasPlaceholders("{name}"), false);
    assert.equal(hasPlaceholders("{{}}"), false);
    assert.equal(hasPlaceholders("{{has space}}"), false);
  });

  await t.step("gives the same answer when called twice in a row", () => {
    for (const text of ["{{name}}", "Hi {{name}}, bye {{other}}"]) {
      assert.equal(hasPlaceholders(text), true, text);
      assert.equal(hasPlaceholders(text), true, text);
      assert.equal(hasPlaceholders(text), true, text);
    }
    assert.equal(hasPlaceholders("none"), false);
    assert.equal(hasPlaceholders("none"), false);
  });

  await t.step("is not thrown off by fillTemplate() in between", () => {
    assert.equal(hasPlaceholders("{{name}}"), true);
    assert.equal(fillTemplate("{{name}}", { name: "Dana" }), "Dana");
    assert.equal(hasPlaceholders("{{name}}"), true);
  });
});

Deno.test("fillTemplate() leaves text that is not a placeholder as written", () => {
  // Only {{name}} and {{name|default}} are placeholders: braces around
  // nothing, spaces inside a name or an unclosed pair are the prompt's own
  // text, and are neither filled nor removed.
  for (
    const text of ["Hi {{name", "Hi {{}}!", "Hi {{a b}}!", "{{|x}}", "}} {{"]
  ) {
    const unfilled: string[] = [];
    assert.equal(
      fillTemplate(text, { name: "Dana" }, (name) => unfilled.push(name)),
      text,
    );
    assert.deepStrictEqual(unfilled, []);
  }
});
