import { execFileSync } from "node:child_process";
import { mkdirSync, symlinkSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { pathToFileURL } from "node:url";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { mediaEncoderSpec } from "../../processors/media-encoder/index.js";
import type { MediaEvent } from "../../schemas/index.js";
import {
  encodeJpeg,
  encodePng,
  encodeWav,
  sceneRgba,
  toneClip,
} from "../../scripts/media/synthetic-media.js";
import { ProcessorTestDriver } from "../../streams/topology/test-driver.js";
import { tinyAudioModelPath, tinyImageModelPath } from "../helpers/tiny-onnx.js";
import { tempDir } from "./helpers/temp-dir.js";

let tmp: Awaited<ReturnType<typeof tempDir>>;
const png = encodePng(40, 30, sceneRgba({ width: 40, height: 30 }));
const jpg = encodeJpeg(40, 30, sceneRgba({ width: 40, height: 30 }));
const clip = (samples: number, seed = 1) =>
  toneClip({ sampleRate: 16_000, samples, offset: 0, toneHz: 440, toneAmplitude: 0.3, noise: 0.05, seed });
const wav = encodeWav(clip(4000), 16_000);

beforeAll(async () => {
  tmp = await tempDir("spikemesh-media-");
});
afterAll(async () => {
  await tmp.remove();
});

const event = (over: Partial<MediaEvent>): MediaEvent => ({
  ts: 1_000,
  source: "cam-1",
  kind: "IMAGE",
  contentType: "image/png",
  data: png,
  uri: null,
  ...over,
});

type Driver = ProcessorTestDriver<MediaEvent, { features: unknown }, unknown>;
const driverFor = (options: Record<string, unknown> = {}) =>
  new ProcessorTestDriver(mediaEncoderSpec, options, { topic: "media.raw" }) as unknown as Driver;

/** Pipes one event and returns the DLQ reason it got, or the features it produced. */
async function outcome(
  driver: Driver,
  value: MediaEvent,
): Promise<{ dlq?: string; code?: string; metrics?: string[] }> {
  const before = driver.dlq.length;
  await driver.pipe({ key: value.source, value, timestampMs: value.ts });
  const letter = driver.dlq[before];
  if (letter) return { dlq: letter.reason, code: letter.code };
  return { metrics: driver.read("features").map((r) => (r.value as { metric: string }).metric) };
}

describe("media-encoder", () => {
  it("turns images, video frames and audio into features keyed by source, novelty from the second one on", async () => {
    const driver = driverFor();
    expect(await outcome(driver, event({}))).toEqual({ metrics: [] });
    expect(await outcome(driver, event({ ts: 2_000 }))).toEqual({ metrics: ["image.novelty"] });
    expect(await outcome(driver, event({ ts: 3_000, data: jpg, contentType: "image/jpeg" }))).toEqual({
      metrics: ["image.novelty"],
    });
    expect(await outcome(driver, event({ kind: "VIDEO_FRAME" }))).toEqual({ metrics: [] });
    expect(await outcome(driver, event({ kind: "VIDEO_FRAME", ts: 2_000 }))).toEqual({
      metrics: ["video.novelty"],
    });
    const audio = { kind: "AUDIO" as const, contentType: "audio/wav", data: wav, source: "mic-1" };
    expect(await outcome(driver, event(audio))).toEqual({
      metrics: ["audio.rms", "audio.zcr", "audio.flux"],
    });
    await driver.pipe({ key: "mic-1", value: event({ ...audio, ts: 2_000 }), timestampMs: 2_000 });
    const [rms, zcr, flux, novelty] = driver.read("features");
    expect(rms?.key).toBe("mic-1");
    expect(rms?.value).toMatchObject({
      ts: 2_000,
      source: "mic-1",
      metric: "audio.rms",
      tags: { kind: "AUDIO" },
    });
    // The tone's RMS: 0.3 / √2 plus a little noise.
    expect((rms!.value as { value: number }).value).toBeCloseTo(0.3 / Math.SQRT2, 1);
    expect((zcr!.value as { value: number }).value).toBeGreaterThan(0);
    expect((flux!.value as { value: number }).value).toBeGreaterThan(0);
    expect(novelty?.value).toMatchObject({ metric: "audio.novelty", tags: { encoder: "spectrum" } });
    expect(driver.dlq).toEqual([]);
  });

  it("reads media from a file URI (and a plain absolute path) when it is not inline", async () => {
    const file = join(tmp.dir, "frame.png");
    writeFileSync(file, png);
    const driver = driverFor({ maxInlineBytes: 100 });
    expect(await outcome(driver, event({ data: null, uri: pathToFileURL(file).href }))).toEqual({
      metrics: [],
    });
    expect(await outcome(driver, event({ data: null, uri: file, ts: 2_000 }))).toEqual({
      metrics: ["image.novelty"],
    });
  });

  it("dead-letters bad input with a reason, and goes on", async () => {
    const big = join(tmp.dir, "big.png");
    writeFileSync(big, png);
    const inside = join(tmp.dir, "allowed");
    mkdirSync(inside);
    const link = join(inside, "link.png");
    symlinkSync(big, link);
    const driver = driverFor({
      maxInlineBytes: 100_000,
      maxFileBytes: png.length - 1,
      image: { maxPixels: 100_000 },
      audio: { windowSamples: 8000, model: { path: tinyAudioModelPath(8000) } },
    });
    const cutPng = png.subarray(0, png.length - 30);
    const cutWav = Buffer.from(wav).subarray(0, 1000);
    const cases: [string, Partial<MediaEvent>, RegExp, string][] = [
      [
        "unsupported content type",
        { contentType: "image/gif" },
        /unsupported_content_type: contentType "image\/gif" is not supported/,
        "RECORD_INVALID",
      ],
      [
        "kind mismatch",
        { contentType: "audio/wav", data: wav },
        /kind_mismatch: contentType "audio\/wav" does not match kind IMAGE/,
        "RECORD_INVALID",
      ],
      ["no media", { data: null }, /no_media: neither data nor uri is set/, "RECORD_INVALID"],
      ["data and uri", { uri: "file:///x.png" }, /no_media: both data and uri are set/, "RECORD_INVALID"],
      [
        "oversized inline",
        { data: Buffer.alloc(100_001, 1) },
        /too_large: inline data is 100001 bytes, over maxInlineBytes 100000; send larger media by file URI/,
        "RECORD_TOO_LARGE",
      ],
      [
        "oversized file",
        { data: null, uri: pathToFileURL(big).href },
        /too_large: file:.*big\.png is \d+ bytes, over maxFileBytes/,
        "RECORD_TOO_LARGE",
      ],
      [
        "missing file",
        { data: null, uri: pathToFileURL(join(tmp.dir, "gone.png")).href },
        /missing_file: file:.*gone\.png: no such file/,
        "RECORD_INVALID",
      ],
      [
        "remote URI",
        { data: null, uri: "https://example.com/cam.png" },
        /bad_uri: .*scheme "https:" is not read/,
        "RECORD_INVALID",
      ],
      [
        "relative path",
        { data: null, uri: "frames/1.png" },
        /bad_uri: frames\/1\.png: a relative path/,
        "RECORD_INVALID",
      ],
      ["corrupt PNG", { data: cutPng }, /corrupt_media: png does not decode/, "DECODE_FAILED"],
      ["PNG labelled JPEG", { contentType: "image/jpeg" }, /corrupt_media: not a JPEG/, "DECODE_FAILED"],
      [
        "corrupt WAV",
        { kind: "AUDIO", contentType: "audio/wav", data: cutWav },
        /corrupt_media: WAV chunk "data" .* \(cut short\?\)/,
        "DECODE_FAILED",
      ],
      [
        "too many pixels",
        { data: encodePng(400, 300, sceneRgba({ width: 400, height: 300 })) },
        /too_large: png image is 400×300 = 120000 pixels, over maxPixels 100000/,
        "RECORD_TOO_LARGE",
      ],
      [
        "clip shorter than the model window",
        { kind: "AUDIO", contentType: "audio/wav", data: wav },
        /wrong_shape: clip has 4000 samples at 16000 Hz, the audio model takes 8000 per window/,
        "RECORD_INVALID",
      ],
      ["empty source", { source: "" }, /empty_source: source is empty/, "RECORD_INVALID"],
    ];
    for (const [what, over, reason, code] of cases) {
      const result = await outcome(driver, event(over));
      expect(result.dlq, what).toMatch(/^\w+: media-encoder \(media\.raw\/0\): /);
      expect(result.dlq, what).toMatch(reason);
      expect(result.code, what).toBe(code);
    }
    expect(driver.dlq).toHaveLength(cases.length);
    // The stream goes on: a good record after all of them still encodes.
    expect(
      await outcome(
        driver,
        event({ kind: "AUDIO", contentType: "audio/wav", data: encodeWav(clip(16_000), 16_000) }),
      ),
    ).toEqual({
      metrics: ["audio.rms", "audio.zcr", "audio.flux"],
    });
    const rejected = await driver.metrics.getSingleMetricAsString("spikemesh_media_rejected_total");
    expect(rejected).toMatch(/reason="too_large"} 3/);
    expect(rejected).toMatch(/reason="corrupt_media"} 3/);

    // A FIFO or a directory named by a record is refused without blocking on it.
    const fifo = join(tmp.dir, "camera.fifo");
    execFileSync("mkfifo", [fifo]);
    expect((await outcome(driver, event({ data: null, uri: fifo }))).dlq).toMatch(
      /bad_uri: .*camera\.fifo is not a regular file/,
    );
    expect((await outcome(driver, event({ data: null, uri: tmp.dir }))).dlq).toMatch(
      /bad_uri: .* is not a regular file/,
    );

    const rooted = driverFor({ fileRoots: [inside] });
    expect((await outcome(rooted, event({ data: null, uri: link }))).dlq).toMatch(
      /bad_uri: .*link\.png is outside the configured fileRoots/,
    );
    writeFileSync(join(inside, "ok.png"), png);
    expect(await outcome(rooted, event({ data: null, uri: join(inside, "ok.png") }))).toEqual({
      metrics: [],
    });
  });

  it("dead-letters an image of the wrong size when resizing is off", async () => {
    const driver = driverFor({ image: { resize: "none", width: 40, height: 30 } });
    expect(await outcome(driver, event({}))).toEqual({ metrics: [] });
    const other = encodePng(32, 32, sceneRgba({ width: 32, height: 32 }));
    expect((await outcome(driver, event({ data: other }))).dlq).toMatch(
      /wrong_shape: image is 32×32, the tensor is 40×30 and resize is none/,
    );
  });

  it("runs the ONNX models and keeps a source's prototypes across a restart", async () => {
    const driver = driverFor({
      image: { model: { path: tinyImageModelPath(32) } },
      audio: { windowSamples: 4000, model: { path: tinyAudioModelPath(4000) } },
    });
    await driver.pipe({ key: "cam-1", value: event({}), timestampMs: 1_000 });
    await driver.pipe({ key: "cam-1", value: event({ ts: 2_000 }), timestampMs: 2_000 });
    const [first] = driver.read("features");
    expect(first?.value).toMatchObject({
      metric: "image.novelty",
      tags: { encoder: "onnx:tiny-image-32.onnx" },
    });
    // The same frame again: at its own prototype.
    expect((first!.value as { value: number }).value).toBeLessThan(1e-6);
    const audio = { kind: "AUDIO" as const, contentType: "audio/wav", source: "mic-1" };
    await driver.pipe({
      key: "mic-1",
      value: event({ ...audio, data: encodeWav(clip(12_000), 16_000) }),
      timestampMs: 1_000,
    });
    await driver.pipe({ key: "mic-1", value: event({ ...audio, data: wav, ts: 2_000 }), timestampMs: 2_000 });
    expect(driver.read("features").map((r) => r.value)).toContainEqual(
      expect.objectContaining({
        metric: "audio.novelty",
        tags: { kind: "AUDIO", encoder: "onnx:tiny-audio-4000.onnx" },
      }),
    );
    await driver.restart();
    // Restored prototypes: the restarted instance scores the frame at once (a fresh one would not).
    await driver.pipe({ key: "cam-1", value: event({ ts: 3_000 }), timestampMs: 3_000 });
    expect(driver.read("features").map((r) => (r.value as { metric: string }).metric)).toEqual([
      "image.novelty",
    ]);
    await driver.close();
  });
});
