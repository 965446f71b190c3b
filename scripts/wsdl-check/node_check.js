'use strict';
/*
 * Loads one Provisor WSDL with the npm `soap` package (the one the server's
 * wrapper layer uses) and checks it against the hand-written expectations.
 *
 * usage: node node_check.js WSDL EXPECTED_JSON KEY SCHEMA_XSD SAMPLES_DIR
 *
 * - createClient must succeed and describe() must show the expected service,
 *   both ports and every operation with its input and output fields in order;
 * - the probe operation, sent on each port through a stub HTTP client, must
 *   produce a request that validates against the document's schema (xmllint),
 *   equals the probe's sample request and carries the right SOAP action; the
 *   sample response must parse to the expected values and a ProvisorFault in
 *   a SOAP Fault must reach the caller as a typed detail;
 * - the sample request, parsed the way node-soap's server parses it
 *   (wsdl.xmlToObject), must yield the sample's fields (an empty request,
 *   which node-soap parses to null, none).
 *
 * `soap` and `@xmldom/xmldom` come from the repository's node_modules.
 */
const fs = require('node:fs');
const path = require('node:path');
const { execFileSync } = require('node:child_process');

const ENV = { '1.1': 'http://schemas.xmlsoap.org/soap/envelope/', '1.2': 'http://www.w3.org/2003/05/soap-envelope' };
const META = new Set(['targetNSAlias', 'targetNamespace']);

class CheckFailure extends Error {}
function check(cond, msg) {
  if (!cond) throw new CheckFailure(msg);
}

const [wsdlPath, expectedPath, key, schemaPath, samplesDir] = process.argv.slice(2);
if (!samplesDir) {
  console.error('usage: node node_check.js WSDL EXPECTED_JSON KEY SCHEMA_XSD SAMPLES_DIR');
  process.exit(2);
}

let soap, DOMParser;
try {
  soap = require('soap');
  ({ DOMParser } = require('@xmldom/xmldom'));
} catch (err) {
  console.error(`${wsdlPath}: node: cannot load the npm packages soap and @xmldom/xmldom (run npm ci at the repository root): ${err.message}`);
  process.exit(1);
}

function readSample(name) {
  return fs.readFileSync(path.join(samplesDir, name), 'utf8').replace(/^<\?xml[^>]*\?>\s*/, '');
}

function parseXml(text, what) {
  const errors = [];
  const doc = new DOMParser({ onError: (level, msg) => errors.push(`${level}: ${msg}`) }).parseFromString(text, 'text/xml');
  check(errors.length === 0 && doc.documentElement, `${what} is not well-formed XML: ${errors.join('; ')}`);
  return doc;
}

/** A namespace-aware, prefix-blind shape of an element tree. */
function shape(el) {
  const kids = [];
  let text = '';
  for (let n = el.firstChild; n; n = n.nextSibling) {
    if (n.nodeType === 1) kids.push(shape(n));
    else if (n.nodeType === 3 || n.nodeType === 4) text += n.data;
  }
  return [`{${el.namespaceURI}}${el.localName}`, text.trim() || null, kids];
}

function elementChildren(el) {
  const out = [];
  for (let n = el.firstChild; n; n = n.nextSibling) if (n.nodeType === 1) out.push(n);
  return out;
}

function envelope(version, body) {
  return `<s:Envelope xmlns:s="${ENV[version]}"><s:Body>${body}</s:Body></s:Envelope>`;
}

function faultEnvelope(version, detail) {
  if (version === '1.1') {
    return envelope(version, `<s:Fault><faultcode>s:Client</faultcode><faultstring>probe fault</faultstring><detail>${detail}</detail></s:Fault>`);
  }
  return envelope(
    version,
    `<s:Fault><s:Code><s:Value>s:Sender</s:Value></s:Code><s:Reason><s:Text xml:lang="en">probe fault</s:Text></s:Reason><s:Detail>${detail}</s:Detail></s:Fault>`,
  );
}

