import type { ZodType } from "zod";
import { ConfigError } from "../errors.js";

/** Validates options with a zod schema; every problem is reported with its full path. */
export function parseOptions<T>(schema: ZodType<T>, raw: unknown, path: string): T {
  const result = schema.safeParse(raw ?? {});
  if (result.success) return result.data;
  const problems = result.error.issues.map((issue) => {
    const where = [path, ...issue.path.map(String)].filter((p) => p !== "").join(".");
    return `${where || "(root)"}: ${issue.message}`;
  });
  throw new ConfigError(problems);
}
