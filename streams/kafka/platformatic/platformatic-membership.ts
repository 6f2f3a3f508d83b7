import type { Consumer as PltConsumer } from "@platformatic/kafka";
import type { SpikemeshError } from "../../errors.js";
import type { Logger } from "../../logger.js";
import { closeForced, fromPlatformaticError, isCoordinatorLost } from "./platformatic-errors.js";

export type PltGroupClient = PltConsumer<Buffer, Buffer, string, string>;

export interface GroupMemberOptions {
  createClient(): PltGroupClient;
  groupId: string;
  log: Logger;
  /** A join finished with these assignments. */
  onJoin(assignments: { topic: string; partitions: number[] }[]): void;
  /** The group is rebalancing, or the member starts over with a new client. */
  onRebalance(): void;
  /** Joining failed for a reason retrying does not fix. */
  onFatal(err: SpikemeshError): void;
}

const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

/**
 * A consumer's membership in its group through the @platformatic/kafka client, which runs the
 * classic protocol (join, sync, heartbeats, rejoining when a heartbeat reports a rebalance).
 * This class adds what the client lacks: joins are retried with backoff until they succeed (the
 * client gives up after `retries`, e.g. while a fresh broker loads `__consumer_offsets`), and a
 * lost coordinator is found again by replacing the client (see {@link isCoordinatorLost}).
 */
export class GroupMember {
  client: PltGroupClient;
  private topics: string[] = [];
  private isActive = false;
  private joining: Promise<void> | null = null;

  constructor(private readonly options: GroupMemberOptions) {
    this.client = this.wire(options.createClient());
  }

  /** Subscribes to `topics` and joins in the background. */
  start(topics: string[]): void {
    this.topics = topics;
    for (const t of topics) this.client.topics.track(t);
    this.isActive = true;
    this.rejoin();
  }

  /** After a failed group operation (a commit): a lost coordinator means a new client and a new join. */
  recover(err: unknown): void {
    if (!this.isActive || !isCoordinatorLost(err)) return;
    this.replaceClient();
    this.rejoin();
  }

  /** Leaves the group and closes the client. */
  async stop(): Promise<void> {
    this.isActive = false;
    await this.joining?.catch(() => undefined);
    await closeForced(this.client);
  }

  private rejoin(): void {
    if (this.joining !== null || !this.isActive) return;
    this.joining = this.joinLoop().finally(() => {
      this.joining = null;
    });
  }

  private async joinLoop(): Promise<void> {
    for (let attempt = 0; this.isActive; attempt++) {
      try {
        await this.client.joinGroup({});
        return;
      } catch (err) {
        if (!this.isActive) return;
        const mapped = fromPlatformaticError(err, `joining group ${this.options.groupId}`);
        if (!mapped.retriable) {
          this.options.onFatal(mapped);
          return;
        }
        this.options.log.info({ err: mapped, attempt }, "joining the group failed; retrying");
        if (isCoordinatorLost(err)) this.replaceClient();
        await sleep(Math.min(5000, 200 * 2 ** attempt));
      }
    }
  }

  private replaceClient(): void {
    const old = this.client;
    for (const event of ["consumer:group:join", "consumer:group:rebalance", "error"] as const) {
      old.removeAllListeners(event);
    }
    old.on("error", () => undefined);
    void closeForced(old).catch(() => undefined);
    this.options.onRebalance();
    this.client = this.wire(this.options.createClient());
    for (const t of this.topics) this.client.topics.track(t);
    this.options.log.info({ groupId: this.options.groupId }, "new group client (coordinator lost)");
  }

  private wire(client: PltGroupClient): PltGroupClient {
    client.on("consumer:group:join", (p) => this.options.onJoin(p.assignments ?? []));
    client.on("consumer:group:rebalance", () => this.options.onRebalance());
    // Emitted when a rejoin the client started after a failed heartbeat gave up.
    client.on("error", (err: unknown) => {
      if (!this.isActive) return;
      this.options.log.info({ err }, "rejoining the group failed; retrying");
      if (isCoordinatorLost(err)) this.replaceClient();
      this.rejoin();
    });
    return client;
  }
}
