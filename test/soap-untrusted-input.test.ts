import { expect } from 'chai';
import { ConfigError, loadConfig } from '../src/config';
import { startTestServer, type TestServer } from './support/harness';
import { envelope, postRaw, securityHeader } from './support/soap-client';
import { PASSWORD, seedCast, TEST_CATALOG } from './support/workorders';

const SW = 'urn:provisor:software:1';
const RQ = 'urn:provisor:request:1';
const WO = 'urn:provisor:workorder:1';
const operator = { username: 'op', password: 'operator-secret-1' };

/** A fault seen on the wire: its code, field and size, and whether it blames the caller. */
interface SeenFault {
  readonly code: string | undefined;
  readonly field: string | undefined;
  readonly clientFault: boolean;
  readonly bytes: number;
  readonly body: string;
}

async function post(url: string, xml: string, version: '1.1' | '1.2'): Promise<SeenFault> {
  const r = await postRaw(url, version === '1.2' ? xml.split('http://schemas.xmlsoap.org/soap/envelope/').join('http://www.w3.org/2003/05/soap-envelope') : xml, version);
  const clientFault = version === '1.1' ? r.body.includes('<faultcode>soap:Client</faultcode>') : r.body.includes('<soap:Value>soap:Sender</soap:Value>') && r.status === 400;
  return {
    code: /<p:code>([^<]*)<\/p:code>/.exec(r.body)?.[1],
    field: /<p:field>([^<]*)<\/p:field>/.exec(r.body)?.[1],
    clientFault,
    bytes: Buffer.byteLength(r.body),
    body: r.body,
  };
}

async function count(server: TestServer, table: string): Promise<number> {
  const rows = (await server.dataSource.query(`SELECT COUNT(*) AS n FROM ${table}`)) as Array<{ n: unknown }>;
  return Number(rows[0]?.n);
}

