import avro from "avsc";
import { describe, expect, it } from "vitest";
import {
  type AnomalyScore,
  type ControlAction,
  type DispatchEvent,
  type Feedback,
  type LogEvent,
  type MediaEvent,
  type ReasoningRequest,
  type ReasoningResult,
  type RecordValues,
  type RouteWeight,
  recordTypes,
  type SpikeRecord,
  type SwarmMessage,
  type SwarmThought,
  type TelemetryEvent,
  type WorkerHeartbeat,
} from "../../schemas/index.js";

const ts = 1_700_000_000_123;

const spike: SpikeRecord = {
  timestamp: ts,
  source_rank: 0,
  target_rank: 2,
  type: "REASONING_TRIGGER",
  payload: JSON.stringify({ metric: "cpu.util", z: 4.2 }),
  source: "host-1",
  neuron: 3,
  intensity: 1.25,
  traceId: "trace-1",
};

const telemetry: TelemetryEvent = {
  ts,
  source: "host-1",
  metric: "cpu.util",
  value: 0.93,
  tags: { region: "eu" },
};
const log: LogEvent = { ts, source: "api", level: "ERROR", message: "disk full", fields: { path: "/var" } };
const mediaInline: MediaEvent = {
  ts,
  source: "cam-1",
  kind: "IMAGE",
  contentType: "image/png",
  data: Buffer.from([0x89, 0x50, 0x4e, 0x47]),
  uri: null,
};
const mediaByUri: MediaEvent = {
  ts,
  source: "mic-1",
  kind: "AUDIO",
  contentType: "audio/wav",
  data: null,
  uri: "file:///tmp/clip.wav",
};
const request: ReasoningRequest = {
  id: "req-1",
  ts,
  tier: "phi2",
  route: "host-1/cpu",
  source: "host-1",
  spikes: [spike, { ...spike, neuron: 4, type: "SENSOR_EVENT" }],
  context: '{"summary":"cpu high"}',
  deadline: ts + 5_000,
  depth: 0,
};
const result: ReasoningResult = {
  id: "req-1",
  ts: ts + 800,
  tier: "phi2",
  route: "host-1/cpu",
  source: "host-1",
  model: "phi2",
  verdict: "ANOMALY",
  confidence: 0.8,
  action: null,
  summary: "cpu saturated by one process",
  latencyMs: 812.5,
  tokens: 64,
  error: null,
};
const control: ControlAction = {
  id: "act-1",
  ts,
  target: "host-1",
  action: "restart-service",
  params: { service: "api" },
  requestId: "req-1",
  reason: "verdict ANOMALY with confidence 0.8",
};
const feedback: Feedback = {
  requestId: "req-1",
  route: "host-1/cpu",
  tier: "phi2",
  outcome: "USEFUL",
  reward: 1,
  latencyMs: 812.5,
  ts,
};
const weight: RouteWeight = { route: "host-1/cpu", weight: 0.42, updates: 17, ts };

const activate: SwarmMessage = {
  traceId: "req-1",
  kind: "ACTIVATE",
  ts,
  source: "host-1",
  route: "phi2",
  expert: "reasoning",
  depth: 2,
  activation: 0.6,
  spikes: [spike],
  context: '{"swarm":{"role":"reasoning"}}',
  deadline: ts + 120_000,
  verdict: "UNKNOWN",
  confidence: 0,
  action: null,
  summary: "",
  model: "",
  latencyMs: 0,
  tokens: 0,
  error: null,
};
const thought: SwarmThought = {
  traceId: "req-1",
  ts: ts + 900,
  source: "host-1",
  route: "phi2",
  steps: [
    {
      expert: "perception",
      depth: 1,
      activation: 1,
      ran: true,
      verdict: "ANOMALY",
      confidence: 0.6,
      latencyMs: 3,
      error: null,
    },
    {
      expert: "creative",
      depth: 2,
      activation: 0.3,
      ran: false,
      verdict: "UNKNOWN",
      confidence: 0,
      latencyMs: 0,
      error: null,
    },
  ],
  depth: 1,
  stopReason: "no-activation",
  answeredBy: "perception",
  verdict: "ANOMALY",
  confidence: 0.6,
  latencyMs: 900,
};

/** One or more typed samples per record: tsc checks them against the generated interfaces. */
const anomalyScore: AnomalyScore = {
  ts,
  source: "host-1",
  metric: "cpu.util",
  value: 0.93,
  score: 0.62,
  isSpike: true,
};

