import type { Clock } from "../../streams/index.js";

export type BreakerState = "closed" | "open" | "half_open";

/** Gauge value of each state: closed 0, half-open 1, open 2. */
export const BREAKER_STATE_VALUE: Record<BreakerState, number> = { closed: 0, half_open: 1, open: 2 };

export interface CircuitBreakerOptions {
  /** Consecutive failures that open the breaker. */
  failureThreshold: number;
  /** How long an open breaker refuses calls before letting one trial call through, ms. */
  openMs: number;
}

/**
 * A classic three-state breaker around one backend: closed (calls go through, consecutive failures
 * counted), open (calls refused until `openMs` passed on the injected clock), half-open (one trial
 * call; success closes, failure opens again). Callers ask `tryAcquire()` before a call and report
 * with `onSuccess()` / `onFailure()`.
 */
export class CircuitBreaker {
  private current: BreakerState = "closed";
  private failures = 0;
  private openedAtMs = 0;
  private isTrialInFlight = false;

  constructor(
    private readonly opts: CircuitBreakerOptions,
    private readonly clock: Clock,
    private readonly onChange: (state: BreakerState) => void = () => {},
  ) {}

  get state(): BreakerState {
    return this.current;
  }

  /** Milliseconds until an open breaker lets a trial call through; 0 when not open. */
  get retryInMs(): number {
    if (this.current !== "open") return 0;
    return Math.max(0, this.openedAtMs + this.opts.openMs - this.clock.nowMs());
  }

  /** True when a call may go ahead now (a half-open breaker admits one trial call at a time). */
  tryAcquire(): boolean {
    if (this.current === "open") {
      if (this.retryInMs > 0) return false;
      this.set("half_open");
    }
    if (this.current === "half_open") {
      if (this.isTrialInFlight) return false;
      this.isTrialInFlight = true;
    }
    return true;
  }

  onSuccess(): void {
    this.failures = 0;
    this.isTrialInFlight = false;
    if (this.current !== "closed") this.set("closed");
  }

  onFailure(): void {
    this.isTrialInFlight = false;
    this.failures++;
    if (this.current === "half_open" || this.failures >= this.opts.failureThreshold) {
      this.openedAtMs = this.clock.nowMs();
      this.failures = 0;
      this.set("open");
    }
  }

  /** A call that ended without telling anything about the backend (shutdown): frees a trial slot. */
  onNeutral(): void {
    this.isTrialInFlight = false;
  }

  private set(state: BreakerState): void {
    this.current = state;
    this.onChange(state);
  }
}
