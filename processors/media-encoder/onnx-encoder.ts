import { basename, resolve } from "node:path";
import { InferenceSession, Tensor } from "onnxruntime-node";
import { ConfigError } from "../../streams/index.js";
import { reject } from "./media-rejection.js";
import { fitsDims, formatDims } from "./onnx-model-file.js";
import type { OnnxModelOptions } from "./options.js";

interface SharedSession {
  session: Promise<InferenceSession>;
  refs: number;
}

/** Sessions by file and thread count: the partitions of one process share one loaded model. */
const sessions = new Map<string, SharedSession>();

/**
 * An ONNX model run through onnxruntime-node on the CPU: one float32 input of a fixed shape in, the
 * named output out as the embedding. `open` loads it (or shares an already loaded one) and turns a
 * load failure into a ConfigError naming the option and the file.
 */
export class OnnxEncoder {
  private released = false;

  private constructor(
    /** "onnx:<file name>", for tags and logs. */
    readonly label: string,
    private readonly key: string,
    private readonly session: InferenceSession,
    private readonly input: string,
    private readonly output: string,
    private readonly shape: readonly number[],
  ) {}

  /** Loads `model` for tensors of `shape`; `field` (e.g. "image.model") names the option in errors. */
  static async open(model: OnnxModelOptions, shape: readonly number[], field: string): Promise<OnnxEncoder> {
    const file = resolve(model.path);
    const key = `${file}|${model.intraOpThreads}`;
    let shared = sessions.get(key);
    if (!shared) {
      const created: SharedSession = {
        session: InferenceSession.create(file, {
          intraOpNumThreads: model.intraOpThreads,
          interOpNumThreads: 1,
          executionMode: "sequential",
        }),
        refs: 0,
      };
      created.session.catch(() => {
        if (sessions.get(key) === created) sessions.delete(key);
      });
      sessions.set(key, created);
      shared = created;
    }
    shared.refs++;
    let session: InferenceSession;
    try {
      session = await shared.session;
    } catch (err) {
      shared.refs--;
      throw new ConfigError(
        [
          `${field}.path: onnxruntime could not load ${file}: ${(err as Error).message} (is the file truncated or corrupt?)`,
        ],
        { cause: err, context: { file } },
      );
    }
    const problems: string[] = [];
    const input = model.input ?? session.inputNames[0] ?? "";
    const output = model.output ?? session.outputNames[0] ?? "";
    const meta = session.inputMetadata.find((m) => m.name === input);
    if (!session.inputNames.includes(input)) {
      problems.push(
        `${field}.input: ${file} has no input "${input}" (inputs: ${session.inputNames.join(", ")})`,
      );
    } else if (meta?.isTensor && meta.shape.length > 0 && !fitsDims([...meta.shape], shape)) {
      problems.push(
        `${field}.inputShape: ${file} input "${input}" is ${formatDims([...meta.shape])}, the tensor is [${shape.join(", ")}]`,
      );
    }
    if (!session.outputNames.includes(output)) {
      problems.push(
        `${field}.output: ${file} has no output "${output}" (outputs: ${session.outputNames.join(", ")})`,
      );
    }
    const encoder = new OnnxEncoder(`onnx:${basename(file)}`, key, session, input, output, shape);
    if (problems.length > 0) {
      await encoder.release();
      throw new ConfigError(problems, { context: { file } });
    }
    return encoder;
  }

  /** Elements of one input tensor. */
  get inputSize(): number {
    return this.shape.reduce((a, b) => a * b, 1);
  }

  /** Runs the model on one input tensor; the output's values, flattened. Throws MediaRejection. */
  async embed(values: Float32Array): Promise<Float32Array> {
    if (values.length !== this.inputSize) {
      throw reject(
        "wrong_shape",
        `tensor has ${values.length} values, the model input [${this.shape.join(", ")}] takes ${this.inputSize}`,
      );
    }
    let result: InferenceSession.OnnxValueMapType;
    try {
      result = await this.session.run({ [this.input]: new Tensor("float32", values, this.shape) }, [
        this.output,
      ]);
    } catch (err) {
      throw reject("inference_failed", `${this.label}: ${(err as Error).message}`);
    }
    const out = result[this.output];
    if (!(out instanceof Tensor) || out.type !== "float32") {
      throw reject("inference_failed", `${this.label}: output "${this.output}" is not a float32 tensor`);
    }
    const data = out.data as Float32Array;
    if (data.length === 0) throw reject("wrong_shape", `${this.label}: output "${this.output}" is empty`);
    return data;
  }

  /** One user fewer; the last one releases the session. */
  async release(): Promise<void> {
    if (this.released) return;
    this.released = true;
    const shared = sessions.get(this.key);
    if (!shared) return;
    shared.refs--;
    if (shared.refs > 0) return;
    sessions.delete(this.key);
    await this.session.release();
  }
}
