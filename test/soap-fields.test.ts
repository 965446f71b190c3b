import { expect } from 'chai';
import { ProvisorError } from '../src/errors';
import { FieldReader } from '../src/soap/fields';
import { parseXml } from '../src/xml/parser';

const NS = 'urn:test:fields';

function reader(inner: string): FieldReader {
  return new FieldReader(parseXml(`<op xmlns="${NS}" xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance">${inner}</op>`), NS);
}

function parameters(inner: string): ReturnType<FieldReader['parameters']> {
  const fields = reader(`<parameters>${inner}</parameters>`);
  const out = fields.parameters();
  fields.done();
  return out;
}

function refusal(inner: string): ProvisorError {
  try {
    parameters(inner);
  } catch (err) {
    if (err instanceof ProvisorError) return err;
    throw err;
  }
  throw new Error('expected a refusal');
}

describe('SOAP fields: the parameters list', () => {
  it('reads name/value pairs in order, a missing or nil value as empty, whitespace between elements ignored', () => {
    expect(parameters('<parameter><name>a</name><value>1</value></parameter>\n  <parameter><name>b</name></parameter><parameter><name>c</name><value xsi:nil="true"/></parameter>')).to.deep.equal([
      { name: 'a', value: '1' },
      { name: 'b', value: '' },
      { name: 'c', value: '' },
    ]);
    expect(parameters('')).to.deep.equal([]);
    expect(reader('').parameters()).to.deep.equal([]);
  });

  it('keeps values exactly as sent (spaces, entities, non-ASCII)', () => {
    expect(parameters('<parameter><name>p</name><value>  a &amp; b &lt;c&gt; ü 🚀 </value></parameter>')).to.deep.equal([{ name: 'p', value: '  a & b <c> ü 🚀 ' }]);
  });

  it('names what is wrong: a name given twice, a missing or empty name, an unknown element, elements inside a value, an over-long name', () => {
    expect(refusal('<parameter><name>a</name></parameter><parameter><name>a</name></parameter>').message).to.contain('parameter "a" is given twice');
    expect(refusal('<parameter><value>1</value></parameter>')).to.deep.include({ code: 'MissingField', field: 'parameters/parameter[1]/name' });
    expect(refusal('<parameter><name></name></parameter>').field).to.equal('parameters/parameter[1]/name');
    expect(refusal('<parameter><name>a</name><colour>red</colour></parameter>').field).to.equal('parameters/parameter[1]/colour');
    expect(refusal('<parameter><name>a</name></parameter><other/>').field).to.equal('parameters/other');
    expect(refusal('<parameter><name>a</name><value><b>x</b></value></parameter>').field).to.equal('parameters/parameter[1]/value');
    expect(refusal(`<parameter><name>${'n'.repeat(201)}</name></parameter>`).field).to.equal('parameters/parameter[1]/name');
  });
});
