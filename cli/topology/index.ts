export { type BuildOptions, buildTopology, type LoadedTopology } from "./build-topology.js";
export { DEFAULT_TOPOLOGY, loadTopology, presetNames, resolveTopologyRef, topologiesDir } from "./presets.js";
export { PROCESSOR_KINDS, processorKindNames } from "./processor-kinds.js";
export { renderMermaid, renderText } from "./render.js";
export {
  type ParsedTopologyFile,
  parseTopologyFile,
  parseTopologyText,
  type TopologyFile,
  topologyFileSchema,
} from "./topology-file.js";
export { formatPath, YamlSource } from "./yaml-source.js";
