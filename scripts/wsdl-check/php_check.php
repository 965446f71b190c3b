<?php
/*
 * Loads one Provisor WSDL with PHP's SoapClient in WSDL mode, once per SOAP
 * version, and checks it against the hand-written expectations.
 *
 * usage: php php_check.php WSDL EXPECTED_JSON KEY SCHEMA_XSD SAMPLES_DIR
 *
 * - __getFunctions() must list exactly the expected operations, each wrapped
 *   (OpResponse Op(Op $parameters); void for the one-way callback);
 * - __getTypes() must hold the request and response structs with the expected
 *   fields in order (and the ProvisorFault struct);
 * - the probe operation, sent through a canned transport, must produce a
 *   request that validates against the document's schema, equals the probe's
 *   sample request and carries SOAPAction urn:provisor:<name>:1#<Operation>;
 *   its sample response must decode to the expected values, and a SOAP Fault
 *   with a ProvisorFault detail must surface as a SoapFault with that detail.
 */

const ENV = ['1.1' => 'http://schemas.xmlsoap.org/soap/envelope/', '1.2' => 'http://www.w3.org/2003/05/soap-envelope'];

final class CheckFailure extends Exception {}

function check(bool $cond, string $msg): void
{
    if (!$cond) {
        throw new CheckFailure($msg);
    }
}

/** Captures what SoapClient sends and answers with a canned reply. */
final class CannedSoapClient extends SoapClient
{
    public ?array $sent = null;
    public string $reply = '';

    #[\ReturnTypeWillChange]
    public function __doRequest($request, $location, $action, $version, $oneWay = false)
    {
        $this->sent = ['request' => $request, 'location' => $location, 'action' => $action, 'version' => $version, 'oneWay' => (bool) $oneWay];
        return $oneWay ? '' : $this->reply;
    }
}

function load_sample(string $dir, string $name): DOMElement
{
    $doc = new DOMDocument();
    $doc->preserveWhiteSpace = false;
    check($doc->load($dir . '/' . $name, LIBXML_NONET | LIBXML_NOBLANKS) === true, "cannot read sample $name");
    return $doc->documentElement;
}

/** A namespace-aware, prefix-blind shape of an element tree. */
function shape(DOMElement $el): array
{
    $kids = [];
    $text = '';
    foreach ($el->childNodes as $n) {
        if ($n instanceof DOMElement) {
            $kids[] = shape($n);
        } elseif ($n instanceof DOMText) {
            $text .= $n->data;
        }
    }
    return ['{' . $el->namespaceURI . '}' . $el->localName, trim($text) === '' ? null : trim($text), $kids];
}

function inner_xml(DOMElement $el): string
{
    return $el->ownerDocument->saveXML($el);
}

function envelope(string $version, string $body): string
{
    return '<s:Envelope xmlns:s="' . ENV[$version] . '"><s:Body>' . $body . '</s:Body></s:Envelope>';
}

function fault_envelope(string $version, string $detail): string
{
    if ($version === '1.1') {
        return envelope($version, "<s:Fault><faultcode>s:Client</faultcode><faultstring>probe fault</faultstring><detail>$detail</detail></s:Fault>");
    }
    return envelope($version, '<s:Fault><s:Code><s:Value>s:Sender</s:Value></s:Code><s:Reason><s:Text xml:lang="en">probe fault</s:Text></s:Reason>'
        . "<s:Detail>$detail</s:Detail></s:Fault>");
}

/** struct name => [field names in order], from __getTypes(). */
function structs(array $types): array
{
    $out = [];
    foreach ($types as $t) {
        if (preg_match('/^struct (\w+) \{(.*)\}$/s', $t, $m)) {
            preg_match_all('/^\s*\S+ (\w+);$/m', $m[2], $f);
            $out[$m[1]] = $f[1];
        }
    }
    return $out;
}

function names(array $fields): array
{
    return array_map(fn ($f) => $f[0], $fields);
}

