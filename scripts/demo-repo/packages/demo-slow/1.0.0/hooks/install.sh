#!/bin/sh
# demo-slow install hook: sleeps for the SECONDS parameter (default 5), for crash and cancel tests.
set -eu
seconds="${PROVISOR_PARAM_SECONDS:-5}"
case "$seconds" in
  '' | *[!0-9]*)
    echo "demo-slow: SECONDS must be a whole number, got '$seconds'" >&2
    exit 2
    ;;
esac
echo "demo-slow: installing, this takes $seconds s"
sleep "$seconds"
echo "demo-slow: installed"
