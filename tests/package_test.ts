import assert from "node:assert/strict";
import { ROOT } from "./_support/server_process.ts";

Deno.test("deno publish --dry-run passes and publishes the library, not the tests", async () => {
  const { success, stdout, stderr } = await new Deno.Command("deno", {
    // --allow-dirty: the working tree under test may have uncommitted work.
    args: ["publish", "--dry-run", "--allow-dirty"],
    cwd: ROOT,
    env: { NO_COLOR: "1" },
    stdout: "piped",
    stderr: "piped",
  }).output();
  const output = new TextDecoder().decode(stdout) +
    new TextDecoder().decode(stderr);
  assert.ok(success, output);
  const files = [...output.matchAll(/^\s+(file:\S+)/gm)].map(([, url]) =>
    url!.slice(ROOT.href.length)
  );
  for (
    const expected of [
      "LICENSE",
      "CHANGELOG.md",
      "README.md",
      "SECURITY.md",
      "docs/configuration.md",
      "src/mod.ts",
    ]
  ) {
    assert.ok(files.includes(expected), `${expected} is not in ${files}`);
  }
  const unexpected = files.filter((file) =>
    !/^(src\/|docs\/\w+\.md$|[A-Z]+\.md$|LICENSE$|deno\.json$)/.test(file)
  );
  assert.deepEqual(unexpected, []);
  assert.ok(!files.includes("src/config/docs.ts"));
});