function run_version(string $wsdl, array $exp, string $version, string $schema, string $samples): void
{
    $tns = $exp['namespace'];
    $client = new CannedSoapClient($wsdl, [
        'cache_wsdl' => WSDL_CACHE_NONE,
        'exceptions' => true,
        'trace' => true,
        'soap_version' => $version === '1.1' ? SOAP_1_1 : SOAP_1_2,
        'features' => SOAP_SINGLE_ELEMENT_ARRAYS,
    ]);
    $where = "SOAP $version";

    // Operations: one wrapped signature per operation (PHP lists each once per binding).
    $ops = [];
    foreach ($client->__getFunctions() as $sig) {
        check((bool) preg_match('/^(\w+) (\w+)\((\w+) \$parameters\)$/', $sig, $m), "$where: unexpected signature '$sig' (not document/literal wrapped)");
        [, $ret, $op, $arg] = $m;
        $spec = $exp['operations'][$op] ?? null;
        check($spec !== null, "$where: unexpected operation $op");
        check($arg === $op, "$where: $op takes $arg, expected $op");
        $wantRet = $spec['output'] === null ? 'void' : $op . 'Response';
        check($ret === $wantRet, "$where: $op returns $ret, expected $wantRet");
        $ops[$op] = true;
    }
    $missing = array_diff(array_keys($exp['operations']), array_keys($ops));
    check(!$missing, "$where: __getFunctions() lacks " . implode(', ', $missing));

    // Types: the request and response structs with their fields in order.
    $structs = structs($client->__getTypes());
    foreach ($exp['operations'] as $op => $spec) {
        check(isset($structs[$op]), "$where: __getTypes() has no struct $op");
        check($structs[$op] === names($spec['input']), "$where: struct $op has fields [" . implode(', ', $structs[$op]) . '], expected [' . implode(', ', names($spec['input'])) . ']');
        if ($spec['output'] !== null) {
            $r = $op . 'Response';
            check(isset($structs[$r]), "$where: __getTypes() has no struct $r");
            check($structs[$r] === names($spec['output']), "$where: struct $r has fields [" . implode(', ', $structs[$r]) . '], expected [' . implode(', ', names($spec['output'])) . ']');
            $faultFields = isset($exp['faultDetail']) ? names($exp['faultDetail']) : ['code', 'message', 'field'];
            check(($structs['ProvisorFault'] ?? null) === $faultFields, "$where: struct ProvisorFault is not {" . implode(', ', $faultFields) . '}');
        }
    }

    // Probe: the request PHP builds.
    $probe = $exp['probe'];
    $op = $probe['operation'];
    $where = "SOAP $version probe $op";
    $args = json_decode(json_encode($probe['args']), true);
    if ($probe['response'] !== null) {
        $client->reply = envelope($version, inner_xml(load_sample($samples, $probe['response'])));
    }
    $result = $client->__soapCall($op, [$args]);
    $sent = $client->sent;
    check($sent !== null, "$where: nothing was sent");
    check($sent['action'] === "$tns#$op", "$where: SOAPAction is '{$sent['action']}', expected '$tns#$op'");
    check($sent['oneWay'] === ($probe['response'] === null), "$where: one-way flag is " . var_export($sent['oneWay'], true));
    $req = new DOMDocument();
    check($req->loadXML($sent['request'], LIBXML_NONET) === true, "$where: the request is not XML");
    check($req->documentElement->namespaceURI === ENV[$version], "$where: envelope namespace is {$req->documentElement->namespaceURI}");
    $payload = null;
    foreach ($req->getElementsByTagNameNS(ENV[$version], 'Body')->item(0)->childNodes as $n) {
        if ($n instanceof DOMElement) {
            check($payload === null, "$where: the body holds more than one element");
            $payload = $n;
        }
    }
    check($payload !== null && $payload->namespaceURI === $tns && $payload->localName === $op, "$where: the body does not hold {{$tns}}$op");
    $alone = new DOMDocument();
    $alone->appendChild($alone->importNode($payload, true));
    libxml_use_internal_errors(true);
    $valid = $alone->schemaValidate($schema);
    $errors = array_map(fn ($e) => trim($e->message), libxml_get_errors());
    libxml_clear_errors();
    check($valid, "$where: PHP's request does not validate: " . implode('; ', $errors) . "\n" . $sent['request']);
    check(shape($payload) == shape(load_sample($samples, $probe['request'])), "$where: PHP's request differs from samples/{$probe['request']}:\n" . $sent['request']);

    if ($probe['response'] === null) {
        check($result === null, "$where: a one-way call returned " . var_export($result, true));
        return;
    }
    foreach ($probe['expect'] as $k => $v) {
        check(isset($result->$k) && (string) $result->$k === $v, "$where: response field $k decoded as " . var_export($result->$k ?? null, true) . ", expected '$v'");
    }

    // Probe: a fault with the typed detail.
    $client->reply = fault_envelope($version, inner_xml(load_sample($samples, 'ProvisorFault.xml')));
    try {
        $client->__soapCall($op, [$args]);
        throw new CheckFailure("$where: a SOAP Fault did not throw");
    } catch (SoapFault $f) {
        $code = $f->detail->ProvisorFault->code ?? null;
        check(is_string($code) && $code !== '', "$where: SoapFault detail has no ProvisorFault code: " . var_export($f->detail ?? null, true));
    }
}

if ($argc !== 6) {
    fwrite(STDERR, "usage: php php_check.php WSDL EXPECTED_JSON KEY SCHEMA_XSD SAMPLES_DIR\n");
    exit(2);
}
[, $wsdl, $expected, $key, $schema, $samples] = $argv;
if (!extension_loaded('soap')) {
    fwrite(STDERR, "$wsdl: php: the soap extension is not loaded (install php-soap)\n");
    exit(1);
}
ini_set('soap.wsdl_cache_enabled', '0');
$exp = json_decode(file_get_contents($expected), true, 512, JSON_THROW_ON_ERROR)[$key];
try {
    foreach (['1.1', '1.2'] as $v) {
        run_version($wsdl, $exp, $v, $schema, $samples);
    }
} catch (CheckFailure $e) {
    fwrite(STDERR, "$wsdl: php: {$e->getMessage()}\n");
    exit(1);
} catch (Throwable $e) {
    fwrite(STDERR, "$wsdl: php: " . get_class($e) . ": {$e->getMessage()}\n");
    exit(1);
}
printf("%s: php SoapClient OK (%d operations, SOAP 1.1 and 1.2)\n", $wsdl, count($exp['operations']));
