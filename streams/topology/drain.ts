import type { Transport } from "../transport/transport.js";
import { groupId, type Topology } from "./topology.js";

export interface DrainProbe {
  /** Records on the nodes' inputs not yet committed by the node reading them. */
  pending: number;
  /** Sum of every input topic's end offsets: unchanged between two probes means nothing new arrived. */
  endOffsets: number;
}

/** How far the topology's consumer groups are behind the end of their inputs, read from the topics. */
export async function probeCommitted(transport: Transport, topology: Topology): Promise<DrainProbe> {
  const admin = transport.admin();
  let pending = 0;
  let endOffsets = 0;
  for (const node of topology.nodes) {
    const [description] = await admin.describeTopics([node.input]);
    const committed = await admin.fetchCommittedOffsets(groupId(topology.appId, node), node.input);
    const at = new Map(committed.map((c) => [c.partition, c.offset]));
    for (const p of description?.partitions ?? []) {
      endOffsets += p.highOffset;
      const position = Math.max(at.get(p.partition) ?? p.lowOffset, p.lowOffset);
      pending += Math.max(0, p.highOffset - position);
    }
  }
  return { pending, endOffsets };
}

export interface WaitForDrainOptions {
  /** Pause between probes. Default 200 ms. */
  intervalMs?: number;
  signal?: AbortSignal;
  /**
   * Extra condition checked once everything is committed, for state that waits on wall-time timers
   * (e.g. windows flushed when idle). Default: none.
   */
  settled?: (probeSeq: number) => Promise<boolean>;
  onProbe?: (probe: DrainProbe & { drained: boolean }) => void;
}

/**
 * Resolves once every node of a running topology has committed everything on its input, `settled`
 * agrees, and two probes `intervalMs` apart saw the same end offsets (an answer can be on its way
 * to the next topic between two commits).
 */
export async function waitForDrain(
  transport: Transport,
  topology: Topology,
  options: WaitForDrainOptions = {},
): Promise<void> {
  const intervalMs = options.intervalMs ?? 200;
  let previous: (DrainProbe & { drained: boolean }) | undefined;
  for (let seq = 0; ; seq++) {
    options.signal?.throwIfAborted();
    const probe = await probeCommitted(transport, topology);
    const drained = probe.pending === 0 && (options.settled ? await options.settled(seq) : true);
    const current = { ...probe, drained };
    options.onProbe?.(current);
    if (drained && previous?.drained && previous.endOffsets === probe.endOffsets) return;
    previous = current;
    await new Promise<void>((resolve) => {
      const timer = setTimeout(resolve, intervalMs);
      options.signal?.addEventListener("abort", () => {
        clearTimeout(timer);
        resolve();
      });
    });
  }
}
