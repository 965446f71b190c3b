/**
 * `provisor plan …`: check, deploy, run and inspect WS-BPEL change plans
 * from the command line, against the configured database.
 */
import { type Command, InvalidArgumentError, Option } from 'commander';
import type { App } from '../../src/app';
import { loadConfig } from '../../src/config';
import type { VariableValue } from '../../src/bpel/values';
import { pathOfKey } from '../../src/workflow/interpreter';
import { WorkflowError, type InstanceStatus, type InstanceView } from '../../src/workflow/runtime';
import { action, ExitError, usage } from './exit';
import { dateTime, duration, labelled, table } from './format';
import { collect, diagnosticLines, checkPlan, inputMessage, readDocuments, summary, validPlan } from './plan-files';
import { captureActivities, LineView, TableView, watchInstance, type ProgressView } from './progress';
import { cliUser, withApp } from './session';

const INSTANCE_STATUSES: readonly InstanceStatus[] = ['RUNNING', 'COMPLETED', 'FAULTED', 'TERMINATED', 'SUSPENDED'];

/** How long an interrupted run waits for its cancelled instance to end. */
const CANCEL_WAIT_MS = 30_000;

const DOCUMENT_HELP = 'a WSDL document the plan imports, as NAME=PATH (NAME defaults to the file name), when it is not next to the plan; repeatable';

function positiveInt(value: string): number {
  if (!/^\d+$/.test(value) || Number(value) < 1) throw new InvalidArgumentError('must be a whole number from 1');
  return Number(value);
}

const out = (line = ''): void => void process.stdout.write(`${line}\n`);

/** The status line, then the fault and where it was raised. */
export function printOutcome(view: InstanceView): void {
  const took = duration((view.endTime ?? new Date()).getTime() - view.startTime.getTime());
  out(`instance ${view.instanceId} ${view.status} ${view.status === 'COMPLETED' ? 'in' : 'after'} ${took} (${view.processName} v${view.version}, ${view.activities.length} activities run)`);
  if (view.fault !== null) {
    out(`  fault ${view.fault.name}: ${view.fault.message}`);
    const path = view.fault.activityPath;
    if (path !== undefined) {
      const at = view.activities.find((a) => a.state === 'FAULTED' && pathOfKey(a.key) === path);
      out(`  at ${labelled(path, at?.name)}`);
    }
  }
  if (view.status === 'COMPLETED') return;
  // Faults that handlers caught (e.g. a failed branch that the plan turned into its own fault) often say why.
  const faulted = view.activities.filter((a) => a.state === 'FAULTED' && a.fault !== null);
  const origins = faulted.filter((a) => !faulted.some((b) => b.fault === a.fault && b.key.startsWith(`${a.key}/`)) && pathOfKey(a.key) !== view.fault?.activityPath);
  for (const a of origins.slice(0, 5)) out(`  earlier fault at ${labelled(a.key, a.name)}: ${a.fault ?? ''}`);
  if (origins.length > 5) out(`  … and ${origins.length - 5} more (provisor plan status ${view.instanceId})`);
}

function outcomeError(view: InstanceView): ExitError {
  const where = view.fault?.activityPath === undefined ? '' : ` at ${view.fault.activityPath}`;
  const fault = view.fault === null ? '' : `: ${view.fault.name}: ${view.fault.message}`;
  return new ExitError(1, `instance ${view.instanceId} ended ${view.status}${where}${fault}`);
}

/**
 * Starts an instance of the latest version of `processName` and shows its
 * progress until it ends. Ctrl-C cancels the instance and exits with 130.
 * Resolves with the final view when the instance COMPLETED; otherwise throws
 * (exit code 1) after printing the outcome.
 */
export async function runWatched(app: App, processName: string, input: VariableValue | undefined): Promise<InstanceView> {
  const captured = captureActivities(app.notifier);
  let instanceId: string;
  let first: InstanceView;
  try {
    instanceId = await app.workflow.start(processName, input, cliUser());
    first = await app.workflow.status(instanceId);
  } finally {
    captured.release();
  }
  out(`started instance ${instanceId} of ${first.processName} v${first.version}`);
  const view: ProgressView = process.stdout.isTTY === true ? new TableView(process.stdout, `${first.processName} v${first.version}`, instanceId) : new LineView((text) => void process.stdout.write(text));
  // Ctrl-C cancels the instance and keeps watching until it has stopped
  // (its activities end TERMINATED); a second Ctrl-C leaves at once.
  const giveUp = new AbortController();
  let cancelling: Promise<unknown> | undefined;
  const onSigint = (): void => {
    if (cancelling === undefined) {
      view.notice(`interrupted: cancelling instance ${instanceId} (Ctrl-C again to leave without waiting)`);
      cancelling = app.workflow.cancel(instanceId, false).catch((err: unknown) => view.notice(`cancelling failed: ${err instanceof Error ? err.message : String(err)}`));
      setTimeout(() => giveUp.abort(), CANCEL_WAIT_MS).unref();
      return;
    }
    process.stderr.write('\nprovisor: interrupted again; leaving without waiting for the instance\n');
    process.exit(130);
  };
  process.on('SIGINT', onSigint);
  try {
    const final = await watchInstance(app, instanceId, view, giveUp.signal, captured.events);
    await cancelling;
    printOutcome(final);
    if (cancelling !== undefined) throw new ExitError(130, final.status === 'RUNNING' ? `instance ${instanceId} was asked to stop but is still RUNNING` : '');
    if (final.status !== 'COMPLETED') throw outcomeError(final);
    return final;
  } finally {
    process.off('SIGINT', onSigint);
  }
}

