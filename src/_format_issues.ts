import type { z } from "zod";

/**
 * Joins zod issues into one line, each as `path: message`, for log lines and
 * error messages: `response_id: Invalid input: expected int, received string`.
 *
 * @param error The error from a failed `safeParse`.
 * @returns One line naming every issue.
 */
export function formatIssues(error: z.ZodError): string {
  return error.issues
    .map((issue) => {
      const path = issue.path.length > 0 ? issue.path.join(".") : "(root)";
      return `${path}: ${issue.message}`;
    })
    .join("; ");
}
