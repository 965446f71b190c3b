/**
 * The change planner's benchmark: a generated request over a generated
 * model of 200 systems expands to about 1,000 tasks; planChange (task graph,
 * policies, scheduling, BPEL) is timed whole, once stopped after the first
 * schedule and once with the default 1 s budget for the whole call.
 *
 * Usage: node dist/scripts/bench/change-planner.js [--rounds N]
 */
import os from 'node:os';
import type { ChangeRequest } from '../../src/changemanager/change-plan';
import { planChange } from '../../src/changemanager/planner';
import type { InstalledFacts, PackageVersionFacts, PlanningModel, SystemFacts } from '../../src/changemanager/planning-model';

function arg(name: string): string | undefined {
  const i = process.argv.indexOf(name);
  return i === -1 ? undefined : process.argv[i + 1];
}

const load = (): string => os.loadavg().map((l) => l.toFixed(1)).join(' / ');

const pkg = (name: string, version: string, more: Partial<PackageVersionFacts> = {}): PackageVersionFacts => ({ name, version, requires: [], conflicts: [], provides: [], quiesce: null, startable: true, durations: {}, ...more });

/**
 * 200 systems: 20 clusters of 7 application servers, 20 database servers,
 * 40 web servers; capacity 1 (2 on every third); a 4-hour nightly window on
 * every tenth system.
 */
export function benchModel(): PlanningModel {
  const systems: SystemFacts[] = [];
  const installed: InstalledFacts[] = [];
  const add = (name: string, roles: string[], cluster: string | null, i: number): void => {
    systems.push({
      name,
      driver: 'simulated',
      roles,
      cluster,
      capacity: i % 3 === 0 ? 2 : 1,
      hardware: { cpus: null, memoryMb: null, diskGb: null },
      maintenanceWindows: i % 10 === 5 ? [{ days: [1, 2, 3, 4, 5, 6, 7], start: '01:00', durationMinutes: 240, timeZone: 'Europe/Berlin' }] : [],
    });
  };
  let i = 0;
  for (let c = 0; c < 20; c++) {
    add(`db${c}`, [], null, i++);
    installed.push({ system: `db${c}`, component: 'db', version: '1.0.0', state: 'RUNNING', parameters: {} });
    for (let a = 0; a < 7; a++) {
      add(`app${c}-${a}`, [], `c${c}`, i++);
      installed.push({ system: `app${c}-${a}`, component: 'app', version: '1.0.0', state: 'RUNNING', parameters: { pool: '10' } });
    }
  }
  for (let w = 0; w < 40; w++) {
    add(`web${w}`, ['web'], null, i++);
    installed.push({ system: `web${w}`, component: 'web', version: '1.0.0', state: 'RUNNING', parameters: {} });
  }
  const d = (o: Partial<Record<'Install' | 'Update' | 'Configure' | 'InitialConfigure' | 'Start' | 'Stop', number>>): PackageVersionFacts['durations'] => o;
  const packages = [
    pkg('db', '1.0.0', { provides: ['db-server'], durations: d({ Update: 300, Stop: 20, Start: 30 }) }),
    pkg('db', '1.5.0', { provides: ['db-server'], durations: d({ Update: 300, Stop: 20, Start: 30 }) }),
    pkg('app', '1.0.0', { provides: ['app-server'], requires: [{ component: 'db', range: '>=1', placement: { kind: 'role', role: 'db-server' } }], quiesce: { hook: 'drain', timeoutSeconds: 30 }, durations: d({ Update: 120, Stop: 10, Start: 20, Configure: 15 }) }),
    pkg('app', '2.0.0', { provides: ['app-server'], requires: [{ component: 'db', range: '>=1.5', placement: { kind: 'role', role: 'db-server' } }], quiesce: { hook: 'drain', timeoutSeconds: 30 }, durations: d({ Update: 120, Stop: 10, Start: 20, Configure: 15 }) }),
    pkg('web', '1.0.0', { requires: [{ component: 'app', range: '*', placement: { kind: 'role', role: 'app-server' } }], durations: d({ Stop: 5, Start: 5 }) }),
    pkg('lib', '1.0.0', { startable: false, durations: d({ Install: 30, InitialConfigure: 5 }) }),
    pkg('agent', '1.0.0', { requires: [{ component: 'lib', range: '^1', placement: { kind: 'same-system' } }], durations: d({ Install: 40, InitialConfigure: 10, Start: 5 }) }),
  ];
  return { takenAt: new Date('2030-01-06T23:30:00Z'), systems, packages, installed };
}

