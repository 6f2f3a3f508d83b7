import { type LogEntry, logLevel } from "kafkajs";
import type { Logger } from "../logger.js";

/**
 * Routes kafkajs's log lines to a pino child logger. kafkajs logs routine rebalance and restart
 * steps as ERROR and WARN, so its levels are shifted one down: ERROR → warn, WARN → info,
 * INFO and DEBUG → debug.
 */
export function kafkaLogCreator(log: Logger): () => (entry: LogEntry) => void {
  return () =>
    ({ namespace, level, log: { message, timestamp: _timestamp, logger: _logger, ...extra } }) => {
      const fields = { kafkajs: namespace, ...extra };
      if (level === logLevel.ERROR) log.warn(fields, message);
      else if (level === logLevel.WARN) log.info(fields, message);
      else log.debug(fields, message);
    };
}
