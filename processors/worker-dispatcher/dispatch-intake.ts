import { z } from "zod";
import { type DispatchEvent, type ReasoningRequest, recordTypes } from "../../schemas/index.js";
import { type ProcessorSpec, SpikemeshError } from "../../streams/index.js";
import { requirementsOf } from "./capabilities.js";

export type DispatchIntakeOutputs = { dispatch: DispatchEvent };

export const dispatchIntakeOptionsSchema = z.strictObject({});

/**
 * Turns a tier's requests (`escalations.<tier>`, keyed by source) into REQUEST events on its
 * dispatch topic, keyed by request id so that the workers' ANSWERED events meet them in the same
 * partition of the dispatcher. A request whose `requires` is malformed goes to the DLQ here, naming
 * the field.
 */
export const dispatchIntakeSpec: ProcessorSpec<ReasoningRequest, DispatchIntakeOutputs, object> = {
  name: "dispatchIntake",
  input: recordTypes.ReasoningRequest,
  outputs: { dispatch: recordTypes.DispatchEvent },
  options: dispatchIntakeOptionsSchema,
  create: () => ({
    process(rec, ctx) {
      const request = rec.value;
      const parsed = requirementsOf(request.context);
      if (!parsed.ok) throw new SpikemeshError("RECORD_INVALID", `request ${request.id}: ${parsed.reason}`);
      ctx.forward("dispatch", {
        key: request.id,
        value: {
          kind: "REQUEST",
          ts: ctx.clock.nowMs(),
          requestId: request.id,
          tier: request.tier,
          workerId: "",
          request,
          error: null,
        },
        timestampMs: rec.timestampMs,
        headers: {},
      });
    },
  }),
};
