import { describe, expect, it } from "vitest";
import { SpikemeshError } from "../../streams/errors.js";
import { SendCoalescer } from "../../streams/kafka/send-coalescer.js";
import type { OutgoingRecord, RecordMetadata } from "../../streams/transport/transport.js";

const rec = (topic: string, n: number): OutgoingRecord => ({
  topic,
  key: Buffer.from(`k${n}`),
  value: Buffer.from(`v${n}`),
});

/** A log per topic behind the coalescer's `send`: offsets in arrival order, one request at a time. */
function inMemory() {
  const logs = new Map<string, Buffer[]>();
  const requests: number[] = [];
  let inFlight = 0;
  let release!: () => void;
  const gate = new Promise<void>((r) => {
    release = r;
  });
  const coalescer = new SendCoalescer<OutgoingRecord[]>({
    prepare: (records) => {
      const bad = records.findIndex((r) => r.value === null);
      if (bad >= 0) throw new SpikemeshError("RECORD_INVALID", `record ${bad} has no value`);
      return records;
    },
    merge: (parts) => parts.flat(),
    send: async (records) => {
      inFlight++;
      expect(inFlight).toBe(1); // never two requests at once
      requests.push(records.length);
      // A request starting with a "hold" record waits until the test lets it go: later sends queue.
      if (records[0]?.topic === "hold") await gate;
      inFlight--;
      if (records.some((r) => r.topic === "broken"))
        throw new SpikemeshError("TRANSIENT", "broker went away");
      return records.map((r): RecordMetadata => {
        const log = logs.get(r.topic) ?? [];
        logs.set(r.topic, log);
        log.push(r.value as Buffer);
        return { topic: r.topic, partition: 0, offset: log.length - 1 };
      });
    },
  });
  return { coalescer, logs, requests, release };
}

describe("SendCoalescer", () => {
  it("merges the sends that wait behind a request into one, and gives each caller its own metadata", async () => {
    const m = inMemory();
    const first = m.coalescer.send([rec("hold", 0)]);
    const zeroth = m.coalescer.send([rec("a", 0)]);
    const second = m.coalescer.send([rec("a", 1), rec("b", 0)]);
    const third = m.coalescer.send([rec("a", 2)]);
    m.release();
    expect(await first).toEqual([{ topic: "hold", partition: 0, offset: 0 }]);
    expect(await zeroth).toEqual([{ topic: "a", partition: 0, offset: 0 }]);
    expect(await second).toEqual([
      { topic: "a", partition: 0, offset: 1 },
      { topic: "b", partition: 0, offset: 0 },
    ]);
    expect(await third).toEqual([{ topic: "a", partition: 0, offset: 2 }]);
    expect(m.requests).toEqual([1, 4]);
    expect(m.logs.get("a")?.map(String)).toEqual(["v0", "v1", "v2"]);
  });

  it("fails only the caller whose records are invalid, and every caller of a failed request", async () => {
    const m = inMemory();
    const first = m.coalescer.send([rec("hold", 0)]);
    const invalid = m.coalescer.send([{ ...rec("a", 9), value: null }]);
    const fine = m.coalescer.send([rec("a", 1)]);
    const broken = m.coalescer.send([rec("broken", 0)]);
    m.release();
    await first;
    await expect(invalid).rejects.toThrow(/record 0 has no value/);
    // `fine` went in one request with `broken`: both see that request's error.
    await expect(fine).rejects.toThrow(/broker went away/);
    await expect(broken).rejects.toThrow(/broker went away/);
    expect(m.requests).toEqual([1, 2]);
    // The coalescer goes on after a failed request.
    expect(await m.coalescer.send([rec("a", 3)])).toEqual([{ topic: "a", partition: 0, offset: 0 }]);
  });
});
