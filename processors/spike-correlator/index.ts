export {
  type Correlation,
  type CorrelatorConfig,
  type CorrelatorState,
  type HeldSpike,
  SpikeCorrelator,
} from "./correlator.js";
export { type SpikeCorrelatorOptions, spikeCorrelatorOptions } from "./options.js";
export {
  CORRELATOR_STORE,
  correlatedSpike,
  type SpikeCorrelatorOutputs,
  spikeCorrelatorSpec,
} from "./spike-correlator.js";
