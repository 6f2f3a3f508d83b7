import { pino } from "pino";
import type { Logger } from "../../../streams/logger.js";

/** One parsed pino line. */
export interface LogLine {
  level: number;
  msg: string;
  [field: string]: unknown;
}

/** A real pino logger at `level` whose lines are kept in `lines` (synchronously). */
export function captureLogger(level = "warn"): { logger: Logger; lines: LogLine[] } {
  const lines: LogLine[] = [];
  const logger = pino(
    { level, base: undefined },
    {
      write(msg: string) {
        lines.push(JSON.parse(msg) as LogLine);
      },
    },
  );
  return { logger, lines };
}

/** pino's numeric level for warn. */
export const WARN = 40;
