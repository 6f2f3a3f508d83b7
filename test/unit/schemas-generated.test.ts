import { readdirSync, readFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import avro from "avsc";
import { describe, expect, it } from "vitest";
import { generateSchemaModule } from "../../schemas/codegen.js";
import { avroSchemas, recordTypes } from "../../schemas/index.js";

const schemasDir = join(dirname(fileURLToPath(import.meta.url)), "..", "..", "schemas");
const sources = readdirSync(schemasDir)
  .filter((name) => name.endsWith(".avsc"))
  .map((fileName) => ({ fileName, text: readFileSync(join(schemasDir, fileName), "utf8") }));

describe("schemas/generated.ts", () => {
  it("is up to date with schemas/*.avsc (run `npm run gen:schemas` if not)", () => {
    const committed = readFileSync(join(schemasDir, "generated.ts"), "utf8");
    expect(generateSchemaModule(sources)).toBe(committed);
  });

  it("embeds every .avsc exactly", () => {
    expect(Object.keys(avroSchemas).sort()).toEqual(
      sources.map((s) => s.fileName.replace(".avsc", "")).sort(),
    );
    for (const { fileName, text } of sources) {
      const name = fileName.replace(".avsc", "") as keyof typeof avroSchemas;
      expect(avroSchemas[name], fileName).toEqual(JSON.parse(text));
    }
  });

  it("has a RecordType per record with its qualified name", () => {
    expect(Object.keys(recordTypes).sort()).toEqual(Object.keys(avroSchemas).sort());
    for (const [name, type] of Object.entries(recordTypes)) {
      expect(type.name).toBe(`spikemesh.${name}`);
      expect(type.schema).toBe(avroSchemas[name as keyof typeof avroSchemas]);
    }
  });

  it("documents every record and field and uses timestamp-millis for times", () => {
    for (const schema of Object.values(avroSchemas)) {
      const type = avro.Type.forSchema(schema as unknown as avro.Schema);
      expect(type.name).toBe(`spikemesh.${schema.name}`);
      expect(schema.doc, schema.name).toBeTruthy();
      for (const field of schema.fields) {
        expect(field.doc, `${schema.name}.${field.name}`).toBeTruthy();
        if (["ts", "timestamp", "deadline"].includes(field.name)) {
          expect(field.type, `${schema.name}.${field.name}`).toEqual({
            type: "long",
            logicalType: "timestamp-millis",
          });
        }
      }
    }
  });

  it("keeps camelCase field names except the seed's SpikeRecord names", () => {
    for (const schema of Object.values(avroSchemas)) {
      if (schema.name === "SpikeRecord") continue;
      for (const field of schema.fields) expect(field.name).toMatch(/^[a-z][A-Za-z0-9]*$/);
    }
    expect(avroSchemas.SpikeRecord.fields.map((f) => f.name)).toEqual([
      "timestamp",
      "source_rank",
      "target_rank",
      "type",
      "payload",
      "source",
      "neuron",
      "intensity",
      "traceId",
    ]);
  });

  it("inlines an identical SpikeRecord in ReasoningRequest", () => {
    const spikes = avroSchemas.ReasoningRequest.fields.find((f) => f.name === "spikes");
    expect(spikes?.type).toEqual({ type: "array", items: avroSchemas.SpikeRecord });
  });

  it("fails generation on conflicting inline copies and misnamed files", () => {
    const changed = sources.map((s) =>
      s.fileName === "ReasoningRequest.avsc"
        ? { ...s, text: s.text.replace('"CONTROL_FEEDBACK"', '"OTHER"') }
        : s,
    );
    expect(() => generateSchemaModule(changed)).toThrow(/SpikeType differs/);
    const misnamed = [{ fileName: "Wrong.avsc", text: sources[0]!.text }];
    expect(() => generateSchemaModule(misnamed)).toThrow(/name the file/);
  });
});
