/**
 * Several agents on one server: the agents given in code, and what each
 * agent's calls run with (responder, `config` event, timeouts, logger and
 * metrics under its name), built from its settings.
 *
 * @module
 */
import {
  AGENT_NAME_REGEXP,
  type AgentSettings,
  DEFAULT_AGENT_NAME,
} from "./config/agents_file.ts";
import type { Config } from "./config/settings.ts";
import type { LlmTool } from "./llm/tools.ts";
import type { LogFields, Logger } from "./log.ts";
import type { ServerMetrics } from "./metrics.ts";
import type { CallConfig } from "./protocol/outbound.ts";
import type { Responder } from "./responder.ts";
import { createResponderFromConfig } from "./responders/from_config.ts";

/** One more agent on the server, given in code. */
export interface RetellAgent {
  /**
   * Its name, the segment Retell dials: `wss://<host>{websocketPath}/{name}`.
   * A lowercase letter, then up to 31 lowercase letters, digits, `_` and
   * `-`; `default` is the environment's own agent.
   */
  name: string;
  /**
   * Decides what it says.
   *
   * @default {the responder its settings name, given its tools}
   */
  responder?: Responder;
  /**
   * Its own tools for the `llm` responder built from its settings.
   *
   * @default {the server's `tools`}
   */
  tools?: readonly LlmTool[];
  /**
   * Its settings, as an agent of `AGENTS_FILE` has them (`responder`,
   * `openai_model`, ...), falling back to the environment. `serveRetell`
   * reads them with the environment; with `createRetellServer`, pass a
   * config loaded by `loadConfig(env, { agents: { name: settings } })`.
   * An agent without settings that `AGENTS_FILE` names takes the file's.
   *
   * @default {the file's, else the environment's}
   */
  settings?: AgentSettings;
}

/** What one agent's calls run with. */
export interface AgentRoute {
  /** The agent's name. */
  readonly name: string;
  /** Decides what it says. */
  readonly responder: Responder;
  /** Its `config` event; undefined for the session's default. */
  readonly callConfig: CallConfig | undefined;
  /** Longest wait for the responder's next piece of a reply. */
  readonly responderTimeoutMs: number;
  /** Silence after which a live response logs `turn_stalled`; 0 is off. */
  readonly turnStallMs: number;
  /** Its log lines, each with `agent` when the server has several. */
  readonly log: Logger;
  /** Its metrics, under `agent="<name>"` when the server has several. */
  readonly metrics: ServerMetrics;
}

/** The environment's agent as the server options shape it. */
export interface DefaultAgentRoute {
  /** Decides what it says; undefined for the one `config` names. */
  responder: Responder | undefined;
  /** Its `config` event; undefined for the session's default. */
  callConfig: CallConfig | undefined;
  /** Longest wait for the responder's next piece of a reply. */
  responderTimeoutMs: number;
  /** Silence after which a live response logs `turn_stalled`; 0 is off. */
  turnStallMs: number;
}

/** Options of {@linkcode createAgentRoutes}. */
export interface AgentRoutesOptions {
  /** The settings, with the agents of `AGENTS_FILE`. */
  config: Config;
  /** The agents given in code. */
  agents: readonly RetellAgent[];
  /** The environment's agent. */
  defaultAgent: DefaultAgentRoute;
  /** The server's tools, for agents without their own. */
  tools: readonly LlmTool[] | undefined;
  /** The server's logger. */
  log: Logger;
  /** The server's metrics; created for every agent name when there are several. */
  metrics: ServerMetrics;
}

/**
 * The names of every agent: `default` (the environment's) first, then
 * those of `AGENTS_FILE`, then those given only in code.
 *
 * @param config The settings, with the agents of `AGENTS_FILE`.
 * @param agents The agents given in code.
 * @returns The names, in that order.
 */
export function agentNamesOf(
  config: Config,
  agents: readonly RetellAgent[],
): string[] {
  const names = [DEFAULT_AGENT_NAME, ...config.agents.map(({ name }) => name)];
  for (const { name } of agents) if (!names.includes(name)) names.push(name);
  return names;
}

