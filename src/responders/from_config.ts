import type { Config } from "../config.ts";
import type { Responder } from "../responder.ts";
import { createDummyResponder } from "./dummy.ts";

/**
 * Creates the responder named by `RESPONDER`.
 *
 * @param config The loaded settings.
 * @returns The responder.
 */
export function createResponderFromConfig(config: Config): Responder {
  switch (config.responder) {
    case "dummy":
      return createDummyResponder();
  }
}
