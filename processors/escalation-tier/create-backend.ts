import type { TierBackend } from "./backend.js";
import type { BackendOptions } from "./options.js";
import { RulesBackend } from "./rules-backend.js";

/** The backend for validated options; new kinds add a case here. */
export function createTierBackend(options: BackendOptions): TierBackend {
  switch (options.kind) {
    case "rules":
      return new RulesBackend(options);
  }
}
