import path from 'node:path';
import type { Role } from '../../entities';
import type { Submission } from '../provisioning/api';
import type { FieldReader } from '../soap/fields';
import type { OperationContext } from '../soap/service';

/** Roles that may provision (the contract: operator, engine or admin). */
export const PROVISIONING_ROLES: readonly Role[] = ['operator', 'engine', 'admin'];

/** A system or component name. */
export const NAME = { minLength: 1, maxLength: 200 } as const;
/** A file path. */
export const PATH = { minLength: 1, maxLength: 1024 } as const;

/** The trailing optional fields every task operation shares. */
export function submissionFields(fields: FieldReader, ctx: OperationContext): Submission {
  const idempotencyKey = fields.optString('idempotencyKey', { minLength: 1, maxLength: 200 });
  const callback = fields.optHttpUri('callback');
  return { idempotencyKey, callback, messageId: ctx.messageId?.slice(0, 255) };
}

/** xsd:duration of a millisecond count, e.g. PT1M2.5S. */
export function toXsdDuration(ms: number): string {
  const totalSeconds = ms / 1000;
  const hours = Math.floor(totalSeconds / 3600);
  const minutes = Math.floor((totalSeconds - hours * 3600) / 60);
  const seconds = totalSeconds - hours * 3600 - minutes * 60;
  const secondsText = Number.isInteger(seconds) ? String(seconds) : seconds.toFixed(3).replace(/0+$/, '');
  return `PT${hours > 0 ? `${hours}H` : ''}${minutes > 0 ? `${minutes}M` : ''}${secondsText}S`;
}

/** The WSDL file of a service. */
export function wsdlPath(root: string, name: string): string {
  return path.join(root, 'wsdl', `${name}.wsdl`);
}
