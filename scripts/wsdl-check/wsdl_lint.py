"""Structural checks of one Provisor WSDL against the public contract and the
WS-I Basic Profile 1.1 rules that the third-party loaders do not enforce, and
extraction of its inline schema for xmllint.

usage: wsdl_lint.py WSDL EXPECTED_JSON KEY SCHEMA_OUT

Exits 1 with one line per problem, each prefixed with the document's path.
Run with Debian's /usr/bin/python3 (lxml comes with python3-zeep).
"""
import json
import sys

from lxml import etree

WSDL = "http://schemas.xmlsoap.org/wsdl/"
SOAP11 = "http://schemas.xmlsoap.org/wsdl/soap/"
SOAP12 = "http://schemas.xmlsoap.org/wsdl/soap12/"
XSD = "http://www.w3.org/2001/XMLSchema"
HTTP_TRANSPORT = "http://schemas.xmlsoap.org/soap/http"
NS = {"wsdl": WSDL, "soap": SOAP11, "soap12": SOAP12, "xsd": XSD}


def main(path, expected_path, key, schema_out):
    exp = json.load(open(expected_path, encoding="utf-8"))[key]
    problems = []
    bad = problems.append

    # No DTDs or entities: a contract document has no business with them.
    parser = etree.XMLParser(resolve_entities=False, no_network=True, remove_comments=False)
    tree = etree.parse(path, parser)
    if tree.docinfo.internalDTD is not None or tree.docinfo.doctype:
        bad("has a DOCTYPE")
    if (tree.docinfo.encoding or "").upper() not in ("UTF-8", "UTF-16"):
        bad(f"encoding {tree.docinfo.encoding!r}: WS-I R4003 wants UTF-8 or UTF-16")
    root = tree.getroot()
    if root.tag != f"{{{WSDL}}}definitions":
        bad(f"root element is {root.tag}, not wsdl:definitions")
        return problems
    tns = exp["namespace"]
    if root.get("targetNamespace") != tns:
        bad(f"targetNamespace is {root.get('targetNamespace')!r}, expected {tns!r}")
    if root.get("name") != exp["name"]:
        bad(f"definitions name is {root.get('name')!r}, expected {exp['name']!r}")

    def qname(value, ctx):
        """Resolve a QName attribute value in the scope of element ctx."""
        prefix, _, local = value.rpartition(":")
        uri = ctx.nsmap.get(prefix or None)
        return (uri, local)

    def first_child_is_doc(el):
        kids = [k for k in el if isinstance(k.tag, str)]
        return bool(kids) and kids[0].tag == f"{{{WSDL}}}documentation" and (kids[0].text or "").strip()

    # Self-contained: no imports or includes anywhere (R2001-R2007 become moot).
    for el in root.iter(f"{{{WSDL}}}import", f"{{{XSD}}}import", f"{{{XSD}}}include", f"{{{XSD}}}redefine"):
        bad(f"line {el.sourceline}: {etree.QName(el).localname} is not allowed (documents are self-contained)")
    # Order of top-level elements (R2022, R2023): documentation, then types first.
    top = [etree.QName(k).localname for k in root if isinstance(k.tag, str) and etree.QName(k).namespace == WSDL]
    if not top or top[0] != "documentation":
        bad("wsdl:definitions has no wsdl:documentation first child")
    rest = [t for t in top if t != "documentation"]
    if not rest or rest[0] != "types" or rest.count("types") != 1:
        bad("exactly one wsdl:types must come first after wsdl:documentation (R2023)")
    if "documentation" in rest:
        bad("wsdl:documentation must be the first child of wsdl:definitions (R2020)")

    # The schema.
    schemas = root.findall("wsdl:types/xsd:schema", NS)
    if len(schemas) != 1:
        bad(f"wsdl:types holds {len(schemas)} xsd:schema elements, expected 1")
        return problems
    schema = schemas[0]
    if schema.get("targetNamespace") != tns:
        bad(f"schema targetNamespace is {schema.get('targetNamespace')!r}, expected {tns!r} (R2105)")
    if schema.get("elementFormDefault") != "qualified":
        bad("schema elementFormDefault is not \"qualified\"")
    elements = {e.get("name"): e for e in schema.findall("xsd:element", NS)}
    want_elements = {"ProvisorFault"} if any(o["output"] is not None for o in exp["operations"].values()) else set()
    for op, spec in exp["operations"].items():
        want_elements |= {op} | ({op + "Response"} if spec["output"] is not None else set())
    if set(elements) != want_elements:
        bad(f"global elements are {sorted(elements)}, expected {sorted(want_elements)}")

    def short(value, ctx):
        uri, local = qname(value, ctx)
        return {tns: "tns:", XSD: "xsd:"}.get(uri, f"{{{uri}}}") + local

    def seq_fields(ct):
        kids = [k for k in ct if isinstance(k.tag, str) and etree.QName(k).localname != "annotation"]
        if len(kids) != 1 or kids[0].tag != f"{{{XSD}}}sequence":
            return None
        out = []
        for e in kids[0]:
            if not isinstance(e.tag, str):
                continue
            if e.tag != f"{{{XSD}}}element" or e.get("type") is None:
                return None
            occurs = {("1", "1"): "1", ("0", "1"): "?", ("0", "unbounded"): "*"}.get(
                (e.get("minOccurs", "1"), e.get("maxOccurs", "1")), "other")
            out.append([e.get("name"), short(e.get("type"), e), occurs])
        return out

    simple = {t.get("name"): t for t in schema.findall("xsd:simpleType", NS)}
    complex_ = {t.get("name"): t for t in schema.findall("xsd:complexType", NS)}
    if set(simple) != set(exp["simpleTypes"]):
        bad(f"named simple types are {sorted(simple)}, expected {sorted(exp['simpleTypes'])}")
    if set(complex_) != set(exp["complexTypes"]):
        bad(f"named complex types are {sorted(complex_)}, expected {sorted(exp['complexTypes'])}")
    for name, want in exp["simpleTypes"].items():
        st = simple.get(name)
        r = st.find("xsd:restriction", NS) if st is not None else None
        if r is None:
            continue
        got = {"base": short(r.get("base"), r)}
        for f in r:
            if isinstance(f.tag, str) and etree.QName(f).localname != "annotation":
                got.setdefault(etree.QName(f).localname, []).append(f.get("value"))
        if got != want:
            bad(f"simple type {name} is {got}, expected {want}")
    for name, want in exp["complexTypes"].items():
        if name in complex_ and seq_fields(complex_[name]) != want:
            bad(f"complex type {name} has fields {seq_fields(complex_[name])}, expected {want}")
    for op, spec in exp["operations"].items():
        for el_name, fields in ((op, spec["input"]), (op + "Response", spec["output"])):
            el = elements.get(el_name)
            if fields is None or el is None:
                continue
            ct = el.find("xsd:complexType", NS)
            got = seq_fields(ct) if ct is not None and el.get("type") is None else None
            if got != fields:
                bad(f"element {el_name} must be an anonymous complexType sequence {fields}, found {got}")
    pf = elements.get("ProvisorFault")
    if pf is not None:
        ct = pf.find("xsd:complexType", NS)
        got = seq_fields(ct) if ct is not None else None
        standard = [["code", "xsd:string", "1"], ["message", "xsd:string", "1"], ["field", "xsd:string", "?"]]
        want_fault = exp.get("faultDetail", standard)
        # An extension keeps the standard fields first and adds only optional ones, so a client
        # that knows the standard detail still reads code, message and field.
        if want_fault[:3] != standard or any(f[2] == "1" for f in want_fault[3:]):
            bad(f"expected.json faultDetail {want_fault} is not the standard ProvisorFault followed by optional fields")
        if got != want_fault:
            bad(f"element ProvisorFault must be the sequence {want_fault}; found {got}")
    for el in schema.iter(f"{{{XSD}}}element", f"{{{XSD}}}attribute"):
        if el.get("type", "").endswith("Array") or (el.get("name") or "").startswith("ArrayOf"):
            bad(f"line {el.sourceline}: ArrayOf/soapenc arrays are not allowed (R2110-R2112)")
        for attr in ("type", "ref", "base"):
            v = el.get(attr)
            if v and qname(v, el)[0] not in (tns, XSD):
                bad(f"line {el.sourceline}: {attr}={v!r} refers outside the document (R2102)")
    if "soap/encoding" in etree.tostring(schema).decode():
        bad("the schema refers to SOAP encoding (R2110)")

    # Messages: one part named parameters (element=) per input/output; fault parts element=.
    messages = {m.get("name"): m for m in root.findall("wsdl:message", NS)}
    for name, m in messages.items():
        parts = m.findall("wsdl:part", NS)
        if len(parts) != 1:
            bad(f"message {name} has {len(parts)} parts, expected 1")
        for p in parts:
            if p.get("type") is not None or p.get("element") is None:
                bad(f"message {name} part {p.get('name')} must use element=, not type= (R2204)")
            elif qname(p.get("element"), p) != (tns, p.get("element").rpartition(":")[2]) or \
                    p.get("element").rpartition(":")[2] not in elements:
                bad(f"message {name} part {p.get('name')} refers to {p.get('element')}, not a global element of the schema (R2206)")

    def message_element(ref, ctx):
        if ref is None:
            return None, None
        m = messages.get(qname(ref, ctx)[1])
        if m is None:
            bad(f"message {ref} is not declared")
            return None, None
        part = m.find("wsdl:part", NS)
        if part is None or part.get("element") is None:
            return None, None
        return part.get("name"), part.get("element").rpartition(":")[2]

    # Port type.
    pts = root.findall("wsdl:portType", NS)
    if [p.get("name") for p in pts] != [exp["portType"]]:
        bad(f"port types are {[p.get('name') for p in pts]}, expected [{exp['portType']!r}]")
        return problems
    pt = pts[0]
    ops = pt.findall("wsdl:operation", NS)
    names = [o.get("name") for o in ops]
    if len(set(names)) != len(names):
        bad(f"operation names repeat in {exp['portType']} (R2304)")
    if set(names) != set(exp["operations"]):
        bad(f"{exp['portType']} operations are {sorted(names)}, expected {sorted(exp['operations'])}")
    for o in ops:
        n = o.get("name")
        spec = exp["operations"].get(n)
        if not first_child_is_doc(o):
            bad(f"operation {n} has no wsdl:documentation first child")
        elif len(" ".join(o.find("wsdl:documentation", NS).text.split())) < 40:
            bad(f"operation {n}: its wsdl:documentation is too short to say what it does")
        inp, out = o.find("wsdl:input", NS), o.find("wsdl:output", NS)
        faults = o.findall("wsdl:fault", NS)
        part, el = message_element(inp.get("message") if inp is not None else None, o)
        if (part, el) != ("parameters", n):
            bad(f"operation {n}: input must be one part 'parameters' with element {n}, found {part!r} {el!r}")
        if spec is None:
            continue
        if spec["output"] is None:
            if out is not None or faults:
                bad(f"operation {n} must be one-way (input only, no output, no fault)")
            continue
        part, el = message_element(out.get("message") if out is not None else None, o)
        if (part, el) != ("parameters", n + "Response"):
            bad(f"operation {n}: output must be one part 'parameters' with element {n}Response, found {part!r} {el!r}")
        fnames = [f.get("name") for f in faults]
        if fnames != ["ProvisorFault"]:
            bad(f"operation {n}: faults are {fnames}, expected ['ProvisorFault']")
        for f in faults:
            if message_element(f.get("message"), f) != ("fault", "ProvisorFault"):
                bad(f"operation {n}: fault ProvisorFault must use message ProvisorFault (part fault, element ProvisorFault)")

    # Bindings.
    bindings = {b.get("name"): b for b in root.findall("wsdl:binding", NS)}
    want = {f"{exp['name']}Soap11Binding": (SOAP11, "soap"), f"{exp['name']}Soap12Binding": (SOAP12, "soap12")}
    if set(bindings) != set(want):
        bad(f"bindings are {sorted(bindings)}, expected {sorted(want)}")
    for bname, (bns, pfx) in want.items():
        b = bindings.get(bname)
        if b is None:
            continue
        if qname(b.get("type"), b) != (tns, exp["portType"]):
            bad(f"binding {bname} is not of type {exp['portType']}")
        sb = b.find(f"{{{bns}}}binding")
        if sb is None or sb.get("style") != "document" or sb.get("transport") != HTTP_TRANSPORT:
            bad(f"binding {bname}: needs {pfx}:binding style=document transport={HTTP_TRANSPORT} (R2401, R2705)")
        other = SOAP12 if bns == SOAP11 else SOAP11
        if b.find(f".//{{{other}}}*") is not None:
            bad(f"binding {bname} mixes SOAP 1.1 and SOAP 1.2 extension elements")
        bops = {o.get("name"): o for o in b.findall("wsdl:operation", NS)}
        if set(bops) != set(names):
            bad(f"binding {bname} operations {sorted(bops)} differ from the port type's {sorted(names)} (R2718)")
        for n, bo in bops.items():
            so = bo.find(f"{{{bns}}}operation")
            action = f"{tns}#{n}"
            if so is None or so.get("soapAction") != action:
                bad(f"binding {bname} operation {n}: soapAction must be {action!r}")
            if so is not None and so.get("style") not in (None, "document"):
                bad(f"binding {bname} operation {n}: style must be document")
            if bns == SOAP12 and (so is None or so.get("soapActionRequired") != "false"):
                bad(f"binding {bname} operation {n}: soap12:operation needs soapActionRequired=\"false\"")
            for body in bo.iter(f"{{{bns}}}body", f"{{{bns}}}fault", f"{{{bns}}}header"):
                if body.get("use") != "literal":
                    bad(f"binding {bname} operation {n}: {pfx}:{etree.QName(body).localname} must have use=\"literal\" (R2706)")
                if body.get("encodingStyle") is not None:
                    bad(f"binding {bname} operation {n}: encodingStyle is not allowed (R2706)")
                if etree.QName(body).localname == "body" and (body.get("namespace") is not None or body.get("parts") is not None):
                    bad(f"binding {bname} operation {n}: {pfx}:body must not carry namespace or parts (R2716)")
            spec = exp["operations"].get(n)
            if spec is None:
                continue
            has_out = bo.find("wsdl:output", NS) is not None
            if has_out != (spec["output"] is not None):
                bad(f"binding {bname} operation {n}: output {'present' if has_out else 'missing'}")
            bfaults = bo.findall("wsdl:fault", NS)
            if spec["output"] is not None:
                sf = [(f.get("name"), [(x.get("name"), x.get("use")) for x in f.findall(f"{{{bns}}}fault")]) for f in bfaults]
                if sf != [("ProvisorFault", [("ProvisorFault", "literal")])]:
                    bad(f"binding {bname} operation {n}: fault must be {pfx}:fault name=ProvisorFault use=literal, found {sf} (R2721, R2754)")
            elif bfaults:
                bad(f"binding {bname} operation {n}: a one-way operation has no fault")

    # Service and ports.
    services = root.findall("wsdl:service", NS)
    if [s.get("name") for s in services] != [exp["service"]]:
        bad(f"services are {[s.get('name') for s in services]}, expected [{exp['service']!r}]")
    else:
        s = services[0]
        if not first_child_is_doc(s):
            bad(f"service {exp['service']} has no wsdl:documentation first child")
        ports = {p.get("name"): p for p in s.findall("wsdl:port", NS)}
        if set(ports) != set(exp["ports"]):
            bad(f"ports are {sorted(ports)}, expected {sorted(exp['ports'])}")
        for pname, ver in exp["ports"].items():
            p = ports.get(pname)
            if p is None:
                continue
            bns = SOAP11 if ver == "1.1" else SOAP12
            bname = f"{exp['name']}Soap{ver.replace('.', '')}Binding"
            if qname(p.get("binding"), p) != (tns, bname):
                bad(f"port {pname} must use binding {bname}")
            addr = p.find(f"{{{bns}}}address")
            if addr is None or addr.get("location") != exp["location"]:
                bad(f"port {pname}: address location must be {exp['location']!r}")

    # Write the schema alone, with every in-scope namespace, for xmllint.
    standalone = etree.fromstring(etree.tostring(schema))
    etree.ElementTree(standalone).write(schema_out, xml_declaration=True, encoding="UTF-8")
    return problems


if __name__ == "__main__":
    if len(sys.argv) != 5:
        sys.exit(__doc__)
    doc = sys.argv[1]
    try:
        found = main(*sys.argv[1:])
    except (OSError, etree.XMLSyntaxError, KeyError) as exc:
        found = [f"cannot be checked: {exc!r}"]
    for p in found:
        print(f"{doc}: {p}", file=sys.stderr)
    sys.exit(1 if found else 0)
