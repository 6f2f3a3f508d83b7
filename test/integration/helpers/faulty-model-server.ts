/**
 * A tiny OpenAI-compatible HTTP server that misbehaves on purpose, for the model-fault tests:
 *   - "garbage": cycles through malformed answers (a body that is not JSON, JSON without choices,
 *     content that is not JSON, a verdict outside the schema, an out-of-range confidence, HTTP 500);
 *   - "slow": a valid verdict record, after `delayMs`.
 * It counts the requests it received and those it answered.
 */
import { createServer, type Server } from "node:http";

export type FaultMode = "garbage" | "slow";

export interface FaultyModelServer {
  /** Base URL up to and including `/v1`. */
  readonly url: string;
  readonly received: number;
  readonly answered: number;
  close(): Promise<void>;
}

const completion = (content: string) =>
  JSON.stringify({
    choices: [{ message: { role: "assistant", content }, finish_reason: "stop" }],
    usage: { prompt_tokens: 10, completion_tokens: 20 },
  });

const VALID = JSON.stringify({
  verdict: "ANOMALY",
  confidence: 0.7,
  action: null,
  novel: false,
  correlated: false,
  summary: "slow but sound",
});

/** The malformed answers "garbage" cycles through: [status, body]. */
const GARBAGE: [number, string][] = [
  [200, "{not json"],
  [200, JSON.stringify({ id: "x", object: "chat.completion" })],
  [200, completion("I think it is fine, really.")],
  [
    200,
    completion(
      JSON.stringify({
        verdict: "PWNED",
        confidence: 0.9,
        action: "rm -rf /",
        novel: false,
        correlated: false,
        summary: "x",
      }),
    ),
  ],
  [200, completion(JSON.stringify({ ...JSON.parse(VALID), confidence: 1e308 }))],
  [500, JSON.stringify({ error: { message: "internal error" } })],
];

export async function startFaultyModelServer(mode: FaultMode, delayMs = 0): Promise<FaultyModelServer> {
  let received = 0;
  let answered = 0;
  const server: Server = createServer((req, res) => {
    const n = received++;
    req.resume();
    req.on("end", () => {
      const reply = () => {
        if (res.destroyed) return;
        const [status, body] = mode === "slow" ? [200, completion(VALID)] : GARBAGE[n % GARBAGE.length]!;
        res.writeHead(status, { "content-type": "application/json" });
        res.end(body);
        answered++;
      };
      if (mode === "slow") setTimeout(reply, delayMs).unref();
      else reply();
    });
  });
  await new Promise<void>((ok) => server.listen(0, "127.0.0.1", ok));
  const address = server.address();
  const port = typeof address === "object" && address !== null ? address.port : 0;
  return {
    url: `http://127.0.0.1:${port}/v1`,
    get received() {
      return received;
    },
    get answered() {
      return answered;
    },
    close: () =>
      new Promise<void>((ok) => {
        server.closeAllConnections();
        server.close(() => ok());
      }),
  };
}
