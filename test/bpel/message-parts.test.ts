import { expect } from 'chai';
import type { Invoke, OnEvent, PartnerLink, Pick, Receive, Reply, Scope } from '../../src/bpel/model';
import { validateProcess, type OperationInfo, type ProcessContext } from '../../src/bpel/validate';
import { copyFromParts, messageFromParts, messageValue, parseElement, simpleValue, elementValue } from '../../src/bpel/xpath';
import { BpelFault } from '../../src/bpel/values';
import { at, MemoryVariables, parse, parseError, bpel, TNS, XSD } from './fixtures';

const q = (local: string): { ns: string; local: string } => ({ ns: TNS, local });
const xsd = (local: string): { ns: string; local: string } => ({ ns: XSD, local });

/** `add` takes two int parts and answers an int and a string; `order` an element each way; `notify` is one-way. */
const operations = new Map<string, OperationInfo>([
  ['add', { input: q('AddIn'), output: q('AddOut'), faults: ['refused'], faultMessages: new Map([['refused', q('Refusal')]]) }],
  ['order', { input: q('OrderIn'), output: q('OrderOut'), faults: [] }],
  ['notify', { input: q('OrderIn'), faults: [] }],
]);
const elementParts: Record<string, ReadonlyMap<string, { ns: string; local: string } | undefined>> = {
  AddIn: new Map([['a', undefined], ['b', undefined]]),
  AddOut: new Map([['sum', undefined], ['note', undefined]]),
  OrderIn: new Map([['p', q('order')]]),
  OrderOut: new Map([['p', q('receipt')]]),
  Refusal: new Map([['reason', undefined]]),
};
const typeParts: Record<string, ReadonlyMap<string, { ns: string; local: string }>> = {
  AddIn: new Map([['a', xsd('int')], ['b', xsd('int')]]),
  AddOut: new Map([['sum', xsd('int')], ['note', xsd('string')]]),
  Refusal: new Map([['reason', xsd('string')]]),
};
const context: ProcessContext = {
  portTypeOf: (partnerLink: PartnerLink) => (partnerLink.partnerLinkType.local === 'calcLT' ? { portType: q('CalcPortType'), operations } : undefined),
  messageParts: (message) => (message.ns === TNS ? elementParts[message.local] : undefined),
  partTypes: (message) => (message.ns === TNS ? typeParts[message.local] ?? new Map() : undefined),
};

const DECLARATIONS = `<partnerLinks>
  <partnerLink name="calc" partnerLinkType="tns:calcLT" partnerRole="server"/>
  <partnerLink name="client" partnerLinkType="tns:calcLT" myRole="server"/>
</partnerLinks>
<variables>
  <variable name="a" type="xsd:int"/><variable name="b" type="xsd:int"/>
  <variable name="sum" type="xsd:int"/><variable name="note" type="xsd:string"/>
  <variable name="order" element="tns:order"/><variable name="receipt" element="tns:receipt"/>
  <variable name="addIn" messageType="tns:AddIn"/><variable name="addOut" messageType="tns:AddOut"/>
</variables>
<correlationSets><correlationSet name="c" properties="tns:id"/></correlationSets>`;
const BY_C = '<correlations><correlation set="c"/></correlations>';

function problems(body: string): string[] {
  return validateProcess(parse(`${DECLARATIONS}\n${body}`), context).map((d) => d.message);
}

const ADD_PARTS = '<toParts><toPart part="a" fromVariable="a"/><toPart part="b" fromVariable="b"/></toParts>';
const SUM_PARTS = '<fromParts><fromPart part="sum" toVariable="sum"/><fromPart part="note" toVariable="note"/></fromParts>';

