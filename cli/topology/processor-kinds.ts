import {
  controlSinkSpec,
  dispatchIntakeSpec,
  escalationTierSpec,
  feedbackLearnerSpec,
  mediaEncoderSpec,
  routerSpec,
  snnFilterSpec,
  snnLogFilterSpec,
  spikeCorrelatorSpec,
  workerDispatcherSpec,
} from "../../processors/index.js";
import { swarmIntakeSpec } from "../../processors/swarm/index.js";
import type { AnyProcessorSpec } from "../../streams/index.js";

/**
 * Processor kinds a topology file's `processors` may name, by folder name under processors/. A new
 * processor becomes usable in topology files by adding it here. (The swarm's conductor and experts
 * are built from the `swarm` section, escalation tiers also from `tiers`.)
 */
export const PROCESSOR_KINDS: Readonly<Record<string, AnyProcessorSpec>> = {
  "snn-filter": snnFilterSpec,
  // Lives in processors/snn-filter/ (log/): it shares the filter's neurons.
  "snn-log-filter": snnLogFilterSpec,
  "spike-correlator": spikeCorrelatorSpec,
  "media-encoder": mediaEncoderSpec,
  router: routerSpec,
  "escalation-tier": escalationTierSpec,
  "control-sink": controlSinkSpec,
  "feedback-learner": feedbackLearnerSpec,
  "swarm-intake": swarmIntakeSpec,
  "worker-dispatcher": workerDispatcherSpec,
  // Lives in processors/worker-dispatcher/: it feeds the dispatcher's input.
  "dispatch-intake": dispatchIntakeSpec,
};

export const processorKindNames = (): string[] => Object.keys(PROCESSOR_KINDS);
