import { z } from "zod";

/** Options of the `controlSink` processor. */
export const controlSinkOptionsSchema = z.strictObject({
  /**
   * The only actions that become ControlActions, matched exactly. Anything else a tier suggests is
   * counted and dropped. Default ["notify", "throttle-source", "open-ticket"].
   */
  allowedActions: z
    .array(z.string().regex(/^[a-z][a-z0-9-]*$/, "must be lower-case letters, digits or '-'"))
    .default(["notify", "throttle-source", "open-ticket"]),
  /** Results below this confidence never act. Default 0.5. */
  minConfidence: z.number().min(0).max(1).default(0.5),
});

export type ControlSinkOptions = z.output<typeof controlSinkOptionsSchema>;
