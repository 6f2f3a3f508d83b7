import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { PlatformaticKafkaTransport } from "../../streams/kafka/index.js";
import { type LocalBroker, startLocalBroker } from "./helpers/kafka-broker.js";
import { TEST_CLIENT } from "./helpers/test-client.js";

const USER = { name: "bob", password: "bob-Secret-7" };

/** SASL/SCRAM through @platformatic/kafka, on a broker of its own with a SCRAM listener. */
describe("PlatformaticKafkaTransport with SASL/SCRAM", () => {
  let broker: LocalBroker;
  const transports: PlatformaticKafkaTransport[] = [];
  const open = (mechanism: "scram-sha-256" | "scram-sha-512", password: string) => {
    const t = new PlatformaticKafkaTransport({
      brokers: [broker.saslBootstrap!],
      clientId: "spikemesh-test-sasl-platformatic",
      sasl: { mechanism, username: USER.name, password },
      retries: 1,
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

  it.each(["scram-sha-256", "scram-sha-512"] as const)(
    "the right credentials produce and consume through the %s listener",
    async (mechanism) => {
      const t = open(mechanism, USER.password);
      const topic = `sasl-plt-${mechanism}-${process.pid}-${Date.now().toString(36)}`;
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
    },
  );

  it("a wrong password fails with a clear, non-retriable authentication error", async () => {
    const t = open("scram-sha-256", "not-his-password");
    const failure = (await t
      .admin()
      .listTopics()
      .then(
        () => undefined,
        (err: unknown) => err,
      )) as { code?: string; retriable?: boolean; message?: string } | undefined;
    expect(failure).toMatchObject({ code: "CONFIG_INVALID", retriable: false });
    expect(failure?.message).toMatch(/^listing topics failed: .*authentication/i);
  });

  it("an unsupported mechanism is a config error before connecting", () => {
    expect(
      () =>
        new PlatformaticKafkaTransport({
          brokers: [broker.saslBootstrap!],
          sasl: { mechanism: "aws", authorizationIdentity: "x", accessKeyId: "a", secretAccessKey: "s" },
        }),
    ).toThrow(/SASL mechanism aws is not supported with client "platformatic"/);
  });
});
