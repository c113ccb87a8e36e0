#!/usr/bin/env bash
# Installs Stoplight Prism (pinned in tests/contract/package.json) into tests/contract/node_modules,
# the mock of Xero's Accounting API that tests/contract runs xsync against.
set -euo pipefail
cd "$(dirname "$0")/../tests/contract"
if [ -f package-lock.json ]; then
    npm ci --no-audit --no-fund --loglevel=error
else
    npm install --no-audit --no-fund --loglevel=error
fi
