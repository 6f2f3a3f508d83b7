export {
  canRun,
  capabilitiesOf,
  describeRequirements,
  type JobRequirements,
  jobRequirementsSchema,
  parseParamsB,
  type RequirementsParse,
  requirementsOf,
  unmetRequirements,
  type WorkerCapabilities,
} from "./capabilities.js";
export { type DispatchIntakeOutputs, dispatchIntakeSpec } from "./dispatch-intake.js";
export { type DispatcherMetrics, dispatcherMetrics, WorkerLabels } from "./dispatcher-metrics.js";
export { type WorkerDispatcherOptions, workerDispatcherOptionsSchema } from "./options.js";
export {
  createWorkerDispatcherSpec,
  DISPATCHER_MODEL,
  type PendingRequest,
  WORKER_HEADER,
  type WorkerDispatcherOutputs,
  workerDispatcherSpec,
} from "./worker-dispatcher.js";
export { type RosterChange, WorkerRoster, type WorkerView } from "./worker-roster.js";
