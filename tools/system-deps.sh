#!/usr/bin/env bash
# Installs the Debian packages the tests drive as real peers (aria2c, tinyproxy, shellcheck, curl, wget,
# zsh + fish for the shell-env tests, chromium for the status-page test, nginx as the static-file reference).
# Skips what is present; installs only when root with apt-get, otherwise says what is missing.
set -u
need=()
for pair in aria2c:aria2 tinyproxy:tinyproxy shellcheck:shellcheck curl:curl wget:wget zsh:zsh fish:fish chromium:chromium nginx:nginx-light; do
  cmd=${pair%%:*}; pkg=${pair#*:}
  command -v "$cmd" >/dev/null 2>&1 || [ -x "/usr/bin/$cmd" ] || [ -x "/usr/sbin/$cmd" ] || need+=("$pkg")
done
[ ${#need[@]} -eq 0 ] && exit 0
if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then
  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${need[@]}" >/dev/null
else
  echo "kuaidi: missing system packages: ${need[*]} (install them with apt-get as root); tests that need them will be skipped" >&2
fi
exit 0
