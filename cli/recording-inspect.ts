import { type RecordedRecord, RecordedValueDecoder, RecordingReader } from "../streams/replay/index.js";

export interface RecordingReport {
  file: string;
  bytes: number;
  records: number;
  topics: { topic: string; records: number; partitions: number; firstMs: number; lastMs: number }[];
  schemas: { id: number; subject: string; name: string }[];
  sample: unknown[];
  corruption?: { byteOffset: number; message: string };
  text: string;
}

/**
 * Reads a recording through (its damaged tail, if any, is reported, not thrown) and summarises it.
 * Sample values are decoded with the schemas embedded in the file: no registry is needed.
 */
export function inspectRecording(file: string, sampleSize: number): RecordingReport {
  const reader = new RecordingReader(file, { salvage: true });
  const topics = new Map<
    string,
    { records: number; partitions: Set<number>; firstMs: number; lastMs: number }
  >();
  const sample: unknown[] = [];
  const decoder = new RecordedValueDecoder(reader);
  let records = 0;
  for (const rec of reader.records()) {
    records++;
    let t = topics.get(rec.topic);
    if (!t) {
      t = { records: 0, partitions: new Set(), firstMs: rec.timestampMs, lastMs: rec.timestampMs };
      topics.set(rec.topic, t);
    }
    t.records++;
    t.partitions.add(rec.partition);
    t.firstMs = Math.min(t.firstMs, rec.timestampMs);
    t.lastMs = Math.max(t.lastMs, rec.timestampMs);
    if (sample.length < sampleSize) sample.push(decodeSample(rec, decoder));
  }
  const schemas = [...reader.schemas.values()].map((s) => ({
    id: s.id,
    subject: s.subject,
    name: (JSON.parse(s.schema) as { name?: string; namespace?: string }).name ?? "(unnamed)",
  }));
  const topicRows = [...topics].map(([topic, t]) => ({
    topic,
    records: t.records,
    partitions: t.partitions.size,
    firstMs: t.firstMs,
    lastMs: t.lastMs,
  }));
  const corruption = reader.corruption
    ? { byteOffset: reader.corruption.byteOffset, message: reader.corruption.message }
    : undefined;
  const iso = (ms: number) => (Number.isFinite(ms) ? new Date(ms).toISOString() : String(ms));
  const lines = [
    `${file}: ${records} record(s), ${reader.fileBytes} bytes`,
    ...topicRows.map(
      (t) =>
        `  topic ${t.topic}: ${t.records} record(s) on ${t.partitions} partition(s), ${iso(t.firstMs)} .. ${iso(t.lastMs)}`,
    ),
    ...schemas.map((s) => `  schema ${s.id}: ${s.name} (subject ${s.subject})`),
    ...(sample.length > 0 ? ["  sample:", ...sample.map((s) => `    ${JSON.stringify(s)}`)] : []),
    ...(corruption
      ? [`  DAMAGED: ${corruption.message}; the ${records} record(s) before it are readable`]
      : []),
  ];
  return {
    file,
    bytes: reader.fileBytes,
    records,
    topics: topicRows,
    schemas,
    sample,
    ...(corruption ? { corruption } : {}),
    text: `${lines.join("\n")}\n`,
  };
}

function decodeSample(rec: RecordedRecord, decoder: RecordedValueDecoder): unknown {
  const base = {
    topic: rec.topic,
    partition: rec.partition,
    offset: rec.offset,
    key: rec.key?.toString() ?? null,
  };
  if (rec.value === null) return { ...base, value: null };
  const value = decoder.decodeJson(rec);
  return value === undefined ? { ...base, valueBase64: rec.value.toString("base64") } : { ...base, value };
}
