#!/bin/sh
# configure hook: refuses a port that is not a number from 1 to 65535.
set -eu
if [ -n "${PROVISOR_PARAM_PORT+set}" ]; then
  port="$PROVISOR_PARAM_PORT"
  case "$port" in
    '' | *[!0-9]*) valid=no ;;
    *) if [ "${#port}" -le 5 ] && [ "$port" -ge 1 ] && [ "$port" -le 65535 ]; then valid=yes; else valid=no; fi ;;
  esac
  if [ "$valid" != yes ]; then
    echo "$PROVISOR_COMPONENT: port must be a number from 1 to 65535, got '$port'" >&2
    exit 2
  fi
fi
echo "$PROVISOR_COMPONENT $PROVISOR_VERSION configured from $PROVISOR_CONFIG"
