import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { KafkaTransport } from "../../streams/kafka/index.js";
import { type LocalBroker, startLocalBroker } from "./helpers/kafka-broker.js";
import { TEST_CLIENT } from "./helpers/test-client.js";

const USER = { name: "alice", password: "alice-Secret-42" };

/** A second broker of its own, with a SASL_PLAINTEXT SCRAM listener and a user created at format time. */
describe("KafkaTransport with SASL/SCRAM", () => {
  let broker: LocalBroker;
  const transports: KafkaTransport[] = [];
  const open = (password: string) => {
    const t = new KafkaTransport({
      brokers: [broker.saslBootstrap!],
      clientId: "spikemesh-test-sasl",
      sasl: { mechanism: "scram-sha-256", username: USER.name, password },
      retries: 2,
      ...TEST_CLIENT,
    });
    transports.push(t);
    return t;
  };

  beforeAll(async () => {
    broker = await startLocalBroker({ scramUsers: [USER] });
  }, 180_000);
  afterAll(async () => {
    for (const t of transports) await t.close().catch(() => undefined);
    await broker?.stop();
  }, 60_000);

  it("the right credentials produce and consume through the SCRAM-SHA-256 listener", async () => {
    const t = open(USER.password);
    const topic = `sasl-${process.pid}-${Date.now().toString(36)}`;
    await t.admin().createTopics([{ name: topic, partitions: 2 }]);
    await t.producer().send([{ topic, key: Buffer.from("k"), value: Buffer.from("over scram") }]);
    const consumer = t.consumer({ groupId: `${topic}-g` });
    await consumer.subscribe([topic]);
    const got = [];
    const deadline = performance.now() + 30_000;
    while (got.length === 0 && performance.now() < deadline)
      got.push(...(await consumer.poll({ maxWaitMs: 500 })));
    await consumer.close();
    expect(got.map((r) => r.value?.toString())).toEqual(["over scram"]);
    await t.admin().deleteTopics([topic]);
  });

  it("a wrong password fails quickly with a clear authentication error", async () => {
    const t = open("not-her-password");
    const started = performance.now();
    const failure = (await t
      .admin()
      .listTopics()
      .then(
        () => undefined,
        (err: unknown) => err,
      )) as { code?: string; retriable?: boolean; message?: string } | undefined;
    expect(failure).toMatchObject({ code: "CONFIG_INVALID", retriable: false });
    expect(failure?.message).toMatch(
      /^connecting to Kafka at 127\.0\.0\.1:\d+ failed: SASL SCRAM SHA256 authentication failed: .*invalid credentials.*; check the SASL mechanism, username and password/,
    );
    await expect(
      t.producer().send([{ topic: "any", key: null, value: Buffer.from("x") }]),
    ).rejects.toMatchObject({
      code: "CONFIG_INVALID",
      message: expect.stringMatching(/authentication failed/),
    });
    expect(performance.now() - started).toBeLessThan(10_000);
  });
});