describe('toParts and fromParts (WS-BPEL 2.0 §10.3.1)', () => {
  describe('the parser', () => {
    it('reads them on invoke, receive, reply, onMessage and onEvent, with each part, variable and line', () => {
      const process = parse(`${DECLARATIONS}
<eventHandlers>
  <onEvent partnerLink="client" operation="order"><fromParts><fromPart part="p" toVariable="seen"/></fromParts><scope><empty/></scope></onEvent>
</eventHandlers>
<sequence>
  <receive partnerLink="client" operation="add" createInstance="yes">
    <fromParts><fromPart part="a" toVariable="a"/><fromPart part="b" toVariable="b"/></fromParts>
  </receive>
  <invoke partnerLink="calc" operation="add">${ADD_PARTS}${SUM_PARTS}</invoke>
  <pick><onMessage partnerLink="client" operation="order"><fromParts><fromPart part="p" toVariable="order"/></fromParts><empty/></onMessage></pick>
  <reply partnerLink="client" operation="add"><toParts><toPart part="sum" fromVariable="sum"/><toPart part="note" fromVariable="note"/></toParts></reply>
</sequence>`);
      const receive = at(process, '/process/sequence/receive') as Receive;
      expect(receive.fromParts).to.deep.equal([
        { part: 'a', toVariable: 'a', line: 18 },
        { part: 'b', toVariable: 'b', line: 18 },
      ]);
      const invoke = at(process, '/process/sequence/invoke') as Invoke;
      expect(invoke.toParts?.map((p) => [p.part, p.fromVariable])).to.deep.equal([['a', 'a'], ['b', 'b']]);
      expect(invoke.fromParts?.map((p) => [p.part, p.toVariable])).to.deep.equal([['sum', 'sum'], ['note', 'note']]);
      expect(invoke.inputVariable).to.equal(undefined);
      expect((at(process, '/process/sequence/pick') as Pick).messages[0]?.fromParts).to.deep.equal([{ part: 'p', toVariable: 'order', line: 21 }]);
      expect((at(process, '/process/sequence/reply') as Reply).toParts?.map((p) => p.fromVariable)).to.deep.equal(['sum', 'note']);
      const event: OnEvent | undefined = process.events[0];
      expect(event?.fromParts).to.deep.equal([{ part: 'p', toVariable: 'seen', line: 14 }]);
      expect((at(process, '/process/sequence/pick/onMessage[1]/empty') as { kind: string }).kind).to.equal('empty');
    });

    it('refuses them where WS-BPEL has none, empty ones, and parts without their attributes, by name and line', () => {
      const error = parseError(
        bpel(`<sequence>
  <receive partnerLink="p" operation="o"><toParts><toPart part="x" fromVariable="v"/></toParts></receive>
  <reply partnerLink="p" operation="o"><fromParts><fromPart part="x" toVariable="v"/></fromParts></reply>
  <invoke partnerLink="p" operation="o"><toParts/></invoke>
  <invoke partnerLink="p" operation="o"><fromParts><fromPart part="x"/><toPart part="y" fromVariable="v"/></fromParts></invoke>
</sequence>`),
      );
      expect(error.diagnostics.map((d) => d.message)).to.deep.equal([
        '<toParts> is not allowed in <receive> (line 3)',
        '<fromParts> is not allowed in <reply> (line 4)',
        '<toParts> needs at least one <toPart> (line 5)',
        '<fromPart> needs the attribute "toVariable" (line 6)',
        '<toPart> is not allowed in <fromParts> (line 6)',
      ]);
    });
  });

  describe('the static checks', () => {
    it('find nothing wrong with parts that match the messages and variables of their part\'s element or type', () => {
      expect(
        problems(`<sequence>
  <receive partnerLink="client" operation="add" createInstance="yes"><fromParts><fromPart part="a" toVariable="a"/><fromPart part="b" toVariable="b"/></fromParts></receive>
  <invoke partnerLink="calc" operation="add">${ADD_PARTS}${SUM_PARTS}</invoke>
  <invoke partnerLink="calc" operation="order"><toParts><toPart part="p" fromVariable="order"/></toParts><fromParts><fromPart part="p" toVariable="receipt"/></fromParts></invoke>
  <reply partnerLink="client" operation="add"><toParts><toPart part="sum" fromVariable="sum"/><toPart part="note" fromVariable="note"/></toParts></reply>
</sequence>`),
      ).to.deep.equal([]);
    });

    it('refuses a part the message does not define (SA00053, SA00054) and a toParts leaving a part out (SA00050)', () => {
      expect(
        problems(`<sequence>
  <invoke partnerLink="calc" operation="add"><toParts><toPart part="a" fromVariable="a"/><toPart part="c" fromVariable="b"/></toParts><fromParts><fromPart part="total" toVariable="sum"/></fromParts></invoke>
</sequence>`),
      ).to.deep.equal([
        'activity /process/sequence/invoke: <toPart> part "c" is not a part of message {urn:test}AddIn (its parts: a, b)',
        'activity /process/sequence/invoke: <toParts> gives no <toPart> for part "b" of message {urn:test}AddIn; every part is given',
        'activity /process/sequence/invoke: <fromPart> part "total" is not a part of message {urn:test}AddOut (its parts: sum, note)',
      ]);
    });

    it('refuses parts together with the variable they stand for (SA00051, SA00052, SA00055, SA00059, SA00063, SA00085)', () => {
      expect(
        problems(`<sequence>
  <receive partnerLink="client" operation="add" variable="addIn" createInstance="yes"><fromParts><fromPart part="a" toVariable="a"/><fromPart part="b" toVariable="b"/></fromParts></receive>
  <invoke partnerLink="calc" operation="add" inputVariable="addIn" outputVariable="addOut">${ADD_PARTS}${SUM_PARTS}</invoke>
  <pick><onMessage partnerLink="client" operation="order" variable="order">${BY_C}<fromParts><fromPart part="p" toVariable="order"/></fromParts><empty/></onMessage></pick>
  <reply partnerLink="client" operation="add" variable="addOut"><toParts><toPart part="sum" fromVariable="sum"/><toPart part="note" fromVariable="note"/></toParts></reply>
</sequence>`),
      ).to.deep.equal([
        'activity /process/sequence/receive: <fromParts> and variable "addIn" exclude each other',
        'activity /process/sequence/invoke: <toParts> and inputVariable "addIn" exclude each other',
        'activity /process/sequence/invoke: <fromParts> and outputVariable "addOut" exclude each other',
        'activity /process/sequence/pick <onMessage> /process/sequence/pick/onMessage[1]: <fromParts> and variable "order" exclude each other',
        'activity /process/sequence/reply: <toParts> and variable "addOut" exclude each other',
      ]);
      expect(
        problems(`<eventHandlers><onEvent partnerLink="client" operation="order" variable="o" element="tns:order">${BY_C}<fromParts><fromPart part="p" toVariable="x"/></fromParts><scope><empty/></scope></onEvent></eventHandlers>
<empty/>`),
      ).to.deep.equal(['event handler /process/eventHandlers/onEvent[1]: <fromParts> and the attributes variable, messageType and element exclude each other']);
    });

    it('refuses a variable that does not hold its part\'s element or type, and one not declared, naming both', () => {
      expect(
        problems(`<sequence>
  <invoke partnerLink="calc" operation="add"><toParts><toPart part="a" fromVariable="note"/><toPart part="b" fromVariable="order"/></toParts><fromParts><fromPart part="sum" toVariable="total"/></fromParts></invoke>
  <invoke partnerLink="calc" operation="order"><toParts><toPart part="p" fromVariable="receipt"/></toParts><fromParts><fromPart part="p" toVariable="addOut"/></fromParts></invoke>
</sequence>`),
      ).to.deep.equal([
        'activity /process/sequence/invoke[1]: <toPart> part "a" of message {urn:test}AddIn is of type {http://www.w3.org/2001/XMLSchema}int, but variable "note" holds type {http://www.w3.org/2001/XMLSchema}string',
        'activity /process/sequence/invoke[1]: <toPart> part "b" of message {urn:test}AddIn is of type {http://www.w3.org/2001/XMLSchema}int, but variable "order" holds element {urn:test}order',
        'activity /process/sequence/invoke[1]: <fromPart> toVariable "total" is not a declared variable in scope',
        'activity /process/sequence/invoke[2]: <toPart> part "p" of message {urn:test}OrderIn is element {urn:test}order, but variable "receipt" holds element {urn:test}receipt',
        'activity /process/sequence/invoke[2]: <fromPart> part "p" of message {urn:test}OrderOut is element {urn:test}receipt, but variable "addOut" holds message type {urn:test}AddOut',
      ]);
    });

    it('checks a reply\'s toParts with faultName against the fault\'s message', () => {
      expect(problems(`<sequence><receive partnerLink="client" operation="add" variable="addIn" createInstance="yes"/>
  <reply partnerLink="client" operation="add" faultName="tns:refused"><toParts><toPart part="reason" fromVariable="note"/></toParts></reply></sequence>`)).to.deep.equal([]);
      expect(problems(`<sequence><receive partnerLink="client" operation="add" variable="addIn" createInstance="yes"/>
  <reply partnerLink="client" operation="add" faultName="tns:refused"><toParts><toPart part="reason" fromVariable="sum"/></toParts></reply></sequence>`)).to.deep.equal([
        'activity /process/sequence/reply: <toPart> part "reason" of message {urn:test}Refusal is of type {http://www.w3.org/2001/XMLSchema}string, but variable "sum" holds type {http://www.w3.org/2001/XMLSchema}int',
      ]);
    });

    it('refuses fromParts on a one-way invoke and a part named twice', () => {
      expect(
        problems(`<sequence>
  <receive partnerLink="client" operation="add" createInstance="yes"><fromParts><fromPart part="a" toVariable="a"/><fromPart part="b" toVariable="a"/></fromParts></receive>
  <invoke partnerLink="calc" operation="notify"><toParts><toPart part="p" fromVariable="order"/><toPart part="p" fromVariable="order"/></toParts><fromParts><fromPart part="p" toVariable="receipt"/></fromParts></invoke>
</sequence>`),
      ).to.deep.equal([
        'activity /process/sequence/receive: <fromPart> toVariable "a" is named twice',
        'activity /process/sequence/invoke: <toPart> part "p" is named twice',
        'activity /process/sequence/invoke: operation "notify" is one-way, so it has no output for <fromParts>',
      ]);
    });

    it('declares an onEvent\'s fromPart variables in the handler\'s scope, of their part\'s element, and nowhere else (SA00086)', () => {
      const handler = `<eventHandlers><onEvent partnerLink="client" operation="order">${BY_C}<fromParts><fromPart part="p" toVariable="seen"/></fromParts>
  <scope>VARS<assign><copy><from>$seen/tns:id</from><to variable="note"/></copy></assign></scope></onEvent></eventHandlers>`;
      expect(problems(`${handler.replace('VARS', '')}\n<assign><copy><from>$seen/tns:id</from><to variable="note"/></copy></assign>`)).to.deep.equal([
        'activity /process/assign: expression "$seen/tns:id" (line 15): variable "seen" is not declared in scope',
      ]);
      expect(problems(`${handler.replace('VARS', '<variables><variable name="seen" type="xsd:string"/></variables>')}\n<empty/>`)).to.deep.equal([
        'event handler /process/eventHandlers/onEvent[1]: variable "seen" of the handler\'s scope is already the event\'s variable, which belongs to that scope',
      ]);
      const process = parse(`${DECLARATIONS}\n${handler.replace('VARS', '')}\n<empty/>`);
      expect((process.events[0]?.scope as Scope).variables).to.deep.equal([]);
    });
  });

  describe('at run time', () => {
    const declarations = [
      { name: 'a', line: 1, type: xsd('int') },
      { name: 'b', line: 1, type: xsd('int') },
      { name: 'order', line: 1, element: q('order') },
      { name: 'receipt', line: 1, element: q('receipt') },
    ];

    it('a toParts builds the message part by part, an element part from an element variable and a type part from its value', () => {
      const vars = new MemoryVariables(declarations, { a: simpleValue(40), order: elementValue(parseElement(`<o:order xmlns:o="${TNS}"><o:id>7</o:id></o:order>`)) });
      const message = messageFromParts([{ part: 'a', fromVariable: 'a', line: 3 }, { part: 'p', fromVariable: 'order', line: 4 }], q('Mixed'), vars);
      expect(message.kind).to.equal('message');
      if (message.kind !== 'message') return;
      expect(message.parts.get('a')).to.equal('40');
      const p = message.parts.get('p');
      expect(typeof p === 'string' ? p : p?.localName).to.equal('order');
      expect(typeof p === 'string' ? p : p?.textContent).to.equal('7');
    });

    it('a toParts from an uninitialised variable is bpel:uninitializedVariable naming the toPart and its line', () => {
      const vars = new MemoryVariables(declarations, {});
      let fault: unknown;
      try {
        messageFromParts([{ part: 'a', fromVariable: 'a', line: 9 }], q('AddIn'), vars);
      } catch (err) {
        fault = err;
      }
      expect(fault).to.be.instanceOf(BpelFault);
      expect((fault as BpelFault).faultName.local).to.equal('uninitializedVariable');
      expect((fault as BpelFault).message).to.equal('<toPart part="a"> at line 9: <from> variable "a" is not initialised');
    });

    it('a fromParts copies each part into its variable: numbers stay numbers, elements are renamed as their variable only if they differ', () => {
      const vars = new MemoryVariables(declarations, {});
      const message = messageValue({ a: '2', b: '3', p: parseElement(`<o:receipt xmlns:o="${TNS}"><o:total>5</o:total></o:receipt>`) });
      copyFromParts(
        [
          { part: 'a', toVariable: 'a', line: 1 },
          { part: 'b', toVariable: 'b', line: 1 },
          { part: 'p', toVariable: 'receipt', line: 1 },
        ],
        message,
        q('Mixed'),
        vars,
      );
      expect(vars.stored('a')).to.deep.equal({ kind: 'simple', value: 2 });
      expect(vars.stored('b')).to.deep.equal({ kind: 'simple', value: 3 });
      expect(vars.stored('receipt')).to.deep.equal({ kind: 'element', xml: `<o:receipt xmlns:o="${TNS}"><o:total>5</o:total></o:receipt>` });
    });

    it('a fromParts naming a part the message lacks is bpel:uninitializedVariable, and no variable changes', () => {
      const vars = new MemoryVariables(declarations, { a: simpleValue(1) });
      let fault: unknown;
      try {
        copyFromParts([{ part: 'a', toVariable: 'a', line: 2 }, { part: 'z', toVariable: 'b', line: 3 }], messageValue({ a: '8' }), q('AddIn'), {
          lookup: (name) => vars.lookup(name),
          set: () => expect.fail('a variable was written before every part was read'),
        });
      } catch (err) {
        fault = err;
      }
      expect((fault as BpelFault | undefined)?.message).to.equal('<fromPart part="z"> at line 3: part "z" of the message is not initialised');
      expect(vars.stored('a')).to.deep.equal({ kind: 'simple', value: 1 });
    });
  });
});
