/**
 * `provisor`: the command line for people. Works against the configured
 * database (SQLite under data/ by default, DATABASE_URL for MySQL/MariaDB).
 */
import path from 'node:path';
import { Command, CommanderError, Option } from 'commander';
import type { DataSource } from 'typeorm';
import { ROLES, type Role } from '../../entities';
import { defaultDrivers } from '../../src/drivers/defaults';
import { SecretBox } from '../../src/auth/secret-box';
import { UserError, UserStore } from '../../src/auth/users';
import { systemClock } from '../../src/clock';
import { ConfigError, loadConfig, type Config } from '../../src/config';
import { openDatabase } from '../../src/db/data-source';
import { changed, databaseHelp } from './database-note';
import { InstalledComponent } from '../../entities';
import { buildDemoRepository } from '../../src/drivers/local';
import { SEALED_OPTIONS } from '../../src/drivers/ssh';
import { SystemError, SystemRegistry } from '../../src/provisioning/systems';
import { addChangeCommands } from './change';
import { addDemoCommand } from './demo';
import { addPackageCommands } from './package';
import { addPlanCommands } from './plan';
import { addRequestCommands } from './request';
import { checkRepositoryFolder, RepositoryLocationError } from './repository-location';
import { addScheduleCommand } from './schedule';
import { type ConnectionOptions, addSystemFactsCommands, factsByName, factsColumns, hostColumns, rowsByName } from './system-facts';
import { addWorkOrderCommands } from './workorder';

class CliError extends Error {}

async function readPassword(): Promise<string> {
  const chunks: Buffer[] = [];
  if (process.stdin.isTTY) process.stderr.write('Password (then Enter, then Ctrl-D): ');
  for await (const chunk of process.stdin) chunks.push(chunk as Buffer);
  const password = Buffer.concat(chunks).toString('utf8').split(/\r?\n/)[0] ?? '';
  if (password === '') throw new CliError('no password on standard input (e.g. echo "$PASSWORD" | provisor user add …)');
  return password;
}