const heartbeat: WorkerHeartbeat = {
  workerId: "gpu-node-7",
  tier: "deepseek",
  ts,
  seq: 12,
  status: "ONLINE",
  intervalMs: 2_000,
  model: "deepseek-r1-7b",
  paramsB: 7,
  memoryGb: 24,
  formats: ["gguf"],
  gpu: true,
  concurrency: 4,
  inFlight: 1,
  answered: 40,
  host: "node7",
};
const dispatchRequest: DispatchEvent = {
  kind: "REQUEST",
  ts,
  requestId: "req-1",
  tier: "phi2",
  workerId: "",
  request,
  error: null,
};

const samples: { [N in keyof RecordValues]: RecordValues[N][] } = {
  AnomalyScore: [anomalyScore],
  ControlAction: [control],
  DispatchEvent: [
    dispatchRequest,
    { ...dispatchRequest, kind: "ANSWERED", workerId: "gpu-node-7", request: null, error: "timeout" },
  ],
  Feedback: [feedback],
  LogEvent: [log],
  MediaEvent: [mediaInline, mediaByUri],
  ReasoningRequest: [request],
  ReasoningResult: [result, { ...result, verdict: "UNKNOWN", action: "page-oncall", error: "timeout" }],
  RouteWeight: [weight],
  SpikeRecord: [spike],
  SwarmMessage: [
    activate,
    { ...activate, kind: "ANSWER", spikes: [], verdict: "ANOMALY", confidence: 0.6, error: "timeout" },
  ],
  SwarmThought: [thought],
  TelemetryEvent: [telemetry],
  WorkerHeartbeat: [heartbeat, { ...heartbeat, status: "LEAVING", formats: [], gpu: false, paramsB: 0 }],
};

describe("generated interfaces match their Avro schemas", () => {
  for (const [name, values] of Object.entries(samples)) {
    it(`${name} samples are valid and round-trip`, () => {
      const type = avro.Type.forSchema(
        recordTypes[name as keyof RecordValues].schema as unknown as avro.Schema,
      );
      for (const value of values) {
        const problems: string[] = [];
        const valid = type.isValid(value, { errorHook: (path) => problems.push(path.join(".")) });
        expect(problems, name).toEqual([]);
        expect(valid).toBe(true);
        expect(type.fromBuffer(type.toBuffer(value))).toEqual(value);
      }
    });
  }

  it("rejects values that break the schema, naming the field", () => {
    const type = avro.Type.forSchema(recordTypes.LogEvent.schema as unknown as avro.Schema);
    const problems: string[] = [];
    type.isValid({ ...log, level: "LOUD" }, { errorHook: (path) => problems.push(path.join(".")) });
    expect(problems).toEqual(["level"]);
  });

  it("reads timestamps back as epoch-millisecond numbers", () => {
    const type = avro.Type.forSchema(recordTypes.TelemetryEvent.schema as unknown as avro.Schema);
    const back = type.fromBuffer(type.toBuffer(telemetry)) as TelemetryEvent;
    expect(typeof back.ts).toBe("number");
    expect(back.ts).toBe(ts);
  });

  it("fills defaults when an old writer lacks a field", () => {
    // A writer schema for LogEvent without level and fields (e.g. a minimal producer).
    const writer = avro.Type.forSchema({
      type: "record",
      name: "spikemesh.LogEvent",
      fields: [
        { name: "ts", type: "long" },
        { name: "source", type: "string" },
        { name: "message", type: "string" },
      ],
    });
    const reader = avro.Type.forSchema(recordTypes.LogEvent.schema as unknown as avro.Schema);
    const bytes = writer.toBuffer({ ts, source: "api", message: "hello" });
    expect(reader.fromBuffer(bytes, reader.createResolver(writer))).toEqual({
      ts,
      source: "api",
      level: "INFO",
      message: "hello",
      fields: {},
    });
  });

  it("maps unknown future verdicts to UNKNOWN", () => {
    const reader = avro.Type.forSchema(recordTypes.ReasoningResult.schema as unknown as avro.Schema);
    const newer = JSON.parse(JSON.stringify(recordTypes.ReasoningResult.schema));
    newer.fields.find((f: { name: string }) => f.name === "verdict").type.symbols.push("DEFER");
    const writer = avro.Type.forSchema(newer);
    const bytes = writer.toBuffer({ ...result, verdict: "DEFER" });
    expect(reader.fromBuffer(bytes, reader.createResolver(writer)).verdict).toBe("UNKNOWN");
  });
});
