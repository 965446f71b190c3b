import type { Role } from '../../entities';

/** An authenticated caller. */
export interface Principal {
  readonly userId: number;
  readonly name: string;
  readonly role: Role;
  readonly accountId: number | null;
  readonly level: number;
}
