import fs from 'node:fs';
import path from 'node:path';
import { expect } from 'chai';
import { simpleParser } from 'mailparser';
import { ConfigError, loadConfig } from '../../src/config';
import { parseOrderMail } from '../../src/mail/order-format';

const DOC = path.resolve(__dirname, '..', '..', '..', 'docs', 'email.md');

describe('docs/email.md', () => {
  it('shows an example mail that reads as the order it describes', async () => {
    const example = /```mail\n([\s\S]*?)```/.exec(fs.readFileSync(DOC, 'utf8'))?.[1];
    expect(example, 'a ```mail block').to.be.a('string');
    const mail = await simpleParser((example ?? '').replace(/\n/g, '\r\n'));
    expect(parseOrderMail(mail.subject, mail.text)).to.deep.equal({
      ok: true,
      type: 'CreateVolume',
      parameters: [
        { name: 'volume', value: 'backups' },
        { name: 'sizeGiB', value: '10' },
        { name: 'tier', value: 'performance' },
      ],
    });
  });

  it('lists every mail setting with the default the configuration uses', () => {
    const doc = fs.readFileSync(DOC, 'utf8');
    const defaults = loadConfig({}, '/tmp').mail;
    expect(defaults).to.deep.equal({
      smtpPort: null,
      smtpHost: '127.0.0.1',
      intakeAddresses: ['orders@provisor.local'],
      maxMessageBytes: 262_144,
      relayUrl: undefined,
      from: 'Provisor <orders@provisor.local>',
      sendAttempts: 4,
      sendBackoffMs: 2000,
    });
    for (const [name, shown] of [
      ['PROVISOR_SMTP_PORT', 'unset: no intake'],
      ['PROVISOR_SMTP_HOST', '`127.0.0.1`'],
      ['PROVISOR_SMTP_ADDRESS', '`orders@provisor.local`'],
      ['PROVISOR_SMTP_MAX_BYTES', '`262144`'],
      ['PROVISOR_MAIL_RELAY', 'unset: log only'],
      ['PROVISOR_MAIL_FROM', '`Provisor <` first intake address `>`'],
      ['PROVISOR_MAIL_SEND_ATTEMPTS', '`4`'],
      ['PROVISOR_MAIL_BACKOFF_MS', '`2000`'],
    ]) {
      expect(doc).to.include(`| \`${name}\` | ${shown}`);
    }
  });
});

describe('the mail settings', () => {
  it('read several intake addresses in lower case and derive the From from the first', () => {
    const mail = loadConfig({ PROVISOR_SMTP_PORT: '2525', PROVISOR_SMTP_ADDRESS: 'Orders@Example.com, intake@example.com' }, '/tmp').mail;
    expect(mail).to.deep.include({ smtpPort: 2525, intakeAddresses: ['orders@example.com', 'intake@example.com'], from: 'Provisor <orders@example.com>' });
    expect(loadConfig({ PROVISOR_SMTP_PORT: '0' }, '/tmp').mail.smtpPort).to.equal(null);
  });

  it('refuse what is not an address or an SMTP URL, naming the setting', () => {
    expect(() => loadConfig({ PROVISOR_SMTP_ADDRESS: 'orders' }, '/tmp')).to.throw(ConfigError, /PROVISOR_SMTP_ADDRESS/);
    expect(() => loadConfig({ PROVISOR_MAIL_RELAY: 'http://relay:25' }, '/tmp')).to.throw(ConfigError, /PROVISOR_MAIL_RELAY/);
    expect(() => loadConfig({ PROVISOR_MAIL_FROM: 'Provisor' }, '/tmp')).to.throw(ConfigError, /PROVISOR_MAIL_FROM/);
    expect(() => loadConfig({ PROVISOR_SMTP_MAX_BYTES: '10' }, '/tmp')).to.throw(ConfigError, /PROVISOR_SMTP_MAX_BYTES/);
    expect(loadConfig({ PROVISOR_MAIL_RELAY: 'smtps://user:secret@relay.example:465', PROVISOR_MAIL_FROM: 'ops@example.com' }, '/tmp').mail).to.deep.include({
      relayUrl: 'smtps://user:secret@relay.example:465',
      from: 'ops@example.com',
    });
  });
});
