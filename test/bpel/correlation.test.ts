import { expect } from 'chai';
import type { PartnerLink, Pick, Receive, Reply, Scope } from '../../src/bpel/model';
import { visibleCorrelationSets } from '../../src/bpel/walk';
import { correlationKey, correlationValues, propertyValue, type PropertyCatalog } from '../../src/bpel/properties';
import { validateProcess, type OperationInfo, type ProcessContext } from '../../src/bpel/validate';
import { executeAssign, messageValue, parseElement } from '../../src/bpel/xpath';
import { at, MemoryVariables, parse, parseError, bpel, TNS, xpathExpr } from './fixtures';

const orderId = { ns: TNS, local: 'orderId' };
const startIn = { ns: TNS, local: 'StartIn' };
const goIn = { ns: TNS, local: 'GoIn' };
const askIn = { ns: TNS, local: 'AskIn' };
const askOut = { ns: TNS, local: 'AskOut' };

/** `orderId` is the text of the part's `id` child in StartIn and GoIn, and nowhere in AskIn. */
const properties: PropertyCatalog = {
  properties: new Map([[`{${TNS}}orderId`, { ns: 'http://www.w3.org/2001/XMLSchema', local: 'string' }]]),
  aliases: [
    { property: orderId, messageType: startIn, part: 'p', query: xpathExpr('tns:id') },
    { property: orderId, messageType: goIn, part: 'p', query: xpathExpr('tns:id') },
    { property: orderId, messageType: askOut, part: 'p', query: xpathExpr('tns:id') },
  ],
};

const context: ProcessContext = {
  portTypeOf(partnerLink: PartnerLink, role) {
    if (partnerLink.partnerLinkType.local !== 'orderLT' || role !== 'my') return undefined;
    const operations = new Map<string, OperationInfo>([
      ['start', { input: startIn, faults: [] }],
      ['go', { input: goIn, faults: [] }],
      ['stop', { input: goIn, faults: [] }],
      ['ask', { input: askIn, output: askOut, faults: [] }],
    ]);
    return { portType: { ns: TNS, local: 'OrderPortType' }, operations };
  },
  messageParts: () => undefined,
  properties,
};

const DECLARATIONS = `<partnerLinks><partnerLink name="client" partnerLinkType="tns:orderLT" myRole="service"/></partnerLinks>
<variables>
  <variable name="start" messageType="tns:StartIn"/>
  <variable name="go" messageType="tns:GoIn"/>
  <variable name="ask" messageType="tns:AskIn"/>
  <variable name="id" type="xsd:string"/>
</variables>
<correlationSets><correlationSet name="order" properties="tns:orderId"/></correlationSets>`;

const START = '<receive partnerLink="client" operation="start" variable="start" createInstance="yes"><correlations><correlation set="order" initiate="yes"/></correlations></receive>';
const BY_ORDER = '<correlations><correlation set="order"/></correlations>';

function problems(body: string): string[] {
  return validateProcess(parse(`${DECLARATIONS}\n${body}`), context).map((d) => d.message);
}

