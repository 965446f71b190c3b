import fs from 'node:fs';
import path from 'node:path';
import { expect } from 'chai';
import { formatPsplib, parseMakespanTable, parsePsplib, psplibProblem, PsplibFormatError } from '../../src/changemanager/psplib';
import { projectRoot } from '../../src/project-root';

const fixture = path.join(projectRoot(), 'test', 'fixtures', 'psplib', 'j3010_1.sm');

function formatError(text: string): PsplibFormatError {
  try {
    parsePsplib(text);
  } catch (err) {
    expect(err).to.be.instanceOf(PsplibFormatError);
    return err as PsplibFormatError;
  }
  throw new Error('the text was accepted');
}

describe('the PSPLIB .sm format', () => {
  const text = fs.readFileSync(fixture, 'latin1');

  it('reads jobs, successors, durations, demands and capacities', () => {
    const instance = parsePsplib(text);
    expect(instance.jobs).to.have.length(32);
    expect(instance.capacities).to.deep.equal([24, 23, 25, 33]);
    expect(instance.horizon).to.equal(164);
    expect(instance.jobs[0]).to.deep.equal({ number: 1, duration: 0, successors: [2, 3, 4], demands: [0, 0, 0, 0] });
    expect(instance.jobs[2]).to.deep.equal({ number: 3, duration: 5, successors: [9, 15, 16], demands: [0, 5, 9, 10] });
    expect(instance.jobs[31]?.successors).to.deep.equal([]);
  });

  it('becomes a problem with job numbers as task ids and finish-to-start precedences', () => {
    const problem = psplibProblem(parsePsplib(text));
    expect(problem.tasks.map((t) => t.id)).to.deep.equal(Array.from({ length: 32 }, (_, i) => String(i + 1)));
    expect(problem.tasks[2]).to.deep.equal({ id: '3', duration: 5, demands: { R2: 5, R3: 9, R4: 10 } });
    expect(problem.precedences).to.deep.include({ from: '1', to: '2', type: 'FS' });
    expect(problem.precedences).to.have.length(48);
  });

  it('writes what it reads', () => {
    const instance = parsePsplib(text);
    expect(parsePsplib(formatPsplib(instance))).to.deep.equal(instance);
  });

  it('names the line of a malformed job', () => {
    const lines = text.split('\n');
    const at = lines.findIndex((l) => /^\s+5\s+1\s+4\s+8/.test(l));
    lines[at] = '  5      1     4       8    x    0    8';
    const err = formatError(lines.join('\n'));
    expect(err.line).to.equal(at + 1);
    expect(err.message).to.equal(`line ${at + 1}: requests/durations: expected whole numbers, got "x"`);
  });

  it('names the line of a job out of order, and a successor that is no job', () => {
    const swapped = text.replace(/^ {3}3 {8}1 {10}3 {11}9 {2}15 {2}16$/m, '   4        1          3           9  15  16');
    expect(formatError(swapped).message).to.match(/^line 21: precedence relations: expected job 3/);
    const unknown = text.replace(/^ {3}3 {8}1 {10}3 {11}9 {2}15 {2}16$/m, '   3        1          3           9  15  99');
    expect(formatError(unknown).message).to.equal('line 21: precedence relations: job 3 has successor 99, not a job of 1 to 32 other than itself');
  });

  it('says what is missing from a truncated file', () => {
    const cut = text.slice(0, text.indexOf('RESOURCEAVAILABILITIES'));
    expect(formatError(cut).message).to.contain('no "RESOURCEAVAILABILITIES:" section found');
    expect(formatError('hello\n').message).to.contain('no "jobs (incl. supersource/sink )" line found');
  });

  it('reads a table of optimal makespans', () => {
    const table = 'Par\tInst\tMakespan\tDate\n====\n1\t1\t43\t\tTue May 29 21:35:05 2007  R. Elshaer\n48\t10\t54\t\tTue\n';
    expect(parseMakespanTable(table)).to.deep.equal([
      { group: 1, instance: 1, makespan: 43 },
      { group: 48, instance: 10, makespan: 54 },
    ]);
  });
});
