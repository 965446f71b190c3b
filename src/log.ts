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

type LevelMethod = (this: Logger, ...args: unknown[]) => Logger;

/**
 * winston formats a message before its transports drop it by level; these
 * wrappers skip disabled levels first (a tenth of a SOAP request's CPU went
 * to formatting dropped lines). They use `this`, so child loggers, which
 * inherit them, keep their own metadata.
 */
function skipDisabledLevels(logger: Logger): Logger {
  for (const level of ['error', 'warn', 'info', 'debug'] as const) {
    const original = logger[level] as unknown as LevelMethod;
    const guarded: LevelMethod = function (this: Logger, ...args: unknown[]) {
      return this.isLevelEnabled(level) ? original.apply(this, args) : this;
    };
    (logger as unknown as Record<string, LevelMethod>)[level] = guarded;
  }
  return logger;
}

export function createLogger(level: string, options: { silent?: boolean } = {}): Logger {
  return skipDisabledLevels(winston.createLogger({
    level,
    silent: options.silent ?? false,
    format: winston.format.combine(redact(), winston.format.timestamp(), winston.format.json()),
    defaultMeta: { service: 'provisor' },
    transports: [new winston.transports.Console({ stderrLevels: ['error', 'warn', 'info', 'debug'] })],
  }));
}
