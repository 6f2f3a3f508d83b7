import { crc32 } from "node:zlib";

/** Above this many bytes the native `zlib.crc32` is faster than the tables (measured on Node 20). */
const JS_MAX_BYTES = 256;

/** Slicing-by-8 tables: table k (at k × 256) advances a CRC by one byte followed by k zero bytes. */
const TABLES = (() => {
  const t = new Int32Array(8 * 256);
  for (let n = 0; n < 256; n++) {
    let c = n;
    for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1;
    t[n] = c;
  }
  for (let n = 0; n < 256; n++) {
    let c = t[n]!;
    for (let k = 1; k < 8; k++) {
      c = t[c & 0xff]! ^ (c >>> 8);
      t[k * 256 + n] = c;
    }
  }
  return t;
})();

/**
 * CRC-32 (IEEE 802.3, the same function as `zlib.crc32`) of `buf[start, end)`, without a
 * `subarray`. Short ranges (a typical record body) are computed here with slicing-by-8 tables,
 * reading 32-bit words through `view` (a DataView whose byte i is `buf[i]`; made here when not
 * given): the native `zlib.crc32` costs a binding call plus a buffer view per record, which was the
 * largest self-time entry of the embedded log's append path. Longer ranges go to `zlib.crc32`.
 */
export function crc32Range(buf: Uint8Array, start: number, end: number, view?: DataView): number {
  const length = end - start;
  if (length > JS_MAX_BYTES) return crc32(buf.subarray(start, end));
  const dv = view ?? new DataView(buf.buffer, buf.byteOffset, buf.byteLength);
  const t = TABLES;
  let c = -1;
  let i = start;
  const end8 = start + (length & ~7);
  for (; i < end8; i += 8) {
    const a = c ^ dv.getInt32(i, true);
    const b = dv.getInt32(i + 4, true);
    c =
      t[1792 + (a & 0xff)]! ^
      t[1536 + ((a >>> 8) & 0xff)]! ^
      t[1280 + ((a >>> 16) & 0xff)]! ^
      t[1024 + (a >>> 24)]! ^
      t[768 + (b & 0xff)]! ^
      t[512 + ((b >>> 8) & 0xff)]! ^
      t[256 + ((b >>> 16) & 0xff)]! ^
      t[b >>> 24]!;
  }
  for (; i < end; i++) c = t[(c ^ buf[i]!) & 0xff]! ^ (c >>> 8);
  return ~c >>> 0;
}
