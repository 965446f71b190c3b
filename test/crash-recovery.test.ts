import type { ChildProcess } from 'node:child_process';
import path from 'node:path';
import { expect } from 'chai';
import { buildDemoRepository } from '../src/drivers/local';
import { eventually, freshEnvironment, prepareDatabase } from './support/harness';
import { envelope, postRaw, securityHeader } from './support/soap-client';
import { freePort, startServerProcess, waitForHealth } from './support/processes';

const operator = { username: 'op', password: 'operator-secret-1' };

describe('when the server is killed with SIGKILL during a slow task', function () {
  this.timeout(120_000);
  let environment: Awaited<ReturnType<typeof freshEnvironment>>;
  let env: Record<string, string | undefined>;
  let base: string;
  let child: ChildProcess | undefined;

  before(async () => {
    environment = await freshEnvironment();
    const port = await freePort();
    env = { ...environment.env, PORT: String(port), PROVISOR_POLL_MS: '50', PROVISOR_NODE_LEASE_MS: '3000', LOG_LEVEL: 'warn' };
    base = `http://127.0.0.1:${port}`;
    // Prepare users, repository and systems through the same database, then let the server have it.
    await prepareDatabase(env, async (app) => {
      await app.users.addUser({ name: operator.username, role: 'operator', password: operator.password });
      await app.systems.addRepository(await buildDemoRepository(path.join(environment.dataDir, 'demo-repo')));
      await app.systems.add('slow1', 'local');
      await app.systems.add('fast1', 'simulated');
    });
  });

  after(async () => {
    child?.kill('SIGKILL');
    await environment.cleanup();
  });

  async function submit(system: string, component: string, extra = ''): Promise<string> {
    const r = await postRaw(`${base}/soap/Software`, envelope(`<t:Install xmlns:t="urn:provisor:software:1"><t:system>${system}</t:system><t:component>${component}</t:component>${extra}</t:Install>`, securityHeader(operator)));
    const id = /<p:requestId>([^<]*)</.exec(r.body)?.[1];
    if (id === undefined) throw new Error(`no requestId: ${r.body}`);
    return id;
  }

  async function status(id: string): Promise<string> {
    const r = await postRaw(`${base}/soap/Request`, envelope(`<r:GetStatus xmlns:r="urn:provisor:request:1"><r:requestId>${id}</r:requestId></r:GetStatus>`, securityHeader(operator)));
    return /<p:status>([^<]*)</.exec(r.body)?.[1] ?? `no status: ${r.body}`;
  }

  const up = (): Promise<void> => waitForHealth(base);


  it('leaves no request IN_PROGRESS after a restart, and runs what was queued', async () => {
    child = startServerProcess(env);
    await up();
    const slow = await submit('slow1', 'demo-slow', '<t:parameters><t:parameter><t:name>seconds</t:name><t:value>20</t:value></t:parameter></t:parameters>');
    await eventually(async () => ((await status(slow)) === 'IN_PROGRESS' ? true : undefined), 'the slow task to start');
    // Queued behind the slow one (same component on the same system): must run after the restart.
    const queued = await submit('slow1', 'demo-slow', '<t:version>1.0.0</t:version><t:idempotencyKey>second</t:idempotencyKey>');
    expect(await status(queued)).to.equal('QUEUED');

    child.kill('SIGKILL');
    await new Promise((resolve) => child?.once('exit', resolve));

    child = startServerProcess(env);
    await up();
    const after = await eventually(async () => {
      const s = await status(slow);
      return s === 'IN_PROGRESS' ? undefined : s;
    }, 'the interrupted request to leave IN_PROGRESS', 10_000);
    expect(after).to.equal('UNKNOWN');
    const fast = await submit('fast1', 'anything');
    expect(await eventually(async () => {
      const s = await status(fast);
      return s.startsWith('COMPLETED') ? s : undefined;
    }, 'a new request to complete')).to.equal('COMPLETED_SUCCESS');
    expect(await eventually(async () => {
      const s = await status(queued);
      return s === 'QUEUED' ? undefined : s;
    }, 'the queued request to start', 15_000)).to.be.oneOf(['IN_PROGRESS', 'COMPLETED_SUCCESS']);
  });
});
