import { readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { parse as parseYaml } from "yaml";
import { meshTopology } from "../../cli/mesh-topology.js";
import {
  MediaRejection,
  mediaEncoderOptions,
  mediaEncoderSpec,
  OnnxEncoder,
  OnnxFileError,
  readOnnxModelInfo,
} from "../../processors/media-encoder/index.js";
import { encodePng, sceneRgba } from "../../scripts/media/synthetic-media.js";
import { imageExtractorGraph, writeOnnxModel } from "../../scripts/onnx/feature-extractors.js";
import { EmbeddedTransport } from "../../streams/embedded/index.js";
import { ConfigError } from "../../streams/errors.js";
import { silentLogger } from "../../streams/logger.js";
import { RegistryCodec, RegistrySerde } from "../../streams/serde/index.js";
import { TopologyRunner } from "../../streams/topology/runner.js";
import { ProcessorTestDriver } from "../../streams/topology/test-driver.js";
import { tinyAudioModelPath, tinyImageModelPath } from "../helpers/tiny-onnx.js";
import { tempDir } from "./helpers/temp-dir.js";

let tmp: Awaited<ReturnType<typeof tempDir>>;
let image: string;
let truncated: string;
let garbage: string;

beforeAll(async () => {
  tmp = await tempDir("spikemesh-onnx-");
  image = tinyImageModelPath(32);
  const bytes = readFileSync(image);
  truncated = join(tmp.dir, "truncated.onnx");
  writeFileSync(truncated, bytes.subarray(0, Math.floor(bytes.length * 0.6)));
  garbage = join(tmp.dir, "garbage.onnx");
  writeFileSync(garbage, "this is not a model, just text\n".repeat(10));
});
afterAll(async () => {
  await tmp.remove();
});

/** The problems the options check reports for `raw`, or [] when they are valid. */
const problems = (raw: unknown): string[] => {
  const result = mediaEncoderOptions.safeParse(raw);
  return result.success ? [] : result.error.issues.map((i) => `${i.path.join(".")}: ${i.message}`);
};

describe("ONNX model files", () => {
  it("reads the declared inputs and outputs of a model our writer made", () => {
    const info = readOnnxModelInfo(image);
    expect(info.irVersion).toBe(8);
    expect(info.nodes).toBe(5);
    expect(info.inputs).toEqual([{ name: "pixels", elemType: 1, dims: ["batch", 3, 32, 32] }]);
    expect(info.outputs).toEqual([{ name: "embedding", elemType: 1, dims: ["batch", 32] }]);
    expect(readOnnxModelInfo(tinyAudioModelPath(4000)).inputs).toEqual([
      { name: "waveform", elemType: 1, dims: ["batch", 4000] },
    ]);
  });

  it("finds a cut file and a non-model file, naming the byte", () => {
    expect(() => readOnnxModelInfo(truncated)).toThrow(OnnxFileError);
    expect(() => readOnnxModelInfo(truncated)).toThrow(/truncated: field 7 at byte \d+ claims \d+ bytes/);
    expect(() => readOnnxModelInfo(garbage)).toThrow(OnnxFileError);
  });

  it("checks model files while the options are validated, naming the field and the file", () => {
    expect(problems({ image: { model: { path: image } } })).toEqual([]);
    expect(problems({ image: { model: { path: join(tmp.dir, "missing.onnx") } } })).toEqual([
      expect.stringMatching(/^image\.model\.path: ONNX model .*missing\.onnx: cannot read it \(ENOENT/),
    ]);
    expect(problems({ image: { model: { path: truncated } } })).toEqual([
      expect.stringMatching(
        /^image\.model\.path: ONNX model .*truncated\.onnx: truncated: .*; is the file truncated or corrupt, or not an ONNX model\?$/,
      ),
    ]);
    expect(problems({ audio: { model: { path: garbage } } })[0]).toMatch(
      /^audio\.model\.path: ONNX model .*garbage\.onnx: /,
    );
    expect(problems({ image: { model: { path: image, input: "rgb" } } })).toEqual([
      expect.stringMatching(/^image\.model\.input: ONNX model .* has no input "rgb" \(inputs: pixels\)$/),
    ]);
    expect(problems({ image: { model: { path: image, output: "logits" } } })).toEqual([
      expect.stringMatching(/^image\.model\.output: .* has no output "logits" \(outputs: embedding\)$/),
    ]);
    expect(problems({ image: { width: 64, height: 64, model: { path: image } } })).toEqual([
      expect.stringMatching(
        /^image\.model\.inputShape: ONNX model .*: input "pixels" is \[batch, 3, 32, 32\], the configured tensor is \[1, 3, 64, 64\]$/,
      ),
    ]);
    expect(problems({ audio: { windowSamples: 4000, model: { path: image } } })[0]).toMatch(
      /^audio\.model\.inputShape: .*input "pixels" is \[batch, 3, 32, 32\], the configured tensor is \[1, 4000\]$/,
    );
  });

  it("stops the mesh at start, before anything connects, when a model file is broken", async () => {
    const transport = new EmbeddedTransport({ dataDir: join(tmp.dir, "log"), logger: silentLogger() });
    try {
      const topology = meshTopology({
        appId: "a",
        partitions: 1,
        options: { "media-encoder": { image: { model: { path: truncated } } } },
      });
      const start = () =>
        new TopologyRunner(topology, {
          transport,
          codec: new RegistryCodec(new RegistrySerde({ url: "http://127.0.0.1:9" })),
          logger: silentLogger(),
        });
      expect(start).toThrow(ConfigError);
      expect(start).toThrow(
        /nodes\[\d+\] \(media-encoder\)\.options\.image\.model\.path: ONNX model .*truncated\.onnx: truncated/,
      );
      expect(await transport.admin().listTopics()).toEqual([]);
    } finally {
      await transport.close();
    }
  });
});

describe("the README's media configuration", () => {
  it("is valid except that its model files are not on this machine", () => {
    const readme = readFileSync(new URL("../../README.md", import.meta.url), "utf8");
    const section = readme.slice(readme.indexOf("## Media inputs"));
    const yaml = /```yaml\n([\s\S]*?)```/.exec(section)![1]!;
    const nodes = (parseYaml(yaml) as { nodes: Record<string, unknown> }).nodes;
    expect(problems(nodes["media-encoder"])).toEqual([
      expect.stringMatching(
        /^image\.model\.path: ONNX model \/models\/clip-vision\.onnx: cannot read it \(ENOENT/,
      ),
      expect.stringMatching(
        /^audio\.model\.path: ONNX model \/models\/audio-encoder\.onnx: cannot read it \(ENOENT/,
      ),
    ]);
    // With the project's tiny models of the same shapes in their place, the configuration loads.
    const config = nodes["media-encoder"] as { image: { model: object }; audio: { model: object } };
    config.image.model = { ...config.image.model, path: writeTiny("clip-shape.onnx", 224) };
    config.audio.model = { path: tinyAudioModelPath(16_000) };
    expect(problems(config)).toEqual([
      expect.stringMatching(/image\.model\.input: .* has no input "pixel_values" \(inputs: pixels\)$/),
      expect.stringMatching(/image\.model\.output: .* has no output "image_embeds" \(outputs: embedding\)$/),
    ]);
  });
});

/** A tiny image extractor for `size` × `size` input in the test's temp dir. */
function writeTiny(name: string, size: number): string {
  const path = join(tmp.dir, name);
  writeOnnxModel(path, imageExtractorGraph({ height: size, width: size }));
  return path;
}

describe("OnnxEncoder", () => {
  it("runs the model for real: the same input gives the same embedding, another input another one", async () => {
    const opts = mediaEncoderOptions.parse({ image: { model: { path: image } } });
    const encoder = await OnnxEncoder.open(opts.image.model!, [1, 3, 32, 32], "image.model");
    try {
      expect(encoder.label).toBe("onnx:tiny-image-32.onnx");
      const a = Float32Array.from({ length: 3072 }, (_, i) => Math.sin(i / 7));
      const b = Float32Array.from({ length: 3072 }, (_, i) => Math.cos(i / 5));
      const ea = Array.from(await encoder.embed(a));
      expect(ea).toHaveLength(32);
      expect(Array.from(await encoder.embed(a))).toEqual(ea);
      const eb = Array.from(await encoder.embed(b));
      expect(eb).not.toEqual(ea);
      const err = await encoder.embed(new Float32Array(10)).catch((e: unknown) => e);
      expect(err).toBeInstanceOf(MediaRejection);
      expect((err as MediaRejection).reason).toBe("wrong_shape");
    } finally {
      await encoder.release();
    }
  });

  it("turns a file onnxruntime cannot load into a ConfigError naming the file", async () => {
    const err = await OnnxEncoder.open({ path: garbage, intraOpThreads: 1 }, [1, 4], "audio.model").catch(
      (e: unknown) => e,
    );
    expect(err).toBeInstanceOf(ConfigError);
    expect((err as ConfigError).problems).toEqual([
      expect.stringMatching(
        /^audio\.model\.path: onnxruntime could not load .*garbage\.onnx: .*Protobuf parsing failed.* \(is the file truncated or corrupt\?\)$/,
      ),
    ]);
  });

  it("fails the processor's init with that error when only onnxruntime can tell the model is unusable", async () => {
    // Well-formed ONNX (the options check passes it) with an operator onnxruntime does not have.
    const unknownOp = join(tmp.dir, "unknown-op.onnx");
    writeOnnxModel(unknownOp, {
      ...imageExtractorGraph({ height: 32, width: 32 }),
      nodes: [{ opType: "NoSuchOperator", inputs: ["pixels"], outputs: ["embedding"] }],
      initializers: [],
    });
    expect(problems({ image: { model: { path: unknownOp } } })).toEqual([]);
    const driver = new ProcessorTestDriver(mediaEncoderSpec, { image: { model: { path: unknownOp } } });
    const png = encodePng(8, 8, sceneRgba({ width: 8, height: 8 }));
    const err = await driver
      .pipe({
        key: "cam",
        value: { ts: 1, source: "cam", kind: "IMAGE", contentType: "image/png", data: png, uri: null },
        timestampMs: 1,
      })
      .catch((e: unknown) => e);
    expect(err).toBeInstanceOf(ConfigError);
    expect((err as Error).message).toMatch(
      /image\.model\.path: onnxruntime could not load .*unknown-op\.onnx: .*NoSuchOperator/,
    );
  });
});
