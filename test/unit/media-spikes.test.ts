/**
 * Media through real inference into spikes: generated camera frames (a steady scene with sensor
 * noise, then a new object) and microphone clips (a steady tone over noise, then a tone burst) go
 * through the media encoder running the project's tiny ONNX models, and its features through the
 * SNN filter. Spikes must come at the change and nowhere in the steady part.
 */
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { MESH_TOPICS, meshTopology } from "../../cli/mesh-topology.js";
import { mediaEncoderSpec } from "../../processors/media-encoder/index.js";
import { snnFilterSpec } from "../../processors/snn-filter/index.js";
import { type MediaEvent, recordTypes, type SpikeRecord, type TelemetryEvent } from "../../schemas/index.js";
import {
  encodeJpeg,
  encodePng,
  encodeWav,
  sceneRgba,
  toneClip,
} from "../../scripts/media/synthetic-media.js";
import { ProcessorTestDriver } from "../../streams/topology/test-driver.js";
import { nodeName } from "../../streams/topology/topology.js";
import { tinyAudioModelPath, tinyImageModelPath } from "../helpers/tiny-onnx.js";
import { type RunnerHarness, runnerHarness } from "./runner-harness.js";

const T0 = Date.UTC(2026, 10, 23, 12);
const STEADY = 60;
const TOTAL = 90;
/** Spikes may trail the change by this many records (the filter's other neurons fire in turn). */
const SETTLE = 5;

/** Frame i of a camera: the same scene with fresh sensor noise, a red square from frame STEADY on. */
function frame(i: number, format: "png" | "jpeg" = "png"): Buffer {
  const rgba = sceneRgba({
    width: 64,
    height: 48,
    noise: 4,
    seed: i + 1,
    object: i >= STEADY ? { x: 24, y: 10 } : undefined,
  });
  return format === "png" ? encodePng(64, 48, rgba) : encodeJpeg(64, 48, rgba, 90);
}

/** Clip i of a microphone: 0.25 s of a 440 Hz tone over noise, a 2 kHz burst in clips STEADY and STEADY + 1. */
function clip(i: number): Buffer {
  const samples = toneClip({
    sampleRate: 16_000,
    samples: 4000,
    offset: i * 4000,
    toneHz: 440,
    toneAmplitude: 0.2,
    noise: 0.05,
    seed: i + 1,
    burst: i === STEADY || i === STEADY + 1 ? { hz: 2000, amplitude: 0.6 } : undefined,
  });
  return encodeWav(samples, 16_000);
}

const ENCODER_OPTIONS = {
  image: { model: { path: tinyImageModelPath(32) } },
  audio: { windowSamples: 4000, model: { path: tinyAudioModelPath(4000) } },
};

/** Runs events through the media encoder and then the SNN filter (test drivers); returns spikes and features. */
async function encodeAndFilter(
  events: MediaEvent[],
): Promise<{ spikes: SpikeRecord[]; features: TelemetryEvent[] }> {
  const encoder = new ProcessorTestDriver(mediaEncoderSpec, ENCODER_OPTIONS, { topic: MESH_TOPICS.media });
  const filter = new ProcessorTestDriver(snnFilterSpec, {}, { topic: MESH_TOPICS.mediaFeatures });
  const features: TelemetryEvent[] = [];
  const spikes: SpikeRecord[] = [];
  for (const value of events) {
    await encoder.pipe({ key: value.source, value, timestampMs: value.ts });
    for (const rec of encoder.read("features")) {
      features.push(rec.value);
      await filter.pipe({ key: rec.key, value: rec.value, timestampMs: rec.timestampMs });
      spikes.push(...filter.read("spikes").map((s) => s.value));
    }
  }
  expect(encoder.dlq).toEqual([]);
  expect(filter.dlq).toEqual([]);
  await encoder.close();
  await filter.close();
  return { spikes, features };
}

/** Index of the record (one per second for frames) a spike's timestamp belongs to. */
const indexOf = (spike: SpikeRecord, stepMs: number) => Math.round((spike.timestamp - T0) / stepMs);
const metricOf = (spike: SpikeRecord) => (JSON.parse(spike.payload) as { metric: string }).metric;

