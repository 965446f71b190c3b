"""Loads one Provisor WSDL with python-zeep, strictly, and checks it against
the hand-written expectations.

usage: zeep_check.py WSDL EXPECTED_JSON KEY SCHEMA_XSD SAMPLES_DIR

- the WSDL must load with every warning turned into an error;
- the service, its two ports (SOAP 1.1 and 1.2) and its operations must be the
  expected ones, each operation's input and output fields in the expected
  order, with the expected types and occurrences, its soapAction
  urn:provisor:<name>:1#<Operation> and its ProvisorFault;
- for the probe operation, on each port, the message zeep builds must be
  namespace-qualified, carry the right SOAPAction, validate against the
  document's own schema and equal the probe's sample request; the sample
  response must parse to the expected values, and a ProvisorFault in a SOAP
  Fault of the port's version must reach zeep as a typed detail.

Prints each port's operations with their input signature. Run with Debian's
/usr/bin/python3 (python3-zeep).
"""
import json
import os
import sys
import warnings

import requests
import zeep
import zeep.exceptions
from lxml import etree
from zeep.transports import Transport
from zeep.wsdl.bindings.soap import Soap11Binding, Soap12Binding

XSD = "http://www.w3.org/2001/XMLSchema"
ENV = {"1.1": "http://schemas.xmlsoap.org/soap/envelope/", "1.2": "http://www.w3.org/2003/05/soap-envelope"}
OCCURS = {(1, 1): "1", (0, 1): "?", (0, "unbounded"): "*"}


class Failure(Exception):
    pass


def check(cond, msg):
    if not cond:
        raise Failure(msg)


def load_sample(samples, name):
    parser = etree.XMLParser(remove_comments=True, remove_blank_text=True, resolve_entities=False)
    return etree.parse(os.path.join(samples, name), parser).getroot()


def shape(el):
    """A namespace-aware, prefix-blind view of an element tree for comparison."""
    return (el.tag, (el.text or "").strip() or None, [shape(k) for k in el if isinstance(k.tag, str)])


class CannedTransport(Transport):
    """Answers every post with a canned reply and remembers what was sent."""

    def __init__(self):
        super().__init__()
        self.reply = (202, b"", "text/xml")
        self.sent = None

    def post_xml(self, address, envelope, headers):
        self.sent = (address, envelope, dict(headers))
        status, content, ctype = self.reply
        resp = requests.Response()
        resp.status_code = status
        resp._content = content
        resp.headers["Content-Type"] = ctype
        resp.encoding = "utf-8"
        return resp

    def load(self, url):  # the WSDL is self-contained: nothing may be fetched
        if os.path.exists(url):
            return super().load(url)
        raise Failure(f"zeep tried to fetch {url!r}: the document must be self-contained")


def envelope(version, body_xml):
    return f'<s:Envelope xmlns:s="{ENV[version]}"><s:Body>{body_xml}</s:Body></s:Envelope>'.encode()


def fault_envelope(version, detail_xml):
    if version == "1.1":
        body = (f"<s:Fault><faultcode>s:Client</faultcode><faultstring>probe fault</faultstring>"
                f"<detail>{detail_xml}</detail></s:Fault>")
    else:
        body = (f"<s:Fault><s:Code><s:Value>s:Sender</s:Value></s:Code><s:Reason>"
                f'<s:Text xml:lang="en">probe fault</s:Text></s:Reason><s:Detail>{detail_xml}</s:Detail></s:Fault>')
    return envelope(version, body)


def type_name(qname, tns):
    if qname is None:
        return "(anonymous)"
    if qname.namespace == XSD:
        return "xsd:" + qname.localname
    if qname.namespace == tns:
        return "tns:" + qname.localname
    return qname.text


def fields_of(body, tns):
    """[name, type, occurs] of each child of a wrapper element, in order."""
    out = []
    for name, el in body.type.elements:
        occurs = OCCURS.get((el.min_occurs, el.max_occurs), f"{el.min_occurs}..{el.max_occurs}")
        out.append([name, type_name(el.type.qname, tns), occurs])
    return out


