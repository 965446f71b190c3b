import type { Config } from '../config';

/**
 * How failed log-ins are answered: the same rules for SOAP and the portal,
 * for a user name (shared by every process through the database) and for a
 * client address (shared the same way): the `login` group of the config, whose
 * fields are documented there.
 */
export type LoginPolicy = Config['login'];

/**
 * The wait before the next attempt after `failures` failures in a row: none
 * for the first `free`, then `initialDelayMs`, doubling each time, up to
 * `maxDelayMs`.
 */
export function delayAfter(failures: number, free: number, policy: Pick<LoginPolicy, 'initialDelayMs' | 'maxDelayMs'>): number {
  if (failures <= free) return 0;
  const doublings = Math.min(failures - free - 1, 40);
  return Math.min(policy.maxDelayMs, policy.initialDelayMs * 2 ** doublings);
}

/** True when this many failures in a row lock the name. */
export function locksAt(failures: number, policy: Pick<LoginPolicy, 'lockAfterFailures'>): boolean {
  return policy.lockAfterFailures > 0 && failures >= policy.lockAfterFailures;
}
