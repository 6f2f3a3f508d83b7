/** One waiter that sleeps until woken, a timeout, or an abort: how `poll()` waits for data. */
export class Wakeup {
  private waiter: (() => void) | null = null;

  wake(): void {
    this.waiter?.();
  }

  wait(timeoutMs: number, signal: AbortSignal | undefined): Promise<void> {
    return new Promise<void>((resolve) => {
      const done = (): void => {
        clearTimeout(timer);
        signal?.removeEventListener("abort", done);
        if (this.waiter === done) this.waiter = null;
        resolve();
      };
      const timer = setTimeout(done, timeoutMs);
      signal?.addEventListener("abort", done, { once: true });
      this.waiter = done;
    });
  }
}
