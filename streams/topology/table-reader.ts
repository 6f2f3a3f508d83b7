import type { RecordType } from "../../schemas/index.js";
import type { Logger } from "../logger.js";
import type { Consumer, IncomingRecord, Transport } from "../transport/transport.js";
import type { RecordCodec } from "./codec.js";

export interface TableReaderOptions {
  transport: Transport;
  codec: RecordCodec;
  /** The table's name in the processor spec. */
  name: string;
  topic: string;
  type: RecordType<unknown>;
  groupId: string;
  log: Logger;
}

/**
 * The latest value per key of a compacted topic (like a Kafka Streams GlobalKTable): loaded to the
 * end before the node starts processing, then kept current in the background. Records that do not
 * decode are skipped with a warning (a table holds the newest good value).
 */
export class TableReader {
  readonly entries = new Map<string, unknown>();
  private readonly abort = new AbortController();
  private consumer: Consumer | null = null;
  private loop: Promise<void> | null = null;

  constructor(private readonly opts: TableReaderOptions) {}

  get name(): string {
    return this.opts.name;
  }

  /** Reads the topic up to the end it had at start, then keeps following it in the background. */
  async start(): Promise<void> {
    const { transport, topic, groupId } = this.opts;
    const [description] = await transport.admin().describeTopics([topic]);
    const ends = new Map(
      (description?.partitions ?? [])
        .filter((p) => p.highOffset > p.lowOffset)
        .map((p) => [p.partition, p.highOffset]),
    );
    // A private group that never commits: every start reads the whole compacted topic.
    this.consumer = transport.consumer({
      groupId: `${groupId}.${process.pid}.${Date.now()}`,
      autoOffsetReset: "earliest",
    });
    await this.consumer.subscribe([topic]);
    let emptyPolls = 0;
    while (ends.size > 0 && emptyPolls < 5) {
      const batch = await this.consumer.poll({ maxRecords: 5000, maxWaitMs: 200, signal: this.abort.signal });
      emptyPolls = batch.length === 0 ? emptyPolls + 1 : 0;
      for (const rec of batch) {
        await this.apply(rec);
        const end = ends.get(rec.partition);
        if (end !== undefined && rec.offset >= end - 1) ends.delete(rec.partition);
      }
    }
    this.loop = this.follow();
  }

  async stop(): Promise<void> {
    this.abort.abort();
    await this.loop?.catch(() => undefined);
    await this.consumer?.close();
  }

  private async follow(): Promise<void> {
    const signal = this.abort.signal;
    while (!signal.aborted) {
      const batch = await this.consumer!.poll({ maxRecords: 1000, maxWaitMs: 200, signal }).catch(
        (err: unknown) => {
          if (!signal.aborted) this.opts.log.warn({ err, table: this.opts.name }, "table poll failed");
          return [];
        },
      );
      for (const rec of batch) await this.apply(rec);
    }
  }

  private async apply(rec: IncomingRecord): Promise<void> {
    if (!rec.key) return;
    const key = rec.key.toString("utf8");
    if (rec.value === null) {
      this.entries.delete(key);
      return;
    }
    try {
      this.entries.set(key, await this.opts.codec.decode(rec.topic, this.opts.type, rec.value));
    } catch (err) {
      this.opts.log.warn(
        { err, table: this.opts.name, offset: rec.offset },
        "skipping table record that does not decode",
      );
    }
  }
}
