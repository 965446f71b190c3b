#!/usr/bin/env bash
# Checks every wsdl/*.wsdl with strict third-party tools:
#   1. xmllint: well-formed XML;
#   2. wsdl_lint.py: the contract's names and the WS-I Basic Profile 1.1 rules
#      that the loaders below do not enforce; extracts the inline schema;
#   3. xmllint --schema: the extracted schema compiles, every sample under
#      samples/<name>/ validates and every sample under samples/<name>/invalid/
#      is rejected;
#   4. python-zeep (zeep_check.py), warnings as errors;
#   5. PHP SoapClient in WSDL mode, SOAP 1.1 and 1.2 (php_check.php);
#   6. the npm soap package from the repository's node_modules (node_check.js).
# Expectations (operations, fields, probes) are in expected.json, written by
# hand from the public contract. A wsdl/*.wsdl without an entry there fails.
#
# usage: scripts/wsdl-check/check.sh [-v|--verbose] [NAME ...]
#   NAME: a document's base name (software, file, ...); default: all of them.
# Missing Debian packages are installed with apt-get (needs root).
set -euo pipefail

HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
ROOT="$(cd "$HERE/../.." && pwd)"
PY=/usr/bin/python3 # Debian's python, where python3-zeep lives (python3 on PATH may be a pyenv shim)
DEBS=(python3-zeep php-cli php-soap php-xml libxml2-utils)
VERBOSE="${WSDL_CHECK_VERBOSE:-}"

fail() {
  echo "wsdl-check: FAIL: $*" >&2
  exit 1
}

names=()
for arg in "$@"; do
  case "$arg" in
    -v | --verbose) VERBOSE=1 ;;
    -h | --help)
      sed -n '2,19p' "$0" | sed 's/^# \{0,1\}//'
      exit 0
      ;;
    -*) fail "unknown option $arg" ;;
    *) names+=("$arg") ;;
  esac
done
export WSDL_CHECK_VERBOSE="$VERBOSE"

tools_present() {
  command -v xmllint >/dev/null 2>&1 &&
    command -v php >/dev/null 2>&1 &&
    php -r 'exit(extension_loaded("soap") && class_exists("DOMDocument") ? 0 : 1);' >/dev/null 2>&1 &&
    [ -x "$PY" ] && "$PY" -c 'import zeep, lxml' >/dev/null 2>&1
}

ensure_tools() {
  tools_present && return 0
  [ "$(id -u)" = 0 ] || fail "missing tools and not root: install ${DEBS[*]} with apt-get"
  command -v apt-get >/dev/null 2>&1 || fail "missing tools and no apt-get: install ${DEBS[*]}"
  echo "wsdl-check: installing ${DEBS[*]}" >&2
  export DEBIAN_FRONTEND=noninteractive
  if ! apt-get install -y --no-install-recommends "${DEBS[@]}" >/dev/null 2>&1; then
    apt-get update >/dev/null 2>&1 || fail "apt-get update failed"
    apt-get install -y --no-install-recommends "${DEBS[@]}" >/dev/null ||
      fail "apt-get install ${DEBS[*]} failed"
  fi
  tools_present || fail "installed ${DEBS[*]} but xmllint, php-soap or python3-zeep still does not work"
}

ensure_node() {
  command -v node >/dev/null 2>&1 || fail "node is not on PATH"
  (cd "$ROOT" && node -e 'require.resolve("soap"); require.resolve("@xmldom/xmldom")' >/dev/null 2>&1) ||
    fail "the npm packages soap and @xmldom/xmldom are not installed: run npm ci in the repository root"
}

ensure_tools
ensure_node
cd "$ROOT"

WORK="$(mktemp -d)"
trap 'rm -rf "$WORK"' EXIT

# Runs one step; on failure shows its output and stops with a message naming
# the document. Its output is shown anyway with --verbose.
step() {
  local doc="$1" what="$2"
  shift 2
  local log="$WORK/step.log"
  if "$@" >"$log" 2>&1; then
    [ -z "$VERBOSE" ] || cat "$log"
  else
    cat "$log" >&2
    fail "$doc: $what failed"
  fi
}

if [ ${#names[@]} -eq 0 ]; then
  shopt -s nullglob
  docs=(wsdl/*.wsdl)
  shopt -u nullglob
  [ ${#docs[@]} -gt 0 ] || fail "no wsdl/*.wsdl documents found"
else
  docs=()
  for n in "${names[@]}"; do
    [ -f "wsdl/$n.wsdl" ] || fail "wsdl/$n.wsdl does not exist"
    docs+=("wsdl/$n.wsdl")
  done
fi

for doc in "${docs[@]}"; do
  key="$(basename "$doc" .wsdl)"
  samples="$HERE/samples/$key"
  schema="$WORK/$key.xsd"
  "$PY" -c 'import json, sys; sys.exit(0 if sys.argv[2] in json.load(open(sys.argv[1])) else 1)' "$HERE/expected.json" "$key" ||
    fail "$doc: no entry \"$key\" in scripts/wsdl-check/expected.json (write the expected operations there)"

  step "$doc" "xmllint well-formedness" xmllint --noout --nonet "$doc"
  step "$doc" "structure/WS-I lint" "$PY" "$HERE/wsdl_lint.py" "$doc" "$HERE/expected.json" "$key" "$schema"

  # The embedded schema against the samples.
  shopt -s nullglob
  valid=("$samples"/*.xml)
  invalid=("$samples"/invalid/*.xml)
  shopt -u nullglob
  [ ${#valid[@]} -gt 0 ] || fail "$doc: no sample instances in scripts/wsdl-check/samples/$key/"
  for s in "${valid[@]}"; do
    step "$doc" "schema validation of samples/$key/$(basename "$s")" xmllint --noout --nonet --schema "$schema" "$s"
  done
  for s in "${invalid[@]}"; do
    rc=0
    xmllint --noout --nonet --schema "$schema" "$s" >"$WORK/invalid.log" 2>&1 || rc=$?
    # 3: the instance does not validate; anything else (0, or 5 for a schema
    # that does not compile) means the schema failed to reject it.
    if [ "$rc" -ne 3 ]; then
      cat "$WORK/invalid.log" >&2
      fail "$doc: samples/$key/invalid/$(basename "$s") should be rejected by the schema (xmllint exit $rc, expected 3)"
    fi
    [ -z "$VERBOSE" ] || cat "$WORK/invalid.log"
  done

  step "$doc" "python-zeep" "$PY" "$HERE/zeep_check.py" "$doc" "$HERE/expected.json" "$key" "$schema" "$samples"
  step "$doc" "PHP SoapClient" php "$HERE/php_check.php" "$doc" "$HERE/expected.json" "$key" "$schema" "$samples"
  step "$doc" "node soap" node "$HERE/node_check.js" "$doc" "$HERE/expected.json" "$key" "$schema" "$samples"

  nops="$("$PY" -c 'import json, sys; print(len(json.load(open(sys.argv[1]))[sys.argv[2]]["operations"]))' "$HERE/expected.json" "$key")"
  echo "wsdl-check: OK $doc: $nops operation(s), SOAP 1.1+1.2 ports; lint; xsd ${#valid[@]} valid/${#invalid[@]} invalid samples; zeep; php SoapClient 1.1+1.2; node soap"
done
