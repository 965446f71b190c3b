/**
 * `provisor demo`: the two-website change plan on this machine, for a
 * newcomer. Registers what it needs (the demo package repository, two
 * `local` systems), deploys the plan with two free ports, runs it with the
 * live progress display and checks that both sites answer. The web servers
 * are detached processes that outlive the command; `provisor demo --stop`
 * stops them through the provisioning API.
 *
 * Running it again works: the servers left running are stopped first (a
 * Start of a running server does nothing, so it would keep its old port),
 * and the ports of the previous run are reused when they are free.
 */
import fs from 'node:fs';
import net from 'node:net';
import path from 'node:path';
import { type Command, InvalidArgumentError } from 'commander';
import { partnersWsdl, PARTNERS_WSDL_NAME, twoWebsitesPlan } from '../demo/two-websites';
import type { App } from '../../src/app';
import type { SoftwareOperation } from '../../src/drivers/driver';
import { buildDemoRepository } from '../../src/drivers/local';
import type { RequestView } from '../../src/provisioning/api';
import { action, ExitError, usage } from './exit';
import { runWatched } from './plan';
import { cliUser, withApp } from './session';

const SYSTEMS = ['demo-web1', 'demo-web2'] as const;
const PROCESS_NAME = 'ProvisorDemo';
const SERVER = 'demo-httpd';
const TERMINAL = new Set(['COMPLETED_SUCCESS', 'COMPLETED_FAILURE', 'UNKNOWN']);
/** How long a Stop may take (the driver's own stop timeout is far shorter). */
const STOP_WAIT_MS = 120_000;
/** How long the sites get to answer after the plan completed. */
const ANSWER_WAIT_MS = 10_000;

const out = (line = ''): void => void process.stdout.write(`${line}\n`);

function title(index: number): string {
  return `Provisor demo site ${index + 1}`;
}

function portBase(value: string): number {
  if (!/^\d+$/.test(value) || Number(value) < 1 || Number(value) > 65534) throw new InvalidArgumentError('must be a port from 1 to 65534 (the demo uses it and the next one)');
  return Number(value);
}

/** The ports of the last successful run, kept in the data folder. */
function portsFile(app: App): string {
  return path.join(app.config.dataDir, 'demo-ports.json');
}

function previousPorts(app: App): [number, number] | undefined {
  try {
    const parsed = JSON.parse(fs.readFileSync(portsFile(app), 'utf8')) as { ports?: unknown };
    const ports = parsed.ports;
    if (Array.isArray(ports) && ports.length === 2 && ports.every((p) => Number.isInteger(p) && p > 0 && p < 65536)) return [ports[0] as number, ports[1] as number];
  } catch {
    // None yet, or unreadable: pick new ones.
  }
  return undefined;
}

function listenOn(port: number): Promise<number | undefined> {
  return new Promise((resolve) => {
    const server = net.createServer();
    server.once('error', () => resolve(undefined));
    server.listen(port, '127.0.0.1', () => {
      const address = server.address();
      server.close(() => resolve(typeof address === 'object' && address !== null ? address.port : undefined));
    });
  });
}

async function choosePorts(app: App, base: number | undefined): Promise<[number, number]> {
  if (base !== undefined) {
    for (const port of [base, base + 1]) {
      if ((await listenOn(port)) === undefined) throw usage(`port ${port} on 127.0.0.1 is in use; choose another --port-base`);
    }
    return [base, base + 1];
  }
  const previous = previousPorts(app);
  if (previous !== undefined && (await listenOn(previous[0])) !== undefined && (await listenOn(previous[1])) !== undefined) return previous;
  const first = await listenOn(0);
  let second = await listenOn(0);
  while (second === first) second = await listenOn(0);
  if (first === undefined || second === undefined) throw new ExitError(1, 'cannot find two free ports on 127.0.0.1');
  return [first, second];
}

