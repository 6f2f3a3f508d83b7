import { join, resolve } from "node:path";
import ts from "typescript";
import type { DashboardFile } from "./dashboards.js";

const ROOT = resolve(import.meta.dirname, "../..");
/** Maps string enums to their values' literal types, through arrays and objects. */
const JSON_TYPE = [
  "type Json<T> = T extends string ? `${T",
  "}` : T extends readonly (infer U)[] ? Json<U>[] : T extends object ? { [K in keyof T]: Json<T[K]> } : T;",
].join("");

const PLUGIN_TYPES = "@grafana/schema/dist/esm/raw/composable";

/**
 * The panel plugins our dashboards use, with the module of each plugin's generated option types in
 * @grafana/schema. A panel of any other type fails the check, so a new plugin is added here first.
 */
const PANEL_PLUGINS: Record<string, { module: string; hasFieldConfig: boolean }> = {
  timeseries: {
    module: `${PLUGIN_TYPES}/timeseries/panelcfg/x/TimeSeriesPanelCfg_types.gen`,
    hasFieldConfig: true,
  },
  stat: { module: `${PLUGIN_TYPES}/stat/panelcfg/x/StatPanelCfg_types.gen`, hasFieldConfig: false },
  "state-timeline": {
    module: `${PLUGIN_TYPES}/statetimeline/panelcfg/x/StateTimelinePanelCfg_types.gen`,
    hasFieldConfig: true,
  },
};

/**
 * Checks dashboard JSON against Grafana's dashboard schema as @grafana/schema publishes it (the
 * TypeScript types generated from Grafana's CUE schema): each dashboard, as an object literal, must
 * be assignable to `Dashboard`, and each panel's `options` and `fieldConfig.defaults.custom` to its
 * plugin's `Options` and `FieldConfig`. Object literals get excess-property checks, so misspelled or
 * unknown fields fail as well as wrong types and missing required fields. String enums of the
 * schema are compared by value (JSON holds "list", not `LegendDisplayMode.List`). Returns the
 * compiler's messages; none means valid.
 */
export function checkDashboardSchema(dashboards: Pick<DashboardFile, "file" | "json">[]): string[] {
  const lines: string[] = [
    'import type { Dashboard } from "@grafana/schema";',
    ...Object.entries(PANEL_PLUGINS).map(
      ([type, p], i) => `import type * as plugin${i} from "${p.module}"; // ${type}`,
    ),
    "/** Enum-typed fields accept their values as JSON spells them. */",
    JSON_TYPE,
  ];
  const pluginIndex = new Map(Object.keys(PANEL_PLUGINS).map((type, i) => [type, i]));
  const problems: string[] = [];
  dashboards.forEach((d, di) => {
    lines.push(`// ${d.file}`, `export const dashboard${di}: Json<Dashboard> = ${JSON.stringify(d.json)};`);
    for (const panel of d.json.panels) {
      const i = pluginIndex.get(panel.type);
      if (i === undefined) {
        problems.push(`${d.file} › ${panel.title}: panel type "${panel.type}" has no schema check`);
        continue;
      }
      const name = `d${di}p${panel.id}`;
      lines.push(
        `// ${d.file} › ${panel.title}`,
        `export const ${name}Options: Json<plugin${i}.Options> = ${JSON.stringify(panel.options ?? {})};`,
      );
      if (PANEL_PLUGINS[panel.type]!.hasFieldConfig) {
        lines.push(
          `export const ${name}Custom: Json<plugin${i}.FieldConfig> = ${JSON.stringify(panel.fieldConfig?.defaults.custom ?? {})};`,
        );
      }
    }
  });
  return [...problems, ...typeCheck(lines.join("\n"))];
}

/** Type-checks one in-memory module placed in test/ (so @grafana/schema resolves from node_modules). */
function typeCheck(source: string): string[] {
  const fileName = join(ROOT, "test", "__grafana_schema_check__.ts");
  const options: ts.CompilerOptions = {
    target: ts.ScriptTarget.ES2022,
    lib: ["lib.es2023.d.ts"],
    module: ts.ModuleKind.NodeNext,
    moduleResolution: ts.ModuleResolutionKind.NodeNext,
    strict: true,
    noEmit: true,
    skipLibCheck: true,
    types: [],
  };
  const host = ts.createCompilerHost(options);
  const getSourceFile = host.getSourceFile.bind(host);
  host.getSourceFile = (name, language, onError, shouldCreate) =>
    name === fileName
      ? ts.createSourceFile(name, source, language)
      : getSourceFile(name, language, onError, shouldCreate);
  const fileExists = host.fileExists.bind(host);
  host.fileExists = (name) => name === fileName || fileExists(name);
  const program = ts.createProgram([fileName], options, host);
  const sourceFile = program.getSourceFile(fileName)!;
  const srcLines = source.split("\n");
  return ts.getPreEmitDiagnostics(program).map((diag) => {
    const message = ts.flattenDiagnosticMessageText(diag.messageText, "\n");
    if (diag.file !== sourceFile || diag.start === undefined) return message;
    const { line } = sourceFile.getLineAndCharacterOfPosition(diag.start);
    // The comment line above each declaration names the dashboard and panel.
    const where =
      srcLines
        .slice(0, line)
        .reverse()
        .find((l) => l.startsWith("// ")) ?? "";
    return `${where.slice(3)}: ${message}`;
  });
}
