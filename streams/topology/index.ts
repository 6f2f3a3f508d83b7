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
export { ProcessorTestDriver, type DeadLetter, type PipeInput, type TestDriverConfig } from "./test-driver.js";
export { parseOptions } from "./options.js";