/** Submits a software task through the provisioning API and waits until it ends. */
async function perform(app: App, operation: SoftwareOperation, system: string): Promise<RequestView> {
  const requestId = await app.api.submitSoftware(operation, { system, component: SERVER, parameters: [] }, { name: cliUser() });
  const deadline = Date.now() + STOP_WAIT_MS;
  for (;;) {
    const request = await app.api.getRequest(requestId);
    if (TERMINAL.has(request.status)) return request;
    if (Date.now() > deadline) throw new ExitError(1, `${operation} of ${SERVER} on ${system} (request ${requestId}) has not ended after ${STOP_WAIT_MS / 1000}s; it is ${request.status}`);
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}

/** The demo systems where demo-httpd is installed (`running`: and recorded as running). */
async function systemsWithServer(app: App, running: boolean): Promise<string[]> {
  const found: string[] = [];
  for (const name of SYSTEMS) {
    if ((await app.systems.get(name)) === null) continue;
    if ((await app.api.listInstalled(name)).some((c) => c.name === SERVER && (!running || c.state === 'RUNNING'))) found.push(name);
  }
  return found;
}

/** What the driver said it did (its first note), else the status message. */
function outcome(request: RequestView): string {
  const first = (request.output ?? '').split('\n').find((line) => line.trim() !== '');
  return first ?? request.message ?? `${SERVER} stopped`;
}

async function stopServers(app: App, systems: readonly string[], indent: string): Promise<void> {
  const results = await Promise.all(systems.map(async (system) => ({ system, request: await perform(app, 'Stop', system) })));
  for (const { system, request } of results) {
    if (request.status !== 'COMPLETED_SUCCESS') throw new ExitError(1, `Stop of ${SERVER} on ${system} ended ${request.status}: ${request.message ?? 'no message'}`);
    out(`${indent}${system}: ${outcome(request)}`);
  }
}

async function prepare(app: App): Promise<void> {
  const repository = await buildDemoRepository(path.join(app.config.dataDir, 'demo-repository'));
  if (!(await app.systems.repositoryLocations()).includes(path.resolve(repository))) {
    await app.systems.addRepository(repository);
    out(`registered the demo package repository ${repository}`);
  }
  for (const name of SYSTEMS) {
    const system = await app.systems.get(name);
    if (system === null) {
      const added = await app.systems.add(name, 'local');
      out(`registered the local system ${name} (root ${added.options.root ?? '?'})`);
    } else if (system.driver !== 'local') {
      throw usage(`system ${name} is registered with driver ${system.driver}; the demo needs a local system of that name`);
    }
  }
}

/** Fetches a site until it answers with its title. */
async function answers(url: string, expected: string): Promise<string | undefined> {
  const deadline = Date.now() + ANSWER_WAIT_MS;
  let problem = 'no answer';
  for (;;) {
    try {
      const response = await fetch(url, { signal: AbortSignal.timeout(2000) });
      const body = await response.text();
      if (response.status === 200 && body.includes(expected)) return undefined;
      problem = `HTTP ${response.status}${body.includes(expected) ? '' : `, without "${expected}"`}`;
    } catch (err) {
      const cause = (err as { cause?: { code?: string } }).cause;
      problem = cause?.code ?? (err as Error).message;
    }
    if (Date.now() > deadline) return problem;
    await new Promise((resolve) => setTimeout(resolve, 250));
  }
}

async function runDemo(app: App, base: number | undefined): Promise<void> {
  await prepare(app);
  const running = await systemsWithServer(app, true);
  if (running.length > 0) {
    out(`stopping the ${SERVER} of the previous demo run first, so that it starts again on its new port`);
    await stopServers(app, running, '  ');
  }
  const ports = await choosePorts(app, base);
  const bpel = twoWebsitesPlan({
    processName: PROCESS_NAME,
    systems: [
      { system: SYSTEMS[0], port: ports[0], title: title(0) },
      { system: SYSTEMS[1], port: ports[1], title: title(1) },
    ],
  });
  const deployed = await app.workflow.deploy({ bpel, documents: new Map([[PARTNERS_WSDL_NAME, partnersWsdl()]]), bindings: [], deployedBy: cliUser() });
  out(`deployed the two-website plan as ${deployed.name} version ${deployed.version} (ports ${ports[0]} and ${ports[1]})`);
  await runWatched(app, deployed.name, undefined);
  const urls = ports.map((port) => `http://127.0.0.1:${port}/`);
  for (const [i, url] of urls.entries()) {
    const problem = await answers(url, title(i));
    if (problem !== undefined) {
      throw new ExitError(1, `the plan completed but ${url} (${SERVER} on ${SYSTEMS[i] ?? ''}) does not answer: ${problem}; its log is var/log/${SERVER}.log under the system's root`);
    }
  }
  fs.writeFileSync(portsFile(app), `${JSON.stringify({ ports })}\n`);
  out();
  out('Both demo sites answer:');
  urls.forEach((url, i) => out(`  ${url}  (${SYSTEMS[i] ?? ''}, "${title(i)}")`));
  out();
  out(`The two ${SERVER} processes run detached: they keep serving after this command ends.`);
  out('Stop them with: provisor demo --stop');
}

export function addDemoCommand(program: Command): void {
  program
    .command('demo')
    .description(
      'run the two-website demo plan on this machine: registers the demo package repository and the local systems demo-web1 and demo-web2 ' +
        '(once), deploys the plan with two free ports, shows its progress, checks that both sites answer and prints their URLs. ' +
        'The web servers keep running after the command; --stop stops them.',
    )
    .option('--port-base <n>', 'serve the sites on ports N and N+1 instead of two free ports', portBase)
    .option('--stop', 'stop the demo web servers (through the provisioning API) and wait until they are stopped')
    .action(
      action(async (opts: { portBase?: number; stop?: boolean }) => {
        if (opts.stop === true && opts.portBase !== undefined) throw usage('--stop takes no --port-base');
        await withApp({ run: true }, async (app) => {
          if (opts.stop !== true) {
            await runDemo(app, opts.portBase);
            return;
          }
          const installed = await systemsWithServer(app, false);
          if (installed.length === 0) {
            out(`nothing to stop: ${SERVER} is not installed on ${SYSTEMS.join(' or ')} (provisor demo installs it)`);
            return;
          }
          await stopServers(app, installed, '');
        });
      }),
    );
}
