import { XMLSerializer } from '@xmldom/xmldom';
import { expect } from 'chai';
import type { Assign, VariableDeclaration } from '../../src/bpel/model';
import { BpelFault, type VariableValue } from '../../src/bpel/values';
import {
  cloneValue,
  deserializeValue,
  elementValue,
  executeAssign,
  executeCopy,
  initialValue,
  messageValue,
  parseElement,
  serializeValue,
  simpleValue,
} from '../../src/bpel/xpath';
import { MemoryVariables, TNS, parse } from './fixtures';

const DECLARATIONS = `<variables>
  <variable name="request" messageType="tns:InstallRequest"/>
  <variable name="copyOfRequest" messageType="tns:InstallRequest"/>
  <variable name="response" messageType="tns:InstallResponse"/>
  <variable name="order" element="tns:order"/>
  <variable name="note" element="tns:note"/>
  <variable name="retries" type="xsd:int"/>
  <variable name="ok" type="xsd:boolean"/>
  <variable name="label" type="xsd:string"/>
</variables>`;

const INSTALL = `<tns:Install xmlns:tns="${TNS}"><tns:system>web1</tns:system><tns:component>ihs</tns:component></tns:Install>`;

/** Parses `assign` with the standard declarations; `run` executes it against fresh variables. */
function scenario(assign: string, values: Readonly<Record<string, VariableValue>> = {}): { vars: MemoryVariables; run: () => void; assign: Assign } {
  const process = parse(`${DECLARATIONS}\n${assign}`);
  const vars = new MemoryVariables(process.variables, {
    request: messageValue({ parameters: parseElement(INSTALL), ticket: 'CHG-7' }),
    retries: simpleValue(2),
    ...values,
  });
  const activity = process.activity as Assign;
  return { vars, assign: activity, run: () => executeAssign(activity, vars) };
}

function faultOf(run: () => unknown): BpelFault {
  try {
    run();
  } catch (error) {
    expect(error).to.be.instanceOf(BpelFault);
    return error as BpelFault;
  }
  expect.fail('no fault was thrown');
}

function xml(vars: MemoryVariables, name: string, part?: string): string {
  const value = vars.lookup(name)?.value;
  if (!value) return 'uninitialised';
  if (value.kind === 'element') return serializeValue(value).replace(/^.*"xml":"(.*)"}$/, '$1').replace(/\\"/g, '"');
  if (value.kind === 'message' && part !== undefined) {
    const p = value.parts.get(part);
    return p === undefined ? 'no part' : typeof p === 'string' ? p : serializeValue(elementValue(p)).replace(/^.*"xml":"(.*)"}$/, '$1').replace(/\\"/g, '"');
  }
  return JSON.stringify(value);
}

