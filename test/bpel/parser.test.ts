import { expect } from 'chai';
import { BPEL_NS, type Activity, type Assign, type ForEach, type If, type Scope } from '../../src/bpel/model';
import { parseProcess } from '../../src/bpel/parser';
import { allActivities } from '../../src/bpel/walk';
import { validateProcess } from '../../src/bpel/validate';
import { TNS, XSD, at, bpel, parse, parseError } from './fixtures';

function of<K extends Activity['kind']>(activity: Activity, kind: K): Extract<Activity, { kind: K }> {
  expect(activity.kind).to.equal(kind);
  return activity as Extract<Activity, { kind: K }>;
}

describe('BPEL parser', () => {
  describe('when the process is minimal', () => {
    const process = parse(`<empty name="nothing"/>`);

    it('reads the process attributes with their defaults', () => {
      expect(process.name).to.equal('test');
      expect(process.targetNamespace).to.equal(TNS);
      expect(process.line).to.equal(1);
      expect(process.suppressJoinFailure).to.equal(false);
      expect(process.exitOnStandardFault).to.equal(false);
      expect(process.variables).to.deep.equal([]);
      expect(process.alarms).to.deep.equal([]);
    });

    it('gives the top activity the path /process/<kind> and its line', () => {
      expect(process.activity).to.deep.include({ kind: 'empty', name: 'nothing', path: '/process/empty', line: 2 });
    });
  });

  describe('when the process uses every supported construct', () => {
    const xml = bpel(`<import namespace="urn:provisor:software:1" location="software.wsdl" importType="http://schemas.xmlsoap.org/wsdl/"/>
<partnerLinks>
  <partnerLink name="software" partnerLinkType="tns:softwareLT" partnerRole="provider"/>
  <partnerLink name="client" partnerLinkType="tns:clientLT" myRole="service"/>
</partnerLinks>
<variables>
  <variable name="request" messageType="tns:startRequest"/>
  <variable name="order" element="tns:order"/>
  <variable name="attempts" type="xsd:int"><from>0</from></variable>
</variables>
<correlationSets>
  <correlationSet name="byOrder" properties="tns:orderId tns:customer"/>
</correlationSets>
<faultHandlers>
  <catch faultName="tns:broken" faultVariable="why" faultElement="tns:reason"><empty/></catch>
  <catchAll><exit/></catchAll>
</faultHandlers>
<eventHandlers>
  <onAlarm><for>'PT1H'</for><scope><empty/></scope></onAlarm>
</eventHandlers>
<sequence name="main">
  <documentation>Anything may be documented.</documentation>
  <receive partnerLink="client" operation="start" variable="request" createInstance="yes"/>
  <flow>
    <links><link name="toB"/></links>
    <sequence>
      <invoke name="a" partnerLink="software" portType="tns:SoftwarePortType" operation="Install" inputVariable="request" outputVariable="request">
        <sources><source linkName="toB"><transitionCondition>$attempts &lt; 3</transitionCondition></source></sources>
      </invoke>
    </sequence>
    <sequence suppressJoinFailure="yes">
      <targets><joinCondition>$toB</joinCondition><target linkName="toB"/></targets>
      <wait><for>'PT5M'</for></wait>
      <wait><until>'2030-01-01T00:00:00Z'</until></wait>
    </sequence>
  </flow>
  <assign validate="no">
    <copy keepSrcElementName="yes" ignoreMissingFromData="yes">
      <from variable="request" part="payload"><query>tns:system</query></from>
      <to variable="order" part="x"><query queryLanguage="urn:oasis:names:tc:wsbpel:2.0:sublang:xpath1.0">tns:target</query></to>
    </copy>
    <copy><from>$attempts + 1</from><to>$attempts</to></copy>
    <copy><from><literal><tns:order><tns:id>7</tns:id></tns:order></literal></from><to variable="order"/></copy>
    <copy><from expressionLanguage="urn:oasis:names:tc:wsbpel:2.0:sublang:xpath1.0">concat('a', 'b')</from><to>$order/tns:id</to></copy>
  </assign>
  <if>
    <condition>$attempts > 1</condition>
    <empty/>
    <elseif><condition>$attempts = 1</condition><empty/></elseif>
    <elseif><condition>false()</condition><empty/></elseif>
    <else><throw faultName="tns:tooMany" faultVariable="order"/></else>
  </if>
  <while><condition>$attempts &lt; 3</condition><empty/></while>
  <repeatUntil><empty/><condition>true()</condition></repeatUntil>
  <forEach counterName="i" parallel="yes">
    <startCounterValue>1</startCounterValue>
    <finalCounterValue>3</finalCounterValue>
    <completionCondition><branches successfulBranchesOnly="yes">2</branches></completionCondition>
    <scope><empty/></scope>
  </forEach>
  <scope name="install" isolated="yes" exitOnStandardFault="no">
    <variables><variable name="local" type="xsd:string"/></variables>
    <faultHandlers>
      <catch faultName="tns:a"><sequence><compensateScope target="inner"/><rethrow/></sequence></catch>
      <catch faultName="tns:b"><compensate/></catch>
      <catchAll><empty/></catchAll>
    </faultHandlers>
    <compensationHandler><empty/></compensationHandler>
    <terminationHandler><empty/></terminationHandler>
    <eventHandlers>
      <onAlarm><until>'2030-01-01T00:00:00Z'</until><scope><empty/></scope></onAlarm>
      <onAlarm><for>'PT1M'</for><repeatEvery>'PT1M'</repeatEvery><scope><empty/></scope></onAlarm>
    </eventHandlers>
    <scope name="inner"><reply partnerLink="client" operation="start" variable="request" faultName="tns:oops"/></scope>
  </scope>
  <exit/>
</sequence>`);
    const process = parseProcess(xml, 'all.bpel');

    it('gives every activity a unique path', () => {
      const paths = allActivities(process).map((a) => a.path);
      expect(new Set(paths).size).to.equal(paths.length);
      expect(paths).to.include.members([
        '/process/faultHandlers/catch[1]/empty',
        '/process/faultHandlers/catchAll/exit',
        '/process/eventHandlers/onAlarm[1]/scope',
        '/process/eventHandlers/onAlarm[1]/scope/empty',
        '/process/sequence',
        '/process/sequence/receive',
        '/process/sequence/flow',
        '/process/sequence/flow/sequence[1]/invoke',
        '/process/sequence/flow/sequence[2]/wait[1]',
        '/process/sequence/flow/sequence[2]/wait[2]',
        '/process/sequence/if/empty',
        '/process/sequence/if/elseif[1]/empty',
        '/process/sequence/if/elseif[2]/empty',
        '/process/sequence/if/else/throw',
        '/process/sequence/while/empty',
        '/process/sequence/repeatUntil/empty',
        '/process/sequence/forEach/scope',
        '/process/sequence/forEach/scope/empty',
        '/process/sequence/scope',
        '/process/sequence/scope/faultHandlers/catch[1]/sequence/compensateScope',
        '/process/sequence/scope/faultHandlers/catch[1]/sequence/rethrow',
        '/process/sequence/scope/faultHandlers/catch[2]/compensate',
        '/process/sequence/scope/faultHandlers/catchAll/empty',
        '/process/sequence/scope/compensationHandler/empty',
        '/process/sequence/scope/terminationHandler/empty',
        '/process/sequence/scope/eventHandlers/onAlarm[1]/scope/empty',
        '/process/sequence/scope/eventHandlers/onAlarm[2]/scope/empty',
        '/process/sequence/scope/scope/reply',
        '/process/sequence/exit',
      ]);
    });

    it('records the line of each activity', () => {
      expect(at(process, '/process/sequence').line).to.equal(22);
      expect(at(process, '/process/sequence/receive').line).to.equal(24);
      expect(at(process, '/process/sequence/flow/sequence[1]/invoke').line).to.equal(28);
      expect(at(process, '/process/sequence/exit').line).to.equal(77);
    });

    it('reads the declarations', () => {
      expect(process.imports).to.deep.equal([
        { namespace: 'urn:provisor:software:1', location: 'software.wsdl', importType: 'http://schemas.xmlsoap.org/wsdl/', line: 2 },
      ]);
      expect(process.partnerLinks).to.deep.equal([
        { name: 'software', line: 4, partnerLinkType: { ns: TNS, local: 'softwareLT' }, partnerRole: 'provider' },
        { name: 'client', line: 5, partnerLinkType: { ns: TNS, local: 'clientLT' }, myRole: 'service' },
      ]);
      expect(process.variables.map((v) => v.name)).to.deep.equal(['request', 'order', 'attempts']);
      expect(process.variables[0]?.messageType).to.deep.equal({ ns: TNS, local: 'startRequest' });
      expect(process.variables[1]?.element).to.deep.equal({ ns: TNS, local: 'order' });
      expect(process.variables[2]?.type).to.deep.equal({ ns: XSD, local: 'int' });
      expect(process.variables[2]?.from).to.deep.include({ type: 'expression' });
      expect(process.correlationSets).to.deep.equal([
        { name: 'byOrder', line: 13, properties: [{ ns: TNS, local: 'orderId' }, { ns: TNS, local: 'customer' }] },
      ]);
    });

    it('reads process fault handlers and alarms', () => {
      const catch1 = process.faultHandlers?.catches[0];
      expect(catch1).to.deep.include({
        line: 16,
        faultName: { ns: TNS, local: 'broken' },
        faultVariable: 'why',
        faultElement: { ns: TNS, local: 'reason' },
      });
      expect(process.faultHandlers?.catchAll?.kind).to.equal('exit');
      expect(process.alarms[0]).to.deep.include({ line: 20, path: '/process/eventHandlers/onAlarm[1]' });
      expect(process.alarms[0]?.for?.text).to.equal("'PT1H'");
    });

    it('reads messaging activities', () => {
      expect(at(process, '/process/sequence/receive')).to.deep.include({
        partnerLink: 'client',
        operation: 'start',
        variable: 'request',
        createInstance: true,
      });
      const invoke = of(at(process, '/process/sequence/flow/sequence[1]/invoke'), 'invoke');
      expect(invoke).to.deep.include({
        name: 'a',
        partnerLink: 'software',
        portType: { ns: TNS, local: 'SoftwarePortType' },
        operation: 'Install',
        inputVariable: 'request',
        outputVariable: 'request',
      });
      const reply = of(at(process, '/process/sequence/scope/scope/reply'), 'reply');
      expect(reply.faultName).to.deep.equal({ ns: TNS, local: 'oops' });
    });

    it('reads links, join and transition conditions', () => {
      const flow = of(at(process, '/process/sequence/flow'), 'flow');
      expect(flow.links).to.deep.equal([{ name: 'toB', line: 26 }]);
      const invoke = at(process, '/process/sequence/flow/sequence[1]/invoke');
      expect(invoke.sources).to.have.length(1);
      expect(invoke.sources[0]?.link).to.equal('toB');
      expect(invoke.sources[0]?.transitionCondition).to.deep.include({ text: '$attempts < 3', line: 29 });
      const target = at(process, '/process/sequence/flow/sequence[2]');
      expect(target.targets).to.deep.equal(['toB']);
      expect(target.joinCondition?.text).to.equal('$toB');
      expect(target.suppressJoinFailure).to.equal(true);
    });

    it('reads waits', () => {
      expect(of(at(process, '/process/sequence/flow/sequence[2]/wait[1]'), 'wait').for?.text).to.equal("'PT5M'");
      expect(of(at(process, '/process/sequence/flow/sequence[2]/wait[2]'), 'wait').until?.text).to.equal("'2030-01-01T00:00:00Z'");
    });

    it('reads every form of copy', () => {
      const assign = of(at(process, '/process/sequence/assign'), 'assign') as Assign;
      const [c1, c2, c3, c4] = assign.copies;
      expect(c1).to.deep.include({ line: 39, keepSrcElementName: true, ignoreMissingFromData: true });
      expect(c1?.from).to.deep.include({ type: 'variable', variable: 'request', part: 'payload' });
      expect(c1?.from.type === 'variable' && c1.from.query?.text).to.equal('tns:system');
      expect(c1?.to).to.deep.include({ type: 'variable', variable: 'order', part: 'x' });
      expect(c2?.from.type === 'expression' && c2.from.expression.text).to.equal('$attempts + 1');
      expect(c2?.to.type === 'expression' && c2.to.expression.text).to.equal('$attempts');
      expect(c2).to.deep.include({ keepSrcElementName: false, ignoreMissingFromData: false });
      expect(c3?.from).to.deep.equal({ type: 'literal', xml: `<tns:order xmlns:tns="${TNS}"><tns:id>7</tns:id></tns:order>` });
      expect(c4?.from.type === 'expression' && c4.from.expression.text).to.equal("concat('a', 'b')");
    });

    it('captures every namespace binding in scope at an expression', () => {
      const assign = of(at(process, '/process/sequence/assign'), 'assign');
      const from = assign.copies[0]?.from;
      expect(from?.type === 'variable' && from.query?.namespaces).to.deep.equal({ '': BPEL_NS, tns: TNS, xsd: XSD });
    });

    it('reads if, while, repeatUntil and forEach', () => {
      const ifActivity = of(at(process, '/process/sequence/if'), 'if') as If;
      expect(ifActivity.branches.map((b) => b.condition.text)).to.deep.equal(['$attempts > 1', '$attempts = 1', 'false()']);
      expect(ifActivity.else?.kind).to.equal('throw');
      expect(of(at(process, '/process/sequence/if/else/throw'), 'throw')).to.deep.include({
        faultName: { ns: TNS, local: 'tooMany' },
        faultVariable: 'order',
      });
      expect(of(at(process, '/process/sequence/while'), 'while').condition.text).to.equal('$attempts < 3');
      expect(of(at(process, '/process/sequence/repeatUntil'), 'repeatUntil').condition.text).to.equal('true()');
      const forEach = of(at(process, '/process/sequence/forEach'), 'forEach') as ForEach;
      expect(forEach).to.deep.include({ counterName: 'i', parallel: true });
      expect(forEach.startCounter.text).to.equal('1');
      expect(forEach.finalCounter.text).to.equal('3');
      expect(forEach.completionCondition?.successfulBranchesOnly).to.equal(true);
      expect(forEach.completionCondition?.branches.text).to.equal('2');
    });

    it('reads a scope with all its handlers', () => {
      const scope = of(at(process, '/process/sequence/scope'), 'scope') as Scope;
      expect(scope).to.deep.include({ name: 'install', isolated: true, exitOnStandardFault: false });
      expect(scope.variables.map((v) => v.name)).to.deep.equal(['local']);
      expect(scope.faultHandlers?.catches.map((c) => c.faultName?.local)).to.deep.equal(['a', 'b']);
      expect(scope.faultHandlers?.catchAll?.path).to.equal('/process/sequence/scope/faultHandlers/catchAll/empty');
      expect(scope.alarms.map((a) => a.path)).to.deep.equal([
        '/process/sequence/scope/eventHandlers/onAlarm[1]',
        '/process/sequence/scope/eventHandlers/onAlarm[2]',
      ]);
      expect(scope.alarms[1]?.repeatEvery?.text).to.equal("'PT1M'");
      expect(of(at(process, '/process/sequence/scope/faultHandlers/catch[1]/sequence/compensateScope'), 'compensateScope').target).to.equal('inner');
    });
  });

  describe('when a construct is outside the subset', () => {
    const cases: Array<[string, string, string]> = [
      ['validate', `<sequence>\n<validate variables="x"/></sequence>`, '<validate> is not supported by Provisor (line 3); see docs/bpel.md'],
      ['extensionActivity', `<extensionActivity/>`, '<extensionActivity> is not supported by Provisor (line 2); see docs/bpel.md'],
      ['inline fault handlers on invoke', `<invoke partnerLink="p" operation="o"><catchAll><empty/></catchAll></invoke>`, '<catchAll> in <invoke> is not supported by Provisor (line 2); see docs/bpel.md'],
      ['partner links in a scope', `<scope><partnerLinks/><empty/></scope>`, '<partnerLinks> in <scope> is not supported by Provisor (line 2); see docs/bpel.md'],
      ['an extension element', `<sequence xmlns:ext="urn:ext">\n<ext:audit/><empty/></sequence>`, '<ext:audit> (namespace urn:ext) is not supported by Provisor (line 3): extension elements are refused; see docs/bpel.md'],
      ['an extension attribute', `<empty xmlns:ext="urn:ext" ext:retries="3"/>`, 'attribute ext:retries of <empty> is not supported by Provisor (line 2): extension attributes are refused; see docs/bpel.md'],
      ['assign validate="yes"', `<assign validate="yes"><copy><from>1</from><to>$x</to></copy></assign>`, '<assign validate="yes"> is not supported by Provisor (line 2); see docs/bpel.md'],
      ['another expression language', `<while><condition expressionLanguage="urn:xquery">1</condition><empty/></while>`, '<condition> expressionLanguage "urn:xquery" is not supported by Provisor (line 2): only XPath 1.0 (urn:oasis:names:tc:wsbpel:2.0:sublang:xpath1.0); see docs/bpel.md'],
      ['a misspelt element', `<sequnce/>`, '<sequnce> is not a WS-BPEL 2.0 element (line 2)'],
    ];
    for (const [what, body, message] of cases) {
      it(`refuses ${what} by name and line`, () => {
        const error = parseError(bpel(body));
        expect(error.diagnostics.map((d) => d.message)).to.include(message);
      });
    }

    it('reports a refused activity once, not also as a missing activity', () => {
      for (const body of ['<validate/>', '<sequence><validate/></sequence>', '<flow><extensionActivity/></flow>', '<while><condition>1</condition><validate/></while>']) {
        expect(parseError(bpel(body)).diagnostics).to.have.length(1);
      }
    });

    it('refuses the process-level language attributes when not XPath 1.0', () => {
      const error = parseError(bpel('<empty/>', ' queryLanguage="urn:other"'));
      expect(error.diagnostics[0]?.message).to.match(/^<process> queryLanguage "urn:other" is not supported by Provisor \(line 1\)/);
    });

    it('accepts documentation anywhere and any content inside a literal', () => {
      const process = parse(`<sequence>
  <documentation><b xmlns="urn:html">notes</b></documentation>
  <assign><documentation>why</documentation><copy>
    <from><literal><x:anything xmlns:x="urn:any"><x:deep/></x:anything></literal></from>
    <to variable="v"/></copy></assign>
</sequence>`);
      expect(process.activity.kind).to.equal('sequence');
    });
  });

  describe('when the process declares extensions', () => {
    const declared = (mustUnderstand: string, body: string): string =>
      bpel(`<extensions><extension namespace="urn:ext" mustUnderstand="${mustUnderstand}"/></extensions>\n${body}`, ' xmlns:ext="urn:ext"');

    it('ignores the elements and attributes of one declared mustUnderstand="no"', () => {
      const process = parseProcess(declared('no', `<sequence ext:owner="ops">\n<ext:audit level="high"><ext:more/></ext:audit><empty name="kept" ext:retries="3"/></sequence>`), 'test.bpel');
      expect(allActivities(process).map((a) => a.path)).to.deep.equal(['/process/sequence', '/process/sequence/empty']);
      expect(of(at(process, '/process/sequence/empty'), 'empty').name).to.equal('kept');
    });

    it('runs an extensionActivity of it as <empty>, keeping its name and links', () => {
      const process = parseProcess(
        declared(
          'no',
          `<flow><links><link name="l"/></links>
<extensionActivity><ext:notify name="tell"><sources><source linkName="l"/></sources><ext:to>ops</ext:to></ext:notify></extensionActivity>
<empty name="after"><targets><target linkName="l"/></targets></empty></flow>`,
        ),
        'test.bpel',
      );
      const ignored = at(process, '/process/flow/empty[1]');
      expect(ignored).to.deep.include({ kind: 'empty', name: 'tell', line: 4 });
      expect(ignored.sources.map((s) => s.link)).to.deep.equal(['l']);
      expect(validateProcess(process)).to.deep.equal([]);
    });

    it('drops an extensionAssignOperation of it, keeping the copies', () => {
      const process = parseProcess(declared('no', `<assign><extensionAssignOperation><ext:op/></extensionAssignOperation><copy><from>1</from><to variable="v"/></copy></assign>`), 'test.bpel');
      expect(of(at(process, '/process/assign'), 'assign').copies).to.have.length(1);
    });

    it('refuses one declared mustUnderstand="yes", naming its namespace', () => {
      const error = parseError(declared('yes', '<empty/>'));
      expect(error.diagnostics.map((d) => d.message)).to.deep.equal(['extension urn:ext is declared mustUnderstand="yes", and Provisor does not understand it (line 2); see docs/bpel.md']);
    });

    it('still refuses elements of a namespace that is not declared', () => {
      const error = parseError(declared('no', '<sequence xmlns:other="urn:other"><other:audit/><empty/></sequence>'));
      expect(error.diagnostics.map((d) => d.message)).to.deep.equal(['<other:audit> (namespace urn:other) is not supported by Provisor (line 3): extension elements are refused; see docs/bpel.md']);
    });

    it('still refuses an extensionActivity of an undeclared namespace', () => {
      const error = parseError(declared('no', '<extensionActivity><x:job xmlns:x="urn:x"/></extensionActivity>'));
      expect(error.diagnostics.map((d) => d.message)).to.include('<extensionActivity> is not supported by Provisor (line 3); see docs/bpel.md');
    });

    it('refuses an extension without a namespace, or with a mustUnderstand that is not yes or no', () => {
      const error = parseError(bpel('<extensions><extension mustUnderstand="perhaps"/></extensions>\n<empty/>'));
      const messages = error.diagnostics.map((d) => d.message);
      expect(messages).to.include('<extension> needs the attribute "namespace" (line 2)');
      expect(messages).to.include('<extension> attribute mustUnderstand must be "yes" or "no", not "perhaps" (line 2)');
    });
  });

  describe('when a document carries attributes with no meaning for a process', () => {
    it('accepts xsi:schemaLocation and initializePartnerRole', () => {
      const process = parseProcess(
        bpel(
          '<partnerLinks><partnerLink name="p" partnerLinkType="tns:lt" partnerRole="r" initializePartnerRole="yes"/></partnerLinks>\n<empty/>',
          ' xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance" xsi:schemaLocation="http://docs.oasis-open.org/wsbpel/2.0/process/executable ws-bpel_executable.xsd"',
        ),
        'test.bpel',
      );
      expect(process.partnerLinks.map((p) => p.name)).to.deep.equal(['p']);
    });

    it('refuses initializePartnerRole on a partner link without a partner role (SA00017)', () => {
      const error = parseError(bpel('<partnerLinks><partnerLink name="p" partnerLinkType="tns:lt" myRole="r" initializePartnerRole="no"/></partnerLinks>\n<empty/>'));
      expect(error.diagnostics.map((d) => d.message)).to.deep.equal(['<partnerLink> "p" has initializePartnerRole but no partnerRole (line 2)']);
    });

    it('refuses an initializePartnerRole that is not yes or no', () => {
      const error = parseError(bpel('<partnerLinks><partnerLink name="p" partnerLinkType="tns:lt" partnerRole="r" initializePartnerRole="sometimes"/></partnerLinks>\n<empty/>'));
      expect(error.diagnostics.map((d) => d.message)).to.deep.equal(['<partnerLink> attribute initializePartnerRole must be "yes" or "no", not "sometimes" (line 2)']);
    });
  });

  describe('when the document is not a BPEL process', () => {
    it('reports invalid XML with the parser line', () => {
      const error = parseError('<process>\n<sequence>\n</process>');
      expect(error.diagnostics).to.have.length(1);
      expect(error.diagnostics[0]?.line).to.equal(2);
      expect(error.diagnostics[0]?.message).to.equal('invalid XML: Opening and ending tag mismatch: "sequence" != "process"');
      expect(error.message).to.match(/^test\.bpel:2: invalid XML/);
    });

    it('refuses a DTD and entity declarations with their line', () => {
      const error = parseError(`<?xml version="1.0"?>\n<!DOCTYPE process [<!ENTITY boom "boom">]>\n<process/>`);
      expect(error.diagnostics[0]).to.deep.equal({
        line: 2,
        message: 'invalid XML: <!DOCTYPE is refused: document type and entity declarations are not allowed (line 2)',
      });
    });

    it('does not mistake a commented declaration for one', () => {
      const process = parseProcess(`<!-- <!DOCTYPE x> -->\n${bpel('<empty/>')}`, 'test.bpel');
      expect(process.activity.line).to.equal(3);
    });

    it('refuses a root other than bpel:process', () => {
      const error = parseError('<definitions xmlns="http://schemas.xmlsoap.org/wsdl/"/>');
      expect(error.diagnostics[0]?.message).to.equal(
        `the root element must be <process> in namespace ${BPEL_NS}, not <definitions> in namespace http://schemas.xmlsoap.org/wsdl/`,
      );
    });

    it('refuses a process in the BPEL4WS 1.1 namespace', () => {
      const error = parseError('<process xmlns="http://schemas.xmlsoap.org/ws/2003/03/business-process/" name="p" targetNamespace="urn:x"><empty/></process>');
      expect(error.diagnostics[0]?.message).to.match(/^the root element must be <process> in namespace/);
    });
  });

  describe('when the process is malformed', () => {
    it('lists every problem, each with its line', () => {
      const error = parseError(`<process xmlns="${BPEL_NS}" name="p">
<variables><variable name="x"/></variables>
<sequence>
  <invoke partnerLink="p"/>
  <while><empty/></while>
  <forEach counterName="i" parallel="maybe"><startCounterValue>1</startCounterValue><empty/></forEach>
  <throw faultName="nope:x"/>
</sequence>
</process>`);
      expect(error.diagnostics.map((d) => `${d.line}: ${d.message}`)).to.deep.equal([
        '1: <process> needs the attribute "targetNamespace" (line 1)',
        '2: variable "x" needs exactly one of messageType, element or type (line 2)',
        '4: <invoke> needs the attribute "operation" (line 4)',
        '5: <while> needs a <condition> (line 5)',
        '6: <forEach> attribute parallel must be "yes" or "no", not "maybe" (line 6)',
        '6: <forEach> holds a <scope>, not <empty> (line 6)',
        '6: <forEach> needs <finalCounterValue> (line 6)',
        '6: <forEach> needs a <scope> (line 6)',
        '7: <throw> attribute faultName="nope:x" is not a QName with a declared prefix (line 7)',
      ]);
    });

    it('refuses two activities where one is expected', () => {
      const error = parseError(bpel(`<while><condition>true()</condition><empty/>\n<exit/></while>`));
      expect(error.diagnostics.map((d) => d.message)).to.deep.equal(['<while> holds one activity; <exit> is one too many (line 3)']);
    });

    it('refuses a catch with a fault variable but no type', () => {
      const error = parseError(bpel(`<scope><faultHandlers><catch faultName="tns:x" faultVariable="v"><empty/></catch></faultHandlers><empty/></scope>`));
      expect(error.diagnostics.map((d) => d.message)).to.deep.equal(['<catch> with faultVariable "v" needs faultMessageType or faultElement (line 2)']);
    });

    it('refuses a variable name with a dot', () => {
      const error = parseError(bpel(`<variables><variable name="a.b" type="xsd:string"/></variables><empty/>`));
      expect(error.diagnostics.map((d) => d.message)).to.deep.equal(['variable name "a.b" is not valid: an NCName without "." (line 2)']);
    });

    it('refuses an empty expression', () => {
      const error = parseError(bpel(`<wait><for>  </for></wait>`));
      expect(error.diagnostics.map((d) => d.message)).to.deep.equal(['<for> is empty; it needs an XPath 1.0 expression (line 2)']);
    });
  });
});
