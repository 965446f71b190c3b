import { expect } from 'chai';
import type { Node } from '@xmldom/xmldom';
import { BpelFault } from '../../src/bpel/values';
import {
  evaluate,
  evaluateBoolean,
  evaluateDeadline,
  evaluateDuration,
  evaluateJoinCondition,
  evaluateNumber,
  evaluateString,
  evaluateUnsignedInt,
  messageValue,
  parseElement,
  simpleValue,
  elementValue,
} from '../../src/bpel/xpath';
import { variablePropertyReader, type PropertyCatalog } from '../../src/bpel/properties';
import { MemoryVariables, TNS, parse, xpathExpr } from './fixtures';

const NOW = new Date('2030-01-31T10:00:00Z');

function variables(): MemoryVariables {
  const process = parse(`<variables>
  <variable name="request" messageType="tns:InstallRequest"/>
  <variable name="order" element="tns:order"/>
  <variable name="retries" type="xsd:int"/>
  <variable name="label" type="xsd:string"/>
  <variable name="timeout" type="xsd:duration"/>
  <variable name="empty" element="tns:order"/>
</variables>
<empty/>`);
  return new MemoryVariables(process.variables, {
    request: messageValue({
      parameters: parseElement(`<tns:Install xmlns:tns="${TNS}"><tns:system>web1</tns:system><tns:component>ihs</tns:component><tns:component>php</tns:component></tns:Install>`),
      ticket: 'CHG-7',
    }),
    order: elementValue(parseElement(`<tns:order xmlns:tns="${TNS}" id="42"><tns:customer>acme</tns:customer></tns:order>`)),
    retries: simpleValue(3),
    label: simpleValue('blue'),
    timeout: simpleValue('PT45M'),
  });
}

/** The fault `run` throws. */
function faultOf(run: () => unknown): BpelFault {
  try {
    run();
  } catch (error) {
    expect(error).to.be.instanceOf(BpelFault);
    return error as BpelFault;
  }
  expect.fail('no fault was thrown');
}

