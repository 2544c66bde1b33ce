#!/usr/bin/env bash
# Install Debian's chromium for the site's browser tests (tests/test_site_browser.py),
# when it is missing and this machine can: as root with apt. Elsewhere it says what to
# install and carries on; the browser tests then skip (and fail under CI=true).
set -euo pipefail
if [ -x /usr/bin/chromium ]; then
  exit 0
fi
if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then
  echo "installing chromium (Debian) for the browser tests ..." >&2
  export DEBIAN_FRONTEND=noninteractive
  (apt-get update -qq && apt-get install -y -qq --no-install-recommends chromium >/dev/null) >&2
  exit 0
fi
echo "chromium is not installed; the browser tests will skip (apt-get install chromium)" >&2
