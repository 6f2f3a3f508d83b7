export { type ControlSinkOutputs, controlSinkSpec } from "./control-sink.js";
export { feedbackFor, outcomeOf, REWARD, rewardOf } from "./feedback-mapping.js";
export {
  type LabelledWindow,
  labelledFeedback,
  labelledOutcome,
  metricOf,
  windowsOf,
} from "./labelled-feedback.js";
export { type ControlSinkOptions, controlSinkOptionsSchema } from "./options.js";
