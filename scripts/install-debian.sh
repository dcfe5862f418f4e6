#!/usr/bin/env bash
# The Debian/Ubuntu packages the lab uses besides npm's, installed as root:
#   nghttp2-client      nghttp, an HTTP/2 client of its own the tests check the wire tap against (issue 10)
#   python3-grpcio      gRPC core 1.51.1, Debian 12's: a release of the grpcio stack in --versions (issues 12, 27)
#   python3-grpc-tools  its code generator (peers/grpcio/gen_debian12, and the staleness test)
#   python3-venv        the venv the lab makes for PyPI's grpcio, the grpcio stack (issue 27)
#   nginx haproxy       the proxies of the proxy group (issue 14), run by the lab in the foreground
#   chromium            headless: the browser stacks of --browsers (issue 19), the test that opens report.html as a
#                       reader would, and the bench's load time (issue 20)
#   firefox-esr         headless: the other browser stack of --browsers (issue 19)
#   openssl             the CA and certificates of --tls (issue 19)
#   gcc libc6-dev       builds the TLS key log for programs on the system's OpenSSL (gRPC core, nginx, HAProxy)
#   tshark              decrypts a capture with the key log: the test that checks the tap's TLS reading against it
# Go, Rust (cargo), a JDK with Maven are the machine's own (the lab builds its peers with them and
# skips a stack whose toolchain is missing, in one line). Elsewhere: see docs/install.md. Nothing
# here starts a service: the lab runs each program itself.
set -euo pipefail
packages=(nghttp2-client python3-grpcio python3-grpc-tools python3-venv nginx haproxy chromium firefox-esr openssl gcc libc6-dev tshark)
missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "ok installed" || missing+=("$p")
done
if [ ${#missing[@]} -eq 0 ]; then
  echo "install-debian: ${packages[*]}: already installed"
  exit 0
fi
if [ "$(id -u)" -ne 0 ]; then
  echo "install-debian: missing ${missing[*]}; run as root (sudo bash $0), or see docs/install.md" >&2
  exit 1
fi
# Installing nginx or haproxy would start their system services; the lab needs none, so none may start.
guard=""
if [ ! -e /usr/sbin/policy-rc.d ]; then
  printf '#!/bin/sh\nexit 101\n' > /usr/sbin/policy-rc.d
  chmod +x /usr/sbin/policy-rc.d
  guard=/usr/sbin/policy-rc.d
fi
trap '[ -n "$guard" ] && rm -f "$guard"' EXIT
apt-get update -qq
# tshark asks whether non-root users may capture: the default (no) is asked of no one here.
DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
echo "install-debian: installed ${missing[*]}"
