/**
 * `provisor change …` and `provisor policy …`: requests for change, their
 * plans and decisions, and the operational policies, from the command line.
 * Requests are stored for the change manager of a running server, which
 * plans and runs them (or `--wait` runs the change manager in this process
 * until the change is planned, and run unless a dry run).
 */
import fs from 'node:fs';
import type { Command } from 'commander';
import type { App } from '../../src/app';
import { DECISIONS, type Decision } from '../../src/changemanager/change-manager';
import { CHANGE_OBJECTIVES, CHANGE_STATES, type GraphFragment, type ChangeObjective, type ChangeRequest, type ChangeState, type ChangeTarget, type DesiredChange } from '../../src/changemanager/change-plan';
import { SOFTWARE_OPERATIONS, type SoftwareOperation } from '../../src/changemanager/planning-model';
import { BUILT_IN_POLICIES, POLICY_KINDS, type PolicyKind, type PolicyScope } from '../../src/changemanager/planner/policy-definition';
import { ProvisorError } from '../../src/errors';
import { FieldReader } from '../../src/soap/fields';
import { readSubmitChangeRequest } from '../../src/wrappers/changemanager-service';
import { parseXml } from '../../src/xml/parser';
import { action, ExitError, usage } from './exit';
import { dateTime, table } from './format';
import { renderChange } from './gantt';
import { cliUser, withApp } from './session';

const CM_NS = 'urn:provisor:changemanager:1';
/** A request file is read whole; larger ones are refused before parsing. */
const MAX_FILE_BYTES = 1024 * 1024;

function out(line: string): void {
  process.stdout.write(`${line}\n`);
}

/** A target as the options write it: system:NAME, role:NAME or cluster:NAME. */
export function parseTarget(text: string): ChangeTarget {
  const match = /^(system|role|cluster):(.+)$/.exec(text);
  if (match === null) throw usage(`--on takes system:NAME, role:NAME or cluster:NAME, got "${text}"`);
  const [, kind, name] = match as unknown as [string, 'system' | 'role' | 'cluster', string];
  return kind === 'system' ? { kind, system: name } : kind === 'role' ? { kind, role: name } : { kind, cluster: name };
}

/** COMPONENT or COMPONENT@RANGE. */
function componentAt(text: string, option: string): { component: string; version?: string } {
  const at = text.indexOf('@');
  if (at === 0 || text === '') throw usage(`${option} takes COMPONENT or COMPONENT@VERSION-RANGE, got "${text}"`);
  return at < 0 ? { component: text } : { component: text.slice(0, at), version: text.slice(at + 1) };
}

function when(value: string, option: string): Date {
  const date = new Date(value);
  if (!/^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}(:\d{2}(\.\d+)?)?(Z|[+-]\d{2}:\d{2})$/.test(value) || Number.isNaN(date.getTime())) {
    throw usage(`${option} must be a date and time with a time zone, e.g. 2026-12-24T22:00:00Z, got "${value}"`);
  }
  return date;
}

function collect(value: string, previous: string[]): string[] {
  return [...previous, value];
}

function keyValue(value: string, previous: Record<string, string>): Record<string, string> {
  const eq = value.indexOf('=');
  if (eq <= 0) throw usage(`--param takes NAME=VALUE, got "${value}"`);
  return { ...previous, [value.slice(0, eq)]: value.slice(eq + 1) };
}

