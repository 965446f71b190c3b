import type { ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { expect } from 'chai';
import { bash, examplesOf, exampleScript } from './support/doc-examples';
import { freshEnvironment } from './support/harness';
import { freePort, startServerProcess, stopServerProcess, waitForHealth } from './support/processes';

/** What each example printed, by name (the script echoes `== NAME` before each). */
function outputSections(out: string): Map<string, string> {
  const parts = out.split(/^== ([\w-]+)$/m);
  const sections = new Map<string, string>();
  for (let i = 1; i + 1 < parts.length; i += 2) sections.set(parts[i] ?? '', parts[i + 1] ?? '');
  return sections;
}

/** The README steps docs/workorders.md builds on: the admin, the soap function, the pool and alice. */
const README_SETUP = ['setup', 'soap', 'work-order-setup'];

describe('docs/workorders.md and docs/email.md examples, pasted after the README set-up', function () {
  this.timeout(240_000);
  let environment: Awaited<ReturnType<typeof freshEnvironment>>;
  let server: ChildProcess;
  let port: number;
  let smtpPort: number;

  before(async () => {
    environment = await freshEnvironment();
    port = await freePort();
    smtpPort = await freePort();
    server = startServerProcess({ ...environment.env, PORT: String(port), HOST: '127.0.0.1', PROVISOR_POLL_MS: '50', PROVISOR_WORKORDER_POLL_MS: '100', PROVISOR_SMTP_PORT: String(smtpPort) });
    await waitForHealth(`http://127.0.0.1:${port}`, 60_000, server);
  });
  after(async () => {
    await stopServerProcess(server);
    await environment.cleanup();
  });

  it('are found in the pages, each a shell block', () => {
    expect(examplesOf('docs/workorders.md').map((e) => e.name)).to.deep.equal(['workorder-types', 'workorder-submit', 'workorder-follow', 'workorder-mistakes']);
    expect(examplesOf('docs/email.md').map((e) => e.name)).to.deep.equal(['mail-order']);
  });

  it('list the types, submit CreateVolume, follow it to CLOSED with its volume on the pool, name the mistakes, and take an order by mail', async () => {
    const readme = examplesOf('README.md').filter((e) => README_SETUP.includes(e.name));
    expect(readme.map((e) => e.name)).to.deep.equal(README_SETUP);
    const script = exampleScript([...readme, ...examplesOf('docs/workorders.md'), ...examplesOf('docs/email.md')], port, environment.dataDir).replaceAll('127.0.0.1:2525', `127.0.0.1:${smtpPort}`);
    const r = await bash(script, { ...environment.env, PORT: String(port), HOST: '127.0.0.1' });
    expect(r.code, `${r.out}\n${r.err}`).to.equal(0);

    const sections = outputSections(r.out);
    const section = (name: string): string => sections.get(name) ?? expect.fail(`no output of example ${name}:\n${r.out}`);
    // alice (level 2) sees the level 1 and 2 types with their parameters, not the level 3 ones
    const types = section('workorder-types');
    expect(types).to.include('ListWorkOrderTypesResponse').and.include('CreateVolume').and.include('ExpandVolume').and.include('sizeGiB');
    expect(types).to.not.include('DeleteVolume');
    const submitted = /work order (\d+)/.exec(section('workorder-submit'))?.[1];
    expect(submitted, section('workorder-submit')).to.match(/^[1-9]\d*$/);

    const followed = section('workorder-follow');
    expect(followed).to.match(/<(\w+:)?state>CLOSED</);
    expect(followed).to.match(/<(\w+:)?name>tier<\/(\w+:)?name><(\w+:)?value>standard</);
    expect(followed).to.include('25.00').and.include('EUR');
    expect(followed.trim().split('\n').slice(-2)).to.deep.equal(['vol1.img', 'vol1.json']);
    expect(fs.statSync(path.join(environment.dataDir, 'systems', 'pool1', 'srv', 'pool', 'accounts', 'acme', 'volumes', 'vol1.img')).size).to.equal(10 * 2 ** 30);

    const mistakes = section('workorder-mistakes');
    expect(mistakes.match(/Fault>/g) ?? [], mistakes).to.have.length.greaterThan(0);
    expect(mistakes).to.include('sizeGiB').and.include('sizeGiB: is required').and.include('size: is not a parameter of this type');
    expect(mistakes).to.include('UnknownWorkOrderType');

    const mailed = /250 OK: work order (\d+) accepted/.exec(section('mail-order'))?.[1];
    expect(Number(mailed), section('mail-order')).to.be.greaterThan(Number(submitted));
    expect(r.err).to.not.include('warning');
  });
});
