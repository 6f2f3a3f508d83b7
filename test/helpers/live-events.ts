import type { LiveBatch, LiveSpike } from "../../cli/live-view/live-feed.js";

/**
 * Reads the live view's server-sent events (/live/events) the way the page does, keeping every
 * spike it announces. Ends when `signal` aborts or the server closes the stream (then `failure`).
 */
export class LiveEvents {
  readonly spikes: LiveSpike[] = [];
  /** The snapshot on connect may repeat spikes of the first update: one per row and time. */
  private readonly seen = new Set<string>();
  /** Set when the stream failed before `signal` aborted (the server went away, a bad message). */
  failure: unknown;
  private readonly done: Promise<void>;

  constructor(url: string, signal: AbortSignal) {
    this.done = this.read(url, signal).catch((err: unknown) => {
      if (!signal.aborted) this.failure = err;
    });
  }

  /** Resolves when the stream has ended. */
  closed(): Promise<void> {
    return this.done;
  }

  private async read(url: string, signal: AbortSignal): Promise<void> {
    const res = await fetch(url, { signal });
    if (!res.ok || !res.body) throw new Error(`${url}: HTTP ${res.status}`);
    const decoder = new TextDecoder();
    let buffered = "";
    for await (const chunk of res.body as unknown as AsyncIterable<Uint8Array>) {
      buffered += decoder.decode(chunk, { stream: true });
      for (let end = buffered.indexOf("\n\n"); end >= 0; end = buffered.indexOf("\n\n")) {
        this.take(buffered.slice(0, end));
        buffered = buffered.slice(end + 2);
      }
    }
  }

  private take(message: string): void {
    const data = message
      .split("\n")
      .filter((line) => line.startsWith("data: "))
      .map((line) => line.slice("data: ".length))
      .join("\n");
    if (data === "") return;
    const batch = JSON.parse(data) as LiveBatch;
    for (const spike of batch.spikes) {
      const id = `${spike.t}|${spike.row}`;
      if (this.seen.has(id)) continue;
      this.seen.add(id);
      this.spikes.push(spike);
    }
  }
}
