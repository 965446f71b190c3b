import crypto from 'node:crypto';
import os from 'node:os';

/** A process-unique lease owner id, `host/pid/random`, so a restarted process can recognise its dead predecessor's leases. */
export function leaseOwnerId(prefix = ''): string {
  return `${prefix}${os.hostname()}/${process.pid}/${crypto.randomBytes(4).toString('hex')}`;
}

/** Whether a process of this host with that id runs (one we may not signal runs too). */
export function pidAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/**
 * Of these lease owners, those that were processes of this host that no
 * longer run (their leases need not be waited out).
 */
export function deadLocalOwners(owners: readonly string[], self: string, prefix = ''): string[] {
  const host = `${prefix}${os.hostname()}/`;
  return owners.filter((owner) => {
    if (owner === self || !owner.startsWith(host)) return false;
    const pid = Number(owner.slice(host.length).split('/')[0]);
    // Another owner in this very process (tests run several apps side by side) is alive; a reused pid is left to the lease.
    return !Number.isInteger(pid) || (pid !== process.pid && !pidAlive(pid));
  });
}

/** The LIKE pattern matching this host's owners. */
export function localOwnerPattern(prefix = ''): string {
  return `${prefix}${os.hostname()}/%`;
}
