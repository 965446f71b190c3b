import path from 'node:path';
import { expect } from 'chai';
import type * as soap from 'soap';
import { buildDemoRepository } from '../src/drivers/local';
import { startTestServer, type TestServer } from './support/harness';
import { call, envelope, postRaw, securityHeader, soapClient } from './support/soap-client';

const operator = { username: 'op', password: 'operator-secret-1' };
const customer = { username: 'cust', password: 'customer-secret-1' };

/** A repeated element as a list, however many the client found. */
function list<T>(value: T | T[] | undefined): T[] {
  return value === undefined ? [] : Array.isArray(value) ? value : [value];
}

interface PackageParameter {
  name: string;
  type: string;
  default?: string;
  allowedValue?: string[];
  min?: string | number;
  max?: string | number;
  blank: boolean;
  description?: string;
}
interface PackageVersion {
  version: string;
  runs: boolean | string;
  parametersDeclared: boolean | string;
  parameter?: PackageParameter | PackageParameter[];
  requires?: Requirement | Requirement[];
}
interface Requirement {
  component: string;
  range: string;
  sameSystem: boolean | string;
}
interface Package {
  name: string;
  version: PackageVersion | PackageVersion[];
}
interface ListPackagesResult {
  package?: Package | Package[];
}

describe('Software.ListPackages over SOAP', function () {
  this.timeout(60_000);
  let server: TestServer;
  let software: soap.Client;

  before(async () => {
    server = await startTestServer();
    await server.addUser(operator.username, 'operator', operator.password);
    await server.app.users.addAccount('acme');
    await server.app.users.addUser({ name: customer.username, role: 'customer', password: customer.password, account: 'acme', level: 1 });
    software = await soapClient(server.baseUrl, 'Software', operator);
  });
  after(() => server.close());

  it('answers no package while no repository is registered', async () => {
    const result = await call<ListPackagesResult | null>(software, 'ListPackages', {});
    expect(list(result?.package)).to.deep.equal([]);
  });

  describe('with the demo repository registered', () => {
    before(async () => {
      await server.app.systems.addRepository(await buildDemoRepository(path.join(server.dataDir, 'demo-repo')));
    });

    it('lists every package by name with its versions, highest first', async () => {
      const result = await call<ListPackagesResult>(software, 'ListPackages', {});
      const packages = list(result.package);
      const names = packages.map((p) => p.name);
      expect(names).to.include.members(['demo-httpd', 'demo-site', 'storage-pool']);
      expect(names).to.deep.equal([...names].sort((a, b) => a.localeCompare(b)));
      const offered = (await server.app.systems.repositoryLocations()).length;
      expect(offered).to.equal(1);
      const httpd = list(packages.find((p) => p.name === 'demo-httpd')?.version);
      const versions = httpd.map((v) => v.version);
      expect(versions).to.deep.equal([...versions].sort((a, b) => b.localeCompare(a, undefined, { numeric: true })));
      expect(String(httpd[0]?.runs)).to.equal('true');
      const site = list(packages.find((p) => p.name === 'demo-site')?.version);
      expect(String(site[0]?.runs)).to.equal('false');
    });

    it('gives one package with the parameters Install and Configure accept, as provisor package show does', async () => {
      const result = await call<ListPackagesResult>(software, 'ListPackages', { name: 'demo-httpd' });
      const packages = list(result.package);
      expect(packages.map((p) => p.name)).to.deep.equal(['demo-httpd']);
      const version = list(packages[0]?.version)[0];
      expect(String(version?.parametersDeclared)).to.equal('true');
      const port = list(version?.parameter).find((p) => p.name === 'port');
      expect(port?.type).to.equal('integer');
      expect(Number(port?.min)).to.equal(1);
      expect(Number(port?.max)).to.equal(65535);
      const site = list(list((await call<ListPackagesResult>(software, 'ListPackages', { name: 'demo-site' })).package)[0]?.version)[0];
      const requirement = list(site?.requires).find((r) => r.component === 'demo-httpd');
      expect(requirement?.range).to.equal('>=1.0.0');
      expect(String(requirement?.sameSystem)).to.equal('true');
    });

    it('refuses a package no repository offers with a Client fault naming it and the packages there are', async () => {
      const body = '<t:ListPackages xmlns:t="urn:provisor:software:1"><t:name>demo-htpd</t:name></t:ListPackages>';
      const r = await postRaw(`${server.baseUrl}/soap/Software`, envelope(body, securityHeader(operator)));
      expect(r.status).to.equal(500);
      expect(r.body).to.include('<faultcode>soap:Client</faultcode>').and.include('UnknownPackage').and.include('demo-httpd, demo-site');
      expect(r.body).to.match(/no registered repository offers a package (&quot;|")demo-htpd(&quot;|")/);
    });

    it('refuses a name of the wrong form and a caller without a provisioning role', async () => {
      const empty = await postRaw(`${server.baseUrl}/soap/Software`, envelope('<t:ListPackages xmlns:t="urn:provisor:software:1"><t:name></t:name></t:ListPackages>', securityHeader(operator)));
      expect(empty.body).to.include('<faultcode>soap:Client</faultcode>').and.include('name');
      const forbidden = await postRaw(`${server.baseUrl}/soap/Software`, envelope('<t:ListPackages xmlns:t="urn:provisor:software:1"/>', securityHeader(customer)));
      expect(forbidden.body).to.include('<faultcode>soap:Client</faultcode>').and.include('Forbidden');
    });
  });
});
