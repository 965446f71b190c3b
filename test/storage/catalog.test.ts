import { existsSync } from 'node:fs';
import path from 'node:path';
import { expect } from 'chai';
import { parseProcess } from '../../src/bpel/parser';
import { CATALOG_FILE, catalogDocuments, planText, readCatalog } from './catalog';

const XSD = 'http://www.w3.org/2001/XMLSchema';
const PARAMETER_TYPES = ['xsd:string', 'xsd:int', 'xsd:long', 'xsd:boolean', 'xsd:decimal', 'xsd:duration', 'xsd:dateTime'];
const PARAMETER_FIELDS = ['name', 'label', 'type', 'required', 'allowed', 'min', 'max', 'pattern', 'maxLength', 'default', 'help'];
/** The parts every plan gets besides the type's parameters. */
const ORDER_PARTS = ['workOrderId', 'account', 'pool'];

describe('the storage work-order catalog', () => {
  const catalog = readCatalog();

  it('offers at least eight types over at least three permission levels, priced in EUR', () => {
    expect(catalog.currency).to.equal('EUR');
    expect(catalog.defaultPool).to.equal('pool1');
    expect(catalog.types.length).to.be.at.least(8);
    expect(new Set(catalog.types.map((t) => t.minLevel)).size).to.be.at.least(3);
    expect(new Set(catalog.types.map((t) => t.name)).size).to.equal(catalog.types.length);
    for (const type of catalog.types) {
      expect(type.name, type.name).to.match(/^[A-Z][A-Za-z]+$/);
      expect(type.price, type.name).to.match(/^\d+\.\d{2}$/);
      expect(type.manual, type.name).to.equal(false);
      expect(type.title.length, type.name).to.be.above(0);
      expect(type.description.length, type.name).to.be.above(0);
    }
  });

  it('names its documents and plans relative to the catalog file, and they exist', () => {
    for (const document of catalog.documents) expect(existsSync(path.resolve(path.dirname(CATALOG_FILE), document)), document).to.equal(true);
    expect([...catalogDocuments(catalog).keys()]).to.deep.equal(['partners.wsdl']);
    for (const type of catalog.types) expect(existsSync(path.resolve(path.dirname(CATALOG_FILE), type.plan)), type.plan).to.equal(true);
  });

  it('describes every parameter with the known fields and types, consistently', () => {
    for (const type of catalog.types) {
      for (const parameter of type.parameters) {
        const where = `${type.name}.${parameter.name}`;
        expect(Object.keys(parameter).filter((key) => !PARAMETER_FIELDS.includes(key)), where).to.deep.equal([]);
        expect(PARAMETER_TYPES, where).to.include(parameter.type);
        expect(parameter.help ?? '', where).to.not.equal('');
        expect(parameter.label ?? '', `${where} has a label for forms`).to.not.equal('');
        expect(ORDER_PARTS, where).to.not.include(parameter.name);
        if (parameter.pattern !== undefined) expect(() => new RegExp(parameter.pattern as string), where).to.not.throw();
        if (parameter.allowed !== undefined && parameter.default !== undefined) expect(parameter.allowed, where).to.include(parameter.default);
        if (parameter.min !== undefined && parameter.max !== undefined) expect(parameter.min, where).to.be.at.most(parameter.max);
        if (parameter.required) expect(parameter.default, `${where} is required and has a default`).to.equal(undefined);
      }
    }
  });

  for (const type of catalog.types) {
    describe(`plan ${type.plan} (${type.name})`, () => {
      const process = parseProcess(planText(type), type.plan);

      it('declares a process variable for each input part, typed like its parameter', () => {
        const declared = new Map(process.variables.map((v) => [v.name, v.type]));
        for (const name of ORDER_PARTS) expect(declared.get(name), name).to.deep.equal({ ns: XSD, local: 'string' });
        for (const parameter of type.parameters) {
          expect(declared.get(parameter.name), parameter.name).to.deep.equal({ ns: XSD, local: parameter.type.slice('xsd:'.length) });
        }
      });

      it('has no instance-creating receive: it is started with its input parts', () => {
        expect(planText(type)).to.not.match(/<bpel:receive\b/);
      });

      it('passes every part to the storage-pool Configure it invokes', () => {
        const sent = [...planText(type).matchAll(/<sw:parameter><sw:name>([^<]+)<\/sw:name>/g)].map((m) => m[1]);
        expect(sent).to.deep.equal(['action', ...ORDER_PARTS.filter((p) => p !== 'pool'), ...type.parameters.map((p) => p.name)]);
      });
    });
  }
});
