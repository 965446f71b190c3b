import { spawn } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { expect } from 'chai';
import { checkStaticLimits, DEFAULT_PLAN_LIMITS, tooDeep, tooDeepText } from '../../src/bpel/limits';
import { ProcessDefinitionError } from '../../src/bpel/model';
import { parseProcess } from '../../src/bpel/parser';
import { validateProcess } from '../../src/bpel/validate';
import { parseDom } from '../../src/xml/dom';
import { bpel, parse } from './fixtures';

function nested(depth: number): string {
  return `${'<sequence>'.repeat(depth)}<empty/>${'</sequence>'.repeat(depth)}`;
}

function forEach(start: string, final: string, parallel: boolean): string {
  return `<forEach name="each" counterName="i" parallel="${parallel ? 'yes' : 'no'}"><startCounterValue>${start}</startCounterValue><finalCounterValue>${final}</finalCounterValue><scope><empty/></scope></forEach>`;
}

describe('plan limits in the BPEL layer', () => {
  describe('nesting depth in the text, before a tree is built (the DOM parser took 100 ms for 5,000 levels)', () => {
    it('counts start tags only: empty elements, end tags, comments, CDATA, processing instructions and quoted ">" do not nest', () => {
      const text = [
        '<?xml version="1.0"?>',
        '<a><!-- <b><b><b> -->',
        '  <b x="1 > 0" y=\'/>\'><![CDATA[<c><c><c>]]>',
        '    <c/><c></c><?pi <d><d>?>',
        '    <c><d/></c>',
        '  </b>',
        '</a>',
      ].join('\n');
      expect(tooDeepText(text, 4)).to.equal(undefined);
      expect(tooDeepText(text, 3)).to.deep.equal({ depth: 4, line: 5 });
      expect(tooDeepText(text, 2)).to.deep.equal({ depth: 3, line: 4 });
    });

    it('agrees with the depth measured on the tree, for documents of every depth around the limit', () => {
      for (let depth = 1; depth <= 12; depth++) {
        const text = bpel(nested(depth));
        const parsed = parseDom(text);
        if ('problem' in parsed) throw new Error(parsed.problem.message);
        const root = parsed.document.documentElement;
        if (root === null) throw new Error('no root');
        for (const limit of [5, 8, 11]) {
          expect(tooDeepText(text, limit)?.depth, `depth ${depth}, limit ${limit}`).to.equal(tooDeep(root, limit)?.depth);
        }
      }
    });
  });

  describe('nesting depth', () => {
    it('refuses a document nested 50,000 deep with the nesting limit and its line, not a stack overflow', () => {
      let error: unknown;
      try {
        parseProcess(bpel(nested(50_000)), 'deep.bpel');
      } catch (err) {
        error = err;
      }
      expect(error).to.be.instanceOf(ProcessDefinitionError);
      const diagnostics = (error as ProcessDefinitionError).diagnostics;
      expect(diagnostics).to.have.length(1);
      expect(diagnostics[0]?.message).to.equal(`elements nest deeper than the nesting limit of ${DEFAULT_PLAN_LIMITS.maxNestingDepth} (PROVISOR_PLAN_MAX_DEPTH)`);
      expect(diagnostics[0]?.line).to.equal(2);
    });

    it('takes the limit it is given, and a plan within it parses and validates', () => {
      expect(() => parseProcess(bpel(nested(30)), 'ok.bpel', { maxNestingDepth: 40 })).to.not.throw();
      expect(() => parseProcess(bpel(nested(40)), 'deep.bpel', { maxNestingDepth: 40 })).to.throw(ProcessDefinitionError, /nesting limit of 40/);
      expect(validateProcess(parse(nested(150)))).to.deep.equal([]);
    });
  });

  describe('XPath expressions, which the XPath compiler and evaluator walk recursively', () => {
    const condition = (expression: string): string => `<while><condition>${expression}</condition><empty/></while>`;

    it('refuses brackets nested deeper than the nesting limit, naming it', () => {
      expect(() => parse(condition(`${'('.repeat(20_000)}true()${')'.repeat(20_000)}`))).to.throw(ProcessDefinitionError, /<condition> expression nests brackets deeper than the nesting limit of 200 \(PROVISOR_PLAN_MAX_DEPTH\) \(line 2\)/);
    });

    it('refuses more than a thousand operators, string literals aside', () => {
      expect(() => parse(condition(`${'1+'.repeat(30_000)}1 = 1`))).to.throw(ProcessDefinitionError, /<condition> expression has more than 1000 operators/);
      expect(() => parse(condition(`${'true() and '.repeat(20_000)}true()`))).to.throw(ProcessDefinitionError, /more than 1000 operators/);
      expect(validateProcess(parse(condition(`'${'+'.repeat(5000)}' != '' and ${'1+'.repeat(900)}1 = 901`)))).to.deep.equal([]);
    });
  });

  describe('forEach counters written as literals', () => {
    const limits = { ...DEFAULT_PLAN_LIMITS, maxParallelBranches: 10, maxLoopIterations: 20 };

    it('counts the branches of a parallel forEach against maxParallelBranches', () => {
      expect(checkStaticLimits(parse(forEach('1', '10', true)), limits)).to.deep.equal([]);
      const problems = checkStaticLimits(parse(forEach('1', '3000000', true)), limits);
      expect(problems.map((p) => p.message)).to.deep.equal(['forEach /process/forEach "each" runs 3000000 parallel branches (counters 1 to 3000000): over the limit of 10 (PROVISOR_PLAN_MAX_PARALLEL_BRANCHES)']);
      expect(problems[0]?.line).to.equal(2);
    });

    it('counts the range of a sequential forEach as iterations, quoted literals included', () => {
      expect(checkStaticLimits(parse(forEach("'5'", "'24'", false)), limits)).to.deep.equal([]);
      expect(checkStaticLimits(parse(forEach("'5'", "'25'", false)), limits).map((p) => p.message)).to.deep.equal([
        'forEach /process/forEach "each" runs 21 iterations (counters 5 to 25): over the limit of 20 (PROVISOR_PLAN_MAX_ITERATIONS)',
      ]);
    });

    it('leaves counters that are not literals to the run-time check', () => {
      expect(checkStaticLimits(parse(`<variables><variable name="n" type="xsd:int"/></variables>${forEach('1', '$n', true)}`), limits)).to.deep.equal([]);
    });
  });

  describe('provisor plan validate', function () {
    this.timeout(30_000);
    it('refuses a plan nested too deep with exit 2 and a message naming the limit', async () => {
      const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'provisor-limits-'));
      try {
        const file = path.join(dir, 'deep.bpel');
        fs.writeFileSync(file, bpel(nested(5000)));
        const bin = path.join(__dirname, '..', '..', '..', 'scripts', 'provisor.js');
        const result = await new Promise<{ code: number | null; out: string }>((resolve) => {
          const child = spawn(process.execPath, [bin, 'plan', 'validate', file], { env: { ...process.env, PROVISOR_DATA_DIR: dir, PROVISOR_PLAN_MAX_DEPTH: '100' }, stdio: ['ignore', 'pipe', 'pipe'] });
          let out = '';
          child.stdout.on('data', (d: Buffer) => (out += d.toString()));
          child.stderr.on('data', (d: Buffer) => (out += d.toString()));
          child.on('exit', (code) => resolve({ code, out }));
        });
        expect(result.code, result.out).to.equal(2);
        expect(result.out).to.contain(`${file}:2: elements nest deeper than the nesting limit of 100 (PROVISOR_PLAN_MAX_DEPTH)`);
        expect(result.out).to.not.match(/call stack/i);
      } finally {
        fs.rmSync(dir, { recursive: true, force: true });
      }
    });
  });
});
