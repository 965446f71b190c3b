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
  rememberEnabledLevels(logger);
  for (const level of ['error', 'warn', 'info', 'debug'] as const) {
    const original = logger[level] as unknown as LevelMethod;
    const guarded: LevelMethod = function (this: Logger, ...args: unknown[]) {
      return this.isLevelEnabled(level) ? original.apply(this, args) : this;
    };
    (logger as unknown as Record<string, LevelMethod>)[level] = guarded;
  }
  return logger;
}

/**
 * winston answers isLevelEnabled from its transports, read through a getter
 * that builds an array at each call, and every log call and every
 * `isDebugEnabled()` asks it: the answers are kept per level until the
 * logger's level changes or a transport is added or removed.
 */
function rememberEnabledLevels(logger: Logger): void {
  const answers = new Map<string, boolean>();
  let answeredFor: string | undefined;
  const original = logger.isLevelEnabled;
  logger.isLevelEnabled = function (this: Logger, level: string): boolean {
    if (this.level !== answeredFor) {
      answers.clear();
      answeredFor = this.level;
    }
    let answer = answers.get(level);
    if (answer === undefined) {
      answer = original.call(this, level);
      answers.set(level, answer);
    }
    return answer;
  };
  for (const method of ['add', 'remove', 'clear', 'configure'] as const) {
    const change = logger[method] as unknown as (this: Logger, ...args: unknown[]) => Logger;
    (logger as unknown as Record<string, unknown>)[method] = function (this: Logger, ...args: unknown[]) {
      answers.clear();
      return change.apply(this, args);
    };
  }
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
