import type { Logger } from "../../streams/index.js";
import type { TierBackend } from "./backend.js";
import { HttpBackend } from "./http-backend.js";
import { LlamaBackend } from "./llama-backend.js";
import type { BackendOptions } from "./options.js";
import { RecordedBackend } from "./recorded-backend.js";
import { RulesBackend } from "./rules-backend.js";

/**
 * The backend for validated options of the tier `tier`; new kinds add a case here. `log` gets what
 * llama.cpp logs, at debug level.
 */
export function createTierBackend(options: BackendOptions, tier: string, log?: Logger): TierBackend {
  switch (options.kind) {
    case "rules":
      return new RulesBackend(options);
    case "llama":
      return new LlamaBackend(options, tier, log && ((level, message) => log.debug({ level }, message)));
    case "http":
      return new HttpBackend(options, tier);
    case "recorded":
      return new RecordedBackend(options);
  }
}
