export { parseOptions } from "./options.js";
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
export {
  type DeadLetter,
  type PipeInput,
  ProcessorTestDriver,
  type TestDriverConfig,
} from "./test-driver.js";
