export {
  Catalogue,
  type CatalogueEntry,
  type CatalogueMatch,
  catalogueEntrySchema,
  catalogueSchema,
  globToRegExp,
  loadCatalogue,
  parseCatalogue,
} from "./catalogue.js";
export { MODEL_TIERS, type ModelTier, type RouterOptions, routerOptionsSchema } from "./options.js";
export { type RouterOutputs, routerSpec } from "./router.js";
export { type CaseKind, RULES_ROUTE, requestId, routeId, sampleIndex, tierProbabilities } from "./routing.js";
export type { RequestContext } from "./window.js";
