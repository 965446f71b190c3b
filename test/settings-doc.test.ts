import fs from 'node:fs';
import path from 'node:path';
import { expect } from 'chai';
import { describeSettings, loadConfig } from '../src/config';
import { settingsTable } from '../scripts/print-settings';

const OPERATIONS = path.join(__dirname, '..', '..', 'docs', 'operations.md');

describe('the settings table of docs/operations.md', () => {
  it('is the one generated from src/config.ts (regenerate it with node dist/scripts/print-settings.js)', () => {
    const text = fs.readFileSync(OPERATIONS, 'utf8');
    const documented = /<!-- settings:begin -->\n([\s\S]*?)\n<!-- settings:end -->/.exec(text)?.[1];
    expect(documented, 'the settings markers in docs/operations.md').to.be.a('string');
    expect(documented).to.equal(settingsTable());
  });

  it('lists every setting loadConfig reads, with a purpose for each', () => {
    const names = describeSettings().map((s) => s.name);
    for (const required of ['PORT', 'HOST', 'DATABASE_URL', 'PROVISOR_DATA_DIR', 'LOG_LEVEL', 'PROVISOR_CATALOG']) expect(names).to.include(required);
    expect(settingsTable()).to.include('| `PROVISOR_CONFIG` |');
    for (const line of settingsTable().split('\n').slice(2)) expect(line, line).to.not.match(/\|\s*\|$/);
  });

  it('finds a setting read from the environment that the table would miss (the check can fail)', () => {
    const read: string[] = [];
    loadConfig({ PORT: '9090' }, '/', (s) => read.push(s.name));
    expect(read).to.include('PORT');
    expect(() => loadConfig({ PORT: 'eighty' })).to.throw(/PORT must be an integer/);
  });
});
