import { expect } from 'chai';
import { ProcessDefinitionError, type PartnerLink } from '../../src/bpel/model';
import { assertValid, validateProcess, type OperationInfo, type ProcessContext } from '../../src/bpel/validate';
import { TNS, parse } from './fixtures';

const SW = 'urn:provisor:software:1';

/** A deployment's view of the WSDLs: one provider port type and one port type the process serves. */
const context: ProcessContext = {
  portTypeOf(partnerLink: PartnerLink, role) {
    if (partnerLink.partnerLinkType.local === 'provisioningLT' && role === 'partner') {
      const operations = new Map<string, OperationInfo>([
        ['Install', { input: { ns: SW, local: 'InstallRequest' }, output: { ns: SW, local: 'InstallResponse' }, faults: ['fault'] }],
        ['Notify', { input: { ns: SW, local: 'Notification' }, faults: [] }],
      ]);
      return { portType: { ns: SW, local: 'SoftwarePortType' }, operations };
    }
    if (partnerLink.partnerLinkType.local === 'planLT' && role === 'my') {
      const operations = new Map<string, OperationInfo>([
        ['Run', { input: { ns: TNS, local: 'RunRequest' }, output: { ns: TNS, local: 'RunResponse' }, faults: ['refused'] }],
      ]);
      return { portType: { ns: TNS, local: 'PlanPortType' }, operations };
    }
    return undefined;
  },
  messageParts(message) {
    const parts: Record<string, ReadonlyMap<string, { ns: string; local: string } | undefined>> = {
      [`{${SW}}InstallRequest`]: new Map([['parameters', { ns: SW, local: 'Install' }]]),
      [`{${SW}}InstallResponse`]: new Map([['parameters', { ns: SW, local: 'InstallResponse' }]]),
      [`{${TNS}}RunRequest`]: new Map([['parameters', { ns: TNS, local: 'run' }]]),
      [`{${TNS}}RunResponse`]: new Map([['status', undefined]]),
    };
    return parts[`{${message.ns}}${message.local}`];
  },
};

const DECLARATIONS = `<partnerLinks>
  <partnerLink name="provisioning" partnerLinkType="tns:provisioningLT" partnerRole="provider"/>
  <partnerLink name="client" partnerLinkType="tns:planLT" myRole="plan"/>
</partnerLinks>
<variables xmlns:sw="${SW}">
  <variable name="installRequest" messageType="sw:InstallRequest"/>
  <variable name="installResponse" messageType="sw:InstallResponse"/>
  <variable name="run" messageType="tns:RunRequest"/>
  <variable name="done" messageType="tns:RunResponse"/>
  <variable name="order" element="tns:order"/>
  <variable name="count" type="xsd:int"/>
</variables>`;

/** The messages of validating `body` (after the standard declarations). */
function problems(body: string, withContext = true): string[] {
  return validateProcess(parse(`${DECLARATIONS}\n${body}`), withContext ? context : undefined).map((d) => d.message);
}

