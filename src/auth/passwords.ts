import crypto from 'node:crypto';
import { promisify } from 'node:util';

const scrypt = promisify(crypto.scrypt) as (password: string, salt: Buffer, keylen: number, options: crypto.ScryptOptions) => Promise<Buffer>;

const N = 16384;
const R = 8;
const P = 1;
const KEY_LENGTH = 32;

/**
 * Password hashes computed at once in this process. scrypt costs tens of
 * milliseconds of CPU by design; run side by side on the thread pool, a
 * burst of log-ins (or of guesses) took every core from the event loop and
 * every pool thread from file and DNS work. One at a time, hashing takes at
 * most one core, and log-ins wait their turn in order of arrival (they are
 * few: a verified password is remembered, and a throttled attempt is not
 * checked). The queue is bounded by the connection caps: each waiting check
 * holds a connection.
 */
const MAX_CONCURRENT_HASHES = 1;
let hashing = 0;
const waitingForHash: Array<() => void> = [];

/** Runs `work` when a hashing slot is free; the slot passes straight to the next in line. */
async function inHashingSlot<T>(work: () => Promise<T>): Promise<T> {
  if (hashing < MAX_CONCURRENT_HASHES) hashing += 1;
  else await new Promise<void>((resolve) => waitingForHash.push(resolve));
  try {
    return await work();
  } finally {
    const next = waitingForHash.shift();
    if (next === undefined) hashing -= 1;
    else next(); // handed over: `hashing` stays as it is
  }
}

/** Hashes running and waiting now (for tests and metrics). */
export function passwordHashing(): { readonly running: number; readonly waiting: number } {
  return { running: hashing, waiting: waitingForHash.length };
}

/** Hashes a password with scrypt: `scrypt$N$r$p$salt$hash`. */
export async function hashPassword(password: string): Promise<string> {
  const salt = crypto.randomBytes(16);
  const hash = await inHashingSlot(() => scrypt(password, salt, KEY_LENGTH, { N, r: R, p: P, maxmem: 64 * 1024 * 1024 }));
  return ['scrypt', N, R, P, salt.toString('base64'), hash.toString('base64')].join('$');
}

/** Checks a password against a stored hash, in constant time. */
export async function verifyPassword(password: string, stored: string): Promise<boolean> {
  const [scheme, n, r, p, salt, hash] = stored.split('$');
  if (scheme !== 'scrypt' || n === undefined || r === undefined || p === undefined || salt === undefined || hash === undefined) return false;
  const expected = Buffer.from(hash, 'base64');
  const actual = await inHashingSlot(() =>
    scrypt(password, Buffer.from(salt, 'base64'), expected.length, {
      N: Number(n),
      r: Number(r),
      p: Number(p),
      maxmem: 64 * 1024 * 1024,
    }),
  );
  return actual.length === expected.length && crypto.timingSafeEqual(actual, expected);
}

let dummyHash: Promise<string> | undefined;

/**
 * A hash of a random password with the current parameters: verifying
 * against it costs what verifying a real user's password costs, so a log-in
 * for an unknown or disabled user takes as long as a wrong password.
 */
export function dummyPasswordHash(): Promise<string> {
  dummyHash ??= hashPassword(crypto.randomBytes(32).toString('base64'));
  return dummyHash;
}