export const benchRequest: ChangeRequest = {
  changes: [
    { operation: 'Update', component: 'db', version: '1.5.0', target: { kind: 'role', role: 'db-server' } },
    { operation: 'Update', component: 'app', version: '2.0.0', target: { kind: 'role', role: 'app-server' } },
    { operation: 'Configure', component: 'app', parameters: { pool: '20' }, target: { kind: 'role', role: 'app-server' } },
    { operation: 'Install', component: 'agent', target: { kind: 'role', role: 'db-server' } },
    { operation: 'Install', component: 'agent', target: { kind: 'role', role: 'web' } },
    { operation: 'Configure', component: 'agent', parameters: { level: 'debug' }, target: { kind: 'role', role: 'web' } },
    { operation: 'Configure', component: 'web', parameters: { cache: 'on' }, target: { kind: 'role', role: 'web' } },
    { operation: 'Configure', component: 'db', parameters: { buffers: '4096' }, target: { kind: 'role', role: 'db-server' } },
  ],
  maxUnavailableShare: 0.3,
  deadline: new Date('2030-01-07T02:00:00Z'),
};

function main(): void {
  const rounds = Number(arg('--rounds') ?? '5');
  const model = benchModel();
  console.log(`Change planner benchmark: node ${process.version}, ${os.cpus().length} cores (${os.cpus()[0]?.model ?? 'unknown'}), load average ${load()}`);
  // One warm-up, so that the first round does not pay for compiling the code.
  planChange(model, benchRequest, [], { maxSchedules: 1 });
  const rows: string[] = [];
  for (const [label, options] of [
    ['first schedule only', { maxSchedules: 1, timeLimitMs: 60_000 }],
    ['default budget (1 s for the whole call)', {}],
  ] as const) {
    const times: number[] = [];
    const cpu: number[] = [];
    let last: ReturnType<typeof planChange> | undefined;
    for (let r = 0; r < rounds; r++) {
      const t0 = process.hrtime.bigint();
      const c0 = process.cpuUsage();
      last = planChange(model, benchRequest, [], options);
      const c = process.cpuUsage(c0);
      times.push(Number(process.hrtime.bigint() - t0) / 1e6);
      cpu.push((c.user + c.system) / 1000);
    }
    if (last === undefined || last.state !== 'PLANNED') throw new Error(`not planned: ${last?.state === 'REJECTED' ? last.message : 'no run'}`);
    const sorted = [...times].sort((a, b) => a - b);
    const cpuSorted = [...cpu].sort((a, b) => a - b);
    const s = last.schedule;
    rows.push(
      `| ${label} | ${last.tasks.length} | ${last.precedences.length} | ${sorted[Math.floor(sorted.length / 2)]?.toFixed(0)} ms / ${sorted[sorted.length - 1]?.toFixed(0)} ms | ${cpuSorted[Math.floor(cpuSorted.length / 2)]?.toFixed(0)} ms | ${s.search.elapsedMs} ms | ${s.search.schedules} | ${s.makespan} s | ${s.lowerBound.makespan} s | ${s.lateness ?? '–'} s | ${(last.bpel.document.length / 1024).toFixed(0)} KiB |`,
    );
  }
  console.log('\n| run | tasks | precedences | whole call, wall: median / max | whole call, CPU (median) | of which scheduling (wall) | schedules | makespan | lower bound | lateness | BPEL |');
  console.log('|---|---|---|---|---|---|---|---|---|---|---|');
  for (const r of rows) console.log(r);
  console.log(`\nrounds: ${rounds}; load average after: ${load()}`);
}

if (require.main === module) main();