/** The instance's status; an unknown id is the caller's mistake (exit 2). */
async function known(app: App, instanceId: string): Promise<InstanceStatus> {
  try {
    return (await app.workflow.status(instanceId)).status;
  } catch (err) {
    if (err instanceof WorkflowError && err.code === 'UnknownInstance') throw usage(err.message);
    throw err;
  }
}

export function addPlanCommands(program: Command): void {
  const plan = program.command('plan').description('check, deploy, run and inspect WS-BPEL change plans');

  plan
    .command('validate <file>')
    .description('parse and validate a WS-BPEL file offline; imports are resolved against the --document files, then files next to the plan, then Provisor\'s own WSDLs. Prints FILE:LINE: message per problem (exit 2), or a summary (exit 0)')
    .option('--document <name=path>', DOCUMENT_HELP, collect)
    .action(
      action(async (file: string, opts: { document?: string[] }) => {
        const checked = checkPlan(file, readDocuments(opts.document ?? []), loadConfig().planLimits);
        if (checked.process === undefined || checked.diagnostics.length > 0) {
          for (const line of diagnosticLines(checked)) out(line);
          throw usage(`${file}: ${checked.diagnostics.length} problem${checked.diagnostics.length === 1 ? '' : 's'}`);
        }
        out(summary({ ...checked, process: checked.process }));
      }),
    );

  plan
    .command('deploy <file>')
    .description('validate a WS-BPEL file and deploy it into the configured database as the next version of its process')
    .option('--document <name=path>', DOCUMENT_HELP, collect)
    .action(
      action(async (file: string, opts: { document?: string[] }) => {
        const checked = validPlan(file, opts.document ?? [], loadConfig().planLimits);
        await withApp({ run: false }, async (app) => {
          const deployed = await app.workflow.deploy({ bpel: checked.bpel, documents: checked.documents, bindings: [], deployedBy: cliUser() });
          out(`deployed ${deployed.name} version ${deployed.version}`);
        });
      }),
    );

  plan
    .command('run [file]')
    .description(
      'deploy FILE (or take the deployed --process NAME), start an instance and show its progress per activity until it ends: ' +
        'a table redrawn in place on a terminal, one line per activity transition otherwise. Exit 0 when it COMPLETED, 1 otherwise; ' +
        'Ctrl-C cancels the instance (exit 130). The plan runs in this process, as in the server.',
    )
    .option('--process <name>', 'run the latest deployed version of this process instead of a file')
    .option('--document <name=path>', DOCUMENT_HELP, collect)
    .option('--input <part=value>', 'a part of the input message for the instance-creating receive; a value starting with < is XML, @FILE reads the file; repeatable', collect)
    .option('--no-watch', 'only start the instance and print its id; a running Provisor server (npm start) executes it')
    .action(
      action(async (file: string | undefined, opts: { process?: string; document?: string[]; input?: string[]; watch: boolean }) => {
        if ((file === undefined) === (opts.process === undefined)) throw usage('give either a FILE or --process NAME');
        if (file === undefined && opts.document !== undefined) throw usage('--document goes with a FILE: a deployed process keeps the documents it was deployed with');
        const checked = file === undefined ? undefined : validPlan(file, opts.document ?? [], loadConfig().planLimits);
        const input = inputMessage(opts.input ?? [], checked);
        await withApp({ run: opts.watch }, async (app) => {
          let processName = opts.process ?? '';
          if (checked !== undefined) {
            const deployed = await app.workflow.deploy({ bpel: checked.bpel, documents: checked.documents, bindings: [], deployedBy: cliUser() });
            out(`deployed ${deployed.name} version ${deployed.version}`);
            processName = deployed.name;
          }
          if (!opts.watch) {
            const instanceId = await app.workflow.start(processName, input, cliUser());
            out(`started instance ${instanceId} of ${processName}`);
            out(`a running Provisor server executes it; follow it with: provisor plan status ${instanceId}`);
            return;
          }
          await runWatched(app, processName, input);
        });
      }),
    );

  plan
    .command('list')
    .description('list process instances, newest first')
    .option('--process <name>', 'only instances of this process')
    .addOption(new Option('--status <status>', 'only instances in this status').choices([...INSTANCE_STATUSES]))
    .option('--limit <n>', 'at most this many (default 100, at most 1000)', positiveInt)
    .action(
      action(async (opts: { process?: string; status?: InstanceStatus; limit?: number }) => {
        await withApp({ run: false }, async (app) => {
          const rows = await app.workflow.list({ processName: opts.process, status: opts.status, limit: opts.limit });
          if (rows.length === 0) {
            out('no process instances');
            return;
          }
          const now = Date.now();
          const lines = table([
            ['INSTANCE', 'PROCESS', 'VERSION', 'STATUS', 'STARTED', 'DURATION'],
            ...rows.map((r) => [r.instanceId, r.processName, String(r.version), r.status, dateTime(r.startTime), duration((r.endTime?.getTime() ?? now) - r.startTime.getTime())]),
          ]);
          for (const line of lines) out(line);
        });
      }),
    );

  plan
    .command('status <instance-id>')
    .description('show an instance and every activity it ran')
    .action(
      action(async (instanceId: string) => {
        await withApp({ run: false }, async (app) => {
          const view = await app.workflow.status(instanceId);
          printOutcome(view);
          out(`  started ${dateTime(view.startTime)}${view.endTime === null ? '' : `, ended ${dateTime(view.endTime)}`}`);
          const now = Date.now();
          // A fault ends every activity around the one that raised it: show it once, at the deepest.
          const origin = new Map<string, string>();
          for (const a of view.activities) {
            const known = a.fault === null ? undefined : origin.get(a.fault);
            if (a.fault !== null && (known === undefined || a.key.startsWith(`${known}/`))) origin.set(a.fault, a.key);
          }
          const rows: string[][] = [['STATE', 'TOOK', 'ACTIVITY']];
          for (const a of view.activities) {
            rows.push([a.state, duration((a.endTime?.getTime() ?? now) - a.startTime.getTime()), labelled(a.key, a.name)]);
            if (a.fault !== null) rows.push(['', '', origin.get(a.fault) === a.key ? `  fault ${a.fault}` : `  the fault of ${origin.get(a.fault) ?? '?'}`]);
          }
          for (const line of table(rows)) out(`  ${line}`);
        });
      }),
    );

  plan
    .command('resume <instance-id>')
    .description('let a SUSPENDED instance (its server died running it too many times in a row) run again; a running Provisor server resumes it from where it stopped')
    .action(
      action(async (instanceId: string) => {
        await withApp({ run: false }, async (app) => {
          await known(app, instanceId);
          try {
            out(`instance ${instanceId} ${await app.workflow.resume(instanceId)}`);
          } catch (err) {
            if (err instanceof WorkflowError && err.code === 'InvalidState') throw usage(err.message);
            throw err;
          }
        });
      }),
    );

  plan
    .command('cancel <instance-id>')
    .description('cancel a RUNNING or SUSPENDED instance: a running one stops (with --compensate its completed scopes are compensated first), a suspended one ends TERMINATED at once')
    .option('--compensate', 'compensate the completed scopes of a running instance, newest first')
    .action(
      action(async (instanceId: string, opts: { compensate?: boolean }) => {
        await withApp({ run: false }, async (app) => {
          const before = await known(app, instanceId);
          if (before !== 'RUNNING' && before !== 'SUSPENDED') throw usage(`instance ${instanceId} is ${before}: only a RUNNING or SUSPENDED instance can be cancelled`);
          const status = await app.workflow.cancel(instanceId, opts.compensate === true);
          out(status === 'RUNNING' ? `instance ${instanceId} was asked to stop; the server running it ends it TERMINATED` : `instance ${instanceId} ${status}`);
        });
      }),
    );

  plan
    .command('processes')
    .description('list deployed processes and their versions')
    .action(
      action(async () => {
        await withApp({ run: false }, async (app) => {
          const definitions = await app.workflow.definitions();
          if (definitions.length === 0) {
            out('no processes deployed');
            return;
          }
          for (const line of table([['PROCESS', 'VERSION', 'DEPLOYED'], ...definitions.map((d) => [d.name, String(d.version), dateTime(d.deployedAt)])])) out(line);
        });
      }),
    );
}
