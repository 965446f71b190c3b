import winston from 'winston';

/** Structured JSON logger. Child loggers carry request, work-order or process ids. */
export type Logger = winston.Logger;

/** Keys whose values never reach a log line. */
const SECRET_KEYS = /^(password|passwd|pass|secret|token|nonce|authorization|digest)$/i;

const redact = winston.format((info) => {
  for (const key of Object.keys(info)) {
    if (SECRET_KEYS.test(key)) info[key] = '[redacted]';
  }
  return info;
});

export function createLogger(level: string, options: { silent?: boolean } = {}): Logger {
  return winston.createLogger({
    level,
    silent: options.silent ?? false,
    format: winston.format.combine(redact(), winston.format.timestamp(), winston.format.json()),
    defaultMeta: { service: 'provisor' },
    transports: [new winston.transports.Console({ stderrLevels: ['error', 'warn', 'info', 'debug'] })],
  });
}
