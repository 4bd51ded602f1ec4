/**
 * Tools the model can call (OpenAI function calling): how to define one, and
 * how its arguments are checked before its handler runs.
 *
 * @module
 */
import { z } from "zod";
import { describeError } from "../log.ts";
import { formatIssues, toIssues } from "../protocol/issues.ts";
import type { CallContext } from "../responder.ts";

/**
 * The Standard Schema interface (standardschema.dev), which zod 4, Valibot
 * and ArkType schemas implement. Tools take any such schema for their
 * arguments.
 */
export interface ArgumentsSchema<Output> {
  /** The Standard Schema properties. */
  readonly "~standard": {
    /** Version of the interface; 1. */
    readonly version: 1;
    /** The library that made the schema. */
    readonly vendor: string;
    /** Checks a value. */
    readonly validate: (
      value: unknown,
    ) => ValidationResult<Output> | Promise<ValidationResult<Output>>;
  };
}

/** What an {@linkcode ArgumentsSchema} says about a value. */
export type ValidationResult<Output> =
  | {
    /** The value, as the schema outputs it. */
    readonly value: Output;
    /** Absent on success. */
    readonly issues?: undefined;
  }
  | {
    /** What is wrong. */
    readonly issues: ReadonlyArray<{
      /** The problem. */
      readonly message: string;
      /** Where, as keys from the root. */
      readonly path?:
        | ReadonlyArray<PropertyKey | { readonly key: PropertyKey }>
        | undefined;
    }>;
  };

/** What a tool's handler gets besides its arguments. */
export interface ToolContext {
  /** The call, with its details and dynamic variables. */
  readonly call: CallContext;
  /**
   * Fires when the call ends. A superseded turn does not abort a running
   * tool: Retell often re-asks the same question, and the new turn then
   * reuses the result instead of running the tool twice.
   */
  readonly signal: AbortSignal;
  /** The model's id for this call of the tool. */
  readonly toolCallId: string;
}

/** What running a tool gave, as reported to the model and to Retell. */
export interface ToolOutcome {
  /** Result text for the model. */
  readonly content: string;
  /** False when the arguments were invalid or the handler threw. */
  readonly successful: boolean;
}

/** Arguments that passed the tool's schema, with the key that identifies them. */
export type ParsedArguments =
  | {
    /** The arguments are valid. */
    readonly ok: true;
    /** The schema's output. */
    readonly value: unknown;
    /** The same for equal arguments, whatever their key order. */
    readonly key: string;
  }
  | {
    /** The arguments are not valid. */
    readonly ok: false;
    /** What is wrong, worded for the model to fix its call. */
    readonly error: string;
  };

/** A tool the model may call. Build one with {@linkcode defineTool}. */
export interface LlmTool {
  /** Function name the model uses. */
  readonly name: string;
  /** What the tool does and when to use it, for the model. */
  readonly description: string;
  /** JSON Schema of the arguments, sent to the model. */
  readonly parameters: Readonly<Record<string, unknown>>;
  /** Spoken before the tool runs when the model said nothing first. */
  readonly holdingLine: string | undefined;
  /** Parses and checks the model's argument text. Never throws. */
  parse(argumentsText: string): Promise<ParsedArguments>;
  /** Runs the handler on parsed arguments. Never throws. */
  run(args: unknown, context: ToolContext): Promise<ToolOutcome>;
}

/** Options of {@linkcode defineTool}. */
export interface ToolDefinition<Args> {
  /** Function name: letters, digits, `_` and `-`, at most 64 characters. */
  name: string;
  /** What the tool does and when to use it, for the model. */
  description: string;
  /** Schema of the arguments: a zod object, or any Standard Schema with `jsonSchema`. */
  parameters: ArgumentsSchema<Args>;
  /**
   * JSON Schema of the arguments, for schemas that are not zod's (zod
   * schemas are converted automatically).
   */
  jsonSchema?: Record<string, unknown>;
  /**
   * Spoken before the tool runs when the model said nothing first, such as
   * "One moment while I check.".
   */
  holdingLine?: string;
  /**
   * Does the work. Returns text, or any value, which is sent to the model
   * as JSON. A thrown error is reported to the model as a failure.
   */
  handler: (args: Args, context: ToolContext) => unknown;
}

