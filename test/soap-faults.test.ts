import zlib from 'node:zlib';
import { expect } from 'chai';
import { ManualClock } from '../src/clock';
import { startTestServer, type TestServer } from './support/harness';
import { envelope, postRaw, securityHeader } from './support/soap-client';
import { bodyElement, HAVE_XMLLINT, validateAgainstWsdl } from './support/wsdl-schema';

const SW = 'urn:provisor:software:1';
const operator = { username: 'op', password: 'operator-secret-1' };
const customer = { username: 'cust', password: 'customer-secret-1' };

function install(fields: string): string {
  return `<t:Install xmlns:t="${SW}">${fields}</t:Install>`;
}

function faultCode(body: string): string | undefined {
  return /<p:code>([^<]*)<\/p:code>/.exec(body)?.[1];
}

function faultField(body: string): string | undefined {
  return /<p:field>([^<]*)<\/p:field>/.exec(body)?.[1];
}

async function countRequests(server: TestServer): Promise<number> {
  const rows = (await server.dataSource.query('SELECT COUNT(*) AS n FROM provisioning_request')) as Array<{ n: unknown }>;
  return Number(rows[0]?.n);
}

describe('SOAP bad input and security', function () {
  this.timeout(60_000);
  let server: TestServer;
  let url: string;
  const auth = (options: Parameters<typeof securityHeader>[1] = {}): string => securityHeader(operator, options);

  before(async () => {
    server = await startTestServer({ PROVISOR_MAX_BODY_BYTES: '8192', PROVISOR_ENGINE: 'false' });
    await server.addUser(operator.username, 'operator', operator.password);
    await server.app.users.addAccount('acme');
    await server.app.users.addUser({ name: customer.username, role: 'customer', password: customer.password, account: 'acme' });
    await server.app.systems.add('sim1', 'simulated');
    await server.app.systems.add('loc1', 'local');
    url = `${server.baseUrl}/soap/Software`;
  });
  after(() => server.close());

  describe('a well-formed call', () => {
    it('answers SOAP 1.1 in 1.1 with a response valid against the WSDL schema', async function () {
      if (!HAVE_XMLLINT) this.skip();
      const r = await postRaw(url, envelope(install('<t:system>sim1</t:system><t:component>db</t:component>'), auth()));
      expect(r.status).to.equal(200);
      expect(r.contentType).to.match(/^text\/xml/);
      expect(r.body).to.contain('http://schemas.xmlsoap.org/soap/envelope/');
      validateAgainstWsdl('software', bodyElement(r.body));
    });

    it('answers SOAP 1.2 in 1.2', async () => {
      const r = await postRaw(url, envelope(install('<t:system>sim1</t:system><t:component>db</t:component>'), auth(), '1.2'), '1.2');
      expect(r.status).to.equal(200);
      expect(r.contentType).to.match(/^application\/soap\+xml/);
      expect(r.body).to.contain('http://www.w3.org/2003/05/soap-envelope').and.not.contain('http://schemas.xmlsoap.org/soap/envelope/');
    });

    it('accepts a gzip-compressed body', async () => {
      const body = zlib.gzipSync(envelope(install('<t:system>sim1</t:system><t:component>db</t:component>'), auth()));
      const r = await postRaw(url, body, '1.1', { 'content-encoding': 'gzip' });
      expect(r.status).to.equal(200);
      expect(r.body).to.contain('<p:requestId>');
    });
  });

  describe('caller mistakes get a Client/Sender fault naming the problem, and write nothing', () => {
    const cases: Array<{ name: string; xml: () => string; code: string; field?: string; headers?: Record<string, string> }> = [
      { name: 'malformed XML', xml: () => '<s:Envelope xmlns:s="http://schemas.xmlsoap.org/soap/envelope/"><s:Body><t:Install', code: 'MalformedXml' },
      { name: 'a DTD with an entity declaration', xml: () => `<?xml version="1.0"?><!DOCTYPE s [<!ENTITY lol "lol">]>${envelope(install('<t:system>&lol;</t:system><t:component>c</t:component>'), auth())}`, code: 'DtdForbidden' },
      { name: 'an undeclared entity', xml: () => envelope(install('<t:system>&xxe;</t:system><t:component>c</t:component>'), auth()), code: 'DtdForbidden' },
      { name: 'a root that is not an Envelope', xml: () => '<Install/>', code: 'VersionMismatch' },
      { name: 'an unknown operation', xml: () => envelope(`<t:Instal xmlns:t="${SW}"><t:system>sim1</t:system></t:Instal>`, auth()), code: 'UnknownOperation' },
      { name: 'an operation in the wrong namespace', xml: () => envelope('<Install><system>sim1</system></Install>', auth()), code: 'UnknownOperation' },
      { name: 'a missing required field', xml: () => envelope(install('<t:system>sim1</t:system>'), auth()), code: 'MissingField', field: 'component' },
      { name: 'an empty required field', xml: () => envelope(install('<t:system>sim1</t:system><t:component></t:component>'), auth()), code: 'MissingField', field: 'component' },
      { name: 'a field the request does not have', xml: () => envelope(install('<t:system>sim1</t:system><t:component>c</t:component><t:colour>red</t:colour>'), auth()), code: 'InvalidField', field: 'colour' },
      { name: 'an unqualified field (named as in no namespace, not as missing)', xml: () => envelope(install('<t:system>sim1</t:system><component>c</component>'), auth()), code: 'InvalidField', field: 'component' },
      { name: 'an ill-typed callback', xml: () => envelope(install('<t:system>sim1</t:system><t:component>c</t:component><t:callback>not a uri</t:callback>'), auth()), code: 'InvalidField', field: 'callback' },
      { name: 'a repeated single field', xml: () => envelope(install('<t:system>sim1</t:system><t:system>sim2</t:system><t:component>c</t:component>'), auth()), code: 'InvalidField', field: 'system' },
      { name: 'a too long name', xml: () => envelope(install(`<t:system>${'x'.repeat(201)}</t:system><t:component>c</t:component>`), auth()), code: 'InvalidField', field: 'system' },
      { name: 'an unknown system', xml: () => envelope(install('<t:system>nowhere</t:system><t:component>c</t:component>'), auth()), code: 'UnknownSystem', field: 'system' },
      { name: 'an unknown package', xml: () => envelope(install('<t:system>loc1</t:system><t:component>no-such-package</t:component>'), auth()), code: 'UnknownPackage', field: 'component' },
      { name: 'a path escaping the root with ..', xml: () => envelope(`<f:Delete xmlns:f="urn:provisor:file:1"><f:system>loc1</f:system><f:path>../../etc/passwd</f:path></f:Delete>`, auth()), code: 'PathOutsideRoot', field: 'path' },
      { name: 'an absolute path naming the root itself', xml: () => envelope(`<f:Delete xmlns:f="urn:provisor:file:1"><f:system>loc1</f:system><f:path>/../</f:path></f:Delete>`, auth()), code: 'InvalidField', field: 'path' },
      { name: 'a header marked mustUnderstand that Provisor does not process', xml: () => envelope(install('<t:system>sim1</t:system><t:component>c</t:component>'), `${auth()}<x:Tx xmlns:x="urn:example" xmlns:s="http://schemas.xmlsoap.org/soap/envelope/" s:mustUnderstand="1"/>`), code: 'MustUnderstand' },
      { name: 'no UsernameToken', xml: () => envelope(install('<t:system>sim1</t:system><t:component>c</t:component>')), code: 'AuthenticationFailed' },
      { name: 'a wrong password', xml: () => envelope(install('<t:system>sim1</t:system><t:component>c</t:component>'), securityHeader({ username: 'op', password: 'wrong-password' })), code: 'AuthenticationFailed' },
      { name: 'a wrong digest', xml: () => envelope(install('<t:system>sim1</t:system><t:component>c</t:component>'), securityHeader({ username: 'op', password: 'wrong-password' }, { digest: true })), code: 'AuthenticationFailed' },
      { name: 'a token created six minutes ago', xml: () => envelope(install('<t:system>sim1</t:system><t:component>c</t:component>'), auth({ created: new Date(Date.now() - 6 * 60_000) })), code: 'TokenExpired' },
      { name: 'a token created two minutes in the future', xml: () => envelope(install('<t:system>sim1</t:system><t:component>c</t:component>'), auth({ created: new Date(Date.now() + 2 * 60_000) })), code: 'TokenExpired' },
      { name: 'a customer calling a provisioning operation', xml: () => envelope(install('<t:system>sim1</t:system><t:component>c</t:component>'), securityHeader(customer)), code: 'Forbidden' },
    ];

    for (const version of ['1.1', '1.2'] as const) {
      describe(`in SOAP ${version}`, () => {
        for (const c of cases) {
          it(`${c.name} → ${c.code}`, async () => {
            const before = await countRequests(server);
            const target = c.xml().includes('urn:provisor:file:1') ? `${server.baseUrl}/soap/File` : url;
            let xml = c.xml();
            if (version === '1.2') xml = xml.split('http://schemas.xmlsoap.org/soap/envelope/').join('http://www.w3.org/2003/05/soap-envelope');
            const started = Date.now();
            const r = await postRaw(target, xml, version);
            expect(Date.now() - started, 'answered within a second').to.be.below(1000);
            expect(faultCode(r.body), r.body).to.equal(c.code);
            if (c.field !== undefined) expect(faultField(r.body)).to.equal(c.field);
            if (version === '1.1') {
              expect(r.status).to.equal(500);
              expect(r.contentType).to.match(/^text\/xml/);
              const expected = c.code === 'VersionMismatch' || c.code === 'MustUnderstand' ? c.code : 'Client';
              expect(r.body).to.contain(`<faultcode>soap:${expected}</faultcode>`);
            } else {
              expect(r.contentType).to.match(/^application\/soap\+xml/);
              const expected = c.code === 'VersionMismatch' || c.code === 'MustUnderstand' ? c.code : 'Sender';
              expect(r.body).to.contain(`<soap:Value>soap:${expected}</soap:Value>`);
              expect(r.status).to.equal(expected === 'Sender' ? 400 : 500);
            }
            if (HAVE_XMLLINT) validateAgainstWsdl(target.endsWith('File') ? 'file' : 'software', /<p:ProvisorFault[\s\S]*<\/p:ProvisorFault>/.exec(r.body)?.[0] ?? '');
            expect(await countRequests(server), 'rows after the fault').to.equal(before);
          });
        }
      });
    }

    it('a body over the limit → 413 and BodyTooLarge', async () => {
      const before = await countRequests(server);
      const r = await postRaw(url, envelope(install(`<t:system>sim1</t:system><t:component>c</t:component><!--${'x'.repeat(10_000)}-->`), auth()));
      expect(r.status).to.equal(413);
      expect(faultCode(r.body)).to.equal('BodyTooLarge');
      expect(await countRequests(server)).to.equal(before);
    });

    it('a gzip bomb stops at the limit → BodyTooLarge', async () => {
      const bomb = zlib.gzipSync(Buffer.concat([Buffer.from(envelope('', auth()).slice(0, 100)), Buffer.alloc(50 * 1024 * 1024, 32)]));
      const started = Date.now();
      const r = await postRaw(url, bomb, '1.1', { 'content-encoding': 'gzip' });
      expect(Date.now() - started).to.be.below(1000);
      expect(r.status).to.equal(413);
      expect(faultCode(r.body)).to.equal('BodyTooLarge');
    });

    it('a replayed nonce → NonceReplayed, and the first call still counts', async () => {
      const header = auth({ nonce: Buffer.from('0123456789abcdef') });
      const first = await postRaw(url, envelope(install('<t:system>sim1</t:system><t:component>c</t:component>'), header));
      expect(first.status).to.equal(200);
      const again = await postRaw(url, envelope(install('<t:system>sim1</t:system><t:component>c</t:component>'), header));
      expect(faultCode(again.body)).to.equal('NonceReplayed');
    });

    it('a PasswordDigest token is accepted', async () => {
      const r = await postRaw(url, envelope(install('<t:system>sim1</t:system><t:component>c</t:component>'), auth({ digest: true })));
      expect(r.status, r.body).to.equal(200);
    });

    it('an unknown requestId → UnknownRequest (Client), not a status', async () => {
      const r = await postRaw(`${server.baseUrl}/soap/Request`, envelope('<r:GetStatus xmlns:r="urn:provisor:request:1"><r:requestId>no-such-id</r:requestId></r:GetStatus>', auth()));
      expect(r.status).to.equal(500);
      expect(r.body).to.contain('<faultcode>soap:Client</faultcode>');
      expect(faultCode(r.body)).to.equal('UnknownRequest');
    });

    it('a disabled user is refused once the user cache time (1 s, on the clock) has passed', async () => {
      const clock = new ManualClock(Date.now());
      const own = await startTestServer({ PROVISOR_ENGINE: 'false', PROVISOR_WORKFLOW: 'false', PROVISOR_WORKORDER_AUTOMATION: 'false' }, { clock });
      try {
        await own.app.systems.add('sim1', 'simulated');
        await own.app.users.addUser({ name: 'temp', role: 'operator', password: 'temporary-secret' });
        const ownUrl = `${own.baseUrl}/soap/Software`;
        const send = (): Promise<{ status: number; body: string }> =>
          postRaw(ownUrl, envelope(install('<t:system>sim1</t:system><t:component>c</t:component>'), securityHeader({ username: 'temp', password: 'temporary-secret' }, { created: clock.date() })));
        expect((await send()).status).to.equal(200);
        await own.app.users.disable('temp');
        clock.advance(1001);
        expect(faultCode((await send()).body)).to.equal('AuthenticationFailed');
      } finally {
        await own.close();
      }
    });
  });

  describe('idempotency', () => {
    const wsa = (id: string): string => `<wsa:MessageID xmlns:wsa="http://www.w3.org/2005/08/addressing">${id}</wsa:MessageID>`;
    const requestId = (body: string): string | undefined => /<p:requestId>([^<]*)<\/p:requestId>/.exec(body)?.[1];

    it('a retried call with the same MessageID returns the first requestId and queues nothing more', async () => {
      const before = await countRequests(server);
      const xml = (): string => envelope(install('<t:system>sim1</t:system><t:component>web</t:component>'), auth() + wsa('urn:uuid:retry-1'));
      const first = requestId((await postRaw(url, xml())).body);
      const second = requestId((await postRaw(url, xml())).body);
      expect(first).to.be.a('string');
      expect(second).to.equal(first);
      expect(await countRequests(server)).to.equal(before + 1);
    });

    it('the explicit idempotencyKey wins over the MessageID', async () => {
      const a = requestId((await postRaw(url, envelope(install('<t:system>sim1</t:system><t:component>web</t:component><t:idempotencyKey>k-1</t:idempotencyKey>'), auth() + wsa('urn:uuid:m-1')))).body);
      const b = requestId((await postRaw(url, envelope(install('<t:system>sim1</t:system><t:component>web</t:component><t:idempotencyKey>k-1</t:idempotencyKey>'), auth() + wsa('urn:uuid:m-2')))).body);
      expect(b).to.equal(a);
    });

    it('the same key for a different request is a Client fault', async () => {
      await postRaw(url, envelope(install('<t:system>sim1</t:system><t:component>web</t:component><t:idempotencyKey>k-2</t:idempotencyKey>'), auth()));
      const r = await postRaw(url, envelope(install('<t:system>sim1</t:system><t:component>other</t:component><t:idempotencyKey>k-2</t:idempotencyKey>'), auth()));
      expect(faultCode(r.body)).to.equal('IdempotencyConflict');
      expect(r.body).to.contain('<faultcode>soap:Client</faultcode>');
    });

    it('keys are scoped to the calling user', async () => {
      await server.app.users.addUser({ name: 'op2', role: 'engine', password: 'engine-secret-2' });
      const a = requestId((await postRaw(url, envelope(install('<t:system>sim1</t:system><t:component>web</t:component><t:idempotencyKey>shared</t:idempotencyKey>'), auth()))).body);
      const b = requestId((await postRaw(url, envelope(install('<t:system>sim1</t:system><t:component>web</t:component><t:idempotencyKey>shared</t:idempotencyKey>'), securityHeader({ username: 'op2', password: 'engine-secret-2' })))).body);
      expect(a).to.be.a('string');
      expect(b).to.be.a('string').and.not.equal(a);
    });
  });

  describe('WSDL serving', () => {
    for (const name of ['Software', 'File', 'Request', 'Callback']) {
      it(`GET /soap/${name}?wsdl returns the document with this server's address`, async () => {
        const r = await fetch(`${server.baseUrl}/soap/${name}?wsdl`);
        expect(r.status).to.equal(200);
        const text = await r.text();
        expect(text).to.contain(`${name}PortType`);
        expect(text).to.contain(`location="${server.baseUrl}/soap/${name}"`);
      });
    }
  });
});
