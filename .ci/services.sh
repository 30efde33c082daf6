#!/usr/bin/env bash
# Installs what the engine and registry tests start for themselves (tests/services.py):
# Debian's docker.io (dockerd + CLI), podman, buildah, skopeo, umoci, docker-registry, and
# apache2-utils (htpasswd); busybox-static, dpkg-dev and python3-pip (the offline base image, apt repository and pip index that
# tests/fixtures/build_rig.py makes for `divepy fix --verify`'s builds); chromium (headless: the HTML report's browser tests,
# tests/reports/test_html_browser.py); and gcc, which builds the scanner's optional C loop at `pip install`
# (tests/layers/test_tarfast.py checks it was built where a compiler is). Services are NOT started here: each test fixture starts its own
# private dockerd / podman service / registry on a unix socket or 127.0.0.1 and stops it by pid.
# Package maintainer scripts would start system-wide daemons (docker-registry listens on :5000
# on every interface), so a policy-rc.d forbids service starts while installing.
set -euo pipefail

PKGS=(gcc docker.io runc containerd podman conmon buildah skopeo umoci docker-registry apache2-utils busybox-static dpkg-dev python3-pip
  chromium)
missing=()
for p in "${PKGS[@]}"; do
  # Asked for its status, not silenced into the machine's /dev/null (issue 29: no output aimed at /dev).
  [ "$(dpkg-query -W -f='${Status}' "$p" 2>&1)" = "install ok installed" ] || missing+=("$p")
done
if [ ${#missing[@]} -eq 0 ]; then
  echo "[services] all present: ${PKGS[*]}"
  exit 0
fi
if [ "$(id -u)" != 0 ]; then
  echo "[services] missing ${missing[*]} and not root; engine tests will skip" >&2
  exit 0
fi
echo "[services] apt-get install ${missing[*]}"
created_policy=0
if [ ! -e /usr/sbin/policy-rc.d ]; then
  printf '#!/bin/sh\nexit 101\n' >/usr/sbin/policy-rc.d
  chmod +x /usr/sbin/policy-rc.d
  created_policy=1
fi
cleanup() { [ "$created_policy" = 1 ] && rm -f /usr/sbin/policy-rc.d; }
trap cleanup EXIT
apt-get update -qq
DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}" >/tmp/divepy-services-apt.log 2>&1 \
  || { tail -20 /tmp/divepy-services-apt.log >&2; echo "[services] install failed; engine tests will skip" >&2; exit 0; }
echo "[services] installed"
