import { expect } from 'chai';
import { parseXml, XmlError } from '../src/soap/xml';

describe('the SOAP XML parser', () => {
  it('reports the line of a problem', () => {
    expect(() => parseXml('<a>\n<b>\n</a>')).to.throw(XmlError, /line 3/);
  });

  it('parses a one-line document of many elements (the scaling itself is measured by npm run bench)', () => {
    const root = parseXml(`<r>${'<e>x</e>'.repeat(50_000)}</r>`);
    expect(root.children.length).to.equal(50_000);
    expect(root.children[49_999]?.line).to.equal(1);
  });

  it('keeps the line numbers of start tags', () => {
    const root = parseXml('<a>\n  <b/>\n\n  <c/>\n</a>');
    expect(root.children.map((c) => [c.name, c.line])).to.deep.equal([
      ['b', 2],
      ['c', 4],
    ]);
  });
});
