import type { ScoredFile } from "./scorer.js";

/** How much a threshold lets through, and what it catches. */
export interface SuppressionFigures {
  threshold: number;
  events: number;
  /** Records whose anomaly score is ≥ the threshold: the escalation-worthy spikes at this threshold. */
  detections: number;
  detectionsPer10k: number;
  windows: number;
  /** Labelled windows with at least one detection inside. */
  windowsCaught: number;
  windowsCaughtShare: number;
}

/**
 * Suppression at a threshold over whole files (the probationary period included, since the filter
 * runs there too): detections per 10 000 events, and the share of labelled windows that got at least
 * one detection. With threshold 0.5 these are the filter's own spikes.
 */
export function suppressionAt(files: readonly ScoredFile[], threshold: number): SuppressionFigures {
  let events = 0;
  let detections = 0;
  let windows = 0;
  let windowsCaught = 0;
  for (const file of files) {
    events += file.scores.length;
    for (let i = 0; i < file.scores.length; i++) if (file.scores[i]! >= threshold) detections++;
    for (const [start, end] of file.windows) {
      windows++;
      for (let i = 0; i < file.timesMs.length; i++) {
        const t = file.timesMs[i]!;
        if (t >= start && t <= end && file.scores[i]! >= threshold) {
          windowsCaught++;
          break;
        }
      }
    }
  }
  return {
    threshold,
    events,
    detections,
    detectionsPer10k: events > 0 ? (detections * 10_000) / events : 0,
    windows,
    windowsCaught,
    windowsCaughtShare: windows > 0 ? windowsCaught / windows : 0,
  };
}
