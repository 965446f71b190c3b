import fs from 'node:fs';
import path from 'node:path';
import { expect } from 'chai';
import { ERROR_CATALOGUE } from '../src/errors';

describe('the fault catalogue', () => {
  const doc = fs.readFileSync(path.join(__dirname, '..', '..', 'docs', 'faults.md'), 'utf8');
  const documented = [...doc.matchAll(/^\| `(\w+)` \| ([^|]+) \| (\d+) \|/gm)].map((m) => ({ code: m[1] ?? '', cls: (m[2] ?? '').trim(), http: Number(m[3]) }));

  it('documents every code of src/errors.ts, and no other', () => {
    expect(documented.map((d) => d.code).sort()).to.deep.equal(Object.keys(ERROR_CATALOGUE).sort());
  });

  it('documents each code with its fault class and HTTP status', () => {
    for (const d of documented) {
      const entry = ERROR_CATALOGUE[d.code as keyof typeof ERROR_CATALOGUE];
      expect(d.http, d.code).to.equal(entry.http);
      if (d.code !== 'VersionMismatch' && d.code !== 'MustUnderstand') expect(d.cls, d.code).to.equal(entry.sender ? 'Client / Sender' : 'Server / Receiver');
    }
  });

  it('is what the WSDL documentation promises', () => {
    const wsdl = fs.readFileSync(path.join(__dirname, '..', '..', 'wsdl', 'software.wsdl'), 'utf8');
    for (const code of ['UnknownSystem', 'UnknownPackage', 'MissingField', 'InvalidField', 'AuthenticationFailed']) {
      expect(wsdl, code).to.contain(code);
      expect(ERROR_CATALOGUE).to.have.property(code);
    }
  });
});
