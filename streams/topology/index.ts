export { type DrainProbe, probeCommitted, type WaitForDrainOptions, waitForDrain } from "./drain.js";
export { parseOptions } from "./options.js";
export { readToEnd } from "./partition-reader.js";
export type {
  AnyProcessorSpec,
  KeyValueStore,
  OutputTypes,
  Processor,
  ProcessorContext,
  ProcessorSpec,
  Rec,
  TimerClock,
} from "./processor.js";
export { type Guarantee, TopologyRunner, type TopologyRunnerOptions } from "./runner.js";
export {
  type DeadLetter,
  type PipeInput,
  ProcessorTestDriver,
  type TestDriverConfig,
} from "./test-driver.js";
export {
  changelogTopic,
  dlqTopic,
  groupId,
  nodeName,
  type Topology,
  type TopologyNode,
  topologyTopics,
  validateTopology,
} from "./topology.js";
