/**
 * The README, docs/*.md, SECURITY.md and CHANGELOG.md stay accurate: every
 * `deno task <name>` names a task in deno.json, every relative Markdown link
 * reaches a file (and its `#anchor` a heading there), and every
 * `examples/...`, `tests/...` or `src/...` path they mention exists.
 */
import assert from "node:assert/strict";
import { ROOT } from "./_support/server_process.ts";

/** The Markdown files these checks read, relative to the project root. */
async function markdownFiles(): Promise<string[]> {
  const files = ["README.md", "SECURITY.md", "CHANGELOG.md"];
  for await (const entry of Deno.readDir(new URL("docs/", ROOT))) {
    if (entry.isFile && entry.name.endsWith(".md")) {
      files.push(`docs/${entry.name}`);
    }
  }
  return files.sort();
}

/** Whether `path` (relative to the project root) exists. */
async function exists(path: string): Promise<boolean> {
  try {
    await Deno.stat(new URL(path, ROOT));
    return true;
  } catch (error) {
    if (error instanceof Deno.errors.NotFound) return false;
    throw error;
  }
}

/** `text` without its fenced code blocks, which hold no links. */
function withoutCode(text: string): string {
  return text.replace(/^```[\s\S]*?^```/gm, "");
}

/** GitHub's anchor for each heading of a Markdown text. */
function anchors(text: string): Set<string> {
  const seen = new Map<string, number>();
  const result = new Set<string>();
  for (const [, heading] of withoutCode(text).matchAll(/^#{1,6} (.+)$/gm)) {
    const slug = heading!.toLowerCase().trim()
      .replace(/[^\p{L}\p{N}\s_-]/gu, "")
      .replace(/\s/g, "-");
    const count = seen.get(slug) ?? 0;
    seen.set(slug, count + 1);
    result.add(count === 0 ? slug : `${slug}-${count}`);
  }
  return result;
}

/**
 * The problems of one Markdown file: unknown tasks, broken relative links,
 * missing anchors and mentioned paths that do not exist.
 *
 * @param path The file's path relative to the project root.
 * @param text The file's text.
 * @param tasks The task names of deno.json.
 */
async function problemsOf(
  path: string,
  text: string,
  tasks: ReadonlySet<string>,
): Promise<string[]> {
  const problems: string[] = [];
  for (const [, task] of text.matchAll(/deno task ([\w:-]+)/g)) {
    if (!tasks.has(task!)) problems.push(`unknown task "deno task ${task}"`);
  }
  const links = withoutCode(text).matchAll(/\]\(([^)\s]+)\)/g);
  for (const [, target] of links) {
    if (/^[a-z]+:/i.test(target!)) continue;
    const [file, anchor] = target!.split("#") as [string, string | undefined];
    const resolved = file === ""
      ? path
      : new URL(file, new URL(path, ROOT)).href.slice(ROOT.href.length);
    if (file !== "" && !await exists(resolved)) {
      problems.push(`link (${target}) reaches no file`);
      continue;
    }
    if (anchor !== undefined && resolved.endsWith(".md")) {
      const other = file === ""
        ? text
        : await Deno.readTextFile(new URL(resolved, ROOT));
      if (!anchors(other).has(anchor)) {
        problems.push(`link (${target}) reaches no heading in ${resolved}`);
      }
    }
  }
  const mentioned = text.matchAll(
    /(?<![\w./-])(?:\.\.\/)?((?:examples|tests|src)\/[\w./-]*)/g,
  );
  for (const [, mention] of mentioned) {
    const candidate = mention!.replace(/\.+$/, "");
    if (!await exists(candidate)) {
      problems.push(`mentions ${candidate}, which does not exist`);
    }
  }
  return problems.map((problem) => `${path}: ${problem}`);
}

/** The task names of deno.json. */
async function taskNames(): Promise<Set<string>> {
  const denoJson = JSON.parse(
    await Deno.readTextFile(new URL("deno.json", ROOT)),
  ) as { tasks: Record<string, unknown> };
  return new Set(Object.keys(denoJson.tasks));
}

Deno.test("the checks find an unknown task, a broken link, a missing anchor and path", async () => {
  const problems = await problemsOf(
    "docs/example.md",
    [
      "# Title",
      "Run `deno task nonesuch`, read [the deploy guide](deploy.md#nowhere),",
      "[the missing page](missing.md) and [the title](#title),",
      "then open `src/nonesuch.ts`; [the readme](../README.md) is fine.",
    ].join("\n"),
    await taskNames(),
  );
  assert.deepStrictEqual(problems, [
    'docs/example.md: unknown task "deno task nonesuch"',
    "docs/example.md: link (deploy.md#nowhere) reaches no heading in docs/deploy.md",
    "docs/example.md: link (missing.md) reaches no file",
    "docs/example.md: mentions src/nonesuch.ts, which does not exist",
  ]);
});

Deno.test("the README, docs/, SECURITY.md and CHANGELOG.md name real tasks, links and paths", async () => {
  const tasks = await taskNames();
  const files = await markdownFiles();
  assert.ok(files.includes("docs/configuration.md"), files.join(", "));
  const problems: string[] = [];
  for (const path of files) {
    const text = await Deno.readTextFile(new URL(path, ROOT));
    problems.push(...await problemsOf(path, text, tasks));
  }
  assert.deepStrictEqual(problems, []);
});
