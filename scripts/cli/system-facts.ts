/**
 * `provisor system set|show` and the facts columns of `provisor system list`:
 * the facts the change manager plans with (roles, cluster, capacity,
 * hardware, maintenance windows; see src/changemanager/system-facts.ts and,
 * for the window syntax, src/changemanager/windows.ts).
 */
import type { Command } from 'commander';
import type { DataSource } from 'typeorm';
import { InstalledComponent, ManagedSystem } from '../../entities';
import { SystemFactsStore, type SystemFactsChange } from '../../src/changemanager/system-facts';
import type { MaintenanceWindow, SystemFacts } from '../../src/changemanager/planning-model';
import { formatWindow, parseWindow, WindowSyntaxError } from '../../src/changemanager/windows';
import { loadConfig } from '../../src/config';
import { openDatabase } from '../../src/db/data-source';
import { parseParameters } from '../../src/provisioning/resources';
import { action, usage } from './exit';
import { table } from './format';

/** The connection options of `system set` (the ssh driver's). */
export interface ConnectionOptions {
  host?: string;
  port?: string;
  user?: string;
  key?: string;
  root?: string;
  passphraseStdin?: boolean;
  passwordStdin?: boolean;
}

/** Changes a system's connection options (given by provisor.ts, which has the drivers). */
export type ConnectionChanger = (name: string, options: ConnectionOptions) => Promise<void>;

/** Whether any connection option was given. */
function changesConnection(opts: ConnectionOptions): boolean {
  return [opts.host, opts.port, opts.user, opts.key, opts.root].some((v) => v !== undefined) || opts.passphraseStdin === true || opts.passwordStdin === true;
}

interface SetOptions extends ConnectionOptions {
  role: string[];
  removeRole: string[];
  cluster?: string | false;
  capacity?: string;
  cpus?: string;
  memory?: string;
  disk?: string;
  window: string[];
  clearWindows?: boolean;
}

const collect = (value: string, previous: string[]): string[] => [...previous, value];

function readWindow(value: string): MaintenanceWindow {
  try {
    return parseWindow(value);
  } catch (error) {
    if (error instanceof WindowSyntaxError) throw usage(`--window: ${error.message}`);
    throw error;
  }
}

/** A whole number for `option`; with `allowUnknown`, "unknown" reads as null. */
function wholeNumber(option: string, value: string, allowUnknown: boolean): number | null {
  if (allowUnknown && value === 'unknown') return null;
  if (!/^\d{1,10}$/.test(value)) throw usage(`${option} must be a whole number${allowUnknown ? ' or "unknown"' : ''}, got "${value}"`);
  return Number(value);
}

async function withStore<T>(fn: (store: SystemFactsStore, dataSource: DataSource) => Promise<T>): Promise<T> {
  const dataSource = await openDatabase(loadConfig());
  try {
    return await fn(new SystemFactsStore(dataSource), dataSource);
  } finally {
    await dataSource.destroy();
  }
}

/** The lines `provisor system show` prints about a system's facts. */
export function describeFacts(facts: SystemFacts): string[] {
  const { cpus, memoryMb, diskGb } = facts.hardware;
  const known = (value: number | null, unit: string): string => (value === null ? 'unknown' : `${value}${unit}`);
  return [
    `system ${facts.name} (driver ${facts.driver})`,
    `roles: ${facts.roles.length === 0 ? '-' : facts.roles.join(', ')}`,
    `cluster: ${facts.cluster ?? '-'}`,
    `capacity: ${facts.capacity} task${facts.capacity === 1 ? '' : 's'} at once`,
    `hardware: cpus ${known(cpus, '')}, memory ${known(memoryMb, ' MB')}, disk ${known(diskGb, ' GB')}`,
    `maintenance windows: ${facts.maintenanceWindows.length === 0 ? 'none (changes at any time)' : ''}`.trimEnd(),
    ...facts.maintenanceWindows.map((w) => `  ${formatWindow(w)}`),
  ];
}

/** `os=… kernel=… free=…MB read=…`, the host facts columns of `provisor system list` (what the driver last read). */
export function hostColumns(row: ManagedSystem | undefined): string[] {
  if (row === undefined) return [];
  const known = (value: number | null, unit = ''): string => (value === null ? '-' : `${value}${unit}`);
  return [
    `cpus=${known(row.cpus)} memory=${known(row.memoryMb, 'MB')} disk=${known(row.diskGb, 'GB')} free=${known(row.freeDiskMb, 'MB')}`,
    `os=${row.os ?? '-'}`,
    `kernel=${row.kernel ?? '-'}`,
    `factsRead=${row.factsReadAt === null ? '-' : row.factsReadAt.toISOString()}`,
  ];
}

/** Every system's row by name (for `provisor system list`). */
export async function rowsByName(dataSource: DataSource): Promise<Map<string, ManagedSystem>> {
  return new Map((await dataSource.getRepository(ManagedSystem).find()).map((row) => [row.name, row]));
}

