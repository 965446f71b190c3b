import crypto from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';

/**
 * AES-256-GCM encryption with the server's secret key: how the password copy
 * needed for WS-Security PasswordDigest is kept at rest.
 */
export class SecretBox {
  private constructor(private readonly key: Buffer) {}

  /**
   * The key comes from PROVISOR_SECRET_KEY (64 hex digits or base64 of 32
   * bytes) or from the key file, which is created (mode 0600) on first use.
   */
  static load(secretKey: string | undefined, keyFile: string): SecretBox {
    if (secretKey !== undefined) return new SecretBox(parseKey(secretKey, 'PROVISOR_SECRET_KEY'));
    try {
      return new SecretBox(parseKey(fs.readFileSync(keyFile, 'utf8').trim(), keyFile));
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err;
    }
    fs.mkdirSync(path.dirname(keyFile), { recursive: true });
    const key = crypto.randomBytes(32);
    try {
      fs.writeFileSync(keyFile, key.toString('hex') + '\n', { mode: 0o600, flag: 'wx' });
      return new SecretBox(key);
    } catch (err) {
      // Another process created it first: use theirs.
      if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
      return new SecretBox(parseKey(fs.readFileSync(keyFile, 'utf8').trim(), keyFile));
    }
  }

  /**
   * A 32-byte key for one purpose, derived from the secret key (HKDF-SHA256),
   * so every process sharing the key derives the same one and none of them
   * is the secret key itself.
   */
  deriveKey(purpose: string): Buffer {
    return Buffer.from(crypto.hkdfSync('sha256', this.key, Buffer.alloc(0), `provisor:${purpose}`, 32));
  }

  encrypt(plain: string): string {
    const iv = crypto.randomBytes(12);
    const cipher = crypto.createCipheriv('aes-256-gcm', this.key, iv);
    const body = Buffer.concat([cipher.update(plain, 'utf8'), cipher.final()]);
    return ['v1', iv.toString('base64'), cipher.getAuthTag().toString('base64'), body.toString('base64')].join('.');
  }

  /** Returns undefined when the text was not sealed with this key. */
  decrypt(sealed: string): string | undefined {
    const [version, iv, tag, body] = sealed.split('.');
    if (version !== 'v1' || iv === undefined || tag === undefined || body === undefined) return undefined;
    try {
      const decipher = crypto.createDecipheriv('aes-256-gcm', this.key, Buffer.from(iv, 'base64'));
      decipher.setAuthTag(Buffer.from(tag, 'base64'));
      return Buffer.concat([decipher.update(Buffer.from(body, 'base64')), decipher.final()]).toString('utf8');
    } catch {
      return undefined;
    }
  }
}

function parseKey(text: string, source: string): Buffer {
  const key = /^[0-9a-fA-F]{64}$/.test(text) ? Buffer.from(text, 'hex') : Buffer.from(text, 'base64');
  if (key.length !== 32) throw new Error(`${source}: the secret key must be 32 bytes (64 hex digits or base64)`);
  return key;
}
