/**
 * Partner link bindings as the deployment descriptor keeps them. The password
 * of a remote partner is stored sealed with the server's secret box (it must
 * be sent, so it cannot be hashed); descriptors written before sealing hold it
 * in clear under `password`, and are read as they are.
 */
import type { SecretBox } from '../auth/secret-box';

/** How the password travels in the WS-Security UsernameToken sent to the partner. */
export const PASSWORD_TYPES = ['PasswordText', 'PasswordDigest'] as const;
export type PasswordType = (typeof PASSWORD_TYPES)[number];

/** How a partner link is reached: in-process (Provisor's own services) or SOAP over HTTP. */
export interface PartnerBinding {
  readonly partnerLink: string;
  /** Absent: Provisor's own services, in-process. */
  readonly address?: string;
  readonly username?: string;
  readonly password?: string;
  /** PasswordText when absent. */
  readonly passwordType?: PasswordType;
}

/** A binding as stored in the process descriptor. */
export interface StoredBinding {
  readonly partnerLink: string;
  readonly address?: string;
  readonly username?: string;
  /** The password sealed with the secret box. */
  readonly sealedPassword?: string;
  /** A password stored in clear by a version before sealing; still read. */
  readonly password?: string;
  readonly passwordType?: PasswordType;
}

export class BindingSecretError extends Error {
  override readonly name = 'BindingSecretError';
}

/** Seals each password for storing; the clear text is dropped. */
export function sealBindings(bindings: readonly PartnerBinding[], secrets: SecretBox): StoredBinding[] {
  return bindings.map(({ password, ...rest }) => (password === undefined ? rest : { ...rest, sealedPassword: secrets.encrypt(password) }));
}

/** Opens stored bindings for use; throws a BindingSecretError when a sealed password does not open with this key. */
export function openBindings(stored: readonly StoredBinding[], secrets: SecretBox, processName: string): PartnerBinding[] {
  return stored.map(({ sealedPassword, password, ...rest }) => {
    if (sealedPassword === undefined) return password === undefined ? rest : { ...rest, password };
    const opened = secrets.decrypt(sealedPassword);
    if (opened === undefined) {
      throw new BindingSecretError(`process ${processName}: the password of partner link "${rest.partnerLink}" does not open with this server's secret key (PROVISOR_SECRET_KEY)`);
    }
    return { ...rest, password: opened };
  });
}
