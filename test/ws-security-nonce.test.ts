import crypto from 'node:crypto';
import { expect } from 'chai';
import { startTestServer, type TestServer } from './support/harness';
import { envelope, postRaw, securityHeader } from './support/soap-client';

const SW = 'urn:provisor:software:1';
const operator = { username: 'op', password: 'operator-secret-1' };
const INSTALL = `<t:Install xmlns:t="${SW}"><t:system>sim1</t:system><t:component>c</t:component></t:Install>`;

function faultCode(body: string): string | undefined {
  return /<p:code>([^<]*)<\/p:code>/.exec(body)?.[1];
}

function faultReason(body: string): string {
  return /<faultstring>([^<]*)<\/faultstring>/.exec(body)?.[1] ?? /<soap:Text[^>]*>([^<]*)<\/soap:Text>/.exec(body)?.[1] ?? '';
}

/** The Nonce element's text in a header built by securityHeader. */
function withNonceText(header: string, text: string): string {
  return header.replace(/(<wsse:Nonce[^>]*>)[^<]*(<\/wsse:Nonce>)/, (_m, open: string, close: string) => `${open}${text}${close}`);
}

/**
 * Ways to write the same nonce bytes (or nearly) that a lenient base64
 * decoder reads as the original: each must be refused once the original was
 * used, as a replay or as an invalid nonce.
 */
function reEncodings(canonical: string): Array<[string, string]> {
  const unpadded = canonical.replace(/=+$/, '');
  const middle = Math.floor(canonical.length / 2);
  return [
    ['the same text', canonical],
    ['a "!" inside', `${canonical.slice(0, middle)}!${canonical.slice(middle)}`],
    ['an extra "=="', `${canonical}==`],
    ['the padding left off', unpadded],
    ['"==" in the middle', `${canonical.slice(0, 4)}==${canonical.slice(4)}`],
    ['a newline inside', `${canonical.slice(0, middle)}\n${canonical.slice(middle)}`],
    ['a space inside', `${canonical.slice(0, middle)} ${canonical.slice(middle)}`],
    ['a tab inside', `${canonical.slice(0, middle)}\t${canonical.slice(middle)}`],
    ['a CR LF inside', `${canonical.slice(0, middle)}&#13;\n${canonical.slice(middle)}`],
    ['base64url', canonical.replace(/\+/g, '-').replace(/\//g, '_')],
    ['base64url without padding', unpadded.replace(/\+/g, '-').replace(/\//g, '_')],
    ['non-zero unused bits in the last character', canonical.replace(/A==$/, 'B==')],
    ['white space at both ends', `\n  ${canonical}\t `],
    ['a non-breaking space at the end', `${canonical}\u00a0`],
    ['an XML character reference for a letter', `&#${canonical.charCodeAt(0)};${canonical.slice(1)}`],
  ];
}

describe('WS-Security nonces: one value, one spelling', function () {
  this.timeout(60_000);
  let server: TestServer;
  let url: string;

  before(async () => {
    server = await startTestServer({ PROVISOR_ENGINE: 'false' });
    await server.addUser(operator.username, 'operator', operator.password);
    await server.app.systems.add('sim1', 'simulated');
    url = `${server.baseUrl}/soap/Software`;
  });
  after(() => server.close());

  async function requests(): Promise<number> {
    const rows = (await server.dataSource.query('SELECT COUNT(*) AS n FROM provisioning_request')) as Array<{ n: unknown }>;
    return Number(rows[0]?.n);
  }

  // 16 bytes whose base64 has a '+', a '/' and ends in "A==" (so every variant above applies).
  const NONCE = Buffer.from([0xfb, 0xff, 0xbf, 0x01, 0x02, 0x03, 0x04, 0x05, 0x06, 0x07, 0x08, 0x09, 0x0a, 0x0b, 0x0c, 0x00]);

  for (const digest of [true, false]) {
    describe(`when a ${digest ? 'PasswordDigest' : 'PasswordText'} token's nonce was used once`, () => {
      it('refuses every re-encoding of it, as a replay or as an invalid nonce, and queues nothing', async () => {
        const nonce = Buffer.from(NONCE);
        nonce[14] = digest ? 0x11 : 0x22; // a nonce of its own per token type
        const canonical = nonce.toString('base64');
        expect(canonical).to.match(/\+/).and.match(/\//).and.match(/A==$/);
        const header = securityHeader(operator, { digest, nonce });
        const first = await postRaw(url, envelope(INSTALL, header));
        expect(first.status, first.body).to.equal(200);
        const before = await requests();
        const accepted: string[] = [];
        for (const [name, text] of reEncodings(canonical)) {
          const r = await postRaw(url, envelope(INSTALL, withNonceText(header, text)));
          const code = faultCode(r.body);
          if (r.status === 200) accepted.push(name);
          else expect(code, `${name}: ${r.body}`).to.be.oneOf(['NonceReplayed', 'AuthenticationFailed']);
          if (code === 'AuthenticationFailed') expect(faultReason(r.body), name).to.match(/Nonce/);
          expect(r.body, name).to.contain('<faultcode>soap:Client</faultcode>');
        }
        expect(accepted, 'replays accepted').to.deep.equal([]);
        expect(await requests()).to.equal(before);
      });
    });
  }

  it('refuses an empty nonce, an over-long one, one of another EncodingType, and names the Nonce (SOAP 1.2: Sender)', async () => {
    const header = securityHeader(operator, { digest: false });
    const cases: Array<[string, string]> = [
      ['empty', withNonceText(header, '')],
      ['white space only', withNonceText(header, '   ')],
      ['over-long', withNonceText(header, crypto.randomBytes(1024).toString('base64'))],
      ['of another encoding type', header.replace(/EncodingType="[^"]*"/, 'EncodingType="http://docs.oasis-open.org/wss/2004/01/oasis-200401-wss-soap-message-security-1.0#HexBinary"')],
    ];
    for (const [name, h] of cases) {
      const r = await postRaw(url, envelope(INSTALL, h, '1.2'), '1.2');
      expect(r.status, `${name}: ${r.body}`).to.equal(400);
      expect(r.body, name).to.contain('soap:Sender');
      expect(faultCode(r.body), name).to.equal('AuthenticationFailed');
      expect(faultReason(r.body), name).to.match(/Nonce/);
    }
  });

  it('accepts a fresh nonce with white space around it (pretty-printed XML), and then refuses it without', async () => {
    const nonce = crypto.randomBytes(16);
    const header = securityHeader(operator, { digest: true, nonce });
    const spaced = await postRaw(url, envelope(INSTALL, withNonceText(header, `\n      ${nonce.toString('base64')}\n    `)));
    expect(spaced.status, spaced.body).to.equal(200);
    const again = await postRaw(url, envelope(INSTALL, header));
    expect(faultCode(again.body)).to.equal('NonceReplayed');
  });

  it('refuses a PasswordDigest value that is not canonical base64', async () => {
    const header = securityHeader(operator, { digest: true });
    const digest = /#PasswordDigest">([^<]*)</.exec(header)?.[1] ?? '';
    const r = await postRaw(url, envelope(INSTALL, header.replace(`>${digest}<`, `>${digest.replace(/=$/, '')}<`)));
    expect(faultCode(r.body)).to.equal('AuthenticationFailed');
    expect(faultReason(r.body)).to.match(/PasswordDigest value is not canonical base64/);
  });
});
