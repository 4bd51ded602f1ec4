/**
 * Keeps docs/model.md true: the files, settings and metrics it names exist.
 */
import assert from "node:assert/strict";
import { SETTING_NAMES } from "../src/config/settings.ts";
import { createServerMetrics } from "../src/metrics.ts";

const doc = await Deno.readTextFile("docs/model.md");

Deno.test("docs/model.md names files that exist", async () => {
  const paths = new Set(doc.match(/tests\/[\w/]+\.(?:ts|json)/g));
  assert.ok(paths.size >= 8, [...paths].join(", "));
  for (const path of paths) {
    assert.ok((await Deno.stat(path)).isFile, path);
  }
});

Deno.test("docs/model.md names settings that exist", () => {
  const names = new Set(
    [...doc.matchAll(/`([A-Z][A-Z0-9_]{4,})`/g)].map((match) => match[1]!),
  );
  assert.ok(names.has("OPENAI_FALLBACK_MODEL"));
  for (const name of names) {
    assert.ok((SETTING_NAMES as readonly string[]).includes(name), name);
  }
});

Deno.test("docs/model.md names metrics the server exports", () => {
  const rendered = createServerMetrics().render();
  const metrics = new Set(
    doc.match(/retell_(?:model|turn)_[a-z_]+/g),
  );
  assert.ok(metrics.size >= 3, [...metrics].join(", "));
  for (const metric of metrics) {
    assert.ok(rendered.includes(`# TYPE ${metric} `), metric);
  }
});
