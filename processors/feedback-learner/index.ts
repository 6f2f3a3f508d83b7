export { type FeedbackLearnerOutputs, feedbackLearnerSpec } from "./feedback-learner.js";
export { type FeedbackLearnerOptions, feedbackLearnerOptionsSchema } from "./options.js";
export { applyFeedback, decayToward, type RouteState, type StdpParams, weightChange } from "./stdp.js";
