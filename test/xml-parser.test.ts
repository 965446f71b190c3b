import { expect } from 'chai';
import { parseXml, XmlError } from '../src/xml/parser';

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

describe('the SOAP XML parser: namespace scopes and limits', () => {
  it('restores the shadowed binding when an element that redeclared a prefix ends, self-closing or not', () => {
    const root = parseXml('<p:r xmlns:p="urn:1" xmlns="urn:d"><p:a xmlns:p="urn:2"><p:b/></p:a><p:c xmlns:p="urn:3"/><p:d/><e xmlns=""/><f/></p:r>');
    expect(root.ns).to.equal('urn:1');
    expect(root.children.map((c) => [c.name, c.ns])).to.deep.equal([
      ['a', 'urn:2'],
      ['c', 'urn:3'],
      ['d', 'urn:1'],
      ['e', ''],
      ['f', 'urn:d'],
    ]);
    expect(root.children[0]?.children[0]?.ns).to.equal('urn:2');
  });

  it('a prefix used after the element that declared it has ended is undeclared', () => {
    expect(() => parseXml('<r><a xmlns:p="urn:1"/><p:b/></r>')).to.throw(XmlError, /prefix "p" of p:b is not declared/);
  });

  it('counts namespace declarations against the document limit and the per-element attribute limit', () => {
    const limits = { maxDepth: 64, maxElements: 1000, maxAttributes: 8, maxNamespaceDeclarations: 20 };
    const children = (n: number): string => Array.from({ length: n }, (_, i) => `<c xmlns:q="urn:${i}"/>`).join('');
    expect(parseXml(`<r>${children(20)}</r>`, limits).children).to.have.length(20);
    expect(() => parseXml(`<r>${children(21)}</r>`, limits)).to.throw(XmlError, /more than 20 namespace declarations in the document/);
    const declarations = Array.from({ length: 9 }, (_, i) => ` xmlns:p${i}="urn:${i}"`).join('');
    expect(() => parseXml(`<r${declarations}/>`, limits)).to.throw(XmlError, /more than 8 attributes and namespace declarations on <r>/);
  });

  it('quotes at most a bounded piece of a huge name in its error', () => {
    const name = `n${'x'.repeat(500_000)}`;
    const err = (() => {
      try {
        parseXml(`<${name}><b></${name}>`);
      } catch (e) {
        return e as XmlError;
      }
      throw new Error('expected a refusal');
    })();
    expect(err.message).to.match(/500001 characters/);
    expect(err.message.length).to.be.below(400);
  });
});

describe('the SOAP XML parser: disagreements with xmldom and XML 1.0 found by the property tests or while writing them, fixed', () => {
  it('a character reference in an attribute value keeps its character (&#10; &#9; &#13; are not turned into spaces)', () => {
    expect(parseXml('<a x="1&#10;2&#9;3&#13;4"/>').attrs.x).to.equal('1\n2\t3\r4');
  });

  it('CR LF and a lone CR in an attribute value are one space each (end-of-line handling comes first)', () => {
    expect(parseXml('<a x="1\r\n2\r3\n4\t5"/>').attrs.x).to.equal('1 2 3 4 5');
  });

  it('CR LF and a lone CR in text and CDATA read as LF; &#13; still gives a CR', () => {
    expect(parseXml('<a>1\r\n2\r3<![CDATA[\r\n]]>&#13;</a>').text).to.equal('1\n2\n3\n\r');
  });

  it('&constructor; and other Object property names are undeclared entities, not JavaScript functions', () => {
    for (const name of ['constructor', 'toString', '__proto__', 'hasOwnProperty']) {
      expect(() => parseXml(`<a>&${name};</a>`), name).to.throw(XmlError, /undeclared entity/);
    }
  });

  it('a prefix named like an Object property is undeclared unless declared', () => {
    expect(() => parseXml('<constructor:a/>')).to.throw(XmlError, /not declared/);
    expect(parseXml('<toString:a xmlns:toString="urn:t"/>').ns).to.equal('urn:t');
  });

  it('attributes named constructor, toString and __proto__ are ordinary attributes', () => {
    const attrs = parseXml('<a constructor="1" toString="2" __proto__="3"/>').attrs;
    expect(Object.entries(attrs)).to.deep.equal([
      ['constructor', '1'],
      ['toString', '2'],
      ['__proto__', '3'],
    ]);
  });

  it('a character reference with leading zeros is read', () => {
    expect(parseXml('<a>&#x0000000041;&#00066;</a>').text).to.equal('AB');
  });

  it('a name with two colons, or a colon at either end, is not a qualified name (elements, attributes, declared prefixes)', () => {
    for (const xml of ['<a:b:c xmlns:a="urn:a"/>', '<a b:="1"/>', '<a: xmlns:a="urn:a"/>', '<a xmlns:="urn:a"/>', '<a xmlns:p:q="urn:a"/>']) {
      expect(() => parseXml(xml), xml).to.throw(XmlError);
    }
  });

  it('the xmlns prefix is reserved for declarations', () => {
    expect(() => parseXml('<xmlns:a/>')).to.throw(XmlError, /reserved/);
    expect(() => parseXml('<a xmlns:xmlns="urn:x"/>')).to.throw(XmlError, /must not be declared/);
  });

  it('a prefix declared twice on one element is a duplicate attribute', () => {
    expect(() => parseXml('<a xmlns:p="urn:1" xmlns:p="urn:2"/>')).to.throw(XmlError, /duplicate attribute xmlns:p/);
  });

  it('only XML white space may follow the root (a no-break space is text outside the root)', () => {
    expect(() => parseXml('<a/>\u00a0')).to.throw(XmlError, /text outside the root/);
    expect(parseXml('<a/> \t\r\n').name).to.equal('a');
  });

  it("'--' inside a comment is refused", () => {
    expect(() => parseXml('<a><!-- a -- b --></a>')).to.throw(XmlError, /'--' inside a comment/);
  });

  it('characters XML does not allow are refused, written or referenced', () => {
    expect(() => parseXml('<a>\u0001</a>')).to.throw(XmlError, /U\+0001 is not allowed/);
    expect(() => parseXml('<a>&#0;</a>')).to.throw(XmlError, /not a character XML allows/);
  });

  it('a bare ampersand is refused as not well-formed, not as a forbidden entity', () => {
    const refusal = (() => {
      try {
        parseXml('<a>fish & chips; and more</a>');
      } catch (e) {
        return e as XmlError;
      }
      throw new Error('expected a refusal');
    })();
    expect(refusal.forbidden).to.equal(false);
  });

  it('a malformed XML declaration is refused', () => {
    expect(() => parseXml('<?xml encoding="utf-8"?><a/>')).to.throw(XmlError, /malformed XML declaration/);
    expect(parseXml('<?xml version = "1.0" encoding = "UTF-8" ?><a/>').name).to.equal('a');
  });
});

describe('the SOAP XML parser: start tags', () => {
  it('names a stray character in a start tag (<a//>, <a =1>)', () => {
    expect(() => parseXml('<a//>')).to.throw(XmlError, /unexpected "\/" in the start tag <a>/);
    expect(() => parseXml('<a x="1" =1>')).to.throw(XmlError, /unexpected "=" in the start tag <a>/);
  });
});
