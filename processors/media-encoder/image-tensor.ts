import type { RgbaImage } from "./image-decode.js";
import { reject } from "./media-rejection.js";
import type { ImageOptions } from "./options.js";

export type TensorOptions = Pick<ImageOptions, "width" | "height" | "resize" | "mean" | "std" | "layout">;

/**
 * An image as a float tensor of one batch: scaled to `width × height` (`resize`), each RGB channel
 * mapped to [0, 1] then (x − mean[c]) / std[c], laid out NCHW ([1, 3, H, W]) or NHWC ([1, H, W, 3]).
 * Alpha is ignored. With `resize: "none"` an image of another size is rejected (wrong_shape).
 */
export function imageTensor(image: RgbaImage, opts: TensorOptions): Float32Array {
  const { width: W, height: H } = opts;
  if (opts.resize === "none" && (image.width !== W || image.height !== H)) {
    throw reject(
      "wrong_shape",
      `image is ${image.width}×${image.height}, the tensor is ${W}×${H} and resize is none`,
    );
  }
  const rgb = scaled(image, W, H, opts.resize);
  const out = new Float32Array(3 * W * H);
  const plane = W * H;
  for (let c = 0; c < 3; c++) {
    const mean = opts.mean[c]!;
    const inv = 1 / opts.std[c]!;
    for (let i = 0; i < plane; i++) {
      const v = (rgb[i * 3 + c]! / 255 - mean) * inv;
      if (opts.layout === "NCHW") out[c * plane + i] = v;
      else out[i * 3 + c] = v;
    }
  }
  return out;
}

/** RGB values (0-255, as floats) of the image scaled to W × H, row-major, 3 per pixel. */
function scaled(image: RgbaImage, W: number, H: number, mode: ImageOptions["resize"]): Float32Array {
  const { width: w, height: h, data } = image;
  const out = new Float32Array(W * H * 3);
  if (mode === "none" || (w === W && h === H)) {
    for (let i = 0; i < W * H; i++) for (let c = 0; c < 3; c++) out[i * 3 + c] = data[i * 4 + c]!;
    return out;
  }
  const sx = w / W;
  const sy = h / H;
  for (let y = 0; y < H; y++) {
    for (let x = 0; x < W; x++) {
      const o = (y * W + x) * 3;
      if (mode === "nearest") {
        const src =
          (Math.min(h - 1, Math.floor((y + 0.5) * sy)) * w + Math.min(w - 1, Math.floor((x + 0.5) * sx))) * 4;
        for (let c = 0; c < 3; c++) out[o + c] = data[src + c]!;
      } else if (mode === "bilinear") {
        bilinear(data, w, h, (x + 0.5) * sx - 0.5, (y + 0.5) * sy - 0.5, out, o);
      } else {
        area(data, w, x * sx, (x + 1) * sx, y * sy, (y + 1) * sy, out, o);
      }
    }
  }
  return out;
}

function bilinear(
  data: Uint8Array,
  w: number,
  h: number,
  fx: number,
  fy: number,
  out: Float32Array,
  o: number,
): void {
  const cx = Math.min(Math.max(fx, 0), w - 1);
  const cy = Math.min(Math.max(fy, 0), h - 1);
  const x0 = Math.floor(cx);
  const y0 = Math.floor(cy);
  const x1 = Math.min(x0 + 1, w - 1);
  const y1 = Math.min(y0 + 1, h - 1);
  const ax = cx - x0;
  const ay = cy - y0;
  for (let c = 0; c < 3; c++) {
    const top = data[(y0 * w + x0) * 4 + c]! * (1 - ax) + data[(y0 * w + x1) * 4 + c]! * ax;
    const bottom = data[(y1 * w + x0) * 4 + c]! * (1 - ax) + data[(y1 * w + x1) * 4 + c]! * ax;
    out[o + c] = top * (1 - ay) + bottom * ay;
  }
}

/** Average over the source rectangle [x0, x1) × [y0, y1), partial pixels weighted by their overlap. */
function area(
  data: Uint8Array,
  w: number,
  x0: number,
  x1: number,
  y0: number,
  y1: number,
  out: Float32Array,
  o: number,
): void {
  let r = 0;
  let g = 0;
  let b = 0;
  let total = 0;
  for (let y = Math.floor(y0); y < Math.ceil(y1); y++) {
    const wy = Math.min(y + 1, y1) - Math.max(y, y0);
    for (let x = Math.floor(x0); x < Math.ceil(x1); x++) {
      const weight = wy * (Math.min(x + 1, x1) - Math.max(x, x0));
      const p = (y * w + x) * 4;
      r += data[p]! * weight;
      g += data[p + 1]! * weight;
      b += data[p + 2]! * weight;
      total += weight;
    }
  }
  out[o] = r / total;
  out[o + 1] = g / total;
  out[o + 2] = b / total;
}
