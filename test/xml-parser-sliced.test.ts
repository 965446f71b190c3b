import { expect } from 'chai';
import { DEFAULT_PARSE_LIMITS, parseXml, parseXmlSliced, XmlError } from '../src/xml/parser';

const lifted = { ...DEFAULT_PARSE_LIMITS, maxElements: 1_000_000, maxAttributes: 100_000 };

function manyChildren(n: number): string {
  return `<r xmlns="urn:x" xmlns:p="urn:p">${Array.from({ length: n }, (_, i) => `<p:c n="${i}">t${i}&amp;</p:c>`).join('')}</r>`;
}

/** Counts turns of the event loop until stopped: other work that got in while something else ran. */
function turnCounter(): { stop(): number } {
  let turns = 0;
  let running = true;
  const tick = (): void => {
    if (!running) return;
    turns += 1;
    setImmediate(tick);
  };
  setImmediate(tick);
  return {
    stop() {
      running = false;
      return turns;
    },
  };
}

describe('XML parser in slices', () => {
  it('gives the same tree as the parse in one go', async () => {
    for (const doc of [manyChildren(3), manyChildren(5_000), `<a b="1" c='2'><![CDATA[x<y]]><!-- c --><d/>text&#10;</a>`]) {
      expect(await parseXmlSliced(doc, lifted, 0)).to.deep.equal(parseXml(doc, lifted));
    }
  });

  it('gives the same error, with its line', async () => {
    for (const doc of [`${manyChildren(2_000).slice(0, -4)}\n<oops`, '<a>\n<b></a>', '<!DOCTYPE a><a/>', `<r>${'<x/>'.repeat(600)}</r><second/>`]) {
      let one: unknown;
      try {
        parseXml(doc, lifted);
      } catch (err) {
        one = err;
      }
      const sliced = await parseXmlSliced(doc, lifted, 0).then(
        () => undefined,
        (err: unknown) => err,
      );
      expect(one).to.be.instanceOf(XmlError);
      expect(sliced).to.be.instanceOf(XmlError);
      expect((sliced as XmlError).message).to.equal((one as XmlError).message);
      expect((sliced as XmlError).forbidden).to.equal((one as XmlError).forbidden);
    }
  });

  it('lets the event loop turn while a large document is read, and not while a parse in one go runs', async () => {
    const doc = manyChildren(20_000);
    const during = turnCounter();
    await parseXmlSliced(doc, lifted, 0);
    expect(during.stop(), 'turns while the sliced parse ran').to.be.greaterThan(20);

    const blocked = turnCounter();
    parseXml(doc, lifted);
    expect(blocked.stop(), 'turns during the parse in one go').to.equal(0);
  });

  it('pauses inside an element with many attributes too', async () => {
    const doc = `<a ${Array.from({ length: 5_000 }, (_, i) => `x${i}="${i}"`).join(' ')}/>`;
    const during = turnCounter();
    const root = await parseXmlSliced(doc, lifted, 0);
    expect(Object.keys(root.attrs)).to.have.length(5_000);
    expect(during.stop()).to.be.greaterThan(5);
  });
});
