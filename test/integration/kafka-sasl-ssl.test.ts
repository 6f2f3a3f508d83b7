import { execFileSync } from "node:child_process";
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { loadConfig } from "../../cli/config.js";
import { kafkaOptions } from "../../cli/runtime.js";
import { createKafkaTransport, KAFKA_CLIENTS } from "../../streams/kafka/index.js";
import { silentLogger } from "../../streams/logger.js";
import type { Transport } from "../../streams/transport/transport.js";
import { tempDir } from "../unit/helpers/temp-dir.js";
import { type LocalBroker, startLocalBroker } from "./helpers/kafka-broker.js";
import { TEST_CLIENT } from "./helpers/test-client.js";

const USER = { name: "carol", password: "carol-Secret-SSL-31" };
const STORE_PASSWORD = "store-pass-4711";

/** Runs openssl with `args` in `dir`; throws with its stderr on failure. */
function openssl(dir: string, args: string[]): void {
  execFileSync("openssl", args, { cwd: dir, stdio: ["ignore", "ignore", "pipe"] });
}

/**
 * A CA, a broker certificate it signs (SAN IP:127.0.0.1 and localhost) in a PKCS12 keystore, and a
 * second CA that signed nothing of the broker's (for the untrusted case).
 */
function makeCertificates(dir: string): { ca: string; otherCa: string; keystore: string } {
  for (const name of ["ca", "other-ca"]) {
    openssl(dir, [
      "req",
      "-x509",
      "-newkey",
      "rsa:2048",
      "-nodes",
      "-keyout",
      `${name}.key`,
      "-out",
      `${name}.pem`,
      "-days",
      "2",
      "-subj",
      `/CN=spikemesh test ${name}`,
    ]);
  }
  openssl(dir, [
    "req",
    "-newkey",
    "rsa:2048",
    "-nodes",
    "-keyout",
    "broker.key",
    "-out",
    "broker.csr",
    "-subj",
    "/CN=localhost",
  ]);
  writeFileSync(join(dir, "san.ext"), "subjectAltName=IP:127.0.0.1,DNS:localhost\n");
  openssl(dir, [
    "x509",
    "-req",
    "-in",
    "broker.csr",
    "-CA",
    "ca.pem",
    "-CAkey",
    "ca.key",
    "-CAcreateserial",
    "-out",
    "broker.pem",
    "-days",
    "2",
    "-extfile",
    "san.ext",
  ]);
  openssl(dir, [
    "pkcs12",
    "-export",
    "-in",
    "broker.pem",
    "-inkey",
    "broker.key",
    "-certfile",
    "ca.pem",
    "-out",
    "broker.p12",
    "-passout",
    `pass:${STORE_PASSWORD}`,
  ]);
  return { ca: join(dir, "ca.pem"), otherCa: join(dir, "other-ca.pem"), keystore: join(dir, "broker.p12") };
}

/**
 * SASL_SSL: a broker of its own whose SCRAM listener is switched from SASL_PLAINTEXT to SASL_SSL
 * (extra server.properties), with certificates this test creates; the clients are configured the
 * way a user configures spikemesh (`kafka.ssl.ca`, `kafka.sasl`, through loadConfig and the same
 * options the CLI builds), with each Kafka client library.
 */
describe("Kafka over SASL_SSL with a CA the test creates", () => {
  let tmp: Awaited<ReturnType<typeof tempDir>>;
  let certs: ReturnType<typeof makeCertificates>;
  let broker: LocalBroker;
  const transports: Transport[] = [];

  const open = (client: (typeof KAFKA_CLIENTS)[number], ca: string, password: string): Transport => {
    const config = loadConfig({
      flags: {
        kafka: {
          brokers: [broker.saslBootstrap!],
          client,
          ssl: { ca },
          sasl: { mechanism: "scram-sha-512", username: USER.name, password },
          retries: 1,
          connectionTimeoutMs: 5_000,
        },
      },
    });
    const t = createKafkaTransport({
      ...kafkaOptions(config.kafka!, "spikemesh-test-ssl", silentLogger()),
      ...TEST_CLIENT,
      client,
    });
    transports.push(t);
    return t;
  };

  beforeAll(async () => {
    tmp = await tempDir("spikemesh-sasl-ssl-");
    certs = makeCertificates(tmp.dir);
    broker = await startLocalBroker({
      scramUsers: [USER],
      props: {
        // The listener keeps its name; its security protocol becomes SASL_SSL.
        "listener.security.protocol.map": "CONTROLLER:PLAINTEXT,PLAINTEXT:PLAINTEXT,SASL_PLAINTEXT:SASL_SSL",
        "listener.name.sasl_plaintext.ssl.keystore.type": "PKCS12",
        "listener.name.sasl_plaintext.ssl.keystore.location": certs.keystore,
        "listener.name.sasl_plaintext.ssl.keystore.password": STORE_PASSWORD,
        "listener.name.sasl_plaintext.ssl.key.password": STORE_PASSWORD,
      },
    });
  }, 240_000);
  afterAll(async () => {
    for (const t of transports) await t.close().catch(() => undefined);
    await broker?.stop();
    await tmp?.remove();
  }, 60_000);

  it.each(KAFKA_CLIENTS)("%s: the right CA and password produce and consume", async (client) => {
    const t = open(client, certs.ca, USER.password);
    const topic = `sasl-ssl-${client}-${process.pid}-${Date.now().toString(36)}`;
    await t.admin().createTopics([{ name: topic, partitions: 2 }]);
    await t.producer().send([{ topic, key: Buffer.from("k"), value: Buffer.from("over SASL_SSL") }]);
    const consumer = t.consumer({ groupId: `${topic}-g`, autoOffsetReset: "earliest" });
    await consumer.subscribe([topic]);
    const got = [];
    const deadline = performance.now() + 30_000;
    while (got.length === 0 && performance.now() < deadline)
      got.push(...(await consumer.poll({ maxWaitMs: 500 })));
    await consumer.close();
    expect(got.map((r) => r.value?.toString())).toEqual(["over SASL_SSL"]);
  });

  it.each(KAFKA_CLIENTS)("%s: a broker certificate from a CA not trusted is refused", async (client) => {
    const t = open(client, certs.otherCa, USER.password);
    const failure = await t
      .admin()
      .listTopics()
      .then(
        () => undefined,
        (err: unknown) => err as { message?: string },
      );
    expect(failure, "connected to a broker whose certificate the CA did not sign").toBeDefined();
    expect(
      JSON.stringify({ message: failure?.message, cause: String((failure as { cause?: unknown })?.cause) }),
    ).toMatch(/self-signed certificate in certificate chain/);
  });

  it.each(KAFKA_CLIENTS)(
    "%s: a wrong password over TLS fails with an authentication error",
    async (client) => {
      const t = open(client, certs.ca, "not-carols-password");
      const failure = (await t
        .admin()
        .listTopics()
        .then(
          () => undefined,
          (err: unknown) => err,
        )) as { code?: string; message?: string } | undefined;
      expect(failure).toMatchObject({ code: "CONFIG_INVALID" });
      expect(failure?.message).toMatch(/authentication/i);
    },
  );
});
