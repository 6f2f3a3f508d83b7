import type { TimerClock } from "./processor.js";

interface Timer {
  everyMs: number;
  nextMs: number;
  tick: (nowMs: number) => void | Promise<void>;
  cancelled: boolean;
}

/**
 * Punctuation schedules for one task, one list per clock. Stream timers are due when event time
 * passes them; wall timers when the runtime clock does. A timer fires at most once per call even
 * if several periods were skipped (like Kafka Streams' punctuators), then realigns.
 */
export class TimerSet {
  private readonly timers: Record<TimerClock, Timer[]> = { stream: [], wall: [] };

  add(everyMs: number, clock: TimerClock, startMs: number, tick: Timer["tick"]): () => void {
    if (!(everyMs > 0) || !Number.isFinite(everyMs)) {
      throw new RangeError(`schedule(): everyMs must be a positive finite number, got ${everyMs}`);
    }
    const timer: Timer = { everyMs, nextMs: startMs + everyMs, tick, cancelled: false };
    this.timers[clock].push(timer);
    return () => {
      timer.cancelled = true;
      this.timers[clock] = this.timers[clock].filter((t) => t !== timer);
    };
  }

  /** Aligns the start of stream timers created before the first record was seen. */
  anchorStream(firstMs: number): void {
    for (const t of this.timers.stream) {
      if (!Number.isFinite(t.nextMs)) t.nextMs = firstMs + t.everyMs;
    }
  }

  /**
   * Fires the timers of `clock` due at `nowMs`. Returns nothing (without allocating) when none is
   * due, which is the case for almost every record, else a promise of the ticks run in order.
   */
  fire(clock: TimerClock, nowMs: number): Promise<void> | undefined {
    const list = this.timers[clock];
    for (let i = 0; i < list.length; i++) {
      const t = list[i]!;
      if (!t.cancelled && nowMs >= t.nextMs) return this.fireDue(clock, nowMs);
    }
    return undefined;
  }

  private async fireDue(clock: TimerClock, nowMs: number): Promise<void> {
    for (const t of [...this.timers[clock]]) {
      if (t.cancelled || nowMs < t.nextMs) continue;
      const periods = Math.floor((nowMs - t.nextMs) / t.everyMs) + 1;
      t.nextMs += periods * t.everyMs;
      await t.tick(nowMs);
    }
  }

  get isEmpty(): boolean {
    return this.timers.stream.length === 0 && this.timers.wall.length === 0;
  }
}
