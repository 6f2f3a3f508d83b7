import { execFileSync } from "node:child_process";
import { readFileSync } from "node:fs";
import { join, resolve } from "node:path";
import { describe, expect, it } from "vitest";
import { parse as parseYaml } from "yaml";
import { meshTopology } from "../../cli/mesh-topology.js";
import { nodeName } from "../../streams/index.js";
import { ensureDebianPackage, runs } from "../helpers/prometheus.js";

const ROOT = resolve(import.meta.dirname, "../..");

/**
 * The compose CLI to check the file with: the `docker compose` plugin when the docker CLI has it,
 * else Debian's `docker-compose` (installed when missing). Neither needs a Docker engine for
 * `config`, which only resolves and validates the file.
 */
function composeCli(): string[] {
  if (runs("docker", ["compose", "version"])) return ["docker", "compose"];
  ensureDebianPackage("docker-compose", () => runs("docker-compose", ["version"]));
  return ["docker-compose"];
}

interface ComposeService {
  image?: string;
  build?: unknown;
  command?: string[];
  ports?: unknown[];
  profiles?: string[];
  environment?: Record<string, string>;
  volumes?: ({ source: string; target: string } | string)[];
}

const hasDockerCli = runs("docker", ["--version"]);

describe.skipIf(!hasDockerCli)("docker-compose.yml under `docker compose config`", () => {
  it("resolves, and runs Kafka 3.9, a registry, every mesh node as a scalable service, Prometheus and Grafana with the project's files", () => {
    const [cmd, ...args] = composeCli();
    const text = execFileSync(
      cmd!,
      [...args, "-f", join(ROOT, "docker-compose.yml"), "--profile", "demo", "config"],
      {
        cwd: ROOT,
        encoding: "utf8",
      },
    );
    const { services } = parseYaml(text) as { services: Record<string, ComposeService> };

    expect(services.kafka?.image).toMatch(/^apache\/kafka:3\.9\./);
    expect(services.kafka?.environment?.KAFKA_PROCESS_ROLES).toBe("broker,controller");
    expect(services["schema-registry"]?.image).toMatch(/schema-registry/);

    // One service per node of the mesh, each running only that node with /metrics on 9464; no
    // fixed host port, so `--scale <service>=N` can start more replicas.
    const nodes = meshTopology({ appId: "spikemesh", partitions: 1 }).nodes.map(nodeName);
    for (const node of nodes) {
      const s = services[node];
      expect(s, node).toBeDefined();
      expect(s!.command, node).toEqual(["run", "--only", node, "--metrics-port", "9464"]);
      expect(s!.ports ?? [], node).toEqual([]);
      expect(s!.build, node).toBeDefined();
      expect(s!.environment?.SPIKEMESH_KAFKA__BROKERS, node).toBe("kafka:9092");
      expect(s!.environment?.SPIKEMESH_REGISTRY__URL, node).toBe("http://schema-registry:8081");
    }
    expect(services.demo?.profiles).toEqual(["demo"]);

    // Prometheus finds every one of them by DNS, with the project's config and alert rules.
    // docker-compose 1.x prints "source:target:ro", the compose plugin {source, target, read_only}.
    const mounts = (s: ComposeService | undefined) =>
      (s?.volumes ?? []).map((v) =>
        typeof v === "string" ? v.replace(/:ro$/, "") : `${v.source}:${v.target}`,
      );
    expect(mounts(services.prometheus)).toEqual(
      expect.arrayContaining([
        `${join(ROOT, "grafana/prometheus.yml")}:/etc/prometheus/prometheus.yml`,
        `${join(ROOT, "grafana/alerts.yml")}:/etc/prometheus/alerts.yml`,
      ]),
    );
    const prom = parseYaml(readFileSync(join(ROOT, "grafana/prometheus.yml"), "utf8")) as {
      scrape_configs: { dns_sd_configs: { names: string[]; port: number }[] }[];
    };
    const scraped = prom.scrape_configs.flatMap((c) => c.dns_sd_configs.flatMap((d) => d.names));
    expect([...scraped].sort()).toEqual([...nodes, "demo"].sort());
    expect(mounts(services.grafana)).toEqual(
      expect.arrayContaining([
        `${join(ROOT, "grafana/provisioning")}:/etc/grafana/provisioning`,
        `${join(ROOT, "grafana/dashboards")}:/var/lib/grafana/dashboards`,
      ]),
    );
  }, 600_000);
});
