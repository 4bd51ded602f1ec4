/**
 * The zod pieces the settings are read with. Private to `config/`: public
 * signatures take and return plain types.
 *
 * @module
 */
import { z } from "zod";

/** A whole number from `min` to `max`, written in decimal digits. */
export function wholeNumber(min: number, max: number) {
  const error = `must be a whole number from ${min} to ${max}`;
  return z.string().regex(/^\d+$/, { error }).transform(Number).pipe(
    z.number().min(min, { error }).max(max, { error }),
  );
}

const TRUTHY = ["true", "1", "yes", "on"];
const FALSY = ["false", "0", "no", "off"];
/** A flag: true/false, 1/0, yes/no, on/off, in any case. */
export const flag = z.string().toLowerCase().pipe(
  z.enum([...TRUTHY, ...FALSY], { error: "must be true or false" }),
).transform((value) => TRUTHY.includes(value));

/** One of `values`, exactly. */
export function oneOf<const T extends readonly [string, ...string[]]>(
  values: T,
) {
  return z.enum(values, { error: `must be one of ${values.join(", ")}` });
}

/** A comma-separated list of rules that `compile` accepts. */
export function ipList(compile: (rules: readonly string[]) => unknown) {
  return z.string().transform((text, context) => {
    const rules = text.split(",").map((rule) => rule.trim()).filter((rule) =>
      rule !== ""
    );
    try {
      compile(rules);
    } catch (error) {
      if (!(error instanceof TypeError)) throw error;
      context.addIssue({
        code: "custom",
        message: `is invalid: ${error.message}`,
        params: { omitValue: true },
      });
      return z.NEVER;
    }
    return rules;
  });
}

const temperatureError = "must be a number from 0 to 2";
/** A sampling temperature from 0 to 2, in plain decimal notation. */
export const temperature = z.string().regex(/^\d+(\.\d+)?$/, {
  error: temperatureError,
}).transform(Number).pipe(z.number().max(2, { error: temperatureError }));

/** Lets an empty value through as undefined. */
export function optional<T>(schema: z.ZodType<T, string>) {
  return z.string().transform((value) => value === "" ? undefined : value)
    .pipe(schema.optional());
}

const hoursError = "must be a number of hours above 0, at most 8760";
/** A positive number of hours, at most a year, in plain decimal notation. */
export const hours = z.string().regex(/^\d+(\.\d+)?$/, {
  error: hoursError,
}).transform(Number).pipe(
  z.number().gt(0, { error: hoursError }).max(8760, { error: hoursError }),
);
