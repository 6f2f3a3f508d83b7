import { z } from "zod";

/**
 * One API key: at least 16 characters, no whitespace or control characters (they would not survive
 * an HTTP header). A key of digits only arrives from the environment as a number; it is taken as text.
 */
const apiKey = z.preprocess(
  (v) => (typeof v === "number" ? String(v) : v),
  z
    .string()
    .min(16, "an API key must have at least 16 characters")
    .regex(/^[\x21-\x7e]+$/, "an API key is printable ASCII without spaces"),
);

/** API keys as a list or a comma-separated string (`SPIKEMESH_FEEDBACK__API_KEYS=k1,k2`). */
export const apiKeyListSchema = z.preprocess((v) => {
  if (typeof v === "number") return [String(v)];
  if (typeof v !== "string") return v;
  return v
    .split(",")
    .map((s) => s.trim())
    .filter((s) => s !== "");
}, z.array(apiKey));

/** A single API key a client sends. */
export const apiKeySchema = apiKey;

/** Keys an HTTP endpoint accepts (`feedback --serve`, `serve-model`). */
export const endpointKeysSchema = z.strictObject({
  /**
   * Accepted API keys (`Authorization: Bearer <key>`, `X-API-Key` or HTTP Basic's password), 16+
   * characters each. Empty: the endpoint is open, which is allowed only on 127.0.0.1.
   */
  apiKeys: apiKeyListSchema.default([]),
});
