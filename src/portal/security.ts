import type { NextFunction, Request, Response } from 'express';

/**
 * The portal serves no script at all, styles only from its own stylesheet,
 * and may not be framed; forms may only post back to it.
 */
export const CONTENT_SECURITY_POLICY = [
  "default-src 'none'",
  "style-src 'self'",
  "img-src 'self'",
  "form-action 'self'",
  "frame-ancestors 'none'",
  "base-uri 'none'",
].join('; ');

/** Headers on every portal response. */
export function securityHeaders(_req: Request, res: Response, next: NextFunction): void {
  res.set({
    'Content-Security-Policy': CONTENT_SECURITY_POLICY,
    'X-Frame-Options': 'DENY',
    'X-Content-Type-Options': 'nosniff',
    'Referrer-Policy': 'same-origin',
    'Cross-Origin-Opener-Policy': 'same-origin',
  });
  next();
}

/** Pages with a user's data or tokens are never stored by browsers or proxies. */
export function noStore(res: Response): void {
  res.set('Cache-Control', 'no-store');
}

/** The cookies of a request (no dependency needed for the two the portal reads). Malformed pairs are skipped. */
export function readCookies(req: Request): Map<string, string> {
  const cookies = new Map<string, string>();
  for (const part of (req.headers.cookie ?? '').split(';')) {
    const eq = part.indexOf('=');
    if (eq < 0) continue;
    const name = part.slice(0, eq).trim();
    let value = part.slice(eq + 1).trim();
    if (value.startsWith('"') && value.endsWith('"') && value.length >= 2) value = value.slice(1, -1);
    try {
      if (!cookies.has(name)) cookies.set(name, decodeURIComponent(value));
    } catch {
      // not percent-encoded properly: not one of ours
    }
  }
  return cookies;
}

export interface CookieOptions {
  readonly secure: boolean;
  /** Seconds; 0 deletes the cookie; absent: a browser-session cookie. */
  readonly maxAgeSeconds?: number;
}

/** Sets a portal cookie: HttpOnly, SameSite=Lax, scoped to /portal. */
export function setCookie(res: Response, name: string, value: string, options: CookieOptions): void {
  const attributes = [`${name}=${encodeURIComponent(value)}`, 'Path=/portal', 'HttpOnly', 'SameSite=Lax'];
  if (options.secure) attributes.push('Secure');
  if (options.maxAgeSeconds !== undefined) attributes.push(`Max-Age=${options.maxAgeSeconds}`);
  res.append('Set-Cookie', attributes.join('; '));
}

/**
 * False when the browser says the request comes from another site: an
 * `Origin` other than this host (or the opaque "null"), or
 * `Sec-Fetch-Site: cross-site`. Requests without either header (older
 * browsers, scripts) are judged by the CSRF token alone.
 */
export function sameOrigin(req: Request): boolean {
  if (req.headers['sec-fetch-site'] === 'cross-site') return false;
  const origin = req.headers.origin;
  if (origin === undefined) return true;
  let host: string;
  try {
    host = new URL(origin).host;
  } catch {
    return false; // includes "null"
  }
  return host !== '' && host === req.headers.host;
}