describe('BPEL static checks', () => {
  describe('when the process is valid', () => {
    it('finds nothing', () => {
      expect(
        problems(`<sequence>
  <receive partnerLink="client" operation="Run" variable="run" createInstance="yes"/>
  <flow>
    <links><link name="installed"/></links>
    <sequence>
      <assign><copy><from variable="run" part="parameters"><query>tns:system</query></from><to variable="installRequest" part="parameters"/></copy></assign>
      <invoke name="installIHS" partnerLink="provisioning" operation="Install" inputVariable="installRequest" outputVariable="installResponse">
        <sources><source linkName="installed"><transitionCondition>$installResponse.parameters/requestId != ''</transitionCondition></source></sources>
      </invoke>
    </sequence>
    <empty><targets><joinCondition>$installed</joinCondition><target linkName="installed"/></targets></empty>
  </flow>
  <forEach counterName="i" parallel="no">
    <startCounterValue>1</startCounterValue><finalCounterValue>$count</finalCounterValue>
    <scope><assign><copy><from>$i</from><to variable="count"/></copy></assign></scope>
  </forEach>
  <reply partnerLink="client" operation="Run" variable="done"/>
</sequence>`),
      ).to.deep.equal([]);
    });

    it('allows a process without an instance-creating receive', () => {
      expect(problems(`<assign><copy><from>1</from><to variable="count"/></copy></assign>`)).to.deep.equal([]);
    });

    it('skips the WSDL checks without a context', () => {
      expect(problems(`<invoke partnerLink="provisioning" operation="Anything"/>`, false)).to.deep.equal([]);
    });
  });

  describe('when names are declared twice', () => {
    it('reports a variable declared twice in one scope, not one shadowed by an inner scope', () => {
      expect(
        problems(`<scope><variables><variable name="x" type="xsd:int"/><variable name="x" type="xsd:int"/><variable name="count" type="xsd:string"/></variables><empty/></scope>`),
      ).to.deep.equal(['variable "x" is declared twice in scope /process/scope']);
    });

    it('reports partner links, links and scope names declared twice', () => {
      const process = parse(`<partnerLinks><partnerLink name="p" partnerLinkType="tns:x" partnerRole="r"/><partnerLink name="p" partnerLinkType="tns:x" partnerRole="r"/></partnerLinks>
<flow><links><link name="l"/><link name="l"/></links>
  <scope name="s"><empty><sources><source linkName="l"/></sources></empty></scope>
  <scope name="s"><empty><targets><target linkName="l"/></targets></empty></scope>
</flow>`);
      expect(validateProcess(process).map((d) => d.message)).to.deep.equal([
        'partner link "p" is declared twice',
        'activity /process/flow: link "l" is declared twice',
        'activity /process/flow/scope[2] "s": scope name "s" is already used by /process/flow/scope[1]; scope names are unique in a process',
      ]);
    });
  });

  describe('when something used is not declared', () => {
    it('reports unknown variables in every place that names one', () => {
      expect(
        problems(`<sequence>
  <invoke partnerLink="provisioning" operation="Install" inputVariable="nope1" outputVariable="installResponse"/>
  <receive partnerLink="client" operation="Run" variable="nope2" createInstance="yes"/>
  <reply partnerLink="client" operation="Run" variable="nope3"/>
  <assign><copy><from variable="nope4"/><to variable="nope5"/></copy></assign>
  <throw faultName="tns:f" faultVariable="nope6"/>
  <wait><for>$nope7</for></wait>
</sequence>`),
      ).to.deep.equal([
        'activity /process/sequence/invoke: inputVariable "nope1" is not a declared variable in scope',
        'activity /process/sequence/receive: variable "nope2" is not a declared variable in scope',
        'activity /process/sequence/reply: variable "nope3" is not a declared variable in scope',
        'activity /process/sequence/assign: <from> variable "nope4" is not a declared variable in scope',
        'activity /process/sequence/assign: <to> variable "nope5" is not a declared variable in scope',
        'activity /process/sequence/throw: faultVariable "nope6" is not a declared variable in scope',
        'activity /process/sequence/wait: expression "$nope7" (line 20): variable "nope7" is not declared in scope',
      ]);
    });

    it('resolves variables through enclosing scopes only', () => {
      expect(
        problems(`<sequence>
  <scope><variables><variable name="inner" type="xsd:int"/></variables><assign><copy><from>$inner + $count</from><to variable="count"/></copy></assign></scope>
  <assign><copy><from>$inner</from><to variable="count"/></copy></assign>
</sequence>`),
      ).to.deep.equal(['activity /process/sequence/assign: expression "$inner" (line 16): variable "inner" is not declared in scope']);
    });

    it('makes the forEach counter a variable of its scope and a fault variable one of its catch', () => {
      expect(
        problems(`<sequence>
  <forEach counterName="i" parallel="yes"><startCounterValue>$i</startCounterValue><finalCounterValue>2</finalCounterValue><scope><wait><for>$i</for></wait></scope></forEach>
  <scope>
    <faultHandlers><catch faultName="tns:f" faultVariable="why" faultElement="tns:reason"><assign><copy><from>$why</from><to variable="order"/></copy></assign></catch></faultHandlers>
    <assign><copy><from>$why</from><to variable="order"/></copy></assign>
  </scope>
</sequence>`),
      ).to.deep.equal([
        'activity /process/sequence/forEach: expression "$i" (line 15): variable "i" is not declared in scope',
        'activity /process/sequence/scope/assign: expression "$why" (line 18): variable "why" is not declared in scope',
      ]);
    });

    it('reports unknown partner links and roles the link does not have', () => {
      expect(
        problems(`<sequence>
  <invoke partnerLink="nobody" operation="Install"/>
  <invoke partnerLink="client" operation="Run"/>
  <receive partnerLink="provisioning" operation="Install" createInstance="yes"/>
</sequence>`),
      ).to.deep.equal([
        'activity /process/sequence/invoke[1]: partner link "nobody" is not declared',
        'activity /process/sequence/invoke[2]: partner link "client" has no partnerRole, which <invoke> needs',
        'activity /process/sequence/receive: partner link "provisioning" has no myRole, which <receive> needs',
      ]);
    });
  });

  describe('when the WSDL disagrees', () => {
    it('names the activity and the missing operation', () => {
      expect(
        problems(`<flow>
  <sequence><empty/></sequence>
  <sequence><invoke name="installIHS" partnerLink="provisioning" operation="Instal"/></sequence>
</flow>`),
      ).to.deep.equal(['activity /process/flow/sequence[2]/invoke "installIHS": partner link "provisioning" has no operation "Instal"']);
    });

    it('reports message types that do not match the operation, and one-way misuse', () => {
      expect(
        problems(`<sequence>
  <invoke partnerLink="provisioning" operation="Install" inputVariable="run" outputVariable="order"/>
  <invoke partnerLink="provisioning" operation="Notify" outputVariable="installResponse"/>
  <reply partnerLink="client" operation="Run" faultName="tns:nope" variable="done"/>
  <invoke partnerLink="provisioning" portType="tns:Other" operation="Install"/>
</sequence>`),
      ).to.deep.equal([
        `activity /process/sequence/invoke[1]: inputVariable "run" has message type {${TNS}}RunRequest, but the operation's input is {${SW}}InstallRequest`,
        `activity /process/sequence/invoke[1]: outputVariable "order" holds element {${TNS}}order, but the operation's output {${SW}}InstallResponse is element {${SW}}InstallResponse`,
        'activity /process/sequence/invoke[2]: operation "Notify" is one-way, so it has no output for outputVariable "installResponse"',
        'activity /process/sequence/reply: operation "Run" has no fault "nope"',
        `activity /process/sequence/invoke[3]: portType {${TNS}}Other is not the port type of partner link "provisioning" ({${SW}}SoftwarePortType)`,
      ]);
    });

    it('accepts element variables of the element defining the message\'s single part (SA00048, SA00058)', () => {
      expect(
        problems(`<scope xmlns:sw="${SW}">
  <variables><variable name="runElement" element="tns:run"/><variable name="install" element="sw:Install"/><variable name="installed" element="sw:InstallResponse"/></variables>
  <sequence>
    <receive partnerLink="client" operation="Run" variable="runElement" createInstance="yes"/>
    <invoke partnerLink="provisioning" operation="Install" inputVariable="install" outputVariable="installed"/>
  </sequence>
</scope>`),
      ).to.deep.equal([]);
    });

    it('refuses an element variable where the message part is not an element, and a simple-typed variable anywhere', () => {
      expect(
        problems(`<sequence>
  <receive partnerLink="client" operation="Run" variable="order" createInstance="yes"/>
  <reply partnerLink="client" operation="Run" variable="order"/>
  <invoke partnerLink="provisioning" operation="Install" inputVariable="count"/>
</sequence>`),
      ).to.deep.equal([
        `activity /process/sequence/receive: variable "order" holds element {${TNS}}order, but the operation's input {${TNS}}RunRequest is element {${TNS}}run`,
        `activity /process/sequence/reply: variable "order" is an element variable, but the operation's output {${TNS}}RunResponse part "status" is not defined by an element; use a message variable (messageType={${TNS}}RunResponse)`,
        'activity /process/sequence/invoke: inputVariable "count" must be a message variable (messageType=…) or an element variable (element=…) of the message\'s single element part',
      ]);
    });

    it('refuses a receive after the instance-creating one that no correlation set routes, at deploy rather than when the instance reaches it', () => {
      expect(
        problems(`<sequence>
  <receive partnerLink="client" operation="Run" variable="run" createInstance="yes"/>
  <receive partnerLink="client" operation="Run" variable="run"/>
</sequence>`),
      ).to.deep.equal(['activity /process/sequence/receive[2]: a message after the instance-creating one reaches its instance by its correlation values: it needs a <correlation> with initiate="no" or "join"']);
    });

    it('reports a partner link type the WSDLs do not define', () => {
      const process = parse(`<partnerLinks><partnerLink name="p" partnerLinkType="tns:unknownLT" partnerRole="r"/></partnerLinks>
<invoke partnerLink="p" operation="x"/>`);
      expect(validateProcess(process, context).map((d) => d.message)).to.deep.equal([
        `activity /process/invoke: partner link "p": role "r" of partner link type {${TNS}}unknownLT is not defined by the imported WSDLs`,
      ]);
    });
  });

  describe('when expressions are wrong', () => {
    it('reports syntax, prefixes, unsupported functions and part misuse', () => {
      expect(
        problems(`<sequence>
  <if><condition>$count &gt;</condition><empty/></if>
  <if><condition>$order/q:x</condition><empty/></if>
  <if><condition>bpel:getVariableProperty('run', 'tns:p')</condition><empty/></if>
  <if><condition>$run = 1</condition><empty/></if>
  <if><condition>$order.part = 1</condition><empty/></if>
  <assign><copy><from>1</from><to>concat($count, 1)</to></copy></assign>
</sequence>`, true).map((m) => m.replace(/^activity \/process\/sequence\//, '')),
      ).to.deep.equal([
        'if[1]: expression "$count >" (line 15): is not valid XPath 1.0',
        'if[2]: expression "$order/q:x" (line 16): namespace prefix "q" is not declared',
        'if[3]: expression "bpel:getVariableProperty(\'run\', \'tns:p\')" (line 17): namespace prefix "bpel" is not declared',
        'if[4]: expression "$run = 1" (line 18): message variable "run" is read by part ($run.part)',
        'if[5]: expression "$order.part = 1" (line 19): variable "order" is not a message variable, so it has no part "part"',
        'assign: <to> expression "concat($count, 1)" (line 20): must start with a variable reference ($var, $var.part or $var/…)',
      ]);
    });

    it('checks bpel:getVariableProperty\'s arguments (SA00030, SA00031) and bpel:getLinkStatus outside a joinCondition', () => {
      expect(
        problems(`<sequence xmlns:bpel="http://docs.oasis-open.org/wsbpel/2.0/process/executable">
  <if><condition>bpel:getVariableProperty('run', 'tns:p') = 'x'</condition><empty/></if>
  <if><condition>bpel:getVariableProperty($count, 'tns:p')</condition><empty/></if>
  <if><condition>bpel:getVariableProperty('run', 'nope:p')</condition><empty/></if>
  <if><condition>bpel:getVariableProperty('ghost', 'tns:p')</condition><empty/></if>
  <if><condition>bpel:getLinkStatus('a')</condition><empty/></if>
</sequence>`),
      ).to.deep.equal([
        `activity /process/sequence/if[2]: expression "bpel:getVariableProperty($count, 'tns:p')" (line 16): bpel:getVariableProperty takes two quoted strings: a variable name and a property QName`,
        `activity /process/sequence/if[3]: expression "bpel:getVariableProperty('run', 'nope:p')" (line 17): bpel:getVariableProperty: "nope:p" is not a QName with a declared prefix`,
        `activity /process/sequence/if[4]: expression "bpel:getVariableProperty('ghost', 'tns:p')" (line 18): bpel:getVariableProperty variable "ghost" is not a declared variable in scope`,
        `activity /process/sequence/if[5]: expression "bpel:getLinkStatus('a')" (line 19): bpel:getLinkStatus('a') is only allowed in a joinCondition`,
      ]);
    });

    it('allows bpel:getLinkStatus in a joinCondition for incoming links only', () => {
      expect(
        problems(`<flow xmlns:bpel="http://docs.oasis-open.org/wsbpel/2.0/process/executable"><links><link name="a"/></links>
  <empty><sources><source linkName="a"/></sources></empty>
  <empty><targets><joinCondition>bpel:getLinkStatus('a') or bpel:getLinkStatus('b')</joinCondition><target linkName="a"/></targets></empty>
</flow>`),
      ).to.deep.equal([`activity /process/flow/empty[2]: joinCondition "bpel:getLinkStatus('a') or bpel:getLinkStatus('b')" (line 16): bpel:getLinkStatus('b') does not name an incoming link of the activity`]);
    });

    it('refuses bpel:doXslTransform', () => {
      expect(
        problems(`<if xmlns:bpel="http://docs.oasis-open.org/wsbpel/2.0/process/executable"><condition>bpel:doXslTransform('x.xsl', $order)</condition><empty/></if>`),
      ).to.deep.equal([
        `activity /process/if: expression "bpel:doXslTransform('x.xsl', $order)" (line 14): bpel:doXslTransform() is not supported by Provisor; see docs/bpel.md`,
      ]);
    });

    it('allows a joinCondition to read only incoming links', () => {
      expect(
        problems(`<flow><links><link name="a"/></links>
  <empty><sources><source linkName="a"/></sources></empty>
  <empty><targets><joinCondition>$a and $b</joinCondition><target linkName="a"/></targets></empty>
</flow>`),
      ).to.deep.equal(['activity /process/flow/empty[2]: joinCondition "$a and $b" (line 16): $b is not an incoming link of the activity']);
    });
  });

  describe('when links are misused', () => {
    it('reports links declared but unused, used but undeclared, and used twice', () => {
      expect(
        problems(`<flow>
  <links><link name="unused"/><link name="twice"/><link name="half"/></links>
  <empty><sources><source linkName="twice"/><source linkName="half"/><source linkName="ghost"/></sources></empty>
  <empty><sources><source linkName="twice"/></sources></empty>
  <empty><targets><target linkName="twice"/></targets></empty>
</flow>`),
      ).to.deep.equal([
        'activity /process/flow: link "unused" is declared but not used',
        'activity /process/flow: link "twice" has 2 sources (/process/flow/empty[1], /process/flow/empty[2]); a link has one',
        'activity /process/flow: link "half" has no target',
        'activity /process/flow/empty[1]: link "ghost" is not declared by an enclosing <flow>',
      ]);
    });

    it('reports a link crossing into a loop body', () => {
      expect(
        problems(`<flow>
  <links><link name="l"/></links>
  <empty><sources><source linkName="l"/></sources></empty>
  <while><condition>false()</condition><empty><targets><target linkName="l"/></targets></empty></while>
</flow>`),
      ).to.deep.equal(['activity /process/flow/while/empty: link "l" of activity /process/flow crosses the boundary of the <while> /process/flow/while']);
    });

    it('reports a link crossing out of a fault handler', () => {
      expect(
        problems(`<flow>
  <links><link name="l"/></links>
  <scope><faultHandlers><catchAll><empty><sources><source linkName="l"/></sources></empty></catchAll></faultHandlers><empty/></scope>
  <empty><targets><target linkName="l"/></targets></empty>
</flow>`),
      ).to.deep.equal([
        'activity /process/flow/scope/faultHandlers/catchAll/empty: link "l" of activity /process/flow crosses the boundary of the fault handler /process/flow/scope/faultHandlers/catchAll',
      ]);
    });

    it('allows links inside a loop body or across scopes', () => {
      expect(
        problems(`<flow>
  <links><link name="out"/></links>
  <scope><empty><sources><source linkName="out"/></sources></empty></scope>
  <while><targets><target linkName="out"/></targets><condition>false()</condition>
    <flow><links><link name="in"/></links><empty><sources><source linkName="in"/></sources></empty><empty><targets><target linkName="in"/></targets></empty></flow>
  </while>
</flow>`),
      ).to.deep.equal([]);
    });

    it('names the links of a cycle', () => {
      expect(
        problems(`<flow>
  <links><link name="ab"/><link name="ba"/></links>
  <empty name="a"><targets><target linkName="ba"/></targets><sources><source linkName="ab"/></sources></empty>
  <empty name="b"><targets><target linkName="ab"/></targets><sources><source linkName="ba"/></sources></empty>
</flow>`),
      ).to.deep.equal(['links form a cycle: "ab" (/process/flow/empty[1] → /process/flow/empty[2]), "ba" (/process/flow/empty[2] → /process/flow/empty[1])']);
    });

    it('finds a cycle made through nesting', () => {
      expect(
        problems(`<flow>
  <links><link name="toB"/><link name="toFirst"/></links>
  <sequence>
    <empty name="first"><targets><target linkName="toFirst"/></targets></empty>
    <empty name="second"><sources><source linkName="toB"/></sources></empty>
  </sequence>
  <empty name="b"><targets><target linkName="toB"/></targets><sources><source linkName="toFirst"/></sources></empty>
</flow>`),
      ).to.deep.equal([
        'links form a cycle: "toB" (/process/flow/sequence/empty[2] → /process/flow/empty), "toFirst" (/process/flow/empty → /process/flow/sequence/empty[1])',
      ]);
    });

    it('does not take a link across sequence order for a cycle', () => {
      expect(
        problems(`<flow>
  <links><link name="toB"/><link name="toSecond"/></links>
  <sequence>
    <empty name="first"><sources><source linkName="toB"/></sources></empty>
    <empty name="second"><targets><target linkName="toSecond"/></targets></empty>
  </sequence>
  <empty name="b"><targets><target linkName="toB"/></targets><sources><source linkName="toSecond"/></sources></empty>
</flow>`),
      ).to.deep.equal([]);
    });

    it('reports a link from an activity to one inside it', () => {
      expect(
        problems(`<flow>
  <links><link name="in"/></links>
  <sequence><sources><source linkName="in"/></sources>
    <empty><targets><target linkName="in"/></targets></empty>
  </sequence>
</flow>`),
      ).to.deep.equal(['links form a cycle: "in" (/process/flow/sequence → /process/flow/sequence/empty)']);
    });
  });

  describe('when fault and compensation activities stand outside their handlers', () => {
    it('allows rethrow only in a fault handler', () => {
      expect(
        problems(`<sequence>
  <rethrow/>
  <scope>
    <faultHandlers><catchAll><scope><rethrow/></scope></catchAll></faultHandlers>
    <compensationHandler><rethrow/></compensationHandler>
    <empty/>
  </scope>
</sequence>`),
      ).to.deep.equal([
        'activity /process/sequence/rethrow: <rethrow> is only allowed in a fault handler (<catch> or <catchAll>)',
        'activity /process/sequence/scope/compensationHandler/rethrow: <rethrow> is only allowed in a fault handler (<catch> or <catchAll>)',
      ]);
    });

    it('allows compensate and compensateScope only in fault, compensation and termination handlers', () => {
      expect(
        problems(`<sequence>
  <compensate/>
  <compensateScope target="a"/>
  <scope name="outer">
    <faultHandlers><catchAll><sequence><compensate/><compensateScope target="a"/></sequence></catchAll></faultHandlers>
    <compensationHandler><compensateScope target="a"/></compensationHandler>
    <terminationHandler><compensate/></terminationHandler>
    <sequence><scope name="a"><empty/></scope><scope name="b"><scope name="deep"><empty/></scope></scope></sequence>
  </scope>
  <scope><eventHandlers><onAlarm><for>'PT1S'</for><scope><compensate/></scope></onAlarm></eventHandlers><empty/></scope>
</sequence>`),
      ).to.deep.equal([
        'activity /process/sequence/compensate: <compensate> is only allowed in a fault, compensation or termination handler',
        'activity /process/sequence/compensateScope: <compensateScope> is only allowed in a fault, compensation or termination handler',
        'activity /process/sequence/scope[2]/eventHandlers/onAlarm[1]/scope/compensate: <compensate> is only allowed in a fault, compensation or termination handler',
      ]);
    });

    it('requires a compensateScope target immediately enclosed by the handler scope', () => {
      expect(
        problems(`<scope name="outer">
  <faultHandlers><catchAll><sequence><compensateScope target="deep"/><compensateScope target="outer"/><compensateScope target="b"/></sequence></catchAll></faultHandlers>
  <flow><scope name="a"><empty/></scope><scope name="b"><scope name="deep"><empty/></scope></scope></flow>
</scope>`),
      ).to.deep.equal([
        'activity /process/scope/faultHandlers/catchAll/sequence/compensateScope[1]: target "deep" is not a scope immediately enclosed by scope /process/scope (those are "a", "b")',
        'activity /process/scope/faultHandlers/catchAll/sequence/compensateScope[2]: target "outer" is not a scope immediately enclosed by scope /process/scope (those are "a", "b")',
      ]);
    });

    it('lets process fault handlers compensate the top-level scopes', () => {
      const process = parse(`<faultHandlers><catchAll><compensateScope target="install"/></catchAll></faultHandlers>
<sequence><scope name="install"><empty/></scope></sequence>`);
      expect(validateProcess(process)).to.deep.equal([]);
    });
  });

  describe('assertValid', () => {
    it('throws every problem with its line', () => {
      const process = parse(`<sequence>\n<rethrow/>\n<compensate/>\n</sequence>`);
      expect(() => assertValid(process, 'plan.bpel'))
        .to.throw(ProcessDefinitionError)
        .with.property('message')
        .that.equals(
          'plan.bpel:3: activity /process/sequence/rethrow: <rethrow> is only allowed in a fault handler (<catch> or <catchAll>)\n' +
            'plan.bpel:4: activity /process/sequence/compensate: <compensate> is only allowed in a fault, compensation or termination handler',
        );
    });
  });
});