const TOOL_NAME_REGEXP = /^[A-Za-z0-9_-]{1,64}$/;

/**
 * Defines a tool for the LLM responder.
 *
 * @param definition Name, description, argument schema and handler.
 * @returns The tool.
 * @throws {TypeError} When the name is not a valid function name, or the
 * schema is not zod's and no `jsonSchema` is given.
 *
 * @example A tool that checks opening hours
 * ```ts
 * import { z } from "zod";
 * import { defineTool } from "./tools.ts";
 *
 * export const checkHours = defineTool({
 *   name: "check_opening_hours",
 *   description: "Opening hours of the clinic on a given weekday.",
 *   parameters: z.object({ weekday: z.enum(["monday", "tuesday", "wednesday"]) }),
 *   holdingLine: "Let me check.",
 *   handler: ({ weekday }) => weekday === "monday" ? "9 to 5" : "10 to 4",
 * });
 * ```
 */
export function defineTool<Args>(definition: ToolDefinition<Args>): LlmTool {
  const { name, description, parameters, handler } = definition;
  if (!TOOL_NAME_REGEXP.test(name)) {
    throw new TypeError(
      `Cannot define tool "${name}": a name is 1 to 64 letters, digits, _ or -`,
    );
  }
  const jsonSchema = definition.jsonSchema ?? toJsonSchema(name, parameters);

  return {
    name,
    description,
    parameters: jsonSchema,
    holdingLine: definition.holdingLine,
    async parse(argumentsText) {
      let json: unknown;
      try {
        json = argumentsText.trim() === "" ? {} : JSON.parse(argumentsText);
      } catch {
        return {
          ok: false,
          error: `Cannot read the arguments of tool "${name}" as JSON: ${
            JSON.stringify(argumentsText)
          }`,
        };
      }
      let result: ValidationResult<Args>;
      try {
        result = await parameters["~standard"].validate(json);
      } catch (error) {
        return {
          ok: false,
          error: `Cannot check the arguments of tool "${name}": ${
            describeError(error)
          }`,
        };
      }
      if (result.issues !== undefined) {
        return {
          ok: false,
          error: `Cannot call tool "${name}" with these arguments: ${
            formatIssues(toIssues(result.issues))
          }`,
        };
      }
      return {
        ok: true,
        value: result.value,
        key: stableStringify(result.value),
      };
    },
    async run(args, context) {
      try {
        const value = await handler(args as Args, context);
        return {
          content: typeof value === "string"
            ? value
            : JSON.stringify(value) ?? "",
          successful: true,
        };
      } catch (error) {
        const message = describeError(error);
        return {
          content: `Cannot run tool "${name}": ${message}`,
          successful: false,
        };
      }
    },
  };
}

/** Converts a zod schema to the JSON Schema the model is given. */
function toJsonSchema(name: string, schema: unknown): Record<string, unknown> {
  if (!(schema instanceof z.ZodType)) {
    throw new TypeError(
      `Cannot define tool "${name}": give jsonSchema for a schema that is not zod's`,
    );
  }
  const { $schema: _, ...jsonSchema } = z.toJSONSchema(schema, { io: "input" });
  return jsonSchema;
}

/** JSON with object keys sorted, so equal arguments give equal keys. */
function stableStringify(value: unknown): string {
  return JSON.stringify(value, (_key, item: unknown) => {
    if (item === null || typeof item !== "object" || Array.isArray(item)) {
      return item;
    }
    return Object.fromEntries(
      Object.entries(item as Record<string, unknown>).sort(([a], [b]) =>
        a < b ? -1 : a > b ? 1 : 0
      ),
    );
  }) ?? "undefined";
}
