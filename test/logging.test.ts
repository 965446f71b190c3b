import { spawn } from 'node:child_process';
import path from 'node:path';
import { expect } from 'chai';
import { eventually, freshEnvironment, prepareDatabase } from './support/harness';
import { freePort, waitForHealth } from './support/processes';
import { envelope, postRaw, securityHeader } from './support/soap-client';

describe('the server log', function () {
  this.timeout(60_000);

  it('is JSON lines carrying the request id, and never the password or the token', async () => {
    const environment = await freshEnvironment();
    const port = await freePort();
    const env = { ...environment.env, PORT: String(port), LOG_LEVEL: 'debug', PROVISOR_SIMULATED_MIN_MS: '10', PROVISOR_SIMULATED_MAX_MS: '10' };
    await prepareDatabase(env, async (app) => {
      await app.users.addUser({ name: 'op', role: 'operator', password: 'very-secret-password' });
      await app.systems.add('sim1', 'simulated');
    });
    const child = spawn(process.execPath, [path.join(__dirname, '..', 'src', 'main.js')], { env: { ...process.env, ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
    let output = '';
    child.stdout.on('data', (c: Buffer) => (output += c.toString()));
    child.stderr.on('data', (c: Buffer) => (output += c.toString()));
    try {
      const base = `http://127.0.0.1:${port}`;
      await waitForHealth(base);
      const ok = await postRaw(`${base}/soap/Software`, envelope('<t:Install xmlns:t="urn:provisor:software:1"><t:system>sim1</t:system><t:component>db</t:component></t:Install>', securityHeader({ username: 'op', password: 'very-secret-password' })));
      const requestId = /<p:requestId>([^<]*)</.exec(ok.body)?.[1] ?? '';
      await postRaw(`${base}/soap/Software`, envelope('<t:Install xmlns:t="urn:provisor:software:1"><t:system>sim1</t:system><t:component>db</t:component></t:Install>', securityHeader({ username: 'op', password: 'wrong-secret-password' })));
      await eventually(async () => (output.includes('task succeeded') ? true : undefined), 'the task to be logged');
      const lines = output.trim().split('\n');
      const records = lines.map((l) => JSON.parse(l) as Record<string, unknown>);
      expect(records.every((r) => typeof r.level === 'string' && typeof r.timestamp === 'string')).to.equal(true);
      expect(records.some((r) => r.message === 'request accepted' && r.requestId === requestId && r.user === 'op')).to.equal(true);
      expect(records.some((r) => r.message === 'task succeeded' && r.requestId === requestId)).to.equal(true);
      expect(records.some((r) => r.message === 'soap fault' && r.code === 'AuthenticationFailed')).to.equal(true);
      expect(output).to.not.contain('very-secret-password');
      expect(output).to.not.contain('wrong-secret-password');
    } finally {
      child.kill('SIGKILL');
      await environment.cleanup();
    }
  });
});
