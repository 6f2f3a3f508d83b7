import type { Counter, Histogram, Registry } from "prom-client";
import { counter, histogram } from "../../streams/index.js";
import { REJECT_REASONS } from "./media-rejection.js";

export interface MediaMetrics {
  events: Counter<"processor" | "kind">;
  rejected: Counter<"processor" | "reason">;
  encodeSeconds: Histogram<"processor" | "kind">;
}

const ENCODE_BUCKETS_SECONDS = [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5];

/** The media encoder's metrics catalogue. */
export function mediaMetrics(registry: Registry): MediaMetrics {
  return {
    events: counter(registry, {
      name: "spikemesh_media_events_total",
      help: "Media records read by the media encoder, by kind (IMAGE, AUDIO, VIDEO_FRAME)",
      labelNames: ["processor", "kind"],
    }),
    rejected: counter(registry, {
      name: "spikemesh_media_rejected_total",
      help: "Media records dead-lettered by the media encoder, by reason",
      labelNames: ["processor", "reason"],
    }),
    encodeSeconds: histogram(registry, {
      name: "spikemesh_media_encode_seconds",
      help: "Time to read, decode and encode one media record into features (wall time)",
      labelNames: ["processor", "kind"],
      buckets: ENCODE_BUCKETS_SECONDS,
    }),
  };
}

/** Every reason starts at 0, so a dead-letter rate is 0 rather than "no data". */
export function initMediaSeries(metrics: MediaMetrics, processor: string): void {
  for (const reason of REJECT_REASONS) metrics.rejected.inc({ processor, reason }, 0);
  for (const kind of ["IMAGE", "AUDIO", "VIDEO_FRAME"]) metrics.events.inc({ processor, kind }, 0);
}
