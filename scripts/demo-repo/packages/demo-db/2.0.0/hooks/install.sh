#!/bin/sh
# install hook: the server needs Node.js on the PATH.
set -eu
if ! command -v node >/dev/null 2>&1; then
  echo "$PROVISOR_COMPONENT: node was not found on PATH ($PATH)" >&2
  exit 1
fi
echo "$PROVISOR_COMPONENT $PROVISOR_VERSION installed in $PROVISOR_PACKAGE_DIR (node $(node --version))"
