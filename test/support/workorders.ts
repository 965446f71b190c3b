/**
 * Work-order fixtures: a small test catalog (test/fixtures/catalog) and a
 * cast of accounts and users at different permission levels.
 */
import path from 'node:path';
import type { Principal } from '../../src/auth/principal';
import { principalOf } from '../../src/auth/users';
import type { TestServer } from './harness';

/** Types Echo (level 1; fails when fail=true), Premium (level 3) and Manual (level 1, manual), all on one no-op plan. */
export const TEST_CATALOG = path.resolve(__dirname, '..', '..', '..', 'test', 'fixtures', 'catalog', 'test-catalog.json');

export const PASSWORD = 'correct-horse-1';

export interface Cast {
  /** acme, level 1 */
  readonly alice: Principal;
  /** acme, level 3 */
  readonly carol: Principal;
  /** globex, level 3 */
  readonly bob: Principal;
  readonly admin: Principal;
}

/** Accounts acme and globex; alice@acme.example, carol@acme.example, bob@globex.example; all with password PASSWORD. */
export async function seedCast(server: Pick<TestServer, 'app'>): Promise<Cast> {
  const users = server.app.users;
  await users.addAccount('acme', 'billing@acme.example');
  await users.addAccount('globex', 'billing@globex.example');
  const add = async (name: string, role: 'customer' | 'admin', account: string | undefined, level: number, email: string): Promise<Principal> =>
    principalOf(await users.addUser({ name, role, password: PASSWORD, account, level, email }));
  return {
    alice: await add('alice', 'customer', 'acme', 1, 'alice@acme.example'),
    carol: await add('carol', 'customer', 'acme', 3, 'carol@acme.example'),
    bob: await add('bob', 'customer', 'globex', 3, 'bob@globex.example'),
    admin: await add('admin', 'admin', undefined, 0, 'admin@provider.example'),
  };
}
