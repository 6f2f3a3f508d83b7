import { type LogEvent, recordTypes } from "../../schemas/index.js";
import type { RecordCodec } from "../../streams/topology/codec.js";
import type { OutgoingRecord } from "../../streams/transport/transport.js";
import { MESH_TOPICS } from "../mesh-topology.js";
import { type LabelledLine, LogGenerator } from "./log-generator.js";
import type { Incident, TelemetryGenerator } from "./telemetry-generator.js";

/** Usual log lines per second per demo host. */
export const DEMO_LOG_LINES_PER_SEC = 0.3;
/** Disk error lines per second on the stormed host while the disk I/O storm lasts. */
const DISK_ERROR_LINES_PER_SEC = 0.2;

/**
 * The demo's logs: every host writes the usual service lines (LogGenerator), and the host of the
 * telemetry's disk I/O storm also logs disk errors, a template it never logged before, while the
 * storm lasts. `incident` is that episode as the summary scores it: spikes of the never-seen
 * template on that host inside the window.
 */
export class DemoLogs {
  readonly incident: Incident | undefined;
  private readonly lines: Iterator<LabelledLine>;
  private next: LabelledLine | undefined;

  constructor(telemetry: TelemetryGenerator, hosts: number, seed: number) {
    const storm = telemetry.incidents.find((i) => i.metric === "disk.write_bytes");
    this.incident = storm && {
      name: `disk errors in the log (${storm.sources.join(", ")})`,
      sources: storm.sources,
      metric: "log.template.new",
      startMs: storm.startMs,
      endMs: storm.endMs,
    };
    const generator = new LogGenerator({
      startMs: telemetry.startMs,
      durationMs: telemetry.endMs - telemetry.startMs,
      sources: Array.from({ length: Math.max(3, hosts) }, (_, h) => `host-${h + 1}`),
      linesPerSec: DEMO_LOG_LINES_PER_SEC,
      incidents: storm
        ? [
            {
              name: "disk errors",
              sources: storm.sources,
              kind: "disk-error",
              startMs: storm.startMs,
              endMs: storm.endMs,
              ratePerSec: DISK_ERROR_LINES_PER_SEC,
            },
          ]
        : [],
      seed: seed + 1,
    });
    this.lines = generator.lines();
    this.next = this.take();
  }

  /** The lines before event time `untilMs` not yet taken, as records for logs.raw. */
  async recordsBefore(untilMs: number, codec: RecordCodec): Promise<OutgoingRecord[]> {
    const out: OutgoingRecord[] = [];
    while (this.next !== undefined && this.next.event.ts < untilMs) {
      out.push(await logRecord(this.next.event, codec));
      this.next = this.take();
    }
    return out;
  }

  private take(): LabelledLine | undefined {
    const r = this.lines.next();
    return r.done ? undefined : r.value;
  }
}

async function logRecord(event: LogEvent, codec: RecordCodec): Promise<OutgoingRecord> {
  return {
    topic: MESH_TOPICS.logs,
    key: Buffer.from(event.source),
    value: await codec.encode(MESH_TOPICS.logs, recordTypes.LogEvent, event),
    timestampMs: event.ts,
  };
}