/**
 * Builds what each agent's calls run with, by name. An agent's responder
 * is its own, or the one its settings name with its tools (the server's
 * when it has none), logging under its name.
 *
 * @param options The settings, the agents, and the server's parts.
 * @returns Each agent's route, `default` first.
 * @throws {TypeError} When an agent in code has a bad or repeated name, or
 * settings that `config` was not loaded with, or the metrics lack a name.
 */
export function createAgentRoutes(
  options: AgentRoutesOptions,
): ReadonlyMap<string, AgentRoute> {
  const { config, agents, defaultAgent, log, metrics } = options;
  checkAgents(config, agents);
  const names = agentNamesOf(config, agents);
  const several = names.length > 1;
  const missing = names.filter((name) => !metrics.agents.includes(name));
  if (several && missing.length > 0) {
    throw new TypeError(
      `Cannot count metrics per agent: the metrics were created without ${
        missing.join(", ")
      }: create them with createServerMetrics({ agents: [${
        names.map((name) => JSON.stringify(name)).join(", ")
      }] })`,
    );
  }
  const routes = new Map<string, AgentRoute>();
  for (const name of names) {
    const agentLog = several ? withFields(log, { agent: name }) : log;
    const agentMetrics = several ? metrics.forAgent(name) : metrics;
    if (name === DEFAULT_AGENT_NAME) {
      routes.set(name, {
        name,
        ...defaultAgent,
        responder: defaultAgent.responder ??
          responderOf(config, agentLog, options.tools),
        log: agentLog,
        metrics: agentMetrics,
      });
      continue;
    }
    const own = agents.find((agent) => agent.name === name);
    const agentConfig = config.agents.find((agent) =>
      agent.name === name
    )?.config ?? config;
    routes.set(name, {
      name,
      responder: own?.responder ??
        responderOf(agentConfig, agentLog, own?.tools ?? options.tools),
      callConfig: callConfigOf(agentConfig),
      responderTimeoutMs: agentConfig.responderTimeoutMs,
      turnStallMs: agentConfig.turnStallMs,
      log: agentLog,
      metrics: agentMetrics,
    });
  }
  return routes;
}

/** The `config` event the settings ask for. */
export function callConfigOf(config: Config): CallConfig {
  return {
    auto_reconnect: config.autoReconnect,
    call_details: config.callDetails,
    transcript_with_tool_calls: config.transcriptWithToolCalls,
  };
}

/** The responder `config` names, with `tools` when there are any. */
function responderOf(
  config: Config,
  log: Logger,
  tools: readonly LlmTool[] | undefined,
): Responder {
  return createResponderFromConfig(config, log, { ...(tools && { tools }) });
}

/** Throws when an agent in code cannot be served as given. */
function checkAgents(config: Config, agents: readonly RetellAgent[]): void {
  const seen = new Set<string>();
  for (const { name, settings } of agents) {
    const quoted = JSON.stringify(name);
    if (!AGENT_NAME_REGEXP.test(name) || name === DEFAULT_AGENT_NAME) {
      throw new TypeError(
        `Cannot add agent ${quoted}: a name is a lowercase letter, then up to 31 lowercase letters, digits, _ and -, and not "${DEFAULT_AGENT_NAME}"`,
      );
    }
    if (seen.has(name)) {
      throw new TypeError(`Cannot add agent ${quoted}: the name is taken`);
    }
    seen.add(name);
    if (
      settings !== undefined &&
      !config.agents.some((agent) => agent.name === name)
    ) {
      throw new TypeError(
        `Cannot add agent ${quoted}: its settings are read with the environment: pass loadConfig(env, { agents: { ${name}: settings } }) as config, or use serveRetell`,
      );
    }
  }
}

/** A logger that adds `fields` to every line. */
function withFields(log: Logger, fields: LogFields): Logger {
  return {
    debug: (event, more) => log.debug(event, { ...fields, ...more }),
    info: (event, more) => log.info(event, { ...fields, ...more }),
    warn: (event, more) => log.warn(event, { ...fields, ...more }),
    error: (event, more) => log.error(event, { ...fields, ...more }),
    enabled: (level) => log.enabled(level),
  };
}
