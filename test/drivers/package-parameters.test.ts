import fs from 'node:fs';
import path from 'node:path';
import { expect } from 'chai';
import type * as soap from 'soap';
import { DriverError } from '../../src/drivers/driver';
import { buildDemoRepository } from '../../src/drivers/local';
import { parameterProblem, parsePackageManifest, type PackageManifest } from '../../src/drivers/local/package-manifest';
import { matchVersion } from '../../src/drivers/local/package-repositories';
import { eventually, startTestServer, type TestServer } from '../support/harness';
import { call, soapClient } from '../support/soap-client';

const operator = { username: 'op', password: 'operator-secret-1' };

function manifest(parameters: unknown): PackageManifest {
  return parsePackageManifest({ name: 'pkg', version: '1.2.0', archive: 'pkg.tar.gz', parameters }, 'test');
}

function refusal(fn: () => unknown): string {
  try {
    fn();
  } catch (error) {
    expect(error).to.be.instanceOf(DriverError);
    return (error as Error).message;
  }
  throw new Error('expected a refusal');
}

describe('package parameters declared in manifests', () => {
  describe('when a manifest declares parameters', () => {
    const declared = manifest([
      { name: 'port', type: 'integer', min: 1, max: 65535, default: '8081' },
      { name: 'tier', type: 'string', allowed: ['standard', 'performance'], blank: true },
      { name: 'force', type: 'boolean' },
      { name: 'title', type: 'string' },
    ]);
    const check = (name: string, value: string, operation: 'Install' | 'Configure' | 'Stop' = 'Configure'): string | undefined =>
      parameterProblem(declared, operation, [{ name, value }]);

    it('accepts declared names with well-typed values', () => {
      expect(check('port', '8080')).to.equal(undefined);
      expect(check('tier', 'performance')).to.equal(undefined);
      expect(check('tier', '')).to.equal(undefined);
      expect(check('force', 'false')).to.equal(undefined);
      expect(check('title', '')).to.equal(undefined);
    });

    it('refuses an unknown name, naming it, a near miss and the declared ones', () => {
      expect(check('prot', '80')).to.equal('pkg 1.2.0 has no parameter "prot"; its parameters: port, tier, force, title');
      expect(check('Port', '80')).to.equal('pkg 1.2.0 has no parameter "Port" (did you mean "port"?); its parameters: port, tier, force, title');
    });

    it('refuses ill-typed values, naming the parameter, what it takes and what was given', () => {
      expect(check('port', 'eighty')).to.equal('parameter "port" of pkg 1.2.0 must be a whole number from 1 to 65535, got "eighty"');
      expect(check('port', '70000')).to.equal('parameter "port" of pkg 1.2.0 must be a whole number from 1 to 65535, got "70000"');
      expect(check('port', '')).to.match(/must be a whole number/);
      expect(check('port', '1e3')).to.match(/must be a whole number/);
      expect(check('tier', 'gold')).to.equal('parameter "tier" of pkg 1.2.0 must be one of "standard", "performance", got "gold"');
      expect(check('force', 'yes')).to.equal('parameter "force" of pkg 1.2.0 must be "true" or "false", got "yes"');
    });

    it('checks Install, InitialConfigure and Configure, not the other operations', () => {
      expect(check('prot', '1', 'Install')).to.match(/no parameter "prot"/);
      expect(check('prot', '1', 'Stop')).to.equal(undefined);
    });
  });

  it('accepts any name when the manifest declares no parameters, and none when it declares an empty list', () => {
    expect(parameterProblem(manifest(undefined), 'Configure', [{ name: 'anything', value: 'x' }])).to.equal(undefined);
    expect(parameterProblem(manifest([]), 'Configure', [{ name: 'anything', value: 'x' }])).to.equal('pkg 1.2.0 has no parameter "anything"; it takes no parameters');
  });

  it('refuses a manifest whose declarations are malformed, naming the entry', () => {
    expect(refusal(() => manifest([{ name: 'port', type: 'number' }]))).to.include('"parameters[0].type" must be one of string, integer, boolean');
    expect(refusal(() => manifest([{ name: 'a b', type: 'string' }]))).to.include('"parameters[0].name" must match');
    expect(refusal(() => manifest([{ name: 'a', type: 'string' }, { name: 'a', type: 'integer' }]))).to.include('declares parameter "a" twice');
    expect(refusal(() => manifest([{ name: 'a', type: 'integer', min: 5, max: 1 }]))).to.include('"parameters[0].min" is greater than its "max"');
    expect(refusal(() => manifest([{ name: 'a', type: 'integer', max: 10, default: '11' }]))).to.include('"parameters[0].default" must be a whole number of at most 10');
    expect(refusal(() => manifest([{ name: 'a', type: 'string', min: 1 }]))).to.include('only integer parameters have "min" and "max"');
    expect(refusal(() => manifest({ port: 'integer' }))).to.include('"parameters" must be an array');
  });

  it('reads a version prefix as the highest release it starts, an exact version as itself', () => {
    const candidates = ['2.0.0', '1.10.0', '1.2.3', '1.2.0', '1.2.0-rc.1'].map((version) => ({ version }));
    expect(matchVersion(candidates, '1.2')?.version).to.equal('1.2.3');
    expect(matchVersion(candidates, '1')?.version).to.equal('1.10.0');
    expect(matchVersion(candidates, '1.2.0')?.version).to.equal('1.2.0');
    expect(matchVersion(candidates, '1.2.0-rc.1')?.version).to.equal('1.2.0-rc.1');
    expect(matchVersion(candidates, '1.1')).to.equal(undefined);
    expect(matchVersion(candidates, '1.2.')).to.equal(undefined);
  });

  describe('over SOAP, on the demo packages', function () {
    this.timeout(120_000);
    let server: TestServer;
    let software: soap.Client;
    let request: soap.Client;

    async function finished(requestId: string): Promise<{ status: string; message?: string }> {
      return eventually(async () => {
        const r = await call<{ status: string; message?: string }>(request, 'GetStatus', { requestId });
        return r.status === 'QUEUED' || r.status === 'IN_PROGRESS' ? undefined : r;
      }, 'the request to end', 60_000);
    }

    async function fault(operation: string, args: Record<string, unknown>): Promise<{ code: string; message: string; field?: string }> {
      try {
        await call(software, operation, args);
      } catch (error) {
        const match = /"ProvisorFault":(\{.*\})\}$/.exec((error as Error).message);
        expect(match, (error as Error).message).to.not.equal(null);
        return JSON.parse(match?.[1] ?? '{}') as { code: string; message: string; field?: string };
      }
      throw new Error(`${operation} was accepted`);
    }

    before(async () => {
      server = await startTestServer();
      await server.addUser(operator.username, 'operator', operator.password);
      await server.app.systems.addRepository(await buildDemoRepository(path.join(server.dataDir, 'demo-repo')));
      await server.app.systems.add('web1', 'local');
      software = await soapClient(server.baseUrl, 'Software', operator);
      request = await soapClient(server.baseUrl, 'Request', operator);
    });
    after(() => server.close());

    it('Install with a version prefix answers, records and installs the highest matching version', async () => {
      const answer = await call<{ requestId: string; version?: string }>(software, 'Install', { system: 'web1', component: 'demo-httpd', version: '1.0' });
      expect(answer.version).to.equal('1.0.0');
      const row = await server.app.api.getRequest(answer.requestId);
      expect(row.version).to.equal('1.0.0');
      expect(await finished(answer.requestId)).to.deep.include({ status: 'COMPLETED_SUCCESS' });
      const installed = await server.app.api.listInstalled('web1');
      expect(installed.map((c) => [c.name, c.version])).to.deep.equal([['demo-httpd', '1.0.0']]);
    });

    it('Install without a version answers the highest one; a retry with the same key gets the first request', async () => {
      const first = await call<{ requestId: string; version?: string }>(software, 'Install', { system: 'web1', component: 'demo-site', idempotencyKey: 'site-1' });
      expect(first.version).to.equal('1.0.0');
      const again = await call<{ requestId: string }>(software, 'Install', { system: 'web1', component: 'demo-site', idempotencyKey: 'site-1' });
      expect(again.requestId).to.equal(first.requestId);
      expect(await finished(first.requestId)).to.deep.include({ status: 'COMPLETED_SUCCESS' });
    });

    it('refuses a version that is neither a version nor a prefix of one, listing the known versions', async () => {
      const refused = await fault('Install', { system: 'web1', component: 'demo-httpd', version: '1.2' });
      expect(refused.code).to.equal('UnknownPackage');
      expect(refused.message).to.include('demo-httpd 1.2').and.include('1.1.0, 1.0.0');
    });

    it('refuses a misspelt parameter on Configure as a client fault naming it and the declared ones; nothing is queued or written', async () => {
      const before = fs.readdirSync(path.join(server.config.drivers.systemsDir, 'web1', 'etc'));
      const refused = await fault('Configure', { system: 'web1', component: 'demo-httpd', parameters: { parameter: [{ name: 'prot', value: '8080' }] } });
      expect(refused).to.deep.equal({ code: 'InvalidField', field: 'parameters', message: 'demo-httpd 1.0.0 has no parameter "prot"; its parameters: port, docroot' });
      expect(fs.readdirSync(path.join(server.config.drivers.systemsDir, 'web1', 'etc'))).to.deep.equal(before);
    });

    it('refuses an ill-typed value on InitialConfigure and on Install, naming the parameter', async () => {
      const configure = await fault('InitialConfigure', { system: 'web1', component: 'demo-httpd', parameters: { parameter: [{ name: 'port', value: '80a' }] } });
      expect(configure.message).to.equal('parameter "port" of demo-httpd 1.0.0 must be a whole number from 1 to 65535, got "80a"');
      const install = await fault('Install', { system: 'web1', component: 'demo-slow', parameters: { parameter: [{ name: 'seconds', value: 'five' }] } });
      expect(install).to.deep.include({ code: 'InvalidField', field: 'parameters' });
      expect(install.message).to.equal('parameter "seconds" of demo-slow 1.0.0 must be a whole number from 0 to 3600, got "five"');
    });

    it('accepts a declared, well-typed parameter and writes it into the configuration', async () => {
      const { requestId } = await call<{ requestId: string }>(software, 'Configure', { system: 'web1', component: 'demo-site', parameters: { parameter: [{ name: 'title', value: 'Declared' }] } });
      expect(await finished(requestId)).to.deep.include({ status: 'COMPLETED_SUCCESS' });
      const config = JSON.parse(fs.readFileSync(path.join(server.config.drivers.systemsDir, 'web1', 'etc', 'demo-site', 'config.json'), 'utf8')) as unknown;
      expect(config).to.deep.equal({ title: 'Declared' });
    });
  });
});