describe('SOAP faults on untrusted input', function () {
  this.timeout(60_000);
  let server: TestServer;
  const auth = (): string => securityHeader(operator);

  before(async () => {
    server = await startTestServer({ PROVISOR_ENGINE: 'false', PROVISOR_WORKORDER_AUTOMATION: 'false' });
    await server.addUser(operator.username, 'operator', operator.password);
    await server.app.systems.add('sim1', 'simulated');
    await server.app.loadCatalog(TEST_CATALOG);
    await seedCast(server);
  });
  after(() => server.close());

  for (const version of ['1.1', '1.2'] as const) {
    describe(`never echo unbounded input (SOAP ${version})`, () => {
      const huge = `n${'x'.repeat(500_000)}`;
      const cases: ReadonlyArray<{ name: string; path: string; xml: () => string; code: string; field?: string }> = [
        { name: 'a 500,000-character unknown operation', path: '/soap/Software', xml: () => envelope(`<t:${huge} xmlns:t="${SW}"/>`, auth()), code: 'UnknownOperation' },
        { name: 'a 500,000-character operation in another namespace', path: '/soap/Software', xml: () => envelope(`<t:Install xmlns:t="urn:${huge}"/>`, auth()), code: 'UnknownOperation' },
        { name: 'a 500,000-character element name left open', path: '/soap/Software', xml: () => envelope(`<t:Install xmlns:t="${SW}"><t:${huge}></t:Install>`, auth()), code: 'MalformedXml' },
        { name: 'a 500,000-character element that is not a field', path: '/soap/Software', xml: () => envelope(`<t:Install xmlns:t="${SW}"><t:system>sim1</t:system><t:component>c</t:component><t:${huge}/></t:Install>`, auth()), code: 'InvalidField' },
        { name: 'a 500,000-character field value that is not an integer', path: '/soap/Request', xml: () => envelope(`<r:GetStatus xmlns:r="${RQ}"><r:requestId>r1</r:requestId><r:waitSeconds>${huge}</r:waitSeconds></r:GetStatus>`, auth()), code: 'InvalidField', field: 'waitSeconds' },
        { name: 'a 500,000-character header namespace marked mustUnderstand', path: '/soap/Software', xml: () => envelope(`<t:Install xmlns:t="${SW}"/>`, `${auth()}<x:H xmlns:x="urn:${huge}" xmlns:s="http://schemas.xmlsoap.org/soap/envelope/" s:mustUnderstand="1"/>`), code: 'MustUnderstand' },
      ];
      for (const c of cases) {
        it(`${c.name} → a small ${c.code} fault`, async () => {
          const f = await post(`${server.baseUrl}${c.path}`, c.xml(), version);
          expect(f.code, f.body.slice(0, 2000)).to.equal(c.code);
          if (c.code !== 'MustUnderstand') expect(f.clientFault, f.body.slice(0, 2000)).to.equal(true);
          if (c.field !== undefined) expect(f.field).to.equal(c.field);
          expect(f.bytes, 'fault size in bytes').to.be.below(4096);
          expect(f.body).to.match(/\(5000\d\d characters\)/);
        });
      }

      it('work-order parameter values of 60,000 and 3,999 characters are quoted in part, if at all', async () => {
        const value = '9'.repeat(60_000);
        const xml = envelope(
          `<w:SubmitWorkOrder xmlns:w="${WO}"><w:type>Echo</w:type><w:parameter><w:name>volume</w:name><w:value>v1</w:value></w:parameter><w:parameter><w:name>note</w:name><w:value>${value}</w:value></w:parameter><w:parameter><w:name>sizeGiB</w:name><w:value>x${value.slice(0, 3998)}</w:value></w:parameter></w:SubmitWorkOrder>`,
          securityHeader({ username: 'alice', password: PASSWORD }),
        );
        const f = await post(`${server.baseUrl}/soap/WorkOrder`, xml, version);
        expect(f.code, f.body.slice(0, 2000)).to.equal('InvalidParameter');
        expect(f.clientFault).to.equal(true);
        expect(f.bytes).to.be.below(4096);
        expect(f.body).to.contain('(3999 characters)');
      });
    });

    describe(`a simple field holds text only (SOAP ${version})`, () => {
      it('Install with <system>web<b>x</b>01</system> → InvalidField naming system, nothing queued', async () => {
        const before = await count(server, 'provisioning_request');
        const f = await post(`${server.baseUrl}/soap/Software`, envelope(`<t:Install xmlns:t="${SW}"><t:system>sim<t:b>x</t:b>1</t:system><t:component>c</t:component></t:Install>`, auth()), version);
        expect([f.code, f.field, f.clientFault], f.body).to.deep.equal(['InvalidField', 'system', true]);
        expect(f.body).to.contain('must hold text only');
        expect(await count(server, 'provisioning_request')).to.equal(before);
      });

      it('Install with a parameter value holding an element → InvalidField naming the value, nothing queued', async () => {
        const before = await count(server, 'provisioning_request');
        const parameters = `<t:parameters><t:parameter><t:name>port</t:name><t:value>80<t:b/>80</t:value></t:parameter></t:parameters>`;
        const f = await post(`${server.baseUrl}/soap/Software`, envelope(`<t:Install xmlns:t="${SW}"><t:system>sim1</t:system><t:component>c</t:component>${parameters}</t:Install>`, auth()), version);
        expect([f.code, f.field, f.clientFault], f.body).to.deep.equal(['InvalidField', 'parameters/parameter[1]/value', true]);
        expect(await count(server, 'provisioning_request')).to.equal(before);
      });

      it('SubmitWorkOrder with a parameter value holding an element → InvalidField naming the value, no order', async () => {
        const before = await count(server, 'work_order');
        const xml = envelope(
          `<w:SubmitWorkOrder xmlns:w="${WO}"><w:type>Echo</w:type><w:parameter><w:name>volume</w:name><w:value>vol<w:i>x</w:i>1</w:value></w:parameter><w:parameter><w:name>sizeGiB</w:name><w:value>5</w:value></w:parameter></w:SubmitWorkOrder>`,
          securityHeader({ username: 'alice', password: PASSWORD }),
        );
        const f = await post(`${server.baseUrl}/soap/WorkOrder`, xml, version);
        expect([f.code, f.field, f.clientFault], f.body).to.deep.equal(['InvalidField', 'parameter[1]/value', true]);
        expect(await count(server, 'work_order')).to.equal(before);
      });

      it('SubmitWorkOrder with mixed content in type → InvalidField naming type', async () => {
        const xml = envelope(`<w:SubmitWorkOrder xmlns:w="${WO}"><w:type>Ec<w:b/>ho</w:type></w:SubmitWorkOrder>`, securityHeader({ username: 'alice', password: PASSWORD }));
        const f = await post(`${server.baseUrl}/soap/WorkOrder`, xml, version);
        expect([f.code, f.field, f.clientFault], f.body).to.deep.equal(['InvalidField', 'type', true]);
      });
    });
  }

  it('a document with more namespace declarations than the limit → MalformedXml (Client), before authentication', async () => {
    const declarations = Array.from({ length: 10_001 }, (_, i) => `<c xmlns:q="urn:${i}"/>`).join('');
    const f = await post(`${server.baseUrl}/soap/Software`, envelope(`<t:Install xmlns:t="${SW}">${declarations}</t:Install>`), '1.1');
    expect([f.code, f.clientFault]).to.deep.equal(['MalformedXml', true]);
    expect(f.body).to.contain('more than 10000 namespace declarations');
  });
});

