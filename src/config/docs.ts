/**
 * What the project says about its settings, rendered from
 * {@linkcode SETTINGS}: the tables of docs/configuration.md, `.env.example` and the `env`
 * list of the `server` permission set in `deno.json`. Run it to rewrite
 * all three (`deno task docs:config`); a test fails when one of them is out
 * of date.
 *
 * @module
 */
import {
  SETTING_NAMES,
  type SettingName,
  SETTINGS,
  type SettingScope,
} from "./settings.ts";

/** The line before the generated tables in docs/configuration.md. */
export const TABLES_START =
  "<!-- Generated from src/config/settings.ts by `deno task docs:config`: edit the table there. -->";

/** The line after the generated tables in docs/configuration.md. */
export const TABLES_END = "<!-- End of the generated settings. -->";

/** The permission set in `deno.json` that `dev`, `start` and `compile` use. */
export const PERMISSION_SET = "server";

/**
 * Variables the runtime itself reads for a setting of ours, granted next to
 * the settings: Deno KV reads `DENO_KV_ACCESS_TOKEN` when `KV_PATH` is a KV
 * Connect URL.
 */
export const RUNTIME_ENV: readonly string[] = ["DENO_KV_ACCESS_TOKEN"];

/** How each scope is introduced, in docs/configuration.md and in `.env.example`. */
const SCOPES: Record<SettingScope, { title: string; what: string }> = {
  server: {
    title: "Server",
    what: "where it listens, who may call, logs and shutdown",
  },
  agent: {
    title: "Calls",
    what: "who answers, with which model, and what Retell is asked for",
  },
};

/** Width of `.env.example`'s comment lines. */
const COMMENT_WIDTH = 80;

/**
 * The settings tables of docs/configuration.md, one per scope, as `deno fmt` lays them out.
 *
 * @returns The Markdown between {@linkcode TABLES_START} and
 * {@linkcode TABLES_END}, without them.
 */
export function renderSettingsTables(): string {
  return scopes().map(([scope, names]) => {
    const { title, what } = SCOPES[scope];
    const rows = names.map((name) => {
      const { default: value, description } = SETTINGS[name];
      return [
        `\`${name}\``,
        value === "" ? "(empty)" : `\`${value}\``,
        description,
      ];
    });
    return `**${title}**: ${what}.\n\n${
      markdownTable(["Variable", "Default", "Meaning"], rows)
    }`;
  }).join("\n\n");
}

/**
 * Puts freshly rendered tables between the markers of `doc`.
 *
 * @param doc The text of docs/configuration.md.
 * @returns The text with the tables replaced.
 * @throws {SyntaxError} When a marker is missing or they are out of order.
 */
export function replaceSettingsTables(doc: string): string {
  const start = doc.indexOf(TABLES_START);
  const end = doc.indexOf(TABLES_END);
  if (start < 0 || end < start) {
    throw new SyntaxError(
      `Cannot update docs/configuration.md: it needs the line ${TABLES_START} and, after it, ${TABLES_END}`,
    );
  }
  return `${
    doc.slice(0, start + TABLES_START.length)
  }\n\n${renderSettingsTables()}\n\n${doc.slice(end)}`;
}

/**
 * `.env.example`: each variable set to its default under its description,
 * grouped by scope, so that a copy runs with the defaults.
 *
 * @returns The file's text.
 */
export function renderEnvExample(): string {
  const lines = [
    "# Copy to .env and edit: `deno task dev` and `deno task start` load it.",
    "# Variables already set in the environment win over this file.",
    "# Generated from src/config/settings.ts by `deno task docs:config`.",
  ];
  for (const [scope, names] of scopes()) {
    const { title, what } = SCOPES[scope];
    lines.push("", `# --- ${title}: ${what} ---`);
    for (const name of names) {
      const { default: value, description } = SETTINGS[name];
      lines.push("", ...wrapComment(description), `${name}=${value}`);
    }
  }
  return `${lines.join("\n")}\n`;
}

/**
 * Sets the `env` list of the {@linkcode PERMISSION_SET} permission set to
 * the names in {@linkcode SETTINGS}.
 *
 * @param denoJson The text of `deno.json`.
 * @returns The new text, two-space indented as `deno fmt` keeps it.
 * @throws {SyntaxError} When the text is not JSON.
 */
export function replacePermissionEnv(denoJson: string): string {
  const config = JSON.parse(denoJson);
  config.permissions ??= {};
  config.permissions[PERMISSION_SET] ??= {};
  config.permissions[PERMISSION_SET].env = [...SETTING_NAMES, ...RUNTIME_ENV];
  return `${JSON.stringify(config, null, 2)}\n`;
}

/** The names of each scope, in table order. */
function scopes(): [SettingScope, SettingName[]][] {
  return (Object.keys(SCOPES) as SettingScope[]).map((scope) => [
    scope,
    SETTING_NAMES.filter((name) => SETTINGS[name].scope === scope),
  ]);
}

/** A Markdown table with its columns padded to their widest cell. */
function markdownTable(header: string[], rows: string[][]): string {
  const widths = header.map((cell, column) =>
    Math.max(cell.length, ...rows.map((row) => row[column]!.length))
  );
  const line = (cells: string[]) =>
    `| ${
      cells.map((cell, column) => cell.padEnd(widths[column]!)).join(" | ")
    } |`;
  return [
    line(header),
    line(widths.map((width) => "-".repeat(width))),
    ...rows.map(line),
  ].join("\n");
}

/** `text` as `# ` comment lines of at most {@linkcode COMMENT_WIDTH} characters. */
function wrapComment(text: string): string[] {
  const lines: string[] = [];
  let line = "#";
  for (const word of text.split(" ")) {
    if (line !== "#" && line.length + 1 + word.length > COMMENT_WIDTH) {
      lines.push(line);
      line = "#";
    }
    line += ` ${word}`;
  }
  lines.push(line);
  return lines;
}

if (import.meta.main) {
  const root = new URL("../../", import.meta.url);
  const rewrite = async (
    name: string,
    render: (text: string) => string,
  ) => {
    const url = new URL(name, root);
    await Deno.writeTextFile(url, render(await Deno.readTextFile(url)));
  };
  await rewrite("docs/configuration.md", replaceSettingsTables);
  await rewrite(".env.example", renderEnvExample);
  await rewrite("deno.json", replacePermissionEnv);
}
