/**
 * Starts the server from environment variables: `deno task start`, the
 * compiled binary and Deno Deploy all run this file. Everything it does is
 * in `serveRetell` (`src/serve.ts`).
 *
 * @module
 */
import { serveRetell } from "./src/mod.ts";

await serveRetell();
