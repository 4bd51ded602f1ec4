import type { Config } from "../config/settings.ts";
import type { LlmTool } from "../llm/tools.ts";
import type { Logger } from "../log.ts";
import type { Responder } from "../responder.ts";
import { createDemoResponder } from "./demo.ts";
import { createDummyResponder } from "./dummy.ts";
import { createLlmResponder } from "./llm.ts";

/** Options of {@linkcode createResponderFromConfig}. */
export interface ResponderFromConfigOptions {
  /** Your own tools, offered to the model when `RESPONDER=llm`. */
  tools?: readonly LlmTool[];
}

/**
 * Creates the responder named by `RESPONDER`.
 *
 * @param config The loaded settings.
 * @param log Where the responder logs.
 * @param options Your own tools for the `llm` responder.
 * @returns The responder.
 *
 * @example Your own entry point with a tool
 * ```ts ignore
 * import { z } from "zod";
 * import {
 *   createLogger,
 *   createResponderFromConfig,
 *   createRetellServer,
 *   defineTool,
 *   loadConfig,
 * } from "./src/mod.ts";
 *
 * const checkAvailability = defineTool({
 *   name: "check_availability",
 *   description: "Free appointment slots of a doctor on a date (YYYY-MM-DD).",
 *   parameters: z.object({ doctor: z.string(), date: z.string() }),
 *   holdingLine: "One moment while I check.",
 *   handler: async ({ doctor, date }, { signal }) => {
 *     const url = `https://clinic.example/slots?doctor=${doctor}&date=${date}`;
 *     const response = await fetch(url, { signal });
 *     return await response.json();
 *   },
 * });
 *
 * const config = loadConfig(Deno.env);
 * const log = createLogger({ level: config.logLevel });
 * const responder = createResponderFromConfig(config, log, {
 *   tools: [checkAvailability],
 * });
 * const retell = createRetellServer({ config, log, responder });
 * Deno.serve({ hostname: config.listenHost, port: config.port }, retell.handler);
 * ```
 */
export function createResponderFromConfig(
  config: Config,
  log: Logger,
  options: ResponderFromConfigOptions = {},
): Responder {
  switch (config.responder) {
    case "dummy":
      return createDummyResponder();
    case "demo":
      return createDemoResponder({ log });
    case "llm":
      return createLlmResponder({
        apiKey: config.llm.apiKey,
        baseUrl: config.llm.baseUrl,
        model: config.llm.model,
        fallback: config.llm.fallbackModel === undefined ? undefined : {
          model: config.llm.fallbackModel,
          baseUrl: config.llm.fallbackBaseUrl,
          apiKey: config.llm.fallbackApiKey,
        },
        log,
        ...(config.llm.prompt !== undefined && { prompt: config.llm.prompt }),
        beginMessage: config.llm.beginMessage,
        temperature: config.llm.temperature,
        maxTokens: config.llm.maxTokens,
        firstTokenTimeoutMs: config.llm.firstTokenTimeoutMs,
        stallTimeoutMs: config.llm.stallTimeoutMs,
        toolProgressMs: config.llm.toolProgressMs,
        transferNumber: config.llm.transferNumber,
        ...(options.tools !== undefined && { tools: options.tools }),
      });
  }
}
