import jpeg from "jpeg-js";
import { PNG } from "pngjs";
import { reject } from "./media-rejection.js";

/** A decoded image: `width × height` RGBA pixels, row-major, 8 bits per channel. */
export interface RgbaImage {
  width: number;
  height: number;
  data: Uint8Array;
}

export type ImageFormat = "png" | "jpeg";

const PNG_SIGNATURE = Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]);

/**
 * Decodes a PNG or JPEG (pngjs, jpeg-js: pure JavaScript). The dimensions are read from the header
 * first, so an image over `maxPixels` is refused before any pixel is decoded. Throws MediaRejection:
 * corrupt_media (wrong signature, damaged or cut data) or too_large.
 */
export function decodeImage(bytes: Buffer, format: ImageFormat, maxPixels: number): RgbaImage {
  const size = format === "png" ? pngSize(bytes) : jpegSize(bytes);
  if (size.width === 0 || size.height === 0) {
    throw reject("corrupt_media", `${format} header gives a ${size.width}×${size.height} image`);
  }
  if (size.width * size.height > maxPixels) {
    throw reject(
      "too_large",
      `${format} image is ${size.width}×${size.height} = ${size.width * size.height} pixels, over maxPixels ${maxPixels}`,
    );
  }
  try {
    if (format === "png") {
      const png = PNG.sync.read(bytes);
      return { width: png.width, height: png.height, data: png.data };
    }
    const img = jpeg.decode(bytes, {
      useTArray: true,
      formatAsRGBA: true,
      tolerantDecoding: false,
      maxResolutionInMP: maxPixels / 1e6,
      maxMemoryUsageInMB: Math.max(64, Math.ceil((maxPixels * 8) / 1e6)),
    });
    return { width: img.width, height: img.height, data: img.data };
  } catch (err) {
    throw reject("corrupt_media", `${format} does not decode: ${(err as Error).message ?? String(err)}`);
  }
}

/** Width and height from a PNG's IHDR chunk. */
function pngSize(bytes: Buffer): { width: number; height: number } {
  if (bytes.length < 24 || !bytes.subarray(0, 8).equals(PNG_SIGNATURE)) {
    throw reject("corrupt_media", "not a PNG (no PNG signature)");
  }
  if (bytes.toString("latin1", 12, 16) !== "IHDR")
    throw reject("corrupt_media", "PNG has no IHDR chunk first");
  return { width: bytes.readUInt32BE(16), height: bytes.readUInt32BE(20) };
}

/** Width and height from a JPEG's start-of-frame marker. */
function jpegSize(bytes: Buffer): { width: number; height: number } {
  if (bytes.length < 4 || bytes[0] !== 0xff || bytes[1] !== 0xd8) {
    throw reject("corrupt_media", "not a JPEG (no start-of-image marker)");
  }
  let pos = 2;
  while (pos + 4 <= bytes.length) {
    if (bytes[pos] !== 0xff) throw reject("corrupt_media", `JPEG marker expected at byte ${pos}`);
    const marker = bytes[pos + 1]!;
    if (marker === 0xff) {
      pos++;
      continue;
    }
    const length = bytes.readUInt16BE(pos + 2);
    const isFrame = marker >= 0xc0 && marker <= 0xcf && marker !== 0xc4 && marker !== 0xc8 && marker !== 0xcc;
    if (isFrame) {
      if (pos + 9 > bytes.length) break;
      return { height: bytes.readUInt16BE(pos + 5), width: bytes.readUInt16BE(pos + 7) };
    }
    if (marker === 0xda) break;
    pos += 2 + length;
  }
  throw reject("corrupt_media", "JPEG has no frame header before its image data");
}
