#!/bin/sh
# demo-httpd install hook: the server needs Node.js on the PATH.
set -eu
if ! command -v node >/dev/null 2>&1; then
  echo "demo-httpd: node was not found on PATH ($PATH)" >&2
  exit 1
fi
echo "demo-httpd $PROVISOR_VERSION installed in $PROVISOR_PACKAGE_DIR (node $(node --version))"
