import { type Logger as PinoLogger, pino } from "pino";

/** Structured logger (pino). Components take a child: `log.child({ processor, partition })`. */
export type Logger = PinoLogger;

export interface LoggerOptions {
  /** pino level name. Default "info". */
  level?: string;
  /** Extra paths to redact besides the built-in secret fields. */
  redact?: string[];
}

const SECRET_PATHS = [
  "*.password",
  "*.*.password",
  "*.apiKey",
  "*.*.apiKey",
  "*.apiKeys",
  "*.*.apiKeys",
  "*.sasl",
  "*.*.sasl",
  "*.secret",
  "*.token",
  "password",
  "apiKey",
  "apiKeys",
  "sasl",
  "headers.authorization",
  'headers["x-api-key"]',
  "*.headers.authorization",
  '*.headers["x-api-key"]',
];

/** The root logger; only cli/ should call this, everything else takes a logger as a dependency. */
export function createLogger(options: LoggerOptions = {}, destination?: NodeJS.WritableStream): Logger {
  return pino(
    {
      level: options.level ?? "info",
      base: undefined,
      redact: { paths: [...SECRET_PATHS, ...(options.redact ?? [])], censor: "[redacted]" },
    },
    destination ?? pino.destination(2),
  );
}

/** A logger that drops everything: for tests and benchmarks. */
export function silentLogger(): Logger {
  return pino({ level: "silent" });
}