/** A URL as given; a folder checked against the system and Provisor folders it may not expose, as its real path. */
function repositoryLocation(location: string, config: Config): string {
  if (/^https?:\/\//i.test(location)) return location;
  try {
    return checkRepositoryFolder(location, config);
  } catch (err) {
    if (err instanceof RepositoryLocationError) throw new CliError(err.message);
    throw err;
  }
}

/** The package a storage pool runs (the work-order catalog's plans configure it). */
const STORAGE_POOL_PACKAGE = 'storage-pool';

async function withDatabase<T>(fn: (ctx: { config: Config; dataSource: DataSource }) => Promise<T>): Promise<T> {
  const config = loadConfig();
  const dataSource = await openDatabase(config);
  try {
    return await fn({ config, dataSource });
  } finally {
    await dataSource.destroy();
  }
}

/** `--pool` names a registered system with the storage-pool package installed, or the account is refused. */
async function checkStoragePool(config: Config, dataSource: DataSource, pool: string): Promise<void> {
  const system = await registry(config, dataSource).get(pool);
  if (system === null) throw new CliError(`storage pool "${pool}" is not a registered system (register it with: provisor system add ${pool}, then install ${STORAGE_POOL_PACKAGE} on it)`);
  const installed = await dataSource.getRepository(InstalledComponent).findOneBy({ systemId: system.id, name: STORAGE_POOL_PACKAGE });
  if (installed === null) {
    throw new CliError(`system "${pool}" does not have the ${STORAGE_POOL_PACKAGE} package installed; install it first (Software.Install with system ${pool} and component ${STORAGE_POOL_PACKAGE}), then add the account`);
  }
}

function users(config: Config, dataSource: DataSource): UserStore {
  return new UserStore(dataSource, SecretBox.load(config.secretKey, config.secretKeyFile));
}

function registry(config: Config, dataSource: DataSource): SystemRegistry {
  return new SystemRegistry(dataSource, defaultDrivers(config), config.drivers.systemsDir, systemClock);
}

/** The registry with this configuration's drivers, closed afterwards (an ssh connection would keep the process alive). */
async function withRegistry<T>(config: Config, dataSource: DataSource, fn: (systems: SystemRegistry) => Promise<T>): Promise<T> {
  const drivers = defaultDrivers(config);
  try {
    return await fn(new SystemRegistry(dataSource, drivers, config.drivers.systemsDir, systemClock));
  } finally {
    await Promise.all([...drivers.values()].map((driver) => driver.close()));
  }
}

interface SystemAddOptions {
  driver: string;
  option: Record<string, string>;
  host?: string;
  port?: string;
  user?: string;
  key?: string;
  root?: string;
  hostKey?: string;
  passphraseStdin?: boolean;
  passwordStdin?: boolean;
}

/** The driver options of `system add`: --option pairs, then the named ssh options. */
async function systemOptions(opts: SystemAddOptions): Promise<Record<string, string>> {
  const named: Record<string, string | undefined> = { host: opts.host, port: opts.port, user: opts.user, keyFile: opts.key, hostKey: opts.hostKey };
  if (opts.driver === 'ssh') named.root = opts.root;
  else if (opts.root !== undefined) named.root = opts.root;
  const given = Object.entries(named).filter((entry): entry is [string, string] => entry[1] !== undefined);
  if (opts.driver !== 'ssh' && given.some(([key]) => key !== 'root')) {
    throw new CliError(`--host, --port, --user, --key and --host-key are options of the ssh driver, not of "${opts.driver}"`);
  }
  const options: Record<string, string> = { ...opts.option, ...Object.fromEntries(given) };
  if (opts.passphraseStdin === true && opts.passwordStdin === true) throw new CliError('give --passphrase-stdin or --password-stdin, not both');
  if (opts.passphraseStdin === true) options.passphrase = await readPassword();
  if (opts.passwordStdin === true) options.password = await readPassword();
  return options;
}

/** `provisor system set NAME --host … --key …`: the ssh connection options changed, tried first when the host stays. */
async function changeConnection(name: string, opts: ConnectionOptions): Promise<void> {
  const named: Record<string, string | undefined> = { host: opts.host, port: opts.port, user: opts.user, keyFile: opts.key, root: opts.root };
  const change: Record<string, string> = Object.fromEntries(Object.entries(named).filter((entry): entry is [string, string] => entry[1] !== undefined));
  if (opts.passphraseStdin === true && opts.passwordStdin === true) throw new CliError('give --passphrase-stdin or --password-stdin, not both');
  if (opts.passphraseStdin === true) change.passphrase = await readPassword();
  if (opts.passwordStdin === true) change.password = await readPassword();
  await withDatabase(async ({ config, dataSource }) => {
    await withRegistry(config, dataSource, async (systems) => {
      const { system, hostKeyToAccept } = await systems.changeOptions(name, change);
      const shown = Object.keys(change).map((key) => (key === 'passphrase' || key === 'password' || key === 'keyFile' ? `${key} (sealed)` : `${key} ${system.options[key] ?? '-'}`));
      await changed(config, `system ${name}: ${shown.join(', ')} changed`);
      if (hostKeyToAccept) {
        console.log(
          `the host key pinned for ${system.options.hostKeyFor ?? 'the old host'} is kept: tasks on ${name} are refused until an administrator accepts the new host's key (provisor system accept-host-key ${name} [--host-key FINGERPRINT])`,
        );
      }
    });
  });
}

function parseLevel(value: string): number {
  if (!/^\d+$/.test(value)) throw new CliError(`--level must be a whole number, got "${value}"`);
  return Number(value);
}

function parseOption(value: string, previous: Record<string, string>): Record<string, string> {
  const eq = value.indexOf('=');
  if (eq <= 0) throw new CliError(`--option takes KEY=VALUE, got "${value}"`);
  return { ...previous, [value.slice(0, eq)]: value.slice(eq + 1) };
}

export function buildCli(): Command {
  const program = new Command('provisor').description('Provisor command line: users, accounts, managed systems, package repositories, change plans, the demo, the scheduler, requests for change and policies').exitOverride();
  program.configureOutput({ writeErr: (s) => process.stderr.write(s) });
  program.addHelpText('after', databaseHelp);

  const user = program.command('user').description('manage users (the password is read from standard input)');
  user
    .command('add <name>')
    .description('create a user; reads the password from standard input')
    .addOption(new Option('--role <role>', 'the user\'s role').choices([...ROLES]).makeOptionMandatory())
    .option('--account <account>', 'the account a customer belongs to')
    .option('--level <n>', 'work-order permission level (customers)', parseLevel)
    .option('--email <address>', 'e-mail address: notifications, and e-mail intake of work orders')
    .action(async (name: string, opts: { role: Role; account?: string; level?: number; email?: string }) => {
      const password = await readPassword();
      await withDatabase(async ({ config, dataSource }) => {
        const created = await users(config, dataSource).addUser({ name, role: opts.role, password, account: opts.account, level: opts.level, email: opts.email });
        await changed(config, `user ${created.name} created (role ${created.role}${opts.account === undefined ? '' : `, account ${opts.account}`})`);
      });
    });
  user
    .command('disable <name>')
    .description('disable a user: its calls are refused from then on')
    .action(async (name: string) => {
      await withDatabase(async ({ config, dataSource }) => {
        await users(config, dataSource).disable(name);
        await changed(config, `user ${name} disabled`);
      });
    });
  user
    .command('unlock <name>')
    .description('unlock a user locked after too many failed log-ins (and clear its failures)')
    .action(async (name: string) => {
      await withDatabase(async ({ config, dataSource }) => {
        const wasLocked = await users(config, dataSource).unlock(name);
        await changed(config, wasLocked ? `user ${name} unlocked` : `user ${name} was not locked; its failed log-ins are cleared`);
      });
    });
  user
    .command('list')
    .description('list users (a user locked after failed log-ins has a last column "locked since …")')
    .action(async () => {
      await withDatabase(async ({ config, dataSource }) => {
        for (const u of await users(config, dataSource).list()) {
          const columns = [u.name, u.role, u.accountName ?? '-', `level=${u.level}`, u.email ?? '-', u.disabled ? 'disabled' : 'enabled'];
          if (u.lockedAt !== null) columns.push(`locked since ${u.lockedAt.toISOString()}`);
          console.log(columns.join('\t'));
        }
      });
    });

  program
    .command('account')
    .description('manage accounts')
    .command('add <name>')
    .description('create a billing account')
    .option('--contact <email>', 'contact e-mail address')
    .option('--pool <system>', "the storage pool (a managed system) its work orders act on; default: the catalog's")
    .action(async (name: string, opts: { contact?: string; pool?: string }) => {
      await withDatabase(async ({ config, dataSource }) => {
        if (opts.pool !== undefined) await checkStoragePool(config, dataSource, opts.pool);
        await users(config, dataSource).addAccount(name, opts.contact, opts.pool);
        await changed(config, `account ${name} created${opts.pool === undefined ? '' : ` (storage pool ${opts.pool})`}`);
      });
    });

  const system = program.command('system').description('manage managed systems');
  system
    .command('add <name>')
    .description('register a managed system (a local system\'s root is created under the systems folder; an ssh system is reached once, its host key pinned and its root prepared)')
    .addOption(new Option('--driver <driver>', 'deployment driver').choices(['local', 'simulated', 'ssh']).default('local'))
    .option('--option <key=value>', 'driver option, repeatable', parseOption, {})
    .option('--host <host>', 'ssh: the host name or address')
    .option('--port <port>', 'ssh: the port (default 22)')
    .option('--user <user>', 'ssh: the user to log in as (no sudo is used)')
    .option('--key <file>', 'ssh: the private key file (ed25519 or RSA, OpenSSH or PEM format); it is stored sealed')
    .option('--root <dir>', "ssh: the system's directory on the host (default: the user's home)")
    .option('--host-key <fingerprint>', 'ssh: the host key fingerprint expected (SHA256:…); default: the one the host offers now')
    .option('--passphrase-stdin', "ssh: read the key's passphrase from the first line of standard input")
    .option('--password-stdin', 'ssh: read a password from the first line of standard input')
    .action(async (name: string, opts: SystemAddOptions) => {
      const options = await systemOptions(opts);
      await withDatabase(async ({ config, dataSource }) => {
        await withRegistry(config, dataSource, async (systems) => {
          const added = await systems.add(name, opts.driver, options);
          const where = added.options.root === undefined ? '' : `, root ${added.options.root}`;
          const host = added.driver === 'ssh' ? `, ${added.options.user}@${added.options.host}:${added.options.port}` : '';
          await changed(config, `system ${added.name} registered (driver ${added.driver}${host}${where})`);
          if (added.options.hostKey !== undefined) console.log(`host key ${added.options.hostKey} pinned`);
        });
      });
    });
  system
    .command('accept-host-key <name>')
    .description("pin the key an ssh system's host offers now, after checking it (tasks refused for a changed key run again)")
    .option('--host-key <fingerprint>', 'the fingerprint the host must offer (SHA256:…)')
    .action(async (name: string, opts: { hostKey?: string }) => {
      await withDatabase(async ({ config, dataSource }) => {
        await withRegistry(config, dataSource, async (systems) => {
          const accepted = await systems.acceptHostKey(name, opts.hostKey);
          await changed(config, `system ${accepted.name}: host key ${accepted.options.hostKey ?? '-'} pinned`);
        });
      });
    });
  system
    .command('facts <name>')
    .description("read the system's host facts now (CPUs, memory, disk, free disk, OS, kernel) and store them on the system")
    .action(async (name: string) => {
      await withDatabase(async ({ config, dataSource }) => {
        await withRegistry(config, dataSource, async (systems) => {
          const facts = await systems.refreshFacts(name);
          const known = (value: number | null, unit = ''): string => (value === null ? 'unknown' : `${value}${unit}`);
          console.log(`system ${name}`);
          console.log(`cpus: ${known(facts.hardware.cpus)}`);
          console.log(`memory: ${known(facts.hardware.memoryMb, ' MB')}`);
          console.log(`disk: ${known(facts.hardware.diskGb, ' GB')}${facts.freeDiskMb === null ? '' : ` (${facts.freeDiskMb} MB free)`}`);
          console.log(`os: ${facts.os ?? 'unknown'}`);
          console.log(`kernel: ${facts.kernel ?? 'unknown'}`);
        });
      });
    });
  system
    .command('list')
    .description('list managed systems: name, driver, driver options (secrets shown as sealed), roles, cluster, capacity, and the host facts last read (hardware, free disk, OS, kernel, when)')
    .action(async () => {
      await withDatabase(async ({ config, dataSource }) => {
        const facts = await factsByName(dataSource);
        const rows = await rowsByName(dataSource);
        await withRegistry(config, dataSource, async (systems) => {
          for (const s of await systems.list()) {
            const options = Object.entries(s.options).map(([k, v]) => `${k}=${(SEALED_OPTIONS as readonly string[]).includes(k) ? '(sealed)' : v}`);
            console.log([s.name, s.driver, options.join(' '), ...factsColumns(facts.get(s.name)), ...hostColumns(rows.get(s.name))].join('\t'));
          }
        });
      });
    });
  addSystemFactsCommands(system, changeConnection);

  const repository = program.command('repository').description('manage package repositories');
  repository
    .command('add [location]')
    .description('register a package repository (a folder or an http(s) URL); system folders, Provisor\'s data and any folder containing them are refused')
    .option('--demo', 'build and register the demo repository (demo-httpd, demo-site, …)')
    .action(async (location: string | undefined, opts: { demo?: boolean }) => {
      if ((location === undefined) === (opts.demo !== true)) throw new CliError('give either a LOCATION or --demo');
      await withDatabase(async ({ config, dataSource }) => {
        const where = opts.demo === true ? await buildDemoRepository(path.join(config.dataDir, 'demo-repository')) : repositoryLocation(location as string, config);
        await registry(config, dataSource).addRepository(where);
        await changed(config, `repository ${where} registered`);
      });
    });
  repository
    .command('list')
    .description('list package repositories, in search order')
    .action(async () => {
      await withDatabase(async ({ config, dataSource }) => {
        for (const location of await registry(config, dataSource).repositoryLocations()) console.log(location);
      });
    });

  addPlanCommands(program);
  addDemoCommand(program);
  addWorkOrderCommands(program);
  addRequestCommands(program);
  addPackageCommands(program);
  addScheduleCommand(program);
  addChangeCommands(program);
  return program;
}

export async function runCli(argv: readonly string[]): Promise<number> {
  try {
    await buildCli().parseAsync(argv as string[], { from: 'user' });
    return 0;
  } catch (err) {
    if (err instanceof CommanderError) return err.exitCode === 0 ? 0 : 2;
    if (err instanceof CliError || err instanceof UserError || err instanceof SystemError || err instanceof ConfigError) {
      process.stderr.write(`provisor: ${err.message}\n`);
      return 2;
    }
    process.stderr.write(`provisor: ${err instanceof Error ? err.message : String(err)}\n`);
    return 1;
  }
}

if (require.main === module) {
  void runCli(process.argv.slice(2)).then((code) => {
    process.exitCode = code;
  });
}
