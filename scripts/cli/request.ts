/**
 * `provisor request list|show`: the provisioning requests the deployment
 * engine performed or is performing, with the task's output, so a failed
 * Start is explained without reading log files on the server.
 */
import type { Command } from 'commander';
import { REQUEST_STATUSES, type RequestStatus } from '../../entities';
import { MAX_REQUEST_LIST, type RequestView } from '../../src/provisioning/api';
import { ProvisorError } from '../../src/errors';
import { action, usage } from './exit';
import { dateTime, duration, table } from './format';
import { withApp } from './session';

function out(line: string): void {
  process.stdout.write(`${line}\n`);
}

/** `Install demo-httpd 1.0.0`, `Copy`, … */
function what(r: RequestView): string {
  return [r.operation, r.component ?? '', r.version ?? ''].filter((part) => part !== '').join(' ');
}

function limitOf(value: string): number {
  const n = Number(value);
  if (!/^\d{1,4}$/.test(value) || n < 1 || n > MAX_REQUEST_LIST) throw usage(`--limit must be a whole number from 1 to ${MAX_REQUEST_LIST}, got "${value}"`);
  return n;
}

export function addRequestCommands(program: Command): void {
  const request = program.command('request').description('provisioning requests: list them, show one with its output');
  request
    .command('list')
    .description('list provisioning requests, newest first')
    .option('--system <name>', "one system's requests")
    .option('--state <status>', `one of ${REQUEST_STATUSES.join(', ')}`)
    .option('--limit <n>', `at most N (1 to ${MAX_REQUEST_LIST}, default 20)`)
    .action(
      action(async (opts: { system?: string; state?: string; limit?: string }) => {
        if (opts.state !== undefined && !REQUEST_STATUSES.includes(opts.state as RequestStatus)) {
          throw usage(`--state must be one of ${REQUEST_STATUSES.join(', ')}, got "${opts.state}"`);
        }
        const limit = opts.limit === undefined ? 20 : limitOf(opts.limit);
        await withApp({ run: false }, async (app) => {
          const requests = await app.api.listRequests({ system: opts.system, status: opts.state as RequestStatus | undefined, limit });
          if (requests.length === 0) {
            out('no requests' + (opts.system === undefined && opts.state === undefined ? '' : ' match'));
            return;
          }
          const rows = requests.map((r) => [r.requestId, dateTime(r.submittedAt), r.system, what(r), r.status, firstLine(r.message)]);
          for (const line of table([['ID', 'SUBMITTED', 'SYSTEM', 'TASK', 'STATUS', 'MESSAGE'], ...rows])) out(line);
        });
      }),
    );
  request
    .command('show <id>')
    .description('one request: what, who, when, its status and message, and the end of the task\'s output')
    .action(
      action(async (id: string) => {
        await withApp({ run: false }, async (app) => {
          let r: RequestView;
          try {
            r = await app.api.getRequest(id);
          } catch (err) {
            if (err instanceof ProvisorError && err.code === 'UnknownRequest') throw usage(`${err.message} (provisor request list shows the latest)`);
            throw err;
          }
          out(`request ${r.requestId}: ${what(r)} on system ${r.system}, ${r.status}`);
          out(`  submitted ${dateTime(r.submittedAt)} by ${r.submittedBy}`);
          if (r.startTime !== null) out(`  started ${dateTime(r.startTime)}${r.endTime === null ? '' : `, ended ${dateTime(r.endTime)}`}${r.milliseconds === null ? '' : ` (${duration(r.milliseconds)})`}`);
          if (r.message !== null) out(`  message: ${r.message}`);
          if (r.output !== null && r.output !== '') {
            out('  output (its end):');
            for (const line of r.output.split('\n').slice(-40)) out(`    ${line}`);
          }
        });
      }),
    );
}

function firstLine(text: string | null): string {
  if (text === null) return '';
  const line = text.split('\n')[0] ?? '';
  return line.length > 120 ? `${line.slice(0, 119)}…` : line;
}