/** What a request file or the options say, fragments still by name. */
interface ParsedRequest {
  readonly request: Omit<ChangeRequest, 'fragments'>;
  readonly fragments: ReadonlyArray<{ readonly name: string; readonly arguments: Readonly<Record<string, string>> }>;
  readonly idempotencyKey: string | undefined;
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function stringMap(value: unknown, where: string): Record<string, string> | undefined {
  if (value === undefined) return undefined;
  if (!isRecord(value)) throw usage(`${where} must be an object of name → text`);
  for (const [k, v] of Object.entries(value)) if (typeof v !== 'string') throw usage(`${where}.${k} must be text`);
  return value as Record<string, string>;
}

/** The JSON request format (docs/changemanager-service.md). */
export function parseJsonRequest(text: string): ParsedRequest {
  let doc: unknown;
  try {
    doc = JSON.parse(text);
  } catch (err) {
    throw usage(`the request file is not valid JSON: ${(err as Error).message}`);
  }
  if (!isRecord(doc)) throw usage('the request file must hold a JSON object');
  const known = ['changes', 'fragments', 'earliestStart', 'deadline', 'maxUnavailableShare', 'priority', 'objective', 'dryRun', 'idempotencyKey'];
  for (const key of Object.keys(doc)) if (!known.includes(key)) throw usage(`the request file has an unknown field "${key}" (known: ${known.join(', ')})`);
  const changes = doc.changes ?? [];
  if (!Array.isArray(changes)) throw usage('changes must be a list');
  const desired = changes.map((c: unknown, i): DesiredChange => {
    const at = `changes[${i}]`;
    if (!isRecord(c)) throw usage(`${at} must be an object`);
    if (!(SOFTWARE_OPERATIONS as readonly unknown[]).includes(c.operation)) throw usage(`${at}.operation must be one of ${SOFTWARE_OPERATIONS.join(', ')}`);
    if (typeof c.component !== 'string') throw usage(`${at}.component must be text`);
    if (c.version !== undefined && typeof c.version !== 'string') throw usage(`${at}.version must be text`);
    const target = c.target;
    let parsed: ChangeTarget;
    if (typeof target === 'string') parsed = parseTarget(target);
    else if (isRecord(target) && Object.keys(target).length === 1 && typeof (target.system ?? target.role ?? target.cluster) === 'string') {
      parsed = target.system !== undefined ? { kind: 'system', system: String(target.system) } : target.role !== undefined ? { kind: 'role', role: String(target.role) } : { kind: 'cluster', cluster: String(target.cluster) };
    } else throw usage(`${at}.target must be "system:NAME", "role:NAME", "cluster:NAME" or an object with one of system, role, cluster`);
    const parameters = stringMap(c.parameters, `${at}.parameters`);
    return { operation: c.operation as SoftwareOperation, component: c.component, ...(c.version === undefined ? {} : { version: c.version }), ...(parameters === undefined ? {} : { parameters }), target: parsed };
  });
  const fragments = doc.fragments ?? [];
  if (!Array.isArray(fragments)) throw usage('fragments must be a list');
  const uses = fragments.map((f: unknown, i) => {
    if (!isRecord(f) || typeof f.name !== 'string') throw usage(`fragments[${i}] must be an object with a name`);
    return { name: f.name, arguments: stringMap(f.arguments, `fragments[${i}].arguments`) ?? {} };
  });
  const date = (key: 'earliestStart' | 'deadline'): Date | undefined => (doc[key] === undefined ? undefined : when(String(doc[key]), key));
  if (doc.maxUnavailableShare !== undefined && typeof doc.maxUnavailableShare !== 'number') throw usage('maxUnavailableShare must be a number');
  if (doc.priority !== undefined && typeof doc.priority !== 'number') throw usage('priority must be a number');
  if (doc.dryRun !== undefined && typeof doc.dryRun !== 'boolean') throw usage('dryRun must be true or false');
  if (doc.objective !== undefined && !(CHANGE_OBJECTIVES as readonly unknown[]).includes(doc.objective)) throw usage(`objective must be one of ${CHANGE_OBJECTIVES.join(', ')}`);
  if (doc.idempotencyKey !== undefined && typeof doc.idempotencyKey !== 'string') throw usage('idempotencyKey must be text');
  return {
    request: {
      changes: desired,
      earliestStart: date('earliestStart'),
      deadline: date('deadline'),
      maxUnavailableShare: doc.maxUnavailableShare as number | undefined,
      priority: doc.priority as number | undefined,
      objective: doc.objective as ChangeObjective | undefined,
      dryRun: doc.dryRun as boolean | undefined,
    },
    fragments: uses,
    idempotencyKey: doc.idempotencyKey as string | undefined,
  };
}

/** The XML request format: a SubmitChangeRequest element, as the SOAP operation takes it. */
export function parseXmlRequest(text: string): ParsedRequest {
  let root;
  try {
    root = parseXml(text);
  } catch (err) {
    throw usage(`the request file is not well-formed XML: ${(err as Error).message}`);
  }
  if (root.name !== 'SubmitChangeRequest' || root.ns !== CM_NS) throw usage(`the request file's root element must be SubmitChangeRequest in namespace ${CM_NS}, got ${root.name} in "${root.ns}"`);
  try {
    return readSubmitChangeRequest(new FieldReader(root, CM_NS));
  } catch (err) {
    if (err instanceof ProvisorError) throw usage(`the request file: ${err.message}`);
    throw err;
  }
}

function readRequestFile(file: string): ParsedRequest {
  let stat;
  try {
    stat = fs.statSync(file);
  } catch {
    throw usage(`cannot read the request file ${file}`);
  }
  if (!stat.isFile()) throw usage(`${file} is not a file`);
  if (stat.size > MAX_FILE_BYTES) throw usage(`${file} has ${stat.size} bytes, more than the ${MAX_FILE_BYTES} a request file may have`);
  const text = fs.readFileSync(file, 'utf8');
  return text.trimStart().startsWith('<') ? parseXmlRequest(text) : parseJsonRequest(text);
}

interface SubmitOptions {
  install: string[];
  update: string[];
  uninstall: string[];
  configure: string[];
  start: string[];
  stop: string[];
  on?: string;
  param: Record<string, string>;
  earliest?: string;
  deadline?: string;
  share?: string;
  priority?: string;
  objective?: string;
  dryRun?: boolean;
  key?: string;
  wait?: boolean;
}

function requestFromOptions(opts: SubmitOptions): ParsedRequest {
  const wanted: Array<[SoftwareOperation, string[], string]> = [
    ['Install', opts.install, '--install'],
    ['Update', opts.update, '--update'],
    ['Uninstall', opts.uninstall, '--uninstall'],
    ['Configure', opts.configure, '--configure'],
    ['Start', opts.start, '--start'],
    ['Stop', opts.stop, '--stop'],
  ];
  if (wanted.every(([, list]) => list.length === 0)) throw usage('give a request FILE, or at least one of --install, --update, --uninstall, --configure, --start, --stop');
  if (opts.on === undefined) throw usage('--on system:NAME|role:NAME|cluster:NAME is required with --install and the like');
  const target = parseTarget(opts.on);
  const parameters = Object.keys(opts.param).length === 0 ? undefined : opts.param;
  const changes: DesiredChange[] = wanted.flatMap(([operation, list, option]) => list.map((text) => ({ operation, ...componentAt(text, option), ...(parameters === undefined ? {} : { parameters }), target })));
  const share = opts.share === undefined ? undefined : Number(opts.share);
  if (share !== undefined && !Number.isFinite(share)) throw usage(`--max-unavailable must be a number, got "${opts.share}"`);
  if (opts.priority !== undefined && !/^-?\d+$/.test(opts.priority)) throw usage(`--priority must be a whole number, got "${opts.priority}"`);
  if (opts.objective !== undefined && !(CHANGE_OBJECTIVES as readonly string[]).includes(opts.objective)) throw usage(`--objective must be one of ${CHANGE_OBJECTIVES.join(', ')}`);
  return {
    request: {
      changes,
      earliestStart: opts.earliest === undefined ? undefined : when(opts.earliest, '--earliest'),
      deadline: opts.deadline === undefined ? undefined : when(opts.deadline, '--deadline'),
      maxUnavailableShare: share,
      priority: opts.priority === undefined ? undefined : Number(opts.priority),
      objective: opts.objective as ChangeObjective | undefined,
      dryRun: opts.dryRun === true ? true : undefined,
    },
    fragments: [],
    idempotencyKey: opts.key,
  };
}

/** Waits (the change manager running in this process) until the change leaves `states`. */
async function waitWhile(app: App, changeId: string, states: readonly ChangeState[], timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const change = await app.changes.get(changeId);
    if (!states.includes(change.state)) return;
    if (Date.now() > deadline) throw usage(`change ${changeId} is still ${change.state} after ${Math.round(timeoutMs / 1000)} s; follow it with provisor change plan ${changeId}`);
    app.changes.wake();
    await new Promise((resolve) => setTimeout(resolve, 200));
  }
}

