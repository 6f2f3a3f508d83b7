import { closeSync, openSync, readSync, writeSync } from "node:fs";
import { StringDecoder } from "node:string_decoder";
import { TemplateMiner, type TemplateMinerOptions } from "../../processors/snn-filter/index.js";
import { csvField } from "./csv.js";

export interface MineFileOptions {
  inPath: string;
  outPath: string;
  miner?: Partial<TemplateMinerOptions>;
  /** A line longer than this (UTF-8 bytes) is not mined: it gets TemplateId 0 and an empty template. */
  maxLineBytes: number;
  /** Called about every 100k lines with the lines read so far. */
  onProgress?: (lines: number) => void;
}

export interface MineFileReport {
  lines: number;
  templates: number;
  /** LineIds (1-based) of the lines over `maxLineBytes`. */
  tooLong: number[];
  /** Template id per line (index = LineId - 1); 0 for a line over the limit. */
  templateIds: Int32Array;
  outPath: string;
}

const CHUNK_BYTES = 1 << 20;

/**
 * Mines a file of log messages, one per line (LF or CRLF; a final line break adds no line), with one
 * TemplateMiner, and writes `LineId,TemplateId,Template` for every line: LineId counts lines from 1,
 * and each line gets its template as it stands after the whole file (so every line of a group shows
 * the same, most general template). A blank line is a line too (template ""). Fields are CSV-quoted
 * where needed.
 */
export function mineFile(options: MineFileOptions): MineFileReport {
  const miner = new TemplateMiner(options.miner);
  let ids = new Int32Array(1 << 16);
  let lines = 0;
  const tooLong: number[] = [];
  const add = (line: string | undefined) => {
    if (lines === ids.length) {
      const grown = new Int32Array(ids.length * 2);
      grown.set(ids);
      ids = grown;
    }
    lines++;
    if (lines === 1 && line?.charCodeAt(0) === 0xfeff) line = line.slice(1); // a UTF-8 byte order mark
    if (line === undefined) tooLong.push(lines);
    else ids[lines - 1] = miner.add(line).templateId;
    if (lines % 100_000 === 0) options.onProgress?.(lines);
  };
  readLines(options.inPath, options.maxLineBytes, add);
  const report: MineFileReport = {
    lines,
    templates: miner.size,
    tooLong,
    templateIds: ids.subarray(0, lines),
    outPath: options.outPath,
  };
  writeCsv(options.outPath, report.templateIds, (id) => miner.templateOf(id) ?? "");
  return report;
}

/**
 * Calls `onLine` for each LF-terminated line of the file (and a final unterminated one), decoded as
 * UTF-8; a line over `maxBytes` is passed as undefined and never held in memory whole.
 */
function readLines(path: string, maxBytes: number, onLine: (line: string | undefined) => void): void {
  const fd = openSync(path, "r");
  try {
    const buf = Buffer.allocUnsafe(CHUNK_BYTES);
    const decoder = new StringDecoder("utf8");
    let partial = "";
    let isTooLong = false;
    const isOver = (text: string, limit: number) =>
      text.length * 3 > limit && Buffer.byteLength(text, "utf8") > limit;
    const finish = (piece: string) => {
      let line: string | undefined;
      if (!isTooLong) {
        line = partial + piece;
        if (line.endsWith("\r")) line = line.slice(0, -1);
        if (isOver(line, maxBytes)) line = undefined;
      }
      onLine(line);
      partial = "";
      isTooLong = false;
    };
    for (;;) {
      const n = readSync(fd, buf, 0, CHUNK_BYTES, null);
      if (n === 0) break;
      const text = decoder.write(buf.subarray(0, n));
      let from = 0;
      for (let nl = text.indexOf("\n"); nl >= 0; nl = text.indexOf("\n", from)) {
        finish(text.slice(from, nl));
        from = nl + 1;
      }
      if (!isTooLong) {
        partial += text.slice(from);
        // + 1: a CR may still come before the LF.
        if (isOver(partial, maxBytes + 1)) {
          isTooLong = true;
          partial = "";
        }
      }
    }
    const tail = decoder.end();
    if (tail !== "" || partial !== "" || isTooLong) finish(tail);
  } finally {
    closeSync(fd);
  }
}

function writeCsv(path: string, ids: Int32Array, templateOf: (id: number) => string): void {
  const fd = openSync(path, "w");
  try {
    const quoted = new Map<number, string>();
    let chunk = "LineId,TemplateId,Template\n";
    for (let i = 0; i < ids.length; i++) {
      const id = ids[i]!;
      let template = quoted.get(id);
      if (template === undefined) {
        template = csvField(id === 0 ? "" : templateOf(id));
        quoted.set(id, template);
      }
      chunk += `${i + 1},${id},${template}\n`;
      if (chunk.length > CHUNK_BYTES) {
        writeSync(fd, chunk);
        chunk = "";
      }
    }
    writeSync(fd, chunk);
  } finally {
    closeSync(fd);
  }
}
