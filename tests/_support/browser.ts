/** Headless Chromium for the browser tests, driven by puppeteer-core. */
import puppeteer, { type Browser, type Page } from "puppeteer-core";

/** A page of the browser {@linkcode startBrowser} started. */
export type BrowserPage = Page;

/** Where Chromium is looked for unless `CHROMIUM_PATH` names it. */
const DEFAULT_CHROMIUM = "/usr/bin/chromium";

/**
 * Starts the system's headless Chromium (`CHROMIUM_PATH`, else
 * /usr/bin/chromium); puppeteer-core never downloads one. When there is no
 * such binary, prints that the browser test is skipped and resolves with
 * undefined (CI installs Chromium, so it never skips there). Disposing
 * closes the browser.
 */
export async function startBrowser(): Promise<
  (Browser & AsyncDisposable) | undefined
> {
  const executablePath = Deno.env.get("CHROMIUM_PATH") || DEFAULT_CHROMIUM;
  try {
    await Deno.stat(executablePath);
  } catch (error) {
    if (!(error instanceof Deno.errors.NotFound)) throw error;
    // deno-lint-ignore no-console
    console.log(
      `SKIPPED: no Chromium at ${executablePath} (install Debian's chromium or set CHROMIUM_PATH)`,
    );
    return undefined;
  }
  const browser = await puppeteer.launch({
    executablePath,
    headless: true,
    // Only what Chromium needs, so the test's env permission stays narrow.
    env: {
      HOME: Deno.env.get("HOME"),
      PATH: Deno.env.get("PATH"),
      TMPDIR: "/tmp",
    },
    // Containers run as root, where Chromium's sandbox cannot start.
    args: ["--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage"],
  });
  return Object.assign(browser, {
    [Symbol.asyncDispose]: () => browser.close(),
  });
}
