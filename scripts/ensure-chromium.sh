#!/usr/bin/env bash
# Install Debian's chromium and chromedriver for the dashboard browser test
# (tests/integration/test_dashboard_browser.py) when they are missing; a no-op otherwise.
# Uses sudo only when not root.
set -euo pipefail
if [[ -x /usr/bin/chromium && -x /usr/bin/chromedriver ]]; then
    exit 0
fi
sudo=()
if [[ "$(id -u)" -ne 0 ]]; then
    sudo=(sudo)
fi
export DEBIAN_FRONTEND=noninteractive
"${sudo[@]}" apt-get update -qq
"${sudo[@]}" apt-get install -y -qq chromium chromium-driver