describe('BPEL assign', () => {
  describe('when copying whole variables and parts', () => {
    it('copies a message to a message variable', () => {
      const { vars, run } = scenario(`<assign><copy><from variable="request"/><to variable="copyOfRequest"/></copy></assign>`);
      run();
      expect(vars.stored('copyOfRequest')).to.deep.equal(vars.stored('request'));
    });

    it('holds a part copied whole as it is, and a later copy into either variable changes that one only', () => {
      const { vars, run } = scenario(`<assign>
  <copy><from variable="request" part="parameters"/><to variable="response" part="payload"/></copy>
  <copy><from>'web2'</from><to>$request.parameters/tns:system</to></copy>
</assign>`);
      const before = vars.lookup('request')?.value;
      if (before?.kind !== 'message') expect.fail('not a message');
      const original = before.parts.get('parameters');
      if (original === undefined || typeof original === 'string') expect.fail('no element part');
      run();
      expect(xml(vars, 'response', 'payload')).to.equal(INSTALL);
      expect(xml(vars, 'request', 'parameters')).to.equal(INSTALL.replace('web1', 'web2'));
      // The element the assign read from is unchanged: the change went to a copy.
      expect(new XMLSerializer().serializeToString(original)).to.equal(INSTALL);
      const shared = scenario(`<assign><copy><from variable="request" part="parameters"/><to variable="response" part="payload"/></copy></assign>`);
      shared.run();
      const request = shared.vars.lookup('request')?.value;
      const response = shared.vars.lookup('response')?.value;
      if (request?.kind !== 'message' || response?.kind !== 'message') expect.fail('not messages');
      expect(response.parts.get('payload')).to.equal(request.parts.get('parameters'));
      // A second assign into the shared part works on a copy of its own.
      executeAssign(parse(`${DECLARATIONS}\n<assign><copy><from>'web3'</from><to>$response.payload/tns:system</to></copy></assign>`).activity as Assign, shared.vars);
      expect(xml(shared.vars, 'response', 'payload')).to.equal(INSTALL.replace('web1', 'web3'));
      expect(xml(shared.vars, 'request', 'parameters')).to.equal(INSTALL);
    });

    it('copies an element this assign changed before rather than sharing it', () => {
      const { vars, run } = scenario(`<assign>
  <copy><from>'web2'</from><to>$request.parameters/tns:system</to></copy>
  <copy><from variable="request" part="parameters"/><to variable="response" part="payload"/></copy>
  <copy><from>'web3'</from><to>$request.parameters/tns:system</to></copy>
  <copy><from variable="request"/><to variable="copyOfRequest"/></copy>
  <copy><from>'web4'</from><to>$request.parameters/tns:system</to></copy>
</assign>`);
      run();
      expect(xml(vars, 'response', 'payload')).to.equal(INSTALL.replace('web1', 'web2'));
      expect(xml(vars, 'copyOfRequest', 'parameters')).to.equal(INSTALL.replace('web1', 'web3'));
      expect(xml(vars, 'request', 'parameters')).to.equal(INSTALL.replace('web1', 'web4'));
    });

    it('creates the part of an uninitialised message from a whole element', () => {
      const { vars, run } = scenario(`<assign>
  <copy><from variable="request" part="parameters"/><to variable="response" part="payload"/></copy>
  <copy><from>'web2'</from><to>$response.payload/tns:system</to></copy>
</assign>`);
      run();
      expect(xml(vars, 'response', 'payload')).to.equal(INSTALL.replace('web1', 'web2'));
      expect(xml(vars, 'request', 'parameters')).to.equal(INSTALL);
    });

    it('creates a part from a literal, then writes into it with a query', () => {
      const { vars, run } = scenario(`<assign>
  <copy><from><literal><tns:InstallResponse><tns:requestId/></tns:InstallResponse></literal></from><to variable="response" part="parameters"/></copy>
  <copy><from>concat($request.ticket, '-1')</from><to variable="response" part="parameters"><query>tns:requestId</query></to></copy>
</assign>`);
      run();
      expect(xml(vars, 'response', 'parameters')).to.equal(`<tns:InstallResponse xmlns:tns="${TNS}"><tns:requestId>CHG-7-1</tns:requestId></tns:InstallResponse>`);
    });

    it('sets a simple-typed part to the string value', () => {
      const { vars, run } = scenario(`<assign><copy><from>$retries * 5</from><to variable="request" part="ticket"/></copy></assign>`);
      run();
      expect(xml(vars, 'request', 'ticket')).to.equal('10');
    });
  });

  describe('when copying into elements', () => {
    it('initialises an element variable from a literal', () => {
      const { vars, run } = scenario(`<assign><copy><from><literal><tns:order id="1"><tns:line>a</tns:line></tns:order></literal></from><to variable="order"/></copy></assign>`);
      run();
      expect(xml(vars, 'order')).to.equal(`<tns:order id="1" xmlns:tns="${TNS}"><tns:line>a</tns:line></tns:order>`);
    });

    it('gives an uninitialised element variable its declared name unless keepSrcElementName', () => {
      const renamed = scenario(`<assign><copy><from variable="request" part="parameters"/><to variable="note"/></copy></assign>`);
      renamed.run();
      expect(xml(renamed.vars, 'note')).to.equal(`<note xmlns:tns="${TNS}" xmlns="${TNS}"><tns:system>web1</tns:system><tns:component>ihs</tns:component></note>`);
      const kept = scenario(`<assign><copy keepSrcElementName="yes"><from variable="request" part="parameters"/><to variable="note"/></copy></assign>`);
      kept.run();
      expect(xml(kept.vars, 'note')).to.equal(INSTALL);
    });

    it('replaces the content and attributes of an element but keeps its name', () => {
      const { vars, run } = scenario(`<assign><copy><from><literal><tns:other kind="x"><tns:line>b</tns:line></tns:other></literal></from><to variable="order"/></copy></assign>`, {
        order: elementValue(parseElement(`<tns:order xmlns:tns="${TNS}" id="1"><tns:line>a</tns:line></tns:order>`)),
      });
      run();
      expect(xml(vars, 'order')).to.equal(`<tns:order kind="x" xmlns:tns="${TNS}"><tns:line>b</tns:line></tns:order>`);
    });

    it('replaces the element itself with keepSrcElementName', () => {
      const { vars, run } = scenario(`<assign><copy keepSrcElementName="yes"><from><literal><tns:other/></literal></from><to>$order</to></copy></assign>`, {
        order: elementValue(parseElement(`<tns:order xmlns:tns="${TNS}" id="1"/>`)),
      });
      run();
      expect(xml(vars, 'order')).to.equal(`<tns:other xmlns:tns="${TNS}"/>`);
    });

    it('puts text into an element and into an attribute', () => {
      const { vars, run } = scenario(`<assign>
  <copy><from>'web9'</from><to>$request.parameters/tns:system</to></copy>
  <copy><from variable="retries"/><to>$request.parameters/tns:component/@version</to></copy>
</assign>`, {
        request: messageValue({ parameters: parseElement(`<tns:Install xmlns:tns="${TNS}"><tns:system>web1</tns:system><tns:component version="1">ihs</tns:component></tns:Install>`) }),
      });
      run();
      expect(xml(vars, 'request', 'parameters')).to.equal(`<tns:Install xmlns:tns="${TNS}"><tns:system>web9</tns:system><tns:component version="2">ihs</tns:component></tns:Install>`);
    });

    it('sets a text node', () => {
      const { vars, run } = scenario(`<assign><copy><from>'db1'</from><to variable="request" part="parameters"><query>tns:system/text()</query></to></copy></assign>`);
      run();
      expect(xml(vars, 'request', 'parameters')).to.equal(INSTALL.replace('web1', 'db1'));
    });
  });

  describe('when copying to simple-typed variables', () => {
    it('keeps numbers and booleans for numeric and boolean types, text otherwise', () => {
      const { vars, run } = scenario(`<assign>
  <copy><from>$retries + 1</from><to variable="retries"/></copy>
  <copy><from><literal>true</literal></from><to variable="ok"/></copy>
  <copy><from variable="request" part="parameters"><query>tns:system</query></from><to variable="label"/></copy>
</assign>`);
      run();
      expect(vars.stored('retries')).to.deep.equal({ kind: 'simple', value: 3 });
      expect(vars.stored('ok')).to.deep.equal({ kind: 'simple', value: true });
      expect(vars.stored('label')).to.deep.equal({ kind: 'simple', value: 'web1' });
    });

    it('converts text to a number for a numeric type', () => {
      const { vars, run } = scenario(`<assign><copy><from><literal> 42 </literal></from><to variable="retries"/></copy></assign>`);
      run();
      expect(vars.stored('retries')).to.deep.equal({ kind: 'simple', value: 42 });
    });

    it('reads the 1.1-style getVariableData in a from expression', () => {
      const { vars, run } = scenario(`<assign xmlns:b="http://schemas.xmlsoap.org/ws/2003/03/business-process/"><copy><from>b:getVariableData('request', 'parameters', '/tns:Install/tns:component')</from><to variable="label"/></copy></assign>`);
      run();
      expect(vars.stored('label')).to.deep.equal({ kind: 'simple', value: 'ihs' });
    });
  });

  describe('when a copy cannot be done', () => {
    it('raises selectionFailure when the from-spec selects nothing, naming the query and its line', () => {
      const { run } = scenario(`<assign>
  <copy>
    <from variable="request" part="parameters"><query>tns:version</query></from>
    <to variable="label"/>
  </copy>
</assign>`);
      const fault = faultOf(run);
      expect(fault.faultName.local).to.equal('selectionFailure');
      expect(fault.message).to.equal('<copy> at line 13: <from> query "tns:version" (line 14) selected no node');
    });

    it('skips the copy with ignoreMissingFromData', () => {
      const { vars, run } = scenario(`<assign><copy ignoreMissingFromData="yes"><from variable="request" part="parameters"><query>tns:version</query></from><to variable="label"/></copy></assign>`);
      run();
      expect(vars.stored('label')).to.equal(undefined);
    });

    it('raises selectionFailure when the from-spec selects more than one node', () => {
      const { run } = scenario(`<assign><copy><from>$request.parameters/*</from><to variable="label"/></copy></assign>`);
      const fault = faultOf(run);
      expect(fault.faultName.local).to.equal('selectionFailure');
      expect(fault.message).to.equal('<copy> at line 12: <from> expression "$request.parameters/*" (line 12) selected 2 nodes; it must select one');
    });

    it('raises selectionFailure when the to-spec does not select exactly one node', () => {
      const { run } = scenario(`<assign><copy><from>'x'</from><to>$request.parameters/tns:version</to></copy></assign>`);
      const fault = faultOf(run);
      expect(fault.faultName.local).to.equal('selectionFailure');
      expect(fault.message).to.equal('<copy> at line 12: <to> query "./tns:version" (line 12) selected 0 nodes; it must select exactly one');
    });

    it('raises uninitializedVariable when reading or querying into an uninitialised variable', () => {
      const read = faultOf(scenario(`<assign><copy><from variable="order"/><to variable="note"/></copy></assign>`).run);
      expect(read.faultName.local).to.equal('uninitializedVariable');
      expect(read.message).to.equal('<copy> at line 12: <from> variable "order" is not initialised');
      const write = faultOf(scenario(`<assign><copy><from>'x'</from><to variable="response" part="parameters"><query>tns:requestId</query></to></copy></assign>`).run);
      expect(write.faultName.local).to.equal('uninitializedVariable');
      expect(write.message).to.equal('<copy> at line 12: part "parameters" of variable "response" is not initialised, so <to> cannot query into it');
    });

    it('raises mismatchedAssignmentFailure for a message copied to a non-message variable', () => {
      const fault = faultOf(scenario(`<assign><copy><from variable="request"/><to variable="order"/></copy></assign>`).run);
      expect(fault.faultName.local).to.equal('mismatchedAssignmentFailure');
      expect(fault.message).to.equal('<copy> at line 12: a message cannot be copied to variable "order", which is not a message variable');
    });

    it('raises subLanguageExecutionFault for an expression error', () => {
      const fault = faultOf(scenario(`<assign><copy><from>$retries +</from><to variable="label"/></copy></assign>`).run);
      expect(fault.faultName.local).to.equal('subLanguageExecutionFault');
      expect(fault.message).to.equal('expression "$retries +" (line 12): not valid XPath 1.0 (XPath parse error)');
    });
  });

  describe('when an assign fails part way', () => {
    it('changes no variable, not even those earlier copies wrote', () => {
      const { vars, run } = scenario(`<assign>
  <copy><from>'changed'</from><to variable="label"/></copy>
  <copy><from>'web2'</from><to>$request.parameters/tns:system</to></copy>
  <copy><from variable="order"/><to variable="note"/></copy>
</assign>`, { label: simpleValue('original') });
      const before = vars.lookup('request')?.value;
      expect(faultOf(run).faultName.local).to.equal('uninitializedVariable');
      expect(vars.stored('label')).to.deep.equal({ kind: 'simple', value: 'original' });
      expect(xml(vars, 'request', 'parameters')).to.equal(INSTALL);
      expect(vars.lookup('request')?.value).to.equal(before);
    });

    it('lets later copies see earlier ones', () => {
      const { vars, run } = scenario(`<assign>
  <copy><from>$retries + 1</from><to variable="retries"/></copy>
  <copy><from>$retries * 10</from><to variable="retries"/></copy>
</assign>`);
      run();
      expect(vars.stored('retries')).to.deep.equal({ kind: 'simple', value: 30 });
    });

    it('never changes a value that was handed out', () => {
      const { vars, run } = scenario(`<assign><copy><from>'web2'</from><to>$request.parameters/tns:system</to></copy></assign>`);
      const before = vars.lookup('request')?.value;
      run();
      expect(before && serializeValue(before)).to.include('web1');
      expect(xml(vars, 'request', 'parameters')).to.include('web2');
    });
  });

  describe('executeCopy and initialValue', () => {
    it('runs a single copy', () => {
      const { vars, assign } = scenario(`<assign><copy><from>'one'</from><to variable="label"/></copy></assign>`);
      const [copy] = assign.copies;
      if (!copy) expect.fail('no copy');
      executeCopy(copy, vars);
      expect(vars.stored('label')).to.deep.equal({ kind: 'simple', value: 'one' });
    });

    it('initialises a variable from its inline from-spec, reading earlier variables', () => {
      const process = parse(`<variables>
  <variable name="base" type="xsd:int"><from>40</from></variable>
  <variable name="answer" type="xsd:int"><from>$base + 2</from></variable>
  <variable name="later" type="xsd:int"/>
</variables>
<empty/>`);
      const [base, answer, later] = process.variables as [VariableDeclaration, VariableDeclaration, VariableDeclaration];
      const vars = new MemoryVariables(process.variables);
      const baseValue = initialValue(base, vars);
      expect(baseValue).to.deep.equal({ kind: 'simple', value: 40 });
      vars.set('base', baseValue as VariableValue);
      expect(initialValue(answer, vars)).to.deep.equal({ kind: 'simple', value: 42 });
      expect(initialValue(later, vars)).to.equal(undefined);
    });
  });

  describe('storing values', () => {
    it('round-trips every kind of value through serializeValue/deserializeValue', () => {
      const values: VariableValue[] = [
        messageValue({ parameters: parseElement(INSTALL), ticket: 'CHG-7' }),
        elementValue(parseElement(`<x:a xmlns:x="urn:x" b="1">text &amp; more<![CDATA[<raw>]]></x:a>`)),
        simpleValue('text'),
        simpleValue(3.5),
        simpleValue(false),
        simpleValue(Number.NaN),
        simpleValue(Number.POSITIVE_INFINITY),
      ];
      for (const value of values) {
        const text = serializeValue(value);
        expect(serializeValue(deserializeValue(text))).to.equal(text);
      }
      expect(deserializeValue(serializeValue(simpleValue(Number.NaN)))).to.satisfy((v: VariableValue) => v.kind === 'simple' && Number.isNaN(v.value));
    });

    it('copies values so that they share no node', () => {
      const original = elementValue(parseElement(`<a><b/></a>`));
      const copy = cloneValue(original);
      if (copy.kind !== 'element' || original.kind !== 'element') expect.fail('not elements');
      copy.element.setAttribute('changed', 'yes');
      expect(serializeValue(original)).to.not.include('changed');
    });

    it('refuses stored text that is not a value', () => {
      expect(() => deserializeValue('{"kind":"weird"}')).to.throw('stored variable value has an unknown kind "weird"');
      expect(() => deserializeValue('{"kind":"element","xml":"<!DOCTYPE x><x/>"}')).to.throw(/refused/);
    });
  });
});
