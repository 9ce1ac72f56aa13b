#!/usr/bin/env bash
# The live-sensor unit contrib/systemd/imapscope@.service: systemd accepts it
# (systemd-analyze verify, on an instance), it runs the sensor command with
# -Z, its capability bounding set is the four it needs, and its exposure
# score stays low (systemd-analyze security --offline) (issue 12, part 4).
set -u
cd "$(dirname "$0")/../.."
IMAPSCOPE=${IMAPSCOPE:-$PWD/build/imapscope}
unit=contrib/systemd/imapscope@.service
tmp=$(mktemp -d); trap 'rm -rf "$tmp"' EXIT

exec_line=$(sed -n 's/^ExecStart=//p' "$unit")
if [ "$exec_line" = "/usr/bin/imapscope -i %i -T json -w /var/log/imapscope/%i.json -Z imapscope" ]; then
    echo "PASS unit-execstart"
else
    echo "FAIL unit-execstart: $exec_line"
fi
caps=$(sed -n 's/^CapabilityBoundingSet=//p' "$unit" | tr ' ' '\n' | sort | tr '\n' ' ')
if [ "$caps" = "CAP_NET_ADMIN CAP_NET_RAW CAP_SETGID CAP_SETUID " ]; then echo "PASS unit-capabilities"
else echo "FAIL unit-capabilities: $caps"; fi
for k in NoNewPrivileges=yes ProtectSystem=strict Restart=on-failure LogsDirectory=imapscope \
         ReadWritePaths=/var/log/imapscope Group=imapscope; do
    if grep -qx "$k" "$unit"; then echo "PASS unit-has-$k"; else echo "FAIL unit-has-$k: missing"; fi
done

if ! command -v systemd-analyze >/dev/null; then
    echo "SKIP unit-verify: systemd-analyze not installed"
    exit 0
fi
[ -x "$IMAPSCOPE" ] || { echo "FAIL unit-imapscope-missing"; exit 1; }
# an instance (a template cannot run), ExecStart pointing at the build so the
# binary exists
sed "s|/usr/bin/imapscope|$IMAPSCOPE|" "$unit" >"$tmp/imapscope@lo.service"
if out=$(cd "$tmp" && systemd-analyze verify --man=no ./imapscope@lo.service 2>&1) && [ -z "$out" ]; then
    echo "PASS unit-verify"
else
    echo "FAIL unit-verify: $(printf '%s' "$out" | head -5)"
fi
# exposure 0-10 (x10 for --threshold); 2.8 when written
if out=$(cd "$tmp" && systemd-analyze security --offline=true --threshold=35 ./imapscope@lo.service 2>&1); then
    echo "PASS unit-exposure ($(printf '%s\n' "$out" | sed -n 's/.*Overall exposure level for [^:]*: \([0-9.]*\).*/\1/p'))"
else
    echo "FAIL unit-exposure: $(printf '%s\n' "$out" | grep -i 'overall')"
fi
