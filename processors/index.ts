export * from "./control-sink/index.js";
export * from "./escalation-tier/index.js";
export * from "./feedback-learner/index.js";
export * from "./media-encoder/index.js";
export * from "./router/index.js";
export * from "./snn-filter/index.js";
export * from "./spike-correlator/index.js";
export * from "./worker-dispatcher/index.js";
