import type { DataSource, Repository } from 'typeorm';
import { type Clock, systemClock } from '../clock';
import { Account, LoginState, PortalSession, ROLES, User, type Role } from '../../entities';
import { dummyPasswordHash, hashPassword, verifyPassword } from './passwords';
import type { Principal } from './principal';
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
  readonly email?: string;
}

export const MIN_PASSWORD_LENGTH = 8;

/** Users and accounts: creation, disabling, lookup. */
export class UserStore {
  private readonly users: Repository<User>;
  private readonly accounts: Repository<Account>;
  private readonly loginStates: Repository<LoginState>;
  private readonly portalSessions: Repository<PortalSession>;

  constructor(
    dataSource: DataSource,
    private readonly secrets: SecretBox,
    /** Stamps the accounts and users created. */
    private readonly clock: Clock = systemClock,
  ) {
    this.users = dataSource.getRepository(User);
    this.accounts = dataSource.getRepository(Account);
    this.loginStates = dataSource.getRepository(LoginState);
    this.portalSessions = dataSource.getRepository(PortalSession);
  }

  async addAccount(name: string, contact?: string, storagePool?: string): Promise<Account> {
    if (!/^[A-Za-z0-9][A-Za-z0-9._@-]{0,199}$/.test(name)) throw new UserError(`account name "${name}" must be 1-200 letters, digits, '.', '_', '@' or '-'`);
    if (contact !== undefined && !/^[^\s@]+@[^\s@]+$/.test(contact)) throw new UserError(`contact "${contact}" is not an e-mail address`);
    if ((await this.accounts.findOneBy({ name })) !== null) throw new UserError(`account "${name}" already exists`);
    if (storagePool !== undefined && !/^[A-Za-z0-9][A-Za-z0-9._-]{0,199}$/.test(storagePool)) throw new UserError(`storage pool "${storagePool}" is not a system name`);
    return this.accounts.save(this.accounts.create({ name, contact: contact ?? null, storagePool: storagePool ?? null, createdAt: this.clock.date() }));
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
    // Failures (or a lock) earned by this name while nobody had it do not carry over to the new user.
    await this.loginStates.delete({ name: input.name });
    await this.portalSessions.delete({ userName: input.name });
    const email = input.email === undefined ? null : normaliseEmail(input.email);
    if (email !== null && (await this.users.findOneBy({ email })) !== null) throw new UserError(`the e-mail address ${email} already belongs to another user`);
    return this.users.save(
      this.users.create({
        name: input.name,
        role: input.role,
        accountId,
        level,
        email,
        passwordHash: await hashPassword(input.password),
        digestSecret: this.secrets.encrypt(input.password),
        disabled: false,
        createdAt: this.clock.date(),
      }),
    );
  }

  /** Disables a user: every log-in is refused from now on, and its portal sessions end at once (on every process). */
  async disable(name: string): Promise<void> {
    const result = await this.users.update({ name }, { disabled: true });
    if (result.affected === 0) throw new UserError(`user "${name}" does not exist`);
    await this.portalSessions.delete({ userName: name });
  }

  /**
   * Unlocks a user locked after failed log-ins and clears its failures.
   * False when it was not locked.
   */
  async unlock(name: string): Promise<boolean> {
    if ((await this.users.findOneBy({ name })) === null) throw new UserError(`user "${name}" does not exist`);
    const state = await this.loginStates.findOneBy({ name });
    await this.loginStates.delete({ name });
    return state?.lockedAt !== null && state?.lockedAt !== undefined;
  }

  /** Every user, with its account's name and, when it is locked after failed log-ins, since when. */
  async list(): Promise<Array<User & { accountName: string | null; lockedAt: Date | null }>> {
    const [users, accounts, states] = await Promise.all([this.users.find({ order: { name: 'ASC' } }), this.accounts.find(), this.loginStates.find()]);
    const names = new Map(accounts.map((a) => [a.id, a.name]));
    const locks = new Map(states.map((s) => [s.name, s.lockedAt]));
    return users.map((u) => Object.assign(u, { accountName: u.accountId === null ? null : (names.get(u.accountId) ?? null), lockedAt: locks.get(u.name) ?? null }));
  }

  findByName(name: string): Promise<User | null> {
    return this.users.findOneBy({ name });
  }

  /** The enabled user with this name and password (portal log-in), or null. */
  async verify(name: string, password: string): Promise<Principal | null> {
    const user = await this.users.findOneBy({ name });
    if (user === null || user.disabled) {
      await verifyPassword(password, await dummyPasswordHash()); // the same work whether or not the user exists
      return null;
    }
    return (await verifyPassword(password, user.passwordHash)) ? principalOf(user) : null;
  }

  /** The enabled user registered with this e-mail address (e-mail intake), or null. */
  async findByEmail(address: string): Promise<{ principal: Principal; email: string } | null> {
    const email = normaliseEmail(address);
    const user = await this.users.findOneBy({ email });
    return user === null || user.disabled ? null : { principal: principalOf(user), email };
  }

  /** A user's e-mail address and name by id (notifications), or null. */
  async contactOf(userId: number): Promise<{ name: string; email: string | null } | null> {
    const user = await this.users.findOneBy({ id: userId });
    return user === null ? null : { name: user.name, email: user.email };
  }
}

/** Addresses compare case-insensitively. */
export function normaliseEmail(address: string): string {
  const trimmed = address.trim().toLowerCase();
  if (!/^[^\s@<>]+@[^\s@<>]+\.[^\s@<>]+$/.test(trimmed) || trimmed.length > 320) throw new UserError(`"${address}" is not an e-mail address`);
  return trimmed;
}

export function principalOf(user: User): Principal {
  return { userId: user.id, name: user.name, role: user.role, accountId: user.accountId, level: user.level };
}

