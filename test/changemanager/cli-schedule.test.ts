import { spawn } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { expect } from 'chai';
import { parsePsplib, psplibProblem } from '../../src/changemanager/psplib';
import { checkSchedule } from '../../src/changemanager/scheduler';
import { projectRoot } from '../../src/project-root';

const root = projectRoot();
const bin = path.join(root, 'scripts', 'provisor.js');
const fixtures = path.join(root, 'test', 'fixtures', 'psplib');

interface Result {
  readonly code: number | null;
  readonly out: string;
  readonly err: string;
}

function provisor(args: readonly string[]): Promise<Result> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [bin, ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    let err = '';
    child.stdout.setEncoding('utf8').on('data', (chunk: string) => (out += chunk));
    child.stderr.setEncoding('utf8').on('data', (chunk: string) => (err += chunk));
    child.on('error', reject);
    child.on('close', (code) => resolve({ code, out, err }));
  });
}

interface Line {
  readonly file: string;
  readonly makespan: number;
  readonly lowerBound: number;
  readonly starts: Record<string, number>;
}

describe('provisor schedule', function () {
  this.timeout(60_000);
  let dir: string;

  before(() => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'provisor-schedule-'));
  });
  after(() => fs.rmSync(dir, { recursive: true, force: true }));

  it('prints one JSON line per file: makespan, lower bound and the start of every job by its number', async () => {
    const files = ['j3010_1.sm', 'j3045_1.sm'].map((f) => path.join(fixtures, f));
    const result = await provisor(['schedule', ...files, '--time-limit', '0.3', '--seed', '3', '--json']);
    expect(result.err).to.equal('');
    expect(result.code).to.equal(0);
    const lines = result.out.trimEnd().split('\n').map((l) => JSON.parse(l) as Line);
    expect(lines.map((l) => l.file)).to.deep.equal(files);
    const optima = [42, 82];
    lines.forEach((line, k) => {
      expect(Object.keys(line).slice(0, 4)).to.deep.equal(['file', 'makespan', 'lowerBound', 'starts']);
      expect(Object.keys(line.starts)).to.deep.equal(Array.from({ length: 32 }, (_, i) => String(i + 1)));
      expect(line.starts['1']).to.equal(0);
      expect(line.starts['32']).to.equal(line.makespan);
      expect(line.makespan).to.be.at.least(optima[k] as number);
      expect(line.lowerBound).to.be.at.most(optima[k] as number);
      const problem = psplibProblem(parsePsplib(fs.readFileSync(files[k] as string, 'latin1')));
      expect(checkSchedule(problem, line.starts)).to.deep.equal([]);
    });
  });

  it('fails with exit code 2 naming a missing file, printing nothing', async () => {
    const missing = path.join(dir, 'nowhere.sm');
    const result = await provisor(['schedule', path.join(fixtures, 'j3010_1.sm'), missing, '--json']);
    expect(result.code).to.equal(2);
    expect(result.out).to.equal('');
    expect(result.err).to.equal(`provisor: ${missing}: no such file\n`);
  });

  it('fails with exit code 2 naming the line of a malformed instance', async () => {
    const lines = fs.readFileSync(path.join(fixtures, 'j3010_1.sm'), 'latin1').split('\n');
    const at = lines.findIndex((l) => /^\s+4\s+1\s+6\s+8\s+10\s+10\s+0\s*$/.test(l));
    lines[at] = '  4      1     6       8   10';
    const broken = path.join(dir, 'broken.sm');
    fs.writeFileSync(broken, lines.join('\n'));
    const result = await provisor(['schedule', broken, '--json']);
    expect(result.code).to.equal(2);
    expect(result.err).to.equal(`provisor: ${broken}: not a PSPLIB .sm instance: line ${at + 1}: requests/durations: expected job 4, mode, duration and 4 resource requests\n`);
  });

  it('refuses a time limit that is not a positive number of seconds', async () => {
    const result = await provisor(['schedule', path.join(fixtures, 'j3010_1.sm'), '--time-limit', 'soon']);
    expect(result.code).to.equal(2);
    expect(result.err).to.contain("option '--time-limit <seconds>' argument 'soon' is invalid. must be a number of seconds above 0");
  });
});