/** `roles=a,b cluster=c capacity=n`, the facts columns of `provisor system list`. */
export function factsColumns(facts: SystemFacts | undefined): string[] {
  if (facts === undefined) return [];
  return [`roles=${facts.roles.join(',') || '-'}`, `cluster=${facts.cluster ?? '-'}`, `capacity=${facts.capacity}`];
}

/** Every system's facts by name (for `provisor system list`). */
export async function factsByName(dataSource: DataSource): Promise<Map<string, SystemFacts>> {
  return new Map((await new SystemFactsStore(dataSource).list()).map((f) => [f.name, f]));
}

export function addSystemFactsCommands(system: Command, changeConnection: ConnectionChanger): void {
  system
    .command('set <name>')
    .description(
      'set the facts the change manager plans with, or an ssh system\'s connection; window syntax: "DAYS HH:MM+DURATION [ZONE]", e.g. "mon-fri 22:00+4h Europe/Berlin" (days: mon…sun, ranges, daily). ' +
        'A new --host or --port keeps the pinned host key: tasks are refused until the new host\'s key is accepted (provisor system accept-host-key)',
    )
    .option('--host <host>', 'ssh: the host name or address')
    .option('--port <port>', 'ssh: the port')
    .option('--user <user>', 'ssh: the user to log in as')
    .option('--key <file>', 'ssh: a new private key file (stored sealed; its passphrase with --passphrase-stdin)')
    .option('--root <dir>', "ssh: the system's directory on the host")
    .option('--passphrase-stdin', "ssh: read the key's passphrase from the first line of standard input")
    .option('--password-stdin', 'ssh: read a password from the first line of standard input')
    .option('--role <role>', 'add a role or tag (repeatable)', collect, [])
    .option('--remove-role <role>', 'remove a role (repeatable)', collect, [])
    .option('--cluster <cluster>', 'the cluster it belongs to')
    .option('--no-cluster', 'leave its cluster')
    .option('--capacity <n>', 'provisioning tasks at once (at least 1; 1 when never set)')
    .option('--cpus <n>', 'CPUs, or "unknown"')
    .option('--memory <mb>', 'memory in MB, or "unknown"')
    .option('--disk <gb>', 'disk in GB, or "unknown"')
    .option('--window <window>', 'add a maintenance window (repeatable)', collect, [])
    .option('--clear-windows', 'remove every maintenance window first (changes at any time when none is added)')
    .action(
      action(async (name: string, opts: SetOptions) => {
        if (changesConnection(opts)) await changeConnection(name, opts);
        const change: SystemFactsChange = {
          addRoles: opts.role,
          removeRoles: opts.removeRole,
          ...(opts.cluster === undefined ? {} : { cluster: opts.cluster === false ? null : opts.cluster }),
          ...(opts.capacity === undefined ? {} : { capacity: wholeNumber('--capacity', opts.capacity, false) as number }),
          ...(opts.cpus === undefined ? {} : { cpus: wholeNumber('--cpus', opts.cpus, true) }),
          ...(opts.memory === undefined ? {} : { memoryMb: wholeNumber('--memory', opts.memory, true) }),
          ...(opts.disk === undefined ? {} : { diskGb: wholeNumber('--disk', opts.disk, true) }),
          clearWindows: opts.clearWindows === true,
          addWindows: opts.window.map(readWindow),
        };
        const facts = await withStore((store) => store.set(name, change));
        for (const line of describeFacts(facts)) console.log(line);
      }),
    );
  system
    .command('show <name>')
    .description('show a system: its facts, maintenance windows and installed components')
    .action(
      action(async (name: string) => {
        await withStore(async (store, dataSource) => {
          const facts = await store.get(name);
          for (const line of describeFacts(facts)) console.log(line);
          const row = await dataSource.getRepository(ManagedSystem).findOneByOrFail({ name });
          console.log(
            row.factsReadAt === null
              ? 'host: not read yet (provisor system facts)'
              : `host: ${row.os ?? 'unknown OS'}, kernel ${row.kernel ?? 'unknown'}, ${row.freeDiskMb === null ? 'free disk unknown' : `${row.freeDiskMb} MB free`} (read ${row.factsReadAt.toISOString()})`,
          );
          const components = await dataSource.getRepository(InstalledComponent).find({ where: { systemId: row.id }, order: { name: 'ASC' } });
          if (components.length === 0) {
            console.log('installed: none');
            return;
          }
          console.log('installed:');
          const rows = components.map((c) => {
            const parameters = Object.entries(parseParameters(c.parameters)).map(([k, v]) => `${k}=${v}`).join(' ');
            return ['', c.name, c.version, c.state, parameters === '' ? '-' : parameters];
          });
          for (const line of table([['', 'COMPONENT', 'VERSION', 'STATE', 'PARAMETERS'], ...rows])) console.log(line);
        });
      }),
    );
}