/** Field names as describe() shows them: repeated fields get a [] suffix. */
function describedNames(fields) {
  return fields.map(([name, , occurs]) => (occurs === '*' ? `${name}[]` : name));
}

/** A stub for node-soap's HttpClient: remembers the request, answers from `reply`. */
function stubHttp() {
  const stub = {
    sent: null,
    reply: { status: 202, body: '' },
    request(url, data, callback, headers) {
      stub.sent = { url, data, headers };
      const { status, body } = stub.reply;
      const response = { status, statusCode: status, headers: {}, data: body };
      if (status >= 400) {
        const err = new Error(`HTTP ${status}`);
        err.response = response;
        setImmediate(() => callback(err, response, body));
      } else {
        setImmediate(() => callback(null, response, body));
      }
    },
  };
  return stub;
}

function createClient(version, http) {
  return new Promise((resolve, reject) => {
    soap.createClient(wsdlPath, { forceSoap12Headers: version === '1.2', httpClient: http, disableCache: true }, (err, client) =>
      err ? reject(err) : resolve(client),
    );
  });
}

function call(method, args) {
  return new Promise((resolve) => method(args, (err, result) => resolve({ err, result })));
}

async function checkPort(exp, portName, version) {
  const tns = exp.namespace;
  const http = stubHttp();
  const client = await createClient(version, http);
  const described = client.describe();
  check(Object.keys(described).join() === exp.service, `services are [${Object.keys(described)}], expected [${exp.service}]`);
  const ports = described[exp.service];
  check(
    Object.keys(ports).sort().join() === Object.keys(exp.ports).sort().join(),
    `ports are [${Object.keys(ports)}], expected [${Object.keys(exp.ports)}]`,
  );
  const ops = ports[portName];
  check(
    Object.keys(ops).sort().join() === Object.keys(exp.operations).sort().join(),
    `port ${portName} operations are [${Object.keys(ops)}], expected [${Object.keys(exp.operations)}]`,
  );
  for (const [op, spec] of Object.entries(exp.operations)) {
    const where = `port ${portName} operation ${op}`;
    const input = Object.keys(ops[op].input || {}).filter((k) => !META.has(k));
    check(input.join() === describedNames(spec.input).join(), `${where}: describe() input is [${input}], expected [${describedNames(spec.input)}]`);
    if (spec.output === null) {
      check(ops[op].output == null, `${where}: describe() shows an output for a one-way operation`);
    } else {
      const output = Object.keys(ops[op].output || {}).filter((k) => !META.has(k));
      check(output.join() === describedNames(spec.output).join(), `${where}: describe() output is [${output}], expected [${describedNames(spec.output)}]`);
    }
  }

  // The probe: the request node-soap builds, a reply and a fault.
  const { probe } = exp;
  const op = probe.operation;
  const where = `port ${portName} probe ${op}`;
  const method = client[exp.service][portName][op];
  check(typeof method === 'function', `${where}: client has no method`);
  if (probe.response !== null) {
    http.reply = { status: 200, body: envelope(version, readSample(probe.response)) };
  }
  const { err, result } = await call(method, probe.args);
  check(!err, `${where}: the call failed: ${err && err.message}`);
  check(http.sent !== null, `${where}: nothing was sent`);
  const action = `${tns}#${op}`;
  if (version === '1.1') {
    check(http.sent.headers.SOAPAction === `"${action}"`, `${where}: SOAPAction header is ${JSON.stringify(http.sent.headers.SOAPAction)}`);
  } else {
    const ctype = http.sent.headers['Content-Type'] || '';
    check(ctype.startsWith('application/soap+xml') && ctype.includes(`action="${action}"`), `${where}: Content-Type is ${JSON.stringify(ctype)}`);
  }
  const req = parseXml(http.sent.data, `${where}: the request`);
  check(req.documentElement.namespaceURI === ENV[version], `${where}: envelope namespace is ${req.documentElement.namespaceURI}`);
  const body = elementChildren(req.documentElement).find((e) => e.localName === 'Body');
  const payload = body ? elementChildren(body) : [];
  check(payload.length === 1 && payload[0].namespaceURI === tns && payload[0].localName === op, `${where}: the body does not hold {${tns}}${op}`);
  const want = parseXml(readSample(probe.request), `samples/${probe.request}`).documentElement;
  check(JSON.stringify(shape(payload[0])) === JSON.stringify(shape(want)), `${where}: node-soap's request differs from samples/${probe.request}:\n${http.sent.data}`);
  try {
    execFileSync('xmllint', ['--noout', '--schema', schemaPath, '-'], { input: payload[0].toString(), stdio: ['pipe', 'pipe', 'pipe'] });
  } catch (e) {
    throw new CheckFailure(`${where}: node-soap's request does not validate: ${String(e.stderr).trim()}`);
  }
  if (probe.response === null) return;
  for (const [k, v] of Object.entries(probe.expect)) {
    check(result && String(result[k]) === v, `${where}: response field ${k} parsed as ${JSON.stringify(result && result[k])}, expected ${JSON.stringify(v)}`);
  }
  http.reply = { status: 500, body: faultEnvelope(version, readSample('ProvisorFault.xml')) };
  const faulted = await call(method, probe.args);
  check(faulted.err, `${where}: a SOAP ${version} Fault did not fail the call`);
  const fault = faulted.err.root && faulted.err.root.Envelope && faulted.err.root.Envelope.Body && faulted.err.root.Envelope.Body.Fault;
  const detail = fault && (fault.detail || fault.Detail);
  check(detail && detail.ProvisorFault && detail.ProvisorFault.code, `${where}: the fault's ProvisorFault detail did not parse: ${JSON.stringify(fault)}`);
}