def run(path, exp, schema_path, samples):
    tns = exp["namespace"]
    transport = CannedTransport()
    client = zeep.Client(wsdl=path, transport=transport)
    schema = etree.XMLSchema(etree.parse(schema_path))

    services = client.wsdl.services
    check(list(services) == [exp["service"]], f"services are {list(services)}, expected [{exp['service']}]")
    service = services[exp["service"]]
    check(set(service.ports) == set(exp["ports"]), f"ports are {sorted(service.ports)}, expected {sorted(exp['ports'])}")

    for pname, version in exp["ports"].items():
        port = service.ports[pname]
        binding = port.binding
        want_cls = Soap11Binding if version == "1.1" else Soap12Binding
        check(type(binding) is want_cls, f"port {pname} is bound by {type(binding).__name__}, expected SOAP {version}")
        check(port.binding_options.get("address") == exp["location"],
              f"port {pname} address is {port.binding_options.get('address')!r}, expected {exp['location']!r}")
        ops = binding._operations
        check(set(ops) == set(exp["operations"]), f"port {pname} operations are {sorted(ops)}, expected {sorted(exp['operations'])}")
        print(f"{exp['service']}.{pname} (SOAP {version}):")
        for oname, spec in exp["operations"].items():
            op = ops[oname]
            print(f"  {oname}({op.input.signature()})")
            where = f"port {pname} operation {oname}"
            check(op.soapaction == f"{tns}#{oname}", f"{where}: soapAction is {op.soapaction!r}, expected {tns}#{oname!r}")
            check(op.style == "document", f"{where}: style is {op.style}")
            check(op.input.body.qname == etree.QName(tns, oname), f"{where}: input element is {op.input.body.qname}")
            got = fields_of(op.input.body, tns)
            check(got == spec["input"], f"{where}: input fields are {got}, expected {spec['input']}")
            if spec["output"] is None:
                check(op.output is None, f"{where}: must be one-way but has an output")
                check(not op.faults, f"{where}: a one-way operation declares faults {list(op.faults)}")
                continue
            check(op.output is not None, f"{where}: has no output")
            check(op.output.body.qname == etree.QName(tns, oname + "Response"), f"{where}: output element is {op.output.body.qname}")
            got = fields_of(op.output.body, tns)
            check(got == spec["output"], f"{where}: output fields are {got}, expected {spec['output']}")
            check(list(op.faults) == ["ProvisorFault"], f"{where}: faults are {list(op.faults)}, expected ['ProvisorFault']")

        # The probe: build a request, then feed the client a reply and a fault.
        probe = exp["probe"]
        oname = probe["operation"]
        where = f"port {pname} probe {oname}"
        proxy = client.bind(exp["service"], pname)
        env = client.create_message(proxy, oname, **probe["args"])
        check(etree.QName(env).namespace == ENV[version], f"{where}: envelope namespace {etree.QName(env).namespace}, expected {ENV[version]}")
        text = etree.tostring(env).decode()
        check(tns in text, f"{where}: the envelope does not mention {tns}")
        body = env.find(f"{{{ENV[version]}}}Body")
        payload = [k for k in body if isinstance(k.tag, str)]
        check(len(payload) == 1 and payload[0].tag == f"{{{tns}}}{oname}",
              f"{where}: body holds {[k.tag for k in payload]}, expected {{{tns}}}{oname}")
        if not schema.validate(payload[0]):
            raise Failure(f"{where}: zeep's request does not validate against the schema: {schema.error_log.last_error}")
        want = load_sample(samples, probe["request"])
        check(shape(payload[0]) == shape(want), f"{where}: zeep's request differs from samples/{probe['request']}:\n{text}")

        service_proxy = client.bind(exp["service"], pname)
        if probe["response"] is None:
            transport.reply = (202, b"", "text/xml")
            result = getattr(service_proxy, oname)(**probe["args"])
            check(result is None, f"{where}: a one-way call returned {result!r}")
        else:
            ctype = "text/xml; charset=utf-8" if version == "1.1" else "application/soap+xml; charset=utf-8"
            reply = etree.tostring(load_sample(samples, probe["response"])).decode()
            transport.reply = (200, envelope(version, reply), ctype)
            result = getattr(service_proxy, oname)(**probe["args"])
            for k, v in probe["expect"].items():
                got = result if len(probe["expect"]) == 1 and not hasattr(result, k) else getattr(result, k, None)
                check(str(got) == v, f"{where}: response field {k} parsed as {got!r}, expected {v!r}")
            detail = etree.tostring(load_sample(samples, "ProvisorFault.xml")).decode()
            transport.reply = (500, fault_envelope(version, detail), ctype)
            try:
                getattr(service_proxy, oname)(**probe["args"])
                raise Failure(f"{where}: a SOAP {version} Fault did not raise")
            except zeep.exceptions.Fault as fault:
                check(fault.detail is not None and fault.detail.find(f".//{{{tns}}}code") is not None,
                      f"{where}: the fault detail has no {{{tns}}}code element")
                fault_el = client.get_element(f"{{{tns}}}ProvisorFault")
                parsed = fault_el.parse(fault.detail.find(f"{{{tns}}}ProvisorFault"), client.wsdl.types)
                check(parsed.code and parsed.message, f"{where}: ProvisorFault detail parsed as {parsed!r}")
        sent_headers = transport.sent[2]
        action = f"{tns}#{oname}"
        if version == "1.1":
            check(sent_headers.get("SOAPAction") == f'"{action}"', f"{where}: SOAPAction header is {sent_headers.get('SOAPAction')!r}")
        else:
            check(f'action="{action}"' in sent_headers.get("Content-Type", ""),
                  f"{where}: Content-Type {sent_headers.get('Content-Type')!r} lacks action=\"{action}\"")
    return len(exp["operations"])


def main():
    if len(sys.argv) != 6:
        sys.exit(__doc__)
    path, expected, key, schema_path, samples = sys.argv[1:]
    exp = json.load(open(expected, encoding="utf-8"))[key]
    warnings.simplefilter("error")  # after the imports: zeep itself imports the deprecated cgi module
    try:
        n = run(path, exp, schema_path, samples)
    except Failure as exc:
        print(f"{path}: zeep: {exc}", file=sys.stderr)
        sys.exit(1)
    except Exception as exc:  # zeep's own errors and warnings turned into errors
        print(f"{path}: zeep: {type(exc).__name__}: {exc}", file=sys.stderr)
        sys.exit(1)
    print(f"{path}: zeep OK ({n} operations on {len(exp['ports'])} ports)")


if __name__ == "__main__":
    main()
