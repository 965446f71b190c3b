import { expect } from 'chai';
import { toDom } from '../../src/xml/convert';
import { childElements, ownText } from '../../src/xml/dom';
import { parseXml } from '../../src/xml/parser';

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