describe('BPEL expressions', () => {
  describe('when XPath 1.0 details the xpath library gets wrong are used', () => {
    const vars = variables();

    it('allows whitespace between a function name and its parenthesis, and keeps it after and, or, div, mod', () => {
      expect(evaluate(xpathExpr("concat ('x', 'y')"), vars)).to.equal('xy');
      expect(evaluate(xpathExpr("count ($request.parameters/tns:component) div (2)"), vars)).to.equal(1);
      expect(evaluate(xpathExpr("not (false()) and ($retries = 3) or (1 mod (2) = 0)"), vars)).to.equal(true);
      expect(evaluate(xpathExpr("string-length ( 'a (b' )"), vars)).to.equal(4);
      expect(evaluateNumber(xpathExpr('count($order/child::node ())'), vars)).to.equal(1);
    });

    it('does not select namespace declarations with @*', () => {
      // The element carries xmlns:tns and a default namespace besides its one attribute.
      const withDeclarations = new MemoryVariables([...variables().declarations.values()], {
        order: elementValue(parseElement(`<order xmlns="${TNS}" xmlns:x="urn:x" id="42" x:ref="7"><customer>acme</customer></order>`)),
      });
      expect(evaluateNumber(xpathExpr('count($order/@*)'), withDeclarations)).to.equal(2);
      expect(evaluateNumber(xpathExpr('count($order/attribute::node())'), withDeclarations)).to.equal(2);
      expect(evaluateString(xpathExpr("$order/@*[local-name() = 'ref']"), withDeclarations)).to.equal('7');
    });
  });

  describe('when reading variables the WS-BPEL 2.0 way', () => {
    const vars = variables();

    it('reads a message part with a path into it', () => {
      const nodes = evaluate(xpathExpr('$request.parameters/tns:system/text()'), vars) as Node[];
      expect(nodes.map((n) => n.nodeValue)).to.deep.equal(['web1']);
      expect(evaluateString(xpathExpr('$request.parameters/tns:component[2]'), vars)).to.equal('php');
      expect(evaluateNumber(xpathExpr('count($request.parameters/tns:component)'), vars)).to.equal(2);
    });

    it('reads a simple-typed part as its text', () => {
      expect(evaluate(xpathExpr("concat($request.ticket, '!')"), vars)).to.equal('CHG-7!');
    });

    it('reads an element variable as its element and a simple variable as its value', () => {
      expect(evaluateString(xpathExpr('$order/@id'), vars)).to.equal('42');
      expect(evaluateString(xpathExpr('$order/tns:customer'), vars)).to.equal('acme');
      expect(evaluate(xpathExpr('$retries + 1'), vars)).to.equal(4);
      expect(evaluateBoolean(xpathExpr("$label = 'blue'"), vars)).to.equal(true);
    });

    it('converts conditions with XPath boolean()', () => {
      expect(evaluateBoolean(xpathExpr('$request.parameters/tns:nothing'), vars)).to.equal(false);
      expect(evaluateBoolean(xpathExpr('$retries'), vars)).to.equal(true);
      expect(evaluateBoolean(xpathExpr("''"), vars)).to.equal(false);
    });

    it('reads forEach counters before variables', () => {
      expect(evaluate(xpathExpr('$i * 10'), vars, { counters: { i: 3 } })).to.equal(30);
    });

    it('keeps a query from the data from using prefixes the expression did not declare', () => {
      const fault = faultOf(() => evaluate(xpathExpr('$order/other:customer'), vars));
      expect(fault.faultName.local).to.equal('subLanguageExecutionFault');
      expect(fault.message).to.equal('expression "$order/other:customer" (line 1): namespace prefix "other" is not declared');
    });
  });

  describe('when using bpel:getVariableData', () => {
    const vars = variables();

    it('reads a part with an absolute query from the part element', () => {
      expect(evaluateString(xpathExpr("bpel:getVariableData('request', 'parameters', '/tns:Install/tns:system')"), vars)).to.equal('web1');
    });

    it('reads a part with a relative query and a whole element variable', () => {
      expect(evaluateString(xpathExpr("bpel:getVariableData('request', 'parameters', 'tns:system')"), vars)).to.equal('web1');
      expect(evaluateString(xpathExpr("bpel:getVariableData('order')/@id"), vars)).to.equal('42');
      expect(evaluateNumber(xpathExpr("bpel:getVariableData('retries') * 2"), vars)).to.equal(6);
    });

    it('accepts the BPEL4WS 1.1 namespace', () => {
      const expr = { ...xpathExpr("b:getVariableData('request', 'ticket')"), namespaces: { b: 'http://schemas.xmlsoap.org/ws/2003/03/business-process/' } };
      expect(evaluateString(expr, vars)).to.equal('CHG-7');
    });

    it('raises selectionFailure when the query does not select exactly one node', () => {
      const none = faultOf(() => evaluate(xpathExpr("bpel:getVariableData('request', 'parameters', 'tns:nope')", 7), vars));
      expect(none.faultName.local).to.equal('selectionFailure');
      expect(none.message).to.equal(
        `expression "bpel:getVariableData('request', 'parameters', 'tns:nope')" (line 7): getVariableData('request', 'parameters', 'tns:nope') selected 0 nodes, not one`,
      );
      const two = faultOf(() => evaluate(xpathExpr("bpel:getVariableData('request', 'parameters', 'tns:component')"), vars));
      expect(two.faultName.local).to.equal('selectionFailure');
    });

    it('refuses doXslTransform', () => {
      const fault = faultOf(() => evaluate(xpathExpr("bpel:doXslTransform('t.xsl', $order)"), vars));
      expect(fault.faultName.local).to.equal('subLanguageExecutionFault');
      expect(fault.message).to.match(/is not supported by Provisor; see docs\/bpel\.md$/);
    });
  });

  describe('bpel:getVariableProperty', () => {
    const vars = variables();
    const catalog: PropertyCatalog = {
      properties: new Map([[`{${TNS}}system`, undefined], [`{${TNS}}ticket`, undefined], [`{${TNS}}customer`, undefined]]),
      aliases: [
        { property: { ns: TNS, local: 'system' }, messageType: { ns: TNS, local: 'InstallRequest' }, part: 'parameters', query: xpathExpr('tns:system') },
        { property: { ns: TNS, local: 'ticket' }, messageType: { ns: TNS, local: 'InstallRequest' }, part: 'ticket' },
        { property: { ns: TNS, local: 'customer' }, element: { ns: TNS, local: 'order' }, query: xpathExpr('tns:nope') },
      ],
    };
    const options = { properties: catalog, variableProperty: variablePropertyReader(catalog) };

    it('reads the node the alias for the variable\'s type points at, or a type part\'s text', () => {
      expect(evaluateString(xpathExpr("bpel:getVariableProperty('request', 'tns:system')"), vars, options)).to.equal('web1');
      expect(evaluateBoolean(xpathExpr("bpel:getVariableProperty('request', 'tns:system') = 'web1'"), vars, options)).to.equal(true);
      expect(evaluateString(xpathExpr("concat(bpel:getVariableProperty('request', 'tns:ticket'), '!')"), vars, options)).to.equal('CHG-7!');
    });

    it('is bpel:selectionFailure when no alias applies or its query selects no node, naming the expression', () => {
      const none = faultOf(() => evaluate(xpathExpr("bpel:getVariableProperty('order', 'tns:system')", 4), vars, options));
      expect(none.faultName.local).to.equal('selectionFailure');
      expect(none.message).to.equal(`expression "bpel:getVariableProperty('order', 'tns:system')" (line 4): getVariableProperty('order', 'tns:system'): no property alias of {urn:test}system applies to element {urn:test}order`);
      const missing = faultOf(() => evaluate(xpathExpr("bpel:getVariableProperty('order', 'tns:customer')", 5), vars, options));
      expect(missing.faultName.local).to.equal('selectionFailure');
      expect(missing.message).to.contain('selected 0 nodes; it must select one');
    });

    it('is bpel:uninitializedVariable on a variable without a value', () => {
      const fault = faultOf(() => evaluate(xpathExpr("bpel:getVariableProperty('empty', 'tns:customer')"), vars, options));
      expect(fault.faultName.local).to.equal('uninitializedVariable');
    });
  });

  describe('bpel:getLinkStatus', () => {
    it('is the status of an incoming link in a join condition, and a fault anywhere else', () => {
      const links = new Map([['a', true], ['b', false]]);
      expect(evaluateJoinCondition(xpathExpr("bpel:getLinkStatus('a') and not(bpel:getLinkStatus('b'))"), links)).to.equal(true);
      expect(evaluateJoinCondition(xpathExpr("bpel:getLinkStatus('b')"), links)).to.equal(false);
      const elsewhere = faultOf(() => evaluate(xpathExpr("bpel:getLinkStatus('a')", 3), variables()));
      expect(elsewhere.message).to.equal(`expression "bpel:getLinkStatus('a')" (line 3): getLinkStatus('a') is only allowed in a joinCondition`);
    });
  });

  describe('when an expression cannot be evaluated', () => {
    const vars = variables();
    const cases: Array<[string, string, string]> = [
      ['$empty/tns:customer', 'uninitializedVariable', 'expression "$empty/tns:customer" (line 9): variable "empty" is not initialised'],
      ['$request.missing', 'uninitializedVariable', 'expression "$request.missing" (line 9): part "missing" of variable "request" is not initialised'],
      ['$request', 'subLanguageExecutionFault', 'expression "$request" (line 9): message variable "request" is read part by part: $request.<part>'],
      ['$order.part', 'subLanguageExecutionFault', 'expression "$order.part" (line 9): variable "order" is not a message variable: it has no part "part"'],
      ['$ghost', 'subLanguageExecutionFault', 'expression "$ghost" (line 9): variable "ghost" is not declared'],
      ['$retries +', 'subLanguageExecutionFault', 'expression "$retries +" (line 9): not valid XPath 1.0 (XPath parse error)'],
      ['tns:unknown()', 'subLanguageExecutionFault', 'expression "tns:unknown()" (line 9): Unknown function tns:unknown'],
    ];
    for (const [text, fault, message] of cases) {
      it(`raises ${fault} for ${text}`, () => {
        const thrown = faultOf(() => evaluate(xpathExpr(text, 9), vars));
        expect(thrown.faultName).to.deep.equal({ ns: 'http://docs.oasis-open.org/wsbpel/2.0/process/executable', local: fault });
        expect(thrown.message).to.equal(message);
      });
    }
  });

  describe('when using Provisor functions', () => {
    const vars = variables();

    it('gives pv:now() as an xsd:dateTime from the injected time', () => {
      expect(evaluate(xpathExpr('pv:now()'), vars, { now: NOW })).to.equal('2030-01-31T10:00:00.000Z');
    });

    it('converts a duration to milliseconds with pv:duration-ms', () => {
      expect(evaluate(xpathExpr('pv:duration-ms($timeout)'), vars)).to.equal(45 * 60_000);
      expect(faultOf(() => evaluate(xpathExpr("pv:duration-ms('soon')"), vars)).faultName.local).to.equal('invalidExpressionValue');
    });
  });

  describe('when evaluating durations', () => {
    const vars = variables();
    const cases: Array<[string, number]> = [
      ["'PT45M'", 45 * 60_000],
      ["'P1DT2H'", 26 * 3_600_000],
      ["'PT0.5S'", 500],
      ["'P2D'", 2 * 86_400_000],
      ["'-PT1S'", -1000],
      ["'P1M'", 28 * 86_400_000], // from 31 January 2030: to 28 February
      ["'P1Y'", 365 * 86_400_000],
      ['$timeout', 45 * 60_000],
      ["concat('PT', $retries, 'H')", 3 * 3_600_000],
    ];
    for (const [text, ms] of cases) {
      it(`reads ${text} as ${ms} ms`, () => {
        expect(evaluateDuration(xpathExpr(text), vars, { now: NOW })).to.equal(ms);
      });
    }

    for (const bad of ["'PT'", "'P'", "'45M'", "'PT1H30'", "'P1.5D'", "''", "'1 hour'"]) {
      it(`raises invalidExpressionValue for ${bad}`, () => {
        const fault = faultOf(() => evaluateDuration(xpathExpr(bad, 4), vars, { now: NOW }));
        expect(fault.faultName.local).to.equal('invalidExpressionValue');
        expect(fault.message).to.equal(`expression "${bad}" (line 4): "${bad.slice(1, -1)}" is not an xsd:duration`);
      });
    }
  });

  describe('when evaluating deadlines', () => {
    const vars = variables();
    const cases: Array<[string, string]> = [
      ["'2030-03-01T09:30:00Z'", '2030-03-01T09:30:00.000Z'],
      ["'2030-03-01T09:30:00.250+02:00'", '2030-03-01T07:30:00.250Z'],
      ["'2030-03-01T09:30:00'", '2030-03-01T09:30:00.000Z'],
      ["'2030-03-01'", '2030-03-01T00:00:00.000Z'],
      ["'2030-03-01-05:00'", '2030-03-01T05:00:00.000Z'],
      ["'2030-07-01T09:00:00[Europe/Paris]'", '2030-07-01T07:00:00.000Z'],
      ["'2030-03-01T24:00:00Z'", '2030-03-02T00:00:00.000Z'],
      ["concat('2030-03-0', $retries, 'T00:00:00Z')", '2030-03-03T00:00:00.000Z'],
    ];
    for (const [text, iso] of cases) {
      it(`reads ${text} as ${iso}`, () => {
        expect(evaluateDeadline(xpathExpr(text), vars).toISOString()).to.equal(iso);
      });
    }

    for (const bad of ["'2030-02-30T00:00:00Z'", "'2030-03-01T25:00:00Z'", "'tomorrow'", "'2030-03-01T09:00:00Z[Europe/Paris]'", "'2030-03-01T09:00:00[Mars/Olympus]'"]) {
      it(`raises invalidExpressionValue for ${bad}`, () => {
        const fault = faultOf(() => evaluateDeadline(xpathExpr(bad), vars));
        expect(fault.faultName.local).to.equal('invalidExpressionValue');
        expect(fault.message).to.match(/is not an xsd:dateTime or xsd:date$/);
      });
    }
  });

  describe('when evaluating counters and join conditions', () => {
    const vars = variables();

    it('accepts an unsignedInt and refuses anything else', () => {
      expect(evaluateUnsignedInt(xpathExpr('$retries + 2'), vars)).to.equal(5);
      for (const bad of ['-1', '1.5', "'x'"]) {
        expect(faultOf(() => evaluateUnsignedInt(xpathExpr(bad), vars)).faultName.local).to.equal('invalidExpressionValue');
      }
    });

    it('reads incoming link status as $link', () => {
      const status = new Map([['a', true], ['b', false]]);
      expect(evaluateJoinCondition(xpathExpr('$a and not($b)'), status)).to.equal(true);
      expect(evaluateJoinCondition(xpathExpr('$a and $b'), status)).to.equal(false);
    });
  });
});