/** The server side: node-soap's parse of every sample request yields its fields. */
async function checkServerParse(exp) {
  const client = await createClient('1.1', stubHttp());
  for (const name of fs.readdirSync(samplesDir).filter((n) => n.endsWith('.xml')).sort()) {
    const xml = readSample(name);
    const root = parseXml(xml, `samples/${name}`).documentElement;
    if (!(root.localName in exp.operations)) continue; // responses and faults are the client's business
    const obj = client.wsdl.xmlToObject(envelope('1.1', xml));
    const want = [...new Set(elementChildren(root).map((e) => e.localName))];
    if (want.length === 0) {
      // node-soap parses an element with no children (an empty request, or one with every
      // optional field left out) to null: the handler gets no fields, which is what was sent.
      const empty = obj && obj.Body && root.localName in obj.Body ? obj.Body[root.localName] : undefined;
      check(
        empty === null || (empty && typeof empty === 'object' && Object.keys(empty).every((k) => k === 'attributes')),
        `server-side parse of samples/${name} yields ${JSON.stringify(obj && obj.Body)}, expected an empty ${root.localName}`,
      );
      continue;
    }
    const got = obj && obj.Body && obj.Body[root.localName];
    check(got && typeof got === 'object', `server-side parse of samples/${name} yields no ${root.localName} object`);
    const keys = Object.keys(got).filter((k) => k !== 'attributes');
    check(keys.join() === want.join(), `server-side parse of samples/${name} yields fields [${keys}], expected [${want}]`);
  }
}

(async () => {
  const exp = JSON.parse(fs.readFileSync(expectedPath, 'utf8'))[key];
  for (const [portName, version] of Object.entries(exp.ports)) await checkPort(exp, portName, version);
  await checkServerParse(exp);
  const client = await createClient('1.1', stubHttp());
  if (process.env.WSDL_CHECK_VERBOSE) console.log(JSON.stringify(client.describe()));
  console.log(`${wsdlPath}: node soap OK (${Object.keys(exp.operations).length} operations, describe() and probe on ${Object.keys(exp.ports).length} ports)`);
})().catch((err) => {
  const msg = err instanceof CheckFailure ? err.message : `${err.name}: ${err.message}`;
  console.error(`${wsdlPath}: node: ${msg}`);
  process.exit(1);
});
