import { closeSync, fdatasyncSync, openSync, renameSync, rmSync, writeSync } from "node:fs";
import type { Logger } from "../logger.js";
import type { PartitionLog } from "./partition-log.js";
import {
  ATTR_BATCH_END,
  frameIsTombstone,
  frameKeyString,
  frameOffset,
  frameTimestamp,
  setFrameAttributes,
} from "./record-codec.js";
import { Segment, type SegmentOptions } from "./segment.js";

/** What one maintenance pass did to a partition. */
export interface CleanResult {
  segmentsDeleted: number;
  segmentsRewritten: number;
  recordsRemoved: number;
}

export interface RetentionPolicy {
  /** -1 keeps forever. */
  retentionMs: number;
  /** -1 keeps everything. */
  retentionBytes: number;
}

/**
 * Delete-policy retention, as Kafka does it: whole segments only, oldest first. Time: a segment
 * goes when its largest record timestamp is older than `nowMs - retentionMs` (the active one is
 * rolled first). Size: oldest closed segments go while the partition stays ≥ `retentionBytes`
 * without them.
 */
export function applyRetention(log: PartitionLog, policy: RetentionPolicy, nowMs: number): CleanResult {
  const result: CleanResult = { segmentsDeleted: 0, segmentsRewritten: 0, recordsRemoved: 0 };
  const drop = (): void => {
    const oldest = log.allSegments()[0]!;
    result.segmentsDeleted++;
    result.recordsRemoved += oldest.recordCount;
    log.removeOldestSegment();
  };
  if (policy.retentionMs >= 0) {
    const cutoff = nowMs - policy.retentionMs;
    for (;;) {
      const oldest = log.allSegments()[0]!;
      if (oldest.recordCount === 0 || oldest.maxTimestampMs >= cutoff) break;
      drop();
    }
  }
  if (policy.retentionBytes >= 0) {
    let excess = log.sizeBytes - policy.retentionBytes;
    while (log.allSegments().length > 1 && excess >= log.allSegments()[0]!.size) {
      excess -= log.allSegments()[0]!.size;
      drop();
    }
  }
  return result;
}

/**
 * Compaction: in closed segments keep only the latest record per key (the active segment counts
 * when finding the latest), preserving offsets, so reads see gaps. A tombstone (null value) that
 * is the latest for its key is removed once its timestamp is older than `nowMs -
 * deleteRetentionMs`, giving consumers that time to see the delete. Each rewritten segment is
 * written to `<name>.cleaned` and renamed over the original, so a crash leaves either version.
 */
export function compactLog(
  log: PartitionLog,
  nowMs: number,
  deleteRetentionMs: number,
  options: SegmentOptions,
  logger: Logger,
): CleanResult {
  const result: CleanResult = { segmentsDeleted: 0, segmentsRewritten: 0, recordsRemoved: 0 };
  const segments = log.allSegments();
  if (segments.length < 2) return result;
  const latest = new Map<string, number>();
  for (const segment of segments) {
    segment.forEachFrame((chunk, at) => {
      const key = frameKeyString(chunk, at);
      if (key !== null) latest.set(key, frameOffset(chunk, at));
    });
  }
  const tombstoneCutoff = nowMs - deleteRetentionMs;
  for (const segment of segments.slice(0, -1)) {
    const kept: Buffer[] = [];
    segment.forEachFrame((chunk, at, frameBytes) => {
      const key = frameKeyString(chunk, at);
      if (key !== null && latest.get(key) !== frameOffset(chunk, at)) return;
      if (key !== null && frameIsTombstone(chunk, at) && frameTimestamp(chunk, at) < tombstoneCutoff) return;
      const frame = Buffer.from(chunk.subarray(at, at + frameBytes));
      // Each surviving record becomes its own batch, so recovery never cuts across a gap.
      setFrameAttributes(frame, 0, ATTR_BATCH_END);
      kept.push(frame);
    });
    if (kept.length === segment.recordCount) continue;
    result.recordsRemoved += segment.recordCount - kept.length;
    if (kept.length === 0) {
      log.replaceSegment(segment, null);
      rmSync(segment.path, { force: true });
      result.segmentsDeleted++;
      continue;
    }
    const tmp = `${segment.path}.cleaned`;
    const fd = openSync(tmp, "w");
    try {
      writeSync(fd, Buffer.concat(kept));
      if (options.fsync) fdatasyncSync(fd);
    } finally {
      closeSync(fd);
    }
    renameSync(tmp, segment.path);
    log.replaceSegment(segment, Segment.open(log.dir, segment.baseOffset, options, logger));
    result.segmentsRewritten++;
  }
  return result;
}
