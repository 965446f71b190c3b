import { expect } from 'chai';
import { fromDom, toDom } from '../../src/xml/convert';
import { childElements, ownText, parseElement, serializeNode } from '../../src/xml/dom';
import { parseXml, type XmlElement } from '../../src/xml/parser';
import { writeDomElement, writeElement, type XmlObject } from '../../src/xml/writer';

/** An XmlElement without line numbers (a DOM built in memory has none), attributes as a plain object. */
function shape(e: XmlElement): unknown {
  return { ns: e.ns, name: e.name, attrs: { ...e.attrs }, text: e.text, children: e.children.map(shape) };
}

describe('the conversion from the scanner tree to a DOM', () => {
  it('keeps names, namespaces, unqualified attributes and text', () => {
    const element = toDom(parseXml('<p:Start xmlns:p="urn:a" xmlns:s="urn:s" s:mustUnderstand="1" id="7"><p:name>web &amp; mail</p:name><p:count>3</p:count></p:Start>'));
    expect([element.namespaceURI, element.localName]).to.deep.equal(['urn:a', 'Start']);
    expect(element.getAttribute('id')).to.equal('7');
    expect(element.attributes.length).to.equal(1);
    expect(childElements(element).map((c) => [c.namespaceURI, c.localName, ownText(c)])).to.deep.equal([
      ['urn:a', 'name', 'web & mail'],
      ['urn:a', 'count', '3'],
    ]);
    expect(element.ownerDocument?.documentElement).to.equal(element);
  });

  it('keeps a child in no namespace under a parent with a default namespace', () => {
    const element = toDom(parseXml('<Start xmlns="urn:a"><plain xmlns="">x</plain></Start>'));
    const [plain] = childElements(element);
    expect(plain?.namespaceURI ?? null).to.equal(null);
  });
});

describe('the DOM read as the scanner reads its text, without writing it', () => {
  const documents = [
    '<p:Install xmlns:p="urn:provisor:software:1"><p:system>web1</p:system><p:component>db</p:component></p:Install>',
    '<Install xmlns="urn:a" xmlns:x="urn:x" x:flag="1" plain="2">\n  <system>a &amp; b</system>\n  <v><![CDATA[<raw>]]></v><none xmlns=""/>\n</Install>',
    '<a:r xmlns:a="urn:1"><a:p><a:q xmlns:a="urn:2"><a:deep>x</a:deep></a:q></a:p><!-- comment --></a:r>',
  ];
  for (const xml of documents) {
    it(`gives the scanner's tree for ${xml.slice(0, 40)}…`, () => {
      expect(shape(fromDom(parseElement(xml)))).to.deep.equal(shape(parseXml(xml)));
    });
  }
});

describe('the response element built as a DOM, without writing it', () => {
  const content: XmlObject = {
    requestId: 'r-1',
    count: 3,
    ok: true,
    at: new Date('2026-01-02T03:04:05Z'),
    message: 'a < b & "c"\u0001\r\n',
    empty: '',
    absent: undefined,
    component: [{ name: 'db', version: '1.0' }, { name: 'web', version: null }],
  };
  it('equals the written element parsed back', () => {
    const built = writeDomElement('urn:provisor:request:1', 'GetRequestResponse', content);
    const parsed = parseElement(writeElement('urn:provisor:request:1', 'GetRequestResponse', content));
    expect(serializeNode(built)).to.equal(serializeNode(parsed));
    expect(built.getAttribute('xmlns:p')).to.equal('urn:provisor:request:1');
  });
});
