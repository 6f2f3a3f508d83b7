import {
  changelogTopic,
  readToEnd,
  type Topology,
  waitForDrain as waitForCommitted,
} from "../../streams/index.js";
import type { Transport } from "../../streams/transport/transport.js";

/**
 * True when the topology's router (if any) has no open window: its `windows` changelog holds no
 * live key (a closed window is deleted, leaving a tombstone). Windows close on event time or after
 * `idleFlushMs` of wall time, so this is what a drain must also wait for.
 */
export function routerWindowsClosed(
  transport: Transport,
  topology: Topology,
): (probeSeq: number) => Promise<boolean> {
  return async (probeSeq) => {
    const router = topology.nodes.find((n) => n.spec.name === "router");
    if (!router) return true;
    const live = new Map<string, boolean>();
    await readToEnd(
      transport,
      changelogTopic(topology.appId, router, "windows"),
      "all",
      `spikemesh-drain-${process.pid}-${probeSeq}`,
      (rec) => live.set(`${rec.partition}/${rec.key?.toString("hex") ?? ""}`, rec.value !== null),
    );
    return ![...live.values()].some(Boolean);
  };
}

/** Waits until the mesh has processed everything on its topics and closed every router window. */
export function waitForDrain(transport: Transport, topology: Topology, signal?: AbortSignal): Promise<void> {
  return waitForCommitted(transport, topology, {
    settled: routerWindowsClosed(transport, topology),
    ...(signal ? { signal } : {}),
  });
}
