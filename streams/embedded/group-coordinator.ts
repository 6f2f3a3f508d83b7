import { type TopicPartition, tpKey } from "../transport/transport.js";

/** What the coordinator needs of a consumer. */
export interface GroupMember {
  /** Unique in the transport; members are ordered by it when assigning (join order). */
  readonly memberId: string;
  /** Topics the member subscribed to. */
  readonly topics: readonly string[];
  /** The target assignment changed: the member should revoke/claim at its next poll. */
  onGroupChange(): void;
}

interface Group {
  members: Map<string, GroupMember>;
  /** tpKey → member that should own it. */
  target: Map<string, string>;
  /** tpKey → member that owns it now. */
  owner: Map<string, string>;
  partitions: Map<string, TopicPartition>;
}

/**
 * In-process group coordinator. Assignment is Kafka's range assignor per topic over members in
 * join order, so partition i of co-partitioned topics lands on the same member. Moves are
 * incremental (cooperative): a partition changes hands only after its owner released it in its
 * own poll (after `onRevoked`), so no partition is ever consumed by two members at once, and a
 * slow member only delays the partitions it holds.
 */
export class GroupCoordinator {
  private readonly groups = new Map<string, Group>();

  /** @param partitionCount Partitions of a topic, or undefined when it does not exist. */
  constructor(private readonly partitionCount: (topic: string) => number | undefined) {}

  /** Adds a member or updates its subscription, then recomputes the group's target. */
  join(groupId: string, member: GroupMember): void {
    let group = this.groups.get(groupId);
    if (group === undefined) {
      group = { members: new Map(), target: new Map(), owner: new Map(), partitions: new Map() };
      this.groups.set(groupId, group);
    }
    group.members.set(member.memberId, member);
    this.rebalance(group);
  }

  /** Removes a member, releasing whatever it still owns. */
  leave(groupId: string, memberId: string): void {
    const group = this.groups.get(groupId);
    if (group === undefined || !group.members.delete(memberId)) return;
    for (const [key, owner] of [...group.owner]) if (owner === memberId) group.owner.delete(key);
    if (group.members.size === 0) this.groups.delete(groupId);
    else this.rebalance(group);
  }

  /** Topics were created or deleted: recompute every group. */
  topicsChanged(): void {
    for (const group of this.groups.values()) this.rebalance(group);
  }

  /** Partitions the member owns whose target is now someone else (or nobody). */
  toRevoke(groupId: string, memberId: string): TopicPartition[] {
    const group = this.groups.get(groupId);
    if (group === undefined) return [];
    const out: TopicPartition[] = [];
    for (const [key, owner] of group.owner) {
      if (owner === memberId && group.target.get(key) !== memberId) out.push(this.partitionOf(group, key));
    }
    return sortPartitions(out);
  }

  /** Gives partitions back; their new targets are told to claim them. */
  release(groupId: string, memberId: string, partitions: readonly TopicPartition[]): void {
    const group = this.groups.get(groupId);
    if (group === undefined) return;
    const notify = new Set<GroupMember>();
    for (const tp of partitions) {
      const key = tpKey(tp);
      if (group.owner.get(key) !== memberId) continue;
      group.owner.delete(key);
      const next = group.members.get(group.target.get(key) ?? "");
      if (next !== undefined) notify.add(next);
    }
    for (const m of notify) m.onGroupChange();
  }

  /** Takes every partition targeted at the member that nobody owns; returns them. */
  claim(groupId: string, memberId: string): TopicPartition[] {
    const group = this.groups.get(groupId);
    if (group === undefined) return [];
    const out: TopicPartition[] = [];
    for (const [key, target] of group.target) {
      if (target === memberId && !group.owner.has(key)) {
        group.owner.set(key, memberId);
        out.push(this.partitionOf(group, key));
      }
    }
    return sortPartitions(out);
  }

  /** Groups with at least one member. */
  activeGroups(): string[] {
    return [...this.groups.keys()];
  }

  private rebalance(group: Group): void {
    group.target.clear();
    const members = [...group.members.values()].sort((a, b) => (a.memberId < b.memberId ? -1 : 1));
    const topics = new Set(members.flatMap((m) => m.topics));
    for (const topic of topics) {
      const count = this.partitionCount(topic);
      if (count === undefined) continue;
      const subscribers = members.filter((m) => m.topics.includes(topic));
      const per = Math.floor(count / subscribers.length);
      const extra = count % subscribers.length;
      let next = 0;
      subscribers.forEach((m, i) => {
        const n = per + (i < extra ? 1 : 0);
        for (let p = next; p < next + n; p++) {
          const tp = { topic, partition: p };
          group.target.set(tpKey(tp), m.memberId);
          group.partitions.set(tpKey(tp), tp);
        }
        next += n;
      });
    }
    for (const m of members) m.onGroupChange();
  }

  private partitionOf(group: Group, key: string): TopicPartition {
    return group.partitions.get(key)!;
  }
}

function sortPartitions(list: TopicPartition[]): TopicPartition[] {
  return list.sort((a, b) => (a.topic === b.topic ? a.partition - b.partition : a.topic < b.topic ? -1 : 1));
}
