import { expect } from 'chai';
import { parseXml, XmlError } from '../src/soap/xml';

describe('the SOAP XML parser', () => {
  it('reports the line of a problem', () => {
    expect(() => parseXml('<a>\n<b>\n</a>')).to.throw(XmlError, /line 3/);
  });

  it('parses a large one-line document in linear time (the parser that was quadratic on long lines)', () => {
    const oneLine = `<r>${'<e>x</e>'.repeat(100_000)}</r>`;
    const manyLines = `<r>${'<e>x</e>\n'.repeat(100_000)}</r>`;
    const time = (text: string): number => {
      const started = process.hrtime.bigint();
      const root = parseXml(text);
      expect(root.children.length).to.equal(100_000);
      return Number(process.hrtime.bigint() - started);
    };
    time(manyLines);
    const lines = Math.min(time(manyLines), time(manyLines));
    const single = Math.min(time(oneLine), time(oneLine));
    // Quadratic scanning made the one-line case about 20 times slower; linear keeps them alike.
    expect(single / lines).to.be.below(4);
  });

  it('keeps the line numbers of start tags', () => {
    const root = parseXml('<a>\n  <b/>\n\n  <c/>\n</a>');
    expect(root.children.map((c) => [c.name, c.line])).to.deep.equal([
      ['b', 2],
      ['c', 4],
    ]);
  });
});