describe('message exchanges and correlation, statically', () => {
  describe('the parser', () => {
    it('reads correlations, a pick with its messages and alarms, an onEvent, message exchanges and property copies', () => {
      const process = parse(`${DECLARATIONS}
<messageExchanges><messageExchange name="m1"/></messageExchanges>
<eventHandlers>
  <onEvent partnerLink="client" operation="stop" variable="stop" messageType="tns:GoIn" messageExchange="m1">${BY_ORDER}<scope><empty/></scope></onEvent>
</eventHandlers>
<sequence>
  ${START}
  <pick name="choose">
    <onMessage partnerLink="client" operation="go" variable="go"><correlations><correlation set="order" initiate="join"/></correlations><empty name="went"/></onMessage>
    <onAlarm><for>'PT1H'</for><empty name="late"/></onAlarm>
  </pick>
  <receive partnerLink="client" operation="ask" variable="ask" messageExchange="m1">${BY_ORDER}</receive>
  <assign><copy><from variable="go" property="tns:orderId"/><to variable="id"/></copy></assign>
  <reply partnerLink="client" operation="ask" messageExchange="m1"/>
</sequence>`);
      expect(process.messageExchanges).to.deep.equal(['m1']);
      expect(process.events.map((e) => [e.path, e.operation, e.messageType?.local, e.messageExchange, e.scope.path])).to.deep.equal([
        ['/process/eventHandlers/onEvent[1]', 'stop', 'GoIn', 'm1', '/process/eventHandlers/onEvent[1]/scope'],
      ]);
      const start = at(process, '/process/sequence/receive[1]') as Receive;
      expect(start.correlations).to.deep.equal([{ set: 'order', initiate: 'yes', line: 15 }]);
      const pick = at(process, '/process/sequence/pick') as Pick;
      expect(pick.createInstance).to.equal(false);
      expect(pick.messages.map((m) => [m.path, m.operation, m.correlations[0]?.initiate, m.activity.path])).to.deep.equal([['/process/sequence/pick/onMessage[1]', 'go', 'join', '/process/sequence/pick/onMessage[1]/empty']]);
      expect(pick.alarms.map((a) => [a.path, a.for?.text, a.activity.path])).to.deep.equal([['/process/sequence/pick/onAlarm[1]', "'PT1H'", '/process/sequence/pick/onAlarm[1]/empty']]);
      expect((at(process, '/process/sequence/receive[2]') as Receive).messageExchange).to.equal('m1');
      expect((at(process, '/process/sequence/reply') as Reply).messageExchange).to.equal('m1');
      const assign = at(process, '/process/sequence/assign');
      expect(assign.kind === 'assign' ? assign.copies[0]?.from : undefined).to.deep.equal({ type: 'property', variable: 'go', property: orderId });
    });

    it('reads an invoke\'s correlation patterns', () => {
      const process = parse(`<invoke partnerLink="p" operation="o"><correlations><correlation set="s" initiate="yes" pattern="response"/></correlations></invoke>`);
      const invoke = at(process, '/process/invoke');
      expect(invoke.kind === 'invoke' ? invoke.correlations : undefined).to.deep.equal([{ set: 's', initiate: 'yes', pattern: 'response', line: 2 }]);
    });

    it('refuses bad correlation attributes, an empty pick, and an alarm on an instance-creating pick, each with its line', () => {
      const messages = parseError(
        bpel(`<sequence>
<receive partnerLink="p" operation="o"><correlations><correlation set="s" initiate="maybe"/></correlations></receive>
<pick/>
<pick createInstance="yes"><onMessage partnerLink="p" operation="o"><empty/></onMessage><onAlarm><for>'PT1S'</for><empty/></onAlarm></pick>
<receive partnerLink="p" operation="o"><correlations><correlation set="s" pattern="request"/></correlations></receive>
</sequence>`),
      ).diagnostics.map((d) => `${d.line}: ${d.message}`);
      expect(messages).to.deep.equal([
        '3: <correlation> attribute initiate must be "yes", "join" or "no", not "maybe" (line 3)',
        '4: <pick> needs at least one <onMessage> (line 4)',
        '5: <pick createInstance="yes"> may not have an <onAlarm> (line 5)',
        '6: attribute "pattern" of <correlation> is not supported by Provisor (line 6); see docs/bpel.md',
      ]);
    });
  });

  describe('the static checks', () => {
    it('accept messages routed by an initiated correlation set', () => {
      expect(
        problems(`<sequence>${START}
<receive partnerLink="client" operation="go" variable="go">${BY_ORDER}</receive>
<pick><onMessage partnerLink="client" operation="go" variable="go">${BY_ORDER}<empty/></onMessage><onAlarm><for>'PT1S'</for><empty/></onAlarm></pick>
<assign><copy><from variable="go" property="tns:orderId"/><to variable="id"/></copy></assign>
</sequence>`),
      ).to.deep.equal([]);
    });

    it('report an undeclared set, a property without an alias for the message, an undeclared message exchange and a property copy without an alias', () => {
      expect(
        problems(`<sequence>${START}
<receive partnerLink="client" operation="go" variable="go"><correlations><correlation set="nope"/></correlations></receive>
<receive partnerLink="client" operation="ask" variable="ask" messageExchange="m9">${BY_ORDER}</receive>
<assign><copy><from variable="ask" property="tns:orderId"/><to variable="id"/></copy></assign>
</sequence>`),
      ).to.deep.equal([
        'activity /process/sequence/receive[2]: correlation set "nope" is not declared by the process or an enclosing scope',
        `activity /process/sequence/receive[3]: correlation set "order": no property alias of {${TNS}}orderId applies to message type {${TNS}}AskIn`,
        'activity /process/sequence/receive[3]: message exchange "m9" is not declared',
        `activity /process/sequence/assign: <from> property {${TNS}}orderId has no property alias for message type {${TNS}}AskIn (variable "ask")`,
      ]);
    });

    it('resolve a set in the innermost scope declaring it, and report one operation routed by sets of two scopes', () => {
      const body = `<sequence>${START}
<scope name="a"><correlationSets><correlationSet name="order" properties="tns:orderId"/></correlationSets>
  <receive partnerLink="client" operation="go" variable="go">${BY_ORDER}</receive></scope>
<scope name="b"><correlationSets><correlationSet name="order" properties="tns:orderId"/><correlationSet name="order" properties="tns:orderId"/></correlationSets>
  <receive partnerLink="client" operation="go" variable="go">${BY_ORDER}</receive></scope>
</sequence>`;
      const process = parse(`${DECLARATIONS}\n${body}`);
      expect((at(process, '/process/sequence/scope[1]') as Scope).correlationSets.map((c) => [c.name, c.line])).to.deep.equal([['order', 11]]);
      const visible = visibleCorrelationSets(process);
      expect(visible.get('/process/sequence/receive')?.get('order')?.owner).to.equal('/process');
      expect(visible.get('/process/sequence/scope[1]/receive')?.get('order')?.owner).to.equal('/process/sequence/scope[1]');
      expect(problems(body)).to.deep.equal([
        'correlation set "order" is declared twice in scope /process/sequence/scope[2]',
        'activity /process/sequence/scope[2]/receive: operation "go" of partner link "client" is taken by correlation set "order" of scope /process/sequence/scope[1] at line 12; every activity taking one operation is reached by the same set, here "order" of scope /process/sequence/scope[2]',
      ]);
    });

    it('accept several start activities joining a set of the process, and report those that share none, do not join, or take one operation (SA00057)', () => {
      const starts = (go: string, start = '<correlation set="order" initiate="join"/>'): string => `<flow>
<receive partnerLink="client" operation="start" variable="start" createInstance="yes"><correlations>${start}</correlations></receive>
<pick createInstance="yes"><onMessage partnerLink="client" operation="${go}" variable="${go}"><correlations>${'<correlation set="order" initiate="join"/>'}</correlations><empty/></onMessage></pick>
</flow>`;
      expect(problems(starts('go'))).to.deep.equal([]);
      expect(problems(starts('go', '<correlation set="order" initiate="yes"/>'))).to.deep.equal([
        'activity /process/flow/receive: correlation set "order" is shared by the process\'s start activities, so each joins it (initiate="join"), not initiate="yes" (SA00057)',
      ]);
      expect(problems(starts('start'))).to.deep.equal([
        'activity /process/flow/pick <onMessage> /process/flow/pick/onMessage[1]: operation "start" of partner link "client" is already taken by the start activity at line 11; each start activity takes its own operation',
      ]);
      expect(problems(starts('go', '<correlation set="order" initiate="no"/>').replace('<correlation set="order" initiate="join"/></correlations><empty/>', '</correlations><empty/>').replace('<correlations></correlations>', ''))).to.deep.equal([
        'activity /process/flow/receive: correlation set "order" has initiate="no", but an instance-creating activity initiates or joins its correlation sets',
        'the process has 2 start activities (line 11, line 12), and they share no correlation set: several start activities join one to find the instance the first of them created (SA00057)',
      ]);
    });

    it('report an instance-creating receive that joins, and one operation routed by two sets', () => {
      expect(
        validateProcess(
          parse(`${DECLARATIONS.replace('</correlationSets>', '<correlationSet name="other" properties="tns:orderId"/></correlationSets>')}
<sequence>
<receive partnerLink="client" operation="start" variable="start" createInstance="yes"><correlations><correlation set="order" initiate="join"/></correlations></receive>
<receive partnerLink="client" operation="go" variable="go">${BY_ORDER}</receive>
<receive partnerLink="client" operation="go" variable="go"><correlations><correlation set="other"/></correlations></receive>
</sequence>`),
          context,
        ).map((d) => d.message),
      ).to.deep.equal([
        'activity /process/sequence/receive[1]: correlation set "order" has initiate="join", but the process\'s only start activity initiates its correlation sets (initiate="yes"); a set is joined by several start activities',
        'activity /process/sequence/receive[3]: operation "go" of partner link "client" is taken by correlation set "order" at line 12; every activity taking one operation is reached by the same set, here "other"',
      ]);
    });
  });

  describe('property aliases', () => {
    const start = messageValue({ p: parseElement(`<tns:Start xmlns:tns="${TNS}"><tns:id> 42 </tns:id></tns:Start>`) });

    it('read a correlation set\'s values from a message, and key them by set and values', () => {
      const values = correlationValues(properties, { name: 'order', line: 1, properties: [orderId] }, { messageType: startIn }, start, 'test');
      expect(values).to.deep.equal([' 42 ']);
      expect(correlationKey('order', values)).to.match(/^[0-9a-f]{64}$/);
      expect(correlationKey('order', values)).to.not.equal(correlationKey('other', values));
    });

    it('fault with bpel:selectionFailure when no alias applies or the query selects nothing', () => {
      expect(() => propertyValue(properties, orderId, { messageType: askIn }, start, 'test')).to.throw(/no property alias of \{urn:test\}orderId applies to message type \{urn:test\}AskIn/);
      const empty = messageValue({ p: parseElement(`<tns:Start xmlns:tns="${TNS}"/>`) });
      try {
        propertyValue(properties, orderId, { messageType: startIn }, empty, 'test');
        expect.fail('no fault');
      } catch (err) {
        expect((err as { faultName?: { local: string } }).faultName?.local).to.equal('selectionFailure');
      }
    });

    it('are read and written by <from property> and <to property>', () => {
      const process = parse(`${DECLARATIONS}
<assign>
  <copy><from variable="start" property="tns:orderId"/><to variable="id"/></copy>
  <copy><from>'43'</from><to variable="go" property="tns:orderId"/></copy>
</assign>`);
      const assign = at(process, '/process/assign');
      const go = messageValue({ p: parseElement(`<tns:Go xmlns:tns="${TNS}"><tns:id>0</tns:id></tns:Go>`) });
      const vars = new MemoryVariables(process.variables, { start, go });
      if (assign.kind !== 'assign') expect.fail('not an assign');
      executeAssign(assign, vars, { properties });
      expect(vars.stored('id')).to.deep.equal({ kind: 'simple', value: ' 42 ' });
      expect(JSON.stringify(vars.stored('go'))).to.contain('<tns:id>43</tns:id>');
    });
  });
});