function changeIdArg(value: string): string {
  if (!/^[0-9a-f-]{36}$/.test(value)) throw usage(`a change id is a UUID (as change submit printed it), got "${value}"`);
  return value;
}

export function addChangeCommands(program: Command): void {
  const change = program.command('change').description('requests for change: submit, see the plan, list, decide (cancel, replan, continue)');
  change
    .command('submit [file]')
    .description('submit a request for change: a JSON or XML FILE (docs/changemanager-service.md), or the options; prints the change id')
    .option('--install <component[@range]>', 'install a component (repeatable)', collect, [])
    .option('--update <component[@range]>', 'update a component (repeatable)', collect, [])
    .option('--uninstall <component>', 'uninstall a component (repeatable)', collect, [])
    .option('--configure <component>', 'configure a component with the --param values (repeatable)', collect, [])
    .option('--start <component>', 'start a component (repeatable)', collect, [])
    .option('--stop <component>', 'stop a component (repeatable)', collect, [])
    .option('--on <target>', 'where: system:NAME, role:NAME or cluster:NAME')
    .option('--param <name=value>', 'a parameter of every change given by option (repeatable)', keyValue, {})
    .option('--earliest <date-time>', 'no task starts before (e.g. 2026-12-24T22:00:00Z)')
    .option('--deadline <date-time>', 'the change should be complete by then')
    .option('--max-unavailable <share>', 'largest share of a cluster down at once (0 < share ≤ 1, default 0.25)')
    .option('--priority <n>', 'higher is planned first (-1000 to 1000)')
    .option('--objective <objective>', `what to minimise: ${CHANGE_OBJECTIVES.join(' or ')}`)
    .option('--dry-run', 'plan and check only; run nothing')
    .option('--key <key>', 'idempotency key: submitting again with it answers the first change id')
    .option('--wait', 'plan (and run, unless a dry run) in this process and print the plan')
    .action(
      action(async (file: string | undefined, opts: SubmitOptions & { maxUnavailable?: string }) => {
        const byOption = [opts.install, opts.update, opts.uninstall, opts.configure, opts.start, opts.stop].some((l) => l.length > 0);
        if (file !== undefined && byOption) throw usage('give either a request FILE or --install and the like, not both');
        const parsed = file !== undefined ? readRequestFile(file) : requestFromOptions({ ...opts, share: opts.maxUnavailable });
        await withApp({ run: opts.wait === true }, async (app) => {
          const fragments = parsed.fragments.length === 0 ? undefined : await app.changes.fragmentUses(parsed.fragments);
          const id = await app.changes.submit({ ...parsed.request, fragments }, cliUser(), { idempotencyKey: parsed.idempotencyKey });
          out(id);
          if (opts.wait !== true) return;
          await waitWhile(app, id, ['PLANNING'], 120_000);
          if (parsed.request.dryRun !== true) await waitWhile(app, id, ['PLANNED', 'RUNNING'], 3_600_000);
          for (const line of renderChange(await app.changes.get(id))) out(line);
        });
      }),
    );
  change
    .command('plan <id>')
    .description('a change with its plan: the schedule as a text Gantt chart with the critical path marked, the policy checks, or why it was rejected')
    .action(
      action(async (id: string) => {
        await withApp({ run: false }, async (app) => {
          for (const line of renderChange(await app.changes.get(changeIdArg(id)))) out(line);
        });
      }),
    );
  change
    .command('watch <id>')
    .description('follow a change until it ends (a running server plans and runs it): each state as it comes, then the plan; exit 1 when it ends otherwise than COMPLETED (or planned, for a dry run)')
    .option('--timeout <seconds>', 'give up after so many seconds (default 3600)', (v) => Number(v))
    .action(
      action(async (id: string, opts: { timeout?: number }) => {
        const timeout = opts.timeout ?? 3600;
        if (!Number.isFinite(timeout) || timeout <= 0) throw usage(`--timeout must be a number of seconds, got "${String(opts.timeout)}"`);
        await withApp({ run: false }, async (app) => {
          const changeId = changeIdArg(id);
          const deadline = Date.now() + timeout * 1000;
          let last: ChangeState | undefined;
          for (;;) {
            const view = await app.changes.get(changeId);
            if (view.state !== last) {
              out(`${new Date().toISOString()}  ${view.state}${view.instanceId !== null && view.state === 'RUNNING' ? ` (instance ${view.instanceId})` : ''}`);
              last = view.state;
            }
            const ended = view.state === 'COMPLETED' || view.state === 'FAILED' || view.state === 'CANCELLED' || view.state === 'REJECTED' || (view.state === 'PLANNED' && view.dryRun);
            if (ended) {
              for (const line of renderChange(view)) out(line);
              if (view.state !== 'COMPLETED' && view.state !== 'PLANNED') throw new ExitError(1, `change ${changeId} ended ${view.state}`);
              return;
            }
            if (Date.now() > deadline) throw new ExitError(1, `change ${changeId} is still ${view.state} after ${timeout} s`);
            await new Promise((resolve) => setTimeout(resolve, 1000));
          }
        });
      }),
    );
  change
    .command('list')
    .description('list changes, newest first')
    .option('--state <state>', `one of ${CHANGE_STATES.join(', ')}`)
    .option('--limit <n>', 'at most N (default 50, at most 1000)', (v) => Number(v))
    .option('--offset <n>', 'skip N', (v) => Number(v))
    .action(
      action(async (opts: { state?: string; limit?: number; offset?: number }) => {
        if (opts.state !== undefined && !(CHANGE_STATES as readonly string[]).includes(opts.state)) throw usage(`--state must be one of ${CHANGE_STATES.join(', ')}, got "${opts.state}"`);
        await withApp({ run: false }, async (app) => {
          const page = await app.changes.list({ state: opts.state as ChangeState | undefined, limit: opts.limit, offset: opts.offset });
          const rows = page.changes.map((c) => [c.id, c.state, c.dryRun ? 'dry run' : '', String(c.changes), c.caller, dateTime(c.createdAt), c.rejectionCode ?? c.outcome ?? '']);
          for (const line of table([['ID', 'STATE', '', 'CHANGES', 'BY', 'SUBMITTED', 'NOTE'], ...rows])) out(line);
          out(`${page.changes.length} of ${page.total}`);
        });
      }),
    );
  const decide = async (id: string, decision: Decision, opts: { reason?: string; rollback?: boolean }): Promise<void> => {
    await withApp({ run: false }, async (app) => {
      const state = await app.changes.decide(changeIdArg(id), decision, cliUser(), { reason: opts.reason, rollback: opts.rollback });
      out(`change ${id}: ${state}`);
    });
  };
  change
    .command('cancel <id>')
    .description('cancel a PLANNING, PLANNED or RUNNING change (a running plan is cancelled by the server running it)')
    .option('--reason <text>', 'why (recorded with who cancelled)')
    .option('--rollback', 'undo the completed tasks of a running change first')
    .action(action(async (id: string, opts: { reason?: string; rollback?: boolean }) => decide(id, 'cancel', opts)));
  change
    .command('decide <id> <decision>')
    .description(`decide on a change: ${DECISIONS.join(', ')} (continue runs a dry run's plan; replan plans a PLANNED or REJECTED change again)`)
    .option('--reason <text>', 'why (recorded with who decided)')
    .option('--rollback', 'with cancel: undo the completed tasks first')
    .action(
      action(async (id: string, decision: string, opts: { reason?: string; rollback?: boolean }) => {
        if (!(DECISIONS as readonly string[]).includes(decision)) throw usage(`the decision must be one of ${DECISIONS.join(', ')}, got "${decision}"`);
        await decide(id, decision as Decision, opts);
      }),
    );

  const fragment = program.command('fragment').description('saved, parameterised task graphs that requests for change reuse by name');
  fragment
    .command('save <file>')
    .description('save (or replace) a fragment from a JSON file: name, description, parameters, tasks (key, operation, system, component, version, parameters; texts may hold ${parameter}), precedences (from, to, type FS|SS|FF|SF, lag seconds)')
    .action(
      action(async (file: string) => {
        let text: string;
        try {
          if (fs.statSync(file).size > MAX_FILE_BYTES) throw usage(`${file} is larger than ${MAX_FILE_BYTES} bytes`);
          text = fs.readFileSync(file, 'utf8');
        } catch (err) {
          if (err instanceof Error && err.name === 'ExitError') throw err;
          throw usage(`cannot read the fragment file ${file}`);
        }
        let definition: unknown;
        try {
          definition = JSON.parse(text);
        } catch (err) {
          throw usage(`the fragment file is not valid JSON: ${(err as Error).message}`);
        }
        await withApp({ run: false }, async (app) => {
          await app.changes.policies.saveFragment(definition as GraphFragment, cliUser(), new Date());
          out(`fragment ${(definition as GraphFragment).name} saved`);
        });
      }),
    );
  fragment
    .command('list')
    .description('list the saved fragments')
    .action(
      action(async () => {
        await withApp({ run: false }, async (app) => {
          const rows = (await app.changes.policies.fragments()).map((f) => [f.fragment.name, f.fragment.parameters.join(','), String(f.fragment.tasks.length), f.createdBy, f.fragment.description ?? '']);
          for (const line of table([['NAME', 'PARAMETERS', 'TASKS', 'BY', 'DESCRIPTION'], ...rows])) out(line);
        });
      }),
    );

  const policy = program.command('policy').description('operational policies every plan is checked against');
  policy
    .command('add <name>')
    .description(`add a policy (a built-in one's name replaces it): kinds ${POLICY_KINDS.join(', ')}`)
    .requiredOption('--kind <kind>', 'the kind of policy')
    .option('--param <name=value>', 'a parameter of the kind (repeatable), e.g. --param limit=2', keyValue, {})
    .option('--role <role>', 'apply only to the systems of this role (repeatable)', collect, [])
    .option('--cluster <cluster>', 'apply only to the members of this cluster (repeatable)', collect, [])
    .option('--disabled', 'store it without putting it in force')
    .action(
      action(async (name: string, opts: { kind: string; param: Record<string, string>; role: string[]; cluster: string[]; disabled?: boolean }) => {
        if (!(POLICY_KINDS as readonly string[]).includes(opts.kind)) throw usage(`--kind must be one of ${POLICY_KINDS.join(', ')}, got "${opts.kind}"`);
        const scopes: PolicyScope[] = [...opts.role.map((role): PolicyScope => ({ kind: 'role', role })), ...opts.cluster.map((cluster): PolicyScope => ({ kind: 'cluster', cluster }))];
        await withApp({ run: false }, async (app) => {
          const added = await app.changes.addPolicy({ name, kind: opts.kind as PolicyKind, parameters: opts.param, scopes: scopes.length === 0 ? [{ kind: 'all' }] : scopes, enabled: opts.disabled !== true }, cliUser());
          out(`policy ${added.name} added${added.enabled ? '' : ' (disabled)'}`);
        });
      }),
    );
  policy
    .command('list')
    .description('list the policies in force: the built-in ones (or the policy replacing each), then the others')
    .action(
      action(async () => {
        await withApp({ run: false }, async (app) => {
          const stored = await app.changes.listPolicies();
          const byName = new Map(stored.map((p) => [p.name, p]));
          const scopeText = (scopes: readonly PolicyScope[]): string => scopes.map((s) => (s.kind === 'all' ? 'all' : s.kind === 'role' ? `role:${s.role}` : `cluster:${s.cluster}`)).join(',');
          const params = (p: Readonly<Record<string, string>>): string => Object.entries(p).map(([k, v]) => `${k}=${v}`).join(' ');
          const rows = [
            ...BUILT_IN_POLICIES.map((b) => {
              const own = byName.get(b.name);
              return own === undefined ? [b.name, b.kind, 'built-in', scopeText(b.scopes), params(b.parameters)] : [own.name, own.kind, own.enabled ? `replaced by ${own.createdBy}` : 'replaced, disabled', scopeText(own.scopes), params(own.parameters)];
            }),
            ...stored.filter((p) => !BUILT_IN_POLICIES.some((b) => b.name === p.name)).map((p) => [p.name, p.kind, p.enabled ? `by ${p.createdBy}` : 'disabled', scopeText(p.scopes), params(p.parameters)]),
          ];
          for (const line of table([['NAME', 'KIND', 'SOURCE', 'SCOPE', 'PARAMETERS'], ...rows])) out(line);
        });
      }),
    );
  policy
    .command('remove <name>')
    .description("remove an admin's policy (a built-in one it replaced is in force again)")
    .action(
      action(async (name: string) => {
        await withApp({ run: false }, async (app) => {
          await app.changes.removePolicy(name, cliUser());
          out(`policy ${name} removed`);
        });
      }),
    );
}
