import { expect } from 'chai';
import { ConfigError, loadConfig } from '../../src/config';
import { contains, formatIp, parseIp, parseNetwork } from '../../src/net/cidr';
import { DestinationDeniedError, DestinationPolicy, type DestinationSettings } from '../../src/net/destination-policy';

const OWN_HTTP = 18080;
const OWN_SMTP = 12525;

/** A policy with Provisor on OWN_HTTP and OWN_SMTP; names resolve through the table (no DNS query leaves the test). */
function policy(settings: Partial<DestinationSettings> = {}, names: Record<string, string[]> = {}): DestinationPolicy {
  return new DestinationPolicy(
    { allowNetworks: [], denyNetworks: [], allowOwnPorts: false, ...settings },
    () => [OWN_HTTP, OWN_SMTP],
    (host) => {
      const addresses = names[host];
      if (addresses === undefined) return Promise.reject(Object.assign(new Error(`getaddrinfo ENOTFOUND ${host}`), { code: 'ENOTFOUND' }));
      return Promise.resolve(addresses.map((address) => ({ address, family: address.includes(':') ? 6 : 4 })));
    },
  );
}

describe('the outbound destination policy', () => {
  describe('when deciding on one address', () => {
    it('refuses the link-local cloud-metadata address 169.254.169.254 by default, naming the rule', () => {
      expect(policy().decide('169.254.169.254', 80)).to.deep.equal({ allowed: false, rule: '169.254.0.0/16 is denied by default (link-local or "this host"; PROVISOR_OUTBOUND_ALLOW may admit it)' });
    });

    it('refuses IPv6 link-local fe80::1 by default', () => {
      expect(policy().decide('fe80::1', 80)).to.include({ allowed: false });
      expect(policy().decide('fe80::1', 80).rule).to.contain('fe80::/10');
    });

    it('sees through IPv4-mapped IPv6: ::ffff:169.254.169.254 is refused like 169.254.169.254', () => {
      expect(policy().decide('::ffff:169.254.169.254', 80).rule).to.contain('169.254.0.0/16');
      expect(policy().decide('::ffff:a9fe:a9fe', 80).allowed).to.equal(false);
      expect(policy({ denyNetworks: ['10.0.0.0/8'] }).decide('::ffff:10.1.2.3', 443).allowed).to.equal(false);
    });

    it('refuses "this host" addresses (0.0.0.0, ::), which reach the local machine', () => {
      expect(policy().decide('0.0.0.0', 80).allowed).to.equal(false);
      expect(policy().decide('::', 80).allowed).to.equal(false);
    });

    it('admits 10.0.0.1 without an allow list, and refuses it when an allow list does not name it', () => {
      expect(policy().decide('10.0.0.1', 443)).to.deep.equal({ allowed: true, rule: 'no rule denies it' });
      expect(policy({ allowNetworks: ['192.168.0.0/16'] }).decide('10.0.0.1', 443)).to.deep.equal({ allowed: false, rule: '10.0.0.1 is in no allowed network (PROVISOR_OUTBOUND_ALLOW)' });
      expect(policy({ allowNetworks: ['192.168.0.0/16', '10.0.0.0/8'] }).decide('10.0.0.1', 443)).to.deep.equal({ allowed: true, rule: 'allow rule 10.0.0.0/8 (PROVISOR_OUTBOUND_ALLOW)' });
    });

    it('lets a deny rule win over an allow rule', () => {
      const p = policy({ allowNetworks: ['10.0.0.0/8'], denyNetworks: ['10.0.0.0/24'] });
      expect(p.decide('10.0.0.1', 443)).to.deep.equal({ allowed: false, rule: 'deny rule 10.0.0.0/24 (PROVISOR_OUTBOUND_DENY)' });
      expect(p.decide('10.0.1.1', 443).allowed).to.equal(true);
    });

    it('admits a link-local network only when an allow rule names it', () => {
      expect(policy({ allowNetworks: ['169.254.10.0/24'] }).decide('169.254.10.5', 80).allowed).to.equal(true);
      expect(policy({ allowNetworks: ['169.254.10.0/24'] }).decide('169.254.169.254', 80).allowed).to.equal(false);
    });

    it('refuses Provisor\'s own HTTP and SMTP ports on this host, and only those', () => {
      expect(policy().decide('127.0.0.1', OWN_HTTP).rule).to.equal(`port ${OWN_HTTP} on this host is one of Provisor's own listening ports (PROVISOR_OUTBOUND_ALLOW_OWN_PORTS)`);
      expect(policy().decide('::1', OWN_SMTP).allowed).to.equal(false);
      expect(policy().decide('127.0.0.2', OWN_HTTP).allowed).to.equal(false);
      expect(policy().decide('127.0.0.1', OWN_HTTP + 1).allowed).to.equal(true);
      expect(policy().decide('10.0.0.1', OWN_HTTP).allowed).to.equal(true);
      expect(policy({ allowNetworks: ['127.0.0.0/8'] }).decide('127.0.0.1', OWN_HTTP).allowed).to.equal(false);
      expect(policy({ allowOwnPorts: true }).decide('127.0.0.1', OWN_HTTP).allowed).to.equal(true);
    });
  });

  describe('when checking a URL', () => {
    it('checks every address a name resolves to, and refuses the name when one of them is denied', async () => {
      const p = policy({}, { 'partner.example': ['10.0.0.7', '169.254.169.254'] });
      const err = await p.check('http://partner.example/soap').then(
        () => undefined,
        (e: unknown) => e,
      );
      expect(err).to.be.instanceOf(DestinationDeniedError);
      expect((err as DestinationDeniedError).address).to.equal('169.254.169.254');
      expect((err as Error).message).to.equal('http://partner.example/soap (address 169.254.169.254) is refused by the outbound policy: 169.254.0.0/16 is denied by default (link-local or "this host"; PROVISOR_OUTBOUND_ALLOW may admit it)');
    });

    it('returns the checked address to connect to, with the host name kept for the Host header', async () => {
      const checked = await policy({}, { 'partner.example': ['10.0.0.7'] }).check('https://partner.example:8443/soap');
      expect(checked).to.include({ host: 'partner.example', port: 8443, address: '10.0.0.7', family: 4 });
    });

    it('refuses literal IPv6 link-local and mapped addresses in a URL, and names that do not resolve', async () => {
      for (const url of ['http://[fe80::1]/', 'http://[::ffff:169.254.169.254]/latest/meta-data', 'http://nowhere.example/']) {
        const err = await policy().check(url).then(
          () => undefined,
          (e: unknown) => e,
        );
        expect(err, url).to.be.instanceOf(DestinationDeniedError);
      }
    });

    it('uses the default port of the scheme for the own-port rule', async () => {
      const p = new DestinationPolicy({ allowNetworks: [], denyNetworks: [], allowOwnPorts: false }, () => [80]);
      const err = await p.check('http://127.0.0.1/').then(
        () => undefined,
        (e: unknown) => e,
      );
      expect((err as Error).message).to.contain('port 80 on this host');
    });
  });

  describe('CIDR lists', () => {
    it('parse IPv4, IPv6 and IPv4-mapped networks', () => {
      expect(contains(parseNetwork('fe80::/10'), parseIp('febf::1') ?? { family: 6, value: 0n })).to.equal(true);
      expect(contains(parseNetwork('fe80::/10'), parseIp('fec0::1') ?? { family: 6, value: 0n })).to.equal(false);
      expect(parseNetwork('::ffff:10.0.0.0/104')).to.include({ family: 4, prefix: 8 });
      expect(formatIp(parseIp('::ffff:169.254.169.254') ?? { family: 6, value: 0n })).to.equal('169.254.169.254');
      expect(() => parseNetwork('10.0.0.0/33')).to.throw('prefix length');
      expect(() => parseNetwork('example.com/8')).to.throw('not an IPv4 or IPv6 network');
    });

    it('are validated by the configuration, which names the setting, with the other outbound and SMTP limits', () => {
      expect(loadConfig({ PROVISOR_OUTBOUND_ALLOW: '10.0.0.0/8, fd00::/8' }, '/tmp').outbound.allowNetworks).to.deep.equal(['10.0.0.0/8', 'fd00::/8']);
      expect(() => loadConfig({ PROVISOR_OUTBOUND_DENY: '10.0.0.0/8,nonsense' }, '/tmp')).to.throw(ConfigError, 'PROVISOR_OUTBOUND_DENY');
      expect(loadConfig({}, '/tmp').outbound).to.deep.equal({
        maxResponseBytes: 4 * 1024 * 1024,
        timeoutMs: 10_000,
        allowNetworks: [],
        denyNetworks: [],
        allowOwnPorts: false,
        smtpMaxConnections: 100,
        smtpMaxConnectionsPerAddress: 10,
        smtpMaxSessionMs: 600_000,
        smtpIdleTimeoutMs: 60_000,
      });
      expect(() => loadConfig({ PROVISOR_OUTBOUND_MAX_RESPONSE_BYTES: '10' }, '/tmp')).to.throw(ConfigError, 'PROVISOR_OUTBOUND_MAX_RESPONSE_BYTES must be between 1024');
      expect(() => loadConfig({ PROVISOR_SMTP_MAX_CONNECTIONS_PER_ADDRESS: '0' }, '/tmp')).to.throw(ConfigError, 'PROVISOR_SMTP_MAX_CONNECTIONS_PER_ADDRESS');
    });
  });
});