describe("media → spikes with real ONNX inference", () => {
  it("a camera: no spike in the steady scene, spikes when a new object appears", async () => {
    const events = Array.from({ length: TOTAL }, (_, i) => ({
      ts: T0 + i * 1000,
      source: "cam-1",
      kind: "IMAGE" as const,
      contentType: "image/png",
      data: frame(i),
      uri: null,
    }));
    const { spikes, features } = await encodeAndFilter(events);
    const novelty = features.map((f) => f.value);
    expect(novelty).toHaveLength(TOTAL - 1);
    // The noise is real: the steady scene's novelty is not a constant.
    expect(new Set(novelty.slice(0, STEADY - 1)).size).toBeGreaterThan(10);
    const at = spikes.map((s) => indexOf(s, 1000));
    expect(at.length).toBeGreaterThan(0);
    expect(at[0]).toBe(STEADY);
    expect(at.every((i) => i >= STEADY && i <= STEADY + SETTLE)).toBe(true);
    expect(spikes.every((s) => s.source === "cam-1" && metricOf(s) === "image.novelty")).toBe(true);
  });

  it("a video stream of JPEG frames behaves the same", async () => {
    const events = Array.from({ length: TOTAL }, (_, i) => ({
      ts: T0 + i * 1000,
      source: "door-cam",
      kind: "VIDEO_FRAME" as const,
      contentType: "image/jpeg",
      data: frame(i, "jpeg"),
      uri: null,
    }));
    const at = (await encodeAndFilter(events)).spikes.map((s) => indexOf(s, 1000));
    expect(at[0]).toBe(STEADY);
    expect(at.every((i) => i >= STEADY && i <= STEADY + SETTLE)).toBe(true);
  });

  it("a microphone: no spike on the steady tone, spikes at the tone burst", async () => {
    const events = Array.from({ length: TOTAL }, (_, i) => ({
      ts: T0 + i * 250,
      source: "mic-1",
      kind: "AUDIO" as const,
      contentType: "audio/wav",
      data: clip(i),
      uri: null,
    }));
    const { spikes } = await encodeAndFilter(events);
    const at = spikes.map((s) => indexOf(s, 250));
    expect(at[0]).toBe(STEADY);
    expect(at.every((i) => i >= STEADY && i <= STEADY + SETTLE)).toBe(true);
    // Every feature saw the burst: energy, zero crossings, flux and the embedding's novelty.
    expect(new Set(spikes.map(metricOf))).toEqual(
      new Set(["audio.rms", "audio.zcr", "audio.flux", "audio.novelty"]),
    );
  });
});

describe("the mesh's media path on the embedded runtime", () => {
  let h: RunnerHarness;
  beforeEach(async () => {
    h = await runnerHarness();
  });
  afterEach(async () => {
    await h.close();
  });

  it("consumes media.raw and writes spikes for the change", async () => {
    const mesh = meshTopology({
      appId: "media",
      partitions: 2,
      options: { "media-encoder": ENCODER_OPTIONS },
    });
    const topology = {
      ...mesh,
      nodes: mesh.nodes.filter((n) => ["media-encoder", "snn-filter-media"].includes(nodeName(n))),
    };
    expect(topology.nodes).toHaveLength(2);
    const runner = h.runner(topology, { maxBatchRecords: 50 });
    await runner.start();
    const records = [];
    for (let i = 0; i < TOTAL; i++) {
      const value: MediaEvent = {
        ts: T0 + i * 1000,
        source: "cam-1",
        kind: "IMAGE",
        contentType: "image/png",
        data: frame(i),
        uri: null,
      };
      records.push({
        topic: MESH_TOPICS.media,
        key: Buffer.from(value.source),
        value: await h.codec.encode(MESH_TOPICS.media, recordTypes.MediaEvent, value),
        timestampMs: value.ts,
      });
    }
    await h.produceRaw(records);
    const features = await h.waitForRecords(MESH_TOPICS.mediaFeatures, TOTAL - 1);
    expect(features).toHaveLength(TOTAL - 1);
    const raw = await h.waitForRecords(MESH_TOPICS.spikes, 1);
    await runner.stop();
    const spikes: SpikeRecord[] = [];
    for (const rec of await h.readAll(MESH_TOPICS.spikes)) {
      spikes.push((await h.codec.decode(rec.topic, recordTypes.SpikeRecord, rec.value!)) as SpikeRecord);
    }
    expect(raw.length).toBeGreaterThan(0);
    const at = spikes.map((s) => indexOf(s, 1000));
    expect(at[0]).toBe(STEADY);
    expect(at.every((i) => i >= STEADY && i <= STEADY + SETTLE)).toBe(true);
    expect(await h.readAll(`${MESH_TOPICS.media}.dlq`)).toEqual([]);
  });
});
