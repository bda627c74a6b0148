#!/usr/bin/env bash
# Installs the Debian packages the test suite drives for real, when missing:
# Chromium (browser end-to-end tests), NSS tools (client certificates in
# Chromium), xmlsec1 and pysaml2 (SAML signature and SP validation),
# SimpleSAMLphp with PHP's CLI (a real IdP, served by `php -S`, without
# Apache). Needs root (or passwordless sudo) only when something is missing.
set -euo pipefail

missing=()
need() { # need COMMAND-OR-PATH PACKAGE...
  local probe=$1; shift
  if [[ $probe == /* ]]; then [[ -e $probe ]] && return 0; else command -v "$probe" >/dev/null 2>&1 && return 0; fi
  missing+=("$@")
}
need chromium chromium
need pk12util libnss3-tools
need certutil libnss3-tools
need xmlsec1 xmlsec1
need /usr/lib/python3/dist-packages/saml2 python3-pysaml2
need /usr/share/simplesamlphp/www simplesamlphp php-cli php8.2-cgi php-xml php-mbstring
need php php-cli

if [[ ${#missing[@]} -eq 0 ]]; then
  exit 0
fi
sudo=""
if [[ $(id -u) -ne 0 ]]; then
  if command -v sudo >/dev/null && sudo -n true 2>/dev/null; then sudo="sudo -n"; else
    echo "test-deps: missing packages: ${missing[*]}; install them as root (apt-get install ${missing[*]})" >&2
    exit 0
  fi
fi
echo "test-deps: installing ${missing[*]}" >&2
export DEBIAN_FRONTEND=noninteractive
$sudo apt-get update -qq
# SimpleSAMLphp depends on "apache2 | httpd"; a 1 KB placeholder package
# provides httpd so no web server is installed or started (tests serve
# SimpleSAMLphp with php -S on loopback).
extra=()
if [[ " ${missing[*]} " == *" simplesamlphp "* ]] && ! dpkg -s interop-dummy-httpd >/dev/null 2>&1; then
  d=$(mktemp -d)
  mkdir -p "$d/pkg/DEBIAN"
  cat > "$d/pkg/DEBIAN/control" <<'CTRL'
Package: interop-dummy-httpd
Version: 1.0
Architecture: all
Maintainer: cas tests <root@localhost>
Provides: httpd
Description: placeholder satisfying "httpd" so simplesamlphp installs without apache2
 cas's tests serve SimpleSAMLphp with "php -S 127.0.0.1:PORT".
CTRL
  dpkg-deb --build "$d/pkg" "$d/interop-dummy-httpd.deb" >/dev/null
  extra+=("$d/interop-dummy-httpd.deb")
fi
# shellcheck disable=SC2046
$sudo apt-get install -y -qq --no-install-recommends "${extra[@]}" $(printf '%s\n' "${missing[@]}" | sort -u) >/dev/null
echo "test-deps: done" >&2
