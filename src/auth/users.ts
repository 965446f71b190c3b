import type { DataSource, Repository } from 'typeorm';
import { Account, ROLES, User, type Role } from '../../entities';
import { hashPassword } from './passwords';
import type { SecretBox } from './secret-box';

export class UserError extends Error {
  override readonly name = 'UserError';
}

export interface NewUser {
  readonly name: string;
  readonly role: Role;
  readonly password: string;
  readonly account?: string;
  readonly level?: number;
}

export const MIN_PASSWORD_LENGTH = 8;

/** Users and accounts: creation, disabling, lookup. */
export class UserStore {
  private readonly users: Repository<User>;
  private readonly accounts: Repository<Account>;

  constructor(
    dataSource: DataSource,
    private readonly secrets: SecretBox,
  ) {
    this.users = dataSource.getRepository(User);
    this.accounts = dataSource.getRepository(Account);
  }

  async addAccount(name: string, contact?: string): Promise<Account> {
    if (!/^[A-Za-z0-9][A-Za-z0-9._@-]{0,199}$/.test(name)) throw new UserError(`account name "${name}" must be 1-200 letters, digits, '.', '_', '@' or '-'`);
    if (contact !== undefined && !/^[^\s@]+@[^\s@]+$/.test(contact)) throw new UserError(`contact "${contact}" is not an e-mail address`);
    if ((await this.accounts.findOneBy({ name })) !== null) throw new UserError(`account "${name}" already exists`);
    return this.accounts.save(this.accounts.create({ name, contact: contact ?? null, createdAt: new Date() }));
  }

  async addUser(input: NewUser): Promise<User> {
    if (!/^[A-Za-z0-9][A-Za-z0-9._@-]{0,199}$/.test(input.name)) throw new UserError(`user name "${input.name}" must be 1-200 letters, digits, '.', '_', '@' or '-'`);
    if (!ROLES.includes(input.role)) throw new UserError(`role "${String(input.role)}" is not one of ${ROLES.join(', ')}`);
    if (input.password.length < MIN_PASSWORD_LENGTH) throw new UserError(`the password must have at least ${MIN_PASSWORD_LENGTH} characters`);
    const level = input.level ?? 0;
    if (!Number.isInteger(level) || level < 0 || level > 100) throw new UserError(`level must be an integer from 0 to 100, got ${level}`);
    let accountId: number | null = null;
    if (input.account !== undefined) {
      const account = await this.accounts.findOneBy({ name: input.account });
      if (account === null) throw new UserError(`account "${input.account}" does not exist (create it with: provisor account add ${input.account})`);
      accountId = account.id;
    } else if (input.role === 'customer') {
      throw new UserError('a customer needs an account (--account NAME)');
    }
    if ((await this.users.findOneBy({ name: input.name })) !== null) throw new UserError(`user "${input.name}" already exists`);
    return this.users.save(
      this.users.create({
        name: input.name,
        role: input.role,
        accountId,
        level,
        passwordHash: await hashPassword(input.password),
        digestSecret: this.secrets.encrypt(input.password),
        disabled: false,
        createdAt: new Date(),
      }),
    );
  }

  async disable(name: string): Promise<void> {
    const result = await this.users.update({ name }, { disabled: true });
    if (result.affected === 0) throw new UserError(`user "${name}" does not exist`);
  }

  async list(): Promise<Array<User & { accountName: string | null }>> {
    const [users, accounts] = await Promise.all([this.users.find({ order: { name: 'ASC' } }), this.accounts.find()]);
    const names = new Map(accounts.map((a) => [a.id, a.name]));
    return users.map((u) => Object.assign(u, { accountName: u.accountId === null ? null : (names.get(u.accountId) ?? null) }));
  }

  findByName(name: string): Promise<User | null> {
    return this.users.findOneBy({ name });
  }
}
