import { changelogTopic, groupId, readToEnd, type Topology } from "../../streams/index.js";
import type { Transport } from "../../streams/transport/transport.js";

export interface DrainProbe {
  /** True when every node has committed every record of its input and no router window is open. */
  drained: boolean;
  /** Records produced but not yet committed by the node reading them, over all nodes. */
  pending: number;
  /** Sum of every input topic's end offsets: unchanged between two drained probes means quiet. */
  endOffsets: number;
}

/**
 * Looks at the topics, not at the processors: a node is done when its consumer group's committed
 * offsets reach the end of its input, and the router has no open window when its `windows`
 * changelog holds no live key (a closed window is deleted, leaving a tombstone).
 */
export async function probeDrain(
  transport: Transport,
  topology: Topology,
  probeSeq: number,
): Promise<DrainProbe> {
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
  let openWindows = 0;
  const router = topology.nodes.find((n) => n.spec.name === "router");
  if (router && pending === 0) {
    const live = new Map<string, boolean>();
    await readToEnd(
      transport,
      changelogTopic(topology.appId, router, "windows"),
      "all",
      `spikemesh-demo-drain-${probeSeq}`,
      (rec) => live.set(`${rec.partition}/${rec.key?.toString("hex") ?? ""}`, rec.value !== null),
    );
    for (const isLive of live.values()) if (isLive) openWindows++;
  }
  return { drained: pending === 0 && openWindows === 0, pending, endOffsets };
}

/**
 * Resolves once the topology is drained and stays drained over two probes `intervalMs` apart
 * (a tier answer can still be on its way to the next topic between two commits).
 */
export async function waitForDrain(
  transport: Transport,
  topology: Topology,
  options: { intervalMs?: number; signal?: AbortSignal; onProbe?: (probe: DrainProbe) => void } = {},
): Promise<void> {
  const intervalMs = options.intervalMs ?? 200;
  let previous: DrainProbe | undefined;
  for (let seq = 0; ; seq++) {
    options.signal?.throwIfAborted();
    const probe = await probeDrain(transport, topology, seq);
    options.onProbe?.(probe);
    if (probe.drained && previous?.drained && previous.endOffsets === probe.endOffsets) return;
    previous = probe;
    await new Promise<void>((resolve) => {
      const timer = setTimeout(resolve, intervalMs);
      options.signal?.addEventListener("abort", () => {
        clearTimeout(timer);
        resolve();
      });
    });
  }
}
