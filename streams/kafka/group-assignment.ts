import { type TopicPartition, tpKey } from "../transport/transport.js";

const byTopicPartition = (a: TopicPartition, b: TopicPartition): number =>
  a.topic === b.topic ? a.partition - b.partition : a.topic < b.topic ? -1 : 1;

/**
 * What the caller owns (told through `onAssigned`, not yet through `onRevoked`) against what the
 * group assigned at the last join, and when each difference may be told: revocations as soon as
 * the join is known, assignments only after the first fetch that followed it, because that
 * fetch fixes where new partitions start (committed offset or the reset policy).
 */
export class GroupAssignment {
  private readonly owned = new Map<string, TopicPartition>();
  /** Owned partitions that left the group's assignment: the caller must let go even if they come back. */
  private readonly lost = new Set<string>();
  /** Undefined before the first join and while the group rebalances. */
  private group: Map<string, TopicPartition> | undefined;
  private awaitingFetch = false;
  private readonly pendingSeeks = new Map<string, number>();
  private hasJoinedOnce = false;

  get hasJoined(): boolean {
    return this.hasJoinedOnce;
  }

  /** The group started rebalancing: nothing is delivered until the next join. */
  rebalancing(): void {
    this.group = undefined;
  }

  /** A join finished with `memberAssignment` (topic → partitions); returns the assigned keys. */
  joined(memberAssignment: Record<string, number[]>): string[] {
    const next = new Map<string, TopicPartition>();
    for (const [topic, partitions] of Object.entries(memberAssignment)) {
      for (const partition of partitions) next.set(tpKey({ topic, partition }), { topic, partition });
    }
    for (const key of this.owned.keys()) if (!next.has(key)) this.lost.add(key);
    this.group = next;
    this.awaitingFetch = true;
    this.hasJoinedOnce = true;
    return [...next.keys()];
  }

  /** A fetch completed; true when it was the first after a join (new partitions may be told now). */
  fetched(): boolean {
    if (!this.awaitingFetch) return false;
    this.awaitingFetch = false;
    return true;
  }

  inGroup(key: string): boolean {
    return this.group?.has(key) === true;
  }

  /** A seek of a partition not (yet) in the group: applied when a join assigns it. */
  deferSeek(key: string, offset: number): void {
    this.pendingSeeks.set(key, offset);
  }

  takeDeferredSeek(key: string): number | undefined {
    const offset = this.pendingSeeks.get(key);
    this.pendingSeeks.delete(key);
    return offset;
  }

  /** Owned partitions the caller must give up now. */
  toRevoke(): TopicPartition[] {
    const group = this.group;
    if (group === undefined) return [];
    return [...this.owned]
      .filter(([key]) => !group.has(key) || this.lost.has(key))
      .map(([, tp]) => ({ ...tp }))
      .sort(byTopicPartition);
  }

  released(partitions: readonly TopicPartition[]): void {
    for (const tp of partitions) {
      this.owned.delete(tpKey(tp));
      this.lost.delete(tpKey(tp));
    }
  }

  /** Assigned partitions the caller does not own yet, once their start positions are fixed. */
  toAssign(): TopicPartition[] {
    const group = this.group;
    if (group === undefined || this.awaitingFetch) return [];
    return [...group]
      .filter(([key]) => !this.owned.has(key))
      .map(([, tp]) => ({ ...tp }))
      .sort(byTopicPartition);
  }

  claimed(partitions: readonly TopicPartition[]): void {
    for (const tp of partitions) this.owned.set(tpKey(tp), { ...tp });
  }

  /** Keys whose records may go to the caller: owned, still assigned, not lost. */
  deliverable(): string[] {
    const group = this.group;
    if (group === undefined) return [];
    return [...this.owned.keys()].filter((key) => group.has(key) && !this.lost.has(key));
  }

  ownedPartitions(): TopicPartition[] {
    return [...this.owned.values()].map((tp) => ({ ...tp })).sort(byTopicPartition);
  }

  releaseAll(): void {
    this.owned.clear();
    this.lost.clear();
  }
}