describe('the xml group of the configuration', function () {
  this.timeout(60_000);

  it('has the parser limits with their defaults, each read from its setting and validated', () => {
    expect(loadConfig({}, '/').xml).to.deep.equal({ maxDepth: 64, maxElements: 200_000, maxAttributes: 64, maxNamespaceDeclarations: 10_000 });
    const set = loadConfig({ PROVISOR_XML_MAX_DEPTH: '12', PROVISOR_XML_MAX_ELEMENTS: '5000', PROVISOR_XML_MAX_ATTRIBUTES: '16', PROVISOR_XML_MAX_NAMESPACE_DECLARATIONS: '100' }, '/').xml;
    expect(set).to.deep.equal({ maxDepth: 12, maxElements: 5000, maxAttributes: 16, maxNamespaceDeclarations: 100 });
    expect(() => loadConfig({ PROVISOR_XML_MAX_NAMESPACE_DECLARATIONS: 'many' }, '/')).to.throw(ConfigError, /PROVISOR_XML_MAX_NAMESPACE_DECLARATIONS must be an integer/);
    expect(() => loadConfig({ PROVISOR_XML_MAX_DEPTH: '2' }, '/')).to.throw(ConfigError, /PROVISOR_XML_MAX_DEPTH must be between 8 and 10000/);
  });

  it('the gateway parses with the configured limits', async () => {
    const server = await startTestServer({ PROVISOR_ENGINE: 'false', PROVISOR_XML_MAX_DEPTH: '8', PROVISOR_XML_MAX_NAMESPACE_DECLARATIONS: '16' });
    try {
      const url = `${server.baseUrl}/soap/Software`;
      const deep = await post(url, envelope(`<t:Install xmlns:t="${SW}">${'<t:a>'.repeat(8)}${'</t:a>'.repeat(8)}</t:Install>`), '1.1');
      expect([deep.code, deep.clientFault]).to.deep.equal(['MalformedXml', true]);
      expect(deep.body).to.contain('nested deeper than 8');
      const declarations = await post(url, envelope(`<t:Install xmlns:t="${SW}">${'<c xmlns:q="urn:q"/>'.repeat(16)}</t:Install>`), '1.1');
      expect(declarations.body).to.contain('more than 16 namespace declarations');
    } finally {
      await server.close();
    }
  });
});

describe('deployed-process paths', function () {
  this.timeout(60_000);
  let server: TestServer;
  before(async () => {
    server = await startTestServer({ PROVISOR_ENGINE: 'false' });
  });
  after(() => server.close());

  it('a process path that is not valid percent-encoding → 400 naming the path, not a server error', async () => {
    const r = await fetch(`${server.baseUrl}/soap/processes/%E0%A4%A`);
    expect(r.status).to.equal(400);
    expect(await r.text()).to.contain('%E0%A4%A');
  });
});
