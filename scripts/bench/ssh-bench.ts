/**
 * `node dist/scripts/bench/ssh-bench.js`: 100 Installs of a small package
 * spread over 5 hosts, through the ssh driver (5 real sshd servers on
 * 127.0.0.11-15, started here) and, in the same run, through the local
 * driver (5 system roots on this machine) as the baseline. Tasks run 10 at
 * a time, as the engine's workers would; each host gets 20 components.
 * Prints throughput, p50/p99 task time, and how many SSH connections the
 * driver's pool opened from preparing the systems to the last Install
 * (pooled: one per host).
 */
import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { performance } from 'node:perf_hooks';
import type { Driver, SystemDescriptor, Task } from '../../src/drivers/driver';
import { createLocalDriver } from '../../src/drivers/local';
import { createSshDriver } from '../../src/drivers/ssh';
import { buildFixtureRepository, contextFor } from '../../test/drivers/fixtures';
import { makeKey, type SshdHost, startSshd, testSecrets } from '../../test/support/sshd';

const HOSTS = 5;
const COMPONENTS_PER_HOST = 20;
const CONCURRENCY = 10;

interface Figures {
  readonly driver: string;
  readonly tasks: number;
  readonly seconds: number;
  readonly p50: number;
  readonly p99: number;
  readonly connections: number | string;
}

function percentile(sorted: readonly number[], p: number): number {
  return sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)] ?? 0;
}

async function installAll(driver: Driver, systems: readonly SystemDescriptor[], repo: string): Promise<{ seconds: number; durations: number[] }> {
  const jobs: { system: SystemDescriptor; task: Task }[] = [];
  for (let c = 0; c < COMPONENTS_PER_HOST; c++) {
    for (const system of systems) jobs.push({ system, task: { operation: 'Install', component: `bench-${c}`, parameters: [{ name: 'greeting', value: 'hello' }] } });
  }
  const durations: number[] = [];
  const started = performance.now();
  let next = 0;
  await Promise.all(
    Array.from({ length: CONCURRENCY }, async () => {
      for (let job = jobs[next++]; job !== undefined; job = jobs[next++]) {
        const t0 = performance.now();
        await driver.execute(job.task, contextFor(job.system, [repo]));
        durations.push(performance.now() - t0);
      }
    }),
  );
  return { seconds: (performance.now() - started) / 1000, durations: durations.sort((a, b) => a - b) };
}

function figures(name: string, run: { seconds: number; durations: number[] }, connections: number | string): Figures {
  return { driver: name, tasks: run.durations.length, seconds: run.seconds, p50: percentile(run.durations, 50), p99: percentile(run.durations, 99), connections };
}

async function main(): Promise<void> {
  const base = await mkdtemp(path.join(os.tmpdir(), 'provisor-ssh-bench-'));
  const hosts: SshdHost[] = [];
  const load = os.loadavg().map((l) => l.toFixed(2)).join(' ');
  try {
    const repo = await buildFixtureRepository(
      path.join(base, 'repo'),
      Array.from({ length: COMPONENTS_PER_HOST }, (_, c) => ({
        name: `bench-${c}`,
        version: '1.0.0',
        files: { 'install.sh': 'echo "installing $PROVISOR_COMPONENT: $PROVISOR_PARAM_GREETING"\n', 'README': 'a small package\n' },
        hooks: { install: 'install.sh' },
      })),
    );

    const local = createLocalDriver({ cacheDir: path.join(base, 'cache') });
    const localSystems = Array.from({ length: HOSTS }, (_, i) => ({ name: `local${i}`, driver: 'local', options: { root: path.join(base, `local${i}`) } }));
    for (const system of localSystems) await local.prepareSystem(system);
    const localRun = await installAll(local, localSystems, repo);
    await local.close();

    const key = await makeKey(base, 'id_ed25519', 'ed25519');
    for (let i = 0; i < HOSTS; i++) hosts.push(await startSshd(`127.0.0.${11 + i}`, [key.publicKey]));
    const ssh = createSshDriver({ secrets: testSecrets(), cacheDir: path.join(base, 'cache') });
    const sshSystems: SystemDescriptor[] = [];
    for (const [i, host] of hosts.entries()) {
      const options = await ssh.completeOptions?.(`ssh${i}`, { host: host.host, port: String(host.port), user: host.user, keyFile: key.privateFile, root: path.join(host.home, `ssh${i}`) });
      const system = { name: `ssh${i}`, driver: 'ssh', options: options ?? {} };
      await ssh.prepareSystem(system);
      sshSystems.push(system);
    }
    const sshRun = await installAll(ssh, sshSystems, repo);
    // Registration opens (and closes) one connection per host to pin its key; the pool's count starts with prepareSystem.
    const opened = ssh.connectionsOpened;
    await ssh.close();

    const rows = [figures('local (baseline)', localRun, '-'), figures(`ssh (${HOSTS} sshd hosts)`, sshRun, opened)];
    console.log(`100 Installs over ${HOSTS} hosts, ${CONCURRENCY} at a time; load average before: ${load}, after: ${os.loadavg().map((l) => l.toFixed(2)).join(' ')}`);
    console.log('| driver | tasks | wall s | tasks/s | p50 ms | p99 ms | SSH connections opened |');
    console.log('|---|---|---|---|---|---|---|');
    for (const row of rows) {
      console.log(`| ${row.driver} | ${row.tasks} | ${row.seconds.toFixed(2)} | ${(row.tasks / row.seconds).toFixed(1)} | ${row.p50.toFixed(0)} | ${row.p99.toFixed(0)} | ${row.connections} |`);
    }
  } finally {
    for (const host of hosts) await host.stop();
    await rm(base, { recursive: true, force: true });
  }
}

main().catch((error: unknown) => {
  console.error(error);
  process.exitCode = 1;
});
