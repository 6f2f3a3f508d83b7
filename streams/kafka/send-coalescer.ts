import type { OutgoingRecord, RecordMetadata } from "../transport/transport.js";

/** How a producer checks, merges and sends records; `P` is its prepared form of a send's records. */
export interface CoalescedSends<P> {
  /** Validates one caller's records (throws RECORD_INVALID for that caller alone) and prepares them. */
  prepare(records: OutgoingRecord[]): P | Promise<P>;
  /** Several callers' prepared records as one, in order. */
  merge(parts: P[]): P;
  /** Sends prepared records (one request, or a few size-bounded ones); metadata in record order. */
  send(prepared: P): Promise<RecordMetadata[]>;
}

interface Waiting {
  records: OutgoingRecord[];
  resolve(metadata: RecordMetadata[]): void;
  reject(err: unknown): void;
}

/**
 * One produce request at a time per producer, with the sends that arrive meanwhile merged into the
 * next one. Idempotent sends to one partition must not overlap (both clients number them per
 * partition; @platformatic/kafka 1.x gets OUT_OF_ORDER_SEQUENCE_NUMBER when they do), and partition
 * workers that queued behind each other's round trips spent most of their time waiting. Each caller
 * still gets its own records' metadata, or the error of the request that carried them.
 */
export class SendCoalescer<P> {
  private waiting: Waiting[] = [];
  private isSending = false;

  constructor(private readonly sends: CoalescedSends<P>) {}

  send(records: OutgoingRecord[]): Promise<RecordMetadata[]> {
    return new Promise<RecordMetadata[]>((resolve, reject) => {
      this.waiting.push({ records, resolve, reject });
      if (!this.isSending) void this.drain();
    });
  }

  private async drain(): Promise<void> {
    this.isSending = true;
    try {
      while (this.waiting.length > 0) {
        const group = this.waiting;
        this.waiting = [];
        const ready: { caller: Waiting; prepared: P }[] = [];
        for (const caller of group) {
          try {
            ready.push({ caller, prepared: await this.sends.prepare(caller.records) });
          } catch (err) {
            caller.reject(err);
          }
        }
        if (ready.length === 0) continue;
        try {
          const prepared =
            ready.length === 1 ? ready[0]!.prepared : this.sends.merge(ready.map((r) => r.prepared));
          const metadata = await this.sends.send(prepared);
          let at = 0;
          for (const { caller } of ready) {
            caller.resolve(metadata.slice(at, at + caller.records.length));
            at += caller.records.length;
          }
        } catch (err) {
          for (const { caller } of ready) caller.reject(err);
        }
      }
    } finally {
      this.isSending = false;
    }
  }
}
