import { type ReasoningRequest, recordTypes, type SwarmMessage } from "../../schemas/index.js";
import type { ProcessorSpec } from "../../streams/index.js";
import { type SwarmIntakeOptions, swarmIntakeOptionsSchema } from "./options.js";
import { NO_ANSWER } from "./thought.js";

export type SwarmIntakeOutputs = { signals: SwarmMessage };

/** The INPUT message that opens a thought for a request; the request's id becomes the trace id. */
export function inputMessage(request: ReasoningRequest): SwarmMessage {
  return {
    traceId: request.id,
    kind: "INPUT",
    ts: request.ts,
    source: request.source,
    route: request.route,
    expert: "",
    depth: 0,
    activation: 1,
    spikes: request.spikes,
    context: request.context,
    deadline: request.deadline,
    ...NO_ANSWER,
  };
}

/**
 * The swarm's way in: each ReasoningRequest (e.g. from the router, on `escalations.swarm`) becomes an
 * INPUT message to the conductor on `swarm.signals`, keyed by source so the conductor instance that
 * opens the thought also gets its experts' answers.
 */
export const swarmIntakeSpec: ProcessorSpec<ReasoningRequest, SwarmIntakeOutputs, SwarmIntakeOptions> = {
  name: "swarm-intake",
  input: recordTypes.ReasoningRequest,
  outputs: { signals: recordTypes.SwarmMessage },
  options: swarmIntakeOptionsSchema,
  create: () => ({
    process(rec, ctx) {
      ctx.forward("signals", {
        key: rec.value.source,
        value: inputMessage(rec.value),
        timestampMs: rec.timestampMs,
        headers: {},
      });
    },
  }),
};
