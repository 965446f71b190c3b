import { expect } from 'chai';
import { parametersFromBody, parseOrderMail, typeFromSubject } from '../../src/mail/order-format';

describe('the e-mail order format', () => {
  describe('the subject', () => {
    it('is the type name, with or without a "Work order:" prefix in any case', () => {
      expect(typeFromSubject('CreateVolume')).to.equal('CreateVolume');
      expect(typeFromSubject('  Work order: CreateVolume ')).to.equal('CreateVolume');
      expect(typeFromSubject('WORK ORDER:ExpandVolume')).to.equal('ExpandVolume');
      expect(typeFromSubject('work  order :  Snapshot')).to.equal('Snapshot');
    });

    it('is a problem when empty or more than a type name', () => {
      expect(typeFromSubject(undefined)).to.have.property('message').that.matches(/subject is empty/);
      expect(typeFromSubject('Please create a volume')).to.have.property('message').that.includes('"Please create a volume" is not a work-order type name');
      expect(typeFromSubject('Work order:')).to.have.property('message').that.matches(/subject is empty/);
    });
  });

  describe('the body', () => {
    it('reads name: value lines, trimming blanks and keeping colons in values', () => {
      const { parameters, problems } = parametersFromBody('size: 100\r\n\r\n  name :backups  \nurl: http://example.com:8080/x\nempty:\n');
      expect(problems).to.deep.equal([]);
      expect(parameters).to.deep.equal([
        { name: 'size', value: '100' },
        { name: 'name', value: 'backups' },
        { name: 'url', value: 'http://example.com:8080/x' },
        { name: 'empty', value: '' },
      ]);
    });

    it('ignores a quoted reply and its attribution line, and stops at the signature', () => {
      const text = [
        'size: 5',
        '',
        'On Tue, 3 Mar 2026 at 10:00, Provisor <orders@provisor.local> wrote:',
        '> Your mail could not be read as a work order',
        '>',
        '> nonsense here',
        'pool: fast',
        '-- ',
        'Ann Example',
        'Storage team: call me',
      ].join('\n');
      const { parameters, problems } = parametersFromBody(text);
      expect(problems).to.deep.equal([]);
      expect(parameters).to.deep.equal([
        { name: 'size', value: '5' },
        { name: 'pool', value: 'fast' },
      ]);
    });

    it('names every line that is not name: value, and a parameter given twice', () => {
      const { problems } = parametersFromBody('size: 5\nplease hurry\nsize: 6\n= broken\n');
      expect(problems.map((p) => p.line)).to.deep.equal([2, 3, 4]);
      expect(problems[0]?.message).to.equal('line 2 "please hurry" is not a "name: value" line');
      expect(problems[1]?.message).to.equal('line 3: parameter "size" is given again (first on line 1)');
    });

    it('does not take a line ending in a colon for an attribution unless a quote follows', () => {
      const { problems } = parametersFromBody('Dear support team, here is my order:\nsize: 5\n');
      expect(problems).to.have.length(1);
      expect(problems[0]?.line).to.equal(1);
    });
  });

  it('reports subject and body problems together', () => {
    const parsed = parseOrderMail('a new volume please', 'size 5\n');
    expect(parsed.ok).to.equal(false);
    if (!parsed.ok) expect(parsed.problems.map((p) => p.message)).to.have.length(2);
  });

  it('asks for a plain-text body when there is none', () => {
    const parsed = parseOrderMail('CreateVolume', undefined);
    expect(parsed).to.deep.include({ ok: false });
    if (!parsed.ok) expect(parsed.problems[0]?.message).to.match(/no plain-text body/);
  });

  it('gives the type and the parameters of a good mail', () => {
    expect(parseOrderMail('Work order: CreateVolume', 'size: 10\n')).to.deep.equal({ ok: true, type: 'CreateVolume', parameters: [{ name: 'size', value: '10' }] });
  });
});
