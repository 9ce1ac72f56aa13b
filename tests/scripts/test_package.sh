#!/usr/bin/env bash
# Install like a real tool (issue 12, part 4), from a copy of the checkout:
#   - make install DESTDIR PREFIX=/usr puts every file where it belongs (the
#     pkg-config file and the unit name the install's paths), the installed
#     header compiles alone, and make uninstall removes every file again;
#   - dpkg-buildpackage -us -uc -b builds the .debs and lintian reports no
#     error (E:) on them;
#   - as root, the .debs install: /usr/bin/imapscope decodes a bundled
#     capture as the build tree's binary does, man finds imapscope(1), the
#     completion loads, the postinst made the system user, and a small
#     program built with `pkg-config libimapdissect' (shared, then static)
#     decodes a LOGIN; then the packages are purged and the system is as it
#     was (binary, library, user and log directory gone).
# Skips with a reason what the machine cannot do (not root, packages of the
# same names already installed, Debian tools missing).  About one minute.
set -u
cd "$(dirname "$0")/../.."
REPO=$PWD
IMAPSCOPE=${IMAPSCOPE:-$PWD/build/imapscope}
BUILD=${BUILD:-build}
CAPTURE=captures/imaplib-main.pcap
PKGS=(imapscope libimapdissect1 libimapdissect-dev)

case $BUILD in
    build-san*) echo "SKIP package: builds its own tree; runs in the plain (non-sanitizer) pass"; exit 0 ;;
esac
[ -x "$IMAPSCOPE" ] || { echo "FAIL package-imapscope-missing: $IMAPSCOPE"; exit 1; }

tmp=$(mktemp -d /tmp/imapscope-pkg.XXXXXX)
installed=0
user_before=0; getent passwd imapscope >/dev/null && user_before=1
logdir_before=0; [ -e /var/log/imapscope ] && logdir_before=1
cleanup() {
    if [ "$installed" = 1 ]; then
        dpkg_locked --purge "${PKGS[@]}" >/dev/null 2>&1
    fi
    rm -rf "$tmp"
}
trap cleanup EXIT

# dpkg waits for nobody: retry while another apt/dpkg holds the lock (60 s)
dpkg_locked() {
    local i out rc
    for i in $(seq 1 30); do
        out=$(dpkg "$@" 2>&1); rc=$?
        if [ $rc -ne 0 ] && printf '%s' "$out" | grep -q 'lock'; then sleep 2; continue; fi
        printf '%s\n' "$out"
        return $rc
    done
    printf '%s\n' "$out"
    return 1
}

pass() { echo "PASS package-$1"; }
fail() { echo "FAIL package-$1: $2"; }

# ---- a copy of the checkout: tracked and untracked-not-ignored files as they
# are in the working tree (what `git archive' would miss: uncommitted edits)
src=$tmp/src
mkdir -p "$src"
if git -C "$REPO" rev-parse --git-dir >/dev/null 2>&1; then
    git -C "$REPO" ls-files -z --cached --others --exclude-standard |
        tar -C "$REPO" --null --ignore-failed-read -T - -cf - 2>/dev/null | tar -C "$src" -xf -
else
    tar -C "$REPO" --exclude='./build*' --exclude=./imapscope -cf - . | tar -C "$src" -xf -
fi
[ -f "$src/Makefile" ] && [ -f "$src/debian/rules" ] || { fail copy "no Makefile or debian/rules in the copy"; exit 1; }

# ---- make install DESTDIR PREFIX=/usr, then make uninstall -----------------
stage=$tmp/stage
version=$(sed -n 's/^#define IMAPSCOPE_VERSION "\(.*\)"/\1/p' "$src/src/main.c")
if ! make -C "$src" -j2 install DESTDIR="$stage" PREFIX=/usr >"$tmp/install.log" 2>&1; then
    fail make-install "$(tail -5 "$tmp/install.log")"
else
    want=(usr/bin/imapscope usr/lib/libimapdissect.a "usr/lib/libimapdissect.so.$version"
          usr/lib/libimapdissect.so.1 usr/lib/libimapdissect.so usr/lib/pkgconfig/libimapdissect.pc
          usr/share/man/man1/imapscope.1 usr/share/bash-completion/completions/imapscope
          usr/lib/systemd/system/imapscope@.service usr/share/doc/imapscope/README.md
          usr/share/doc/imapscope/output.md usr/share/doc/imapscope/schema/imapscope-events.schema.json
          usr/include/imapscope/imap.h)
    for h in $(sed -n 's/^#include "\([^"]*\)".*/\1/p' "$src/dissector/imap.h"); do
        want+=("usr/include/imapscope/$h")
    done
    missing=()
    for f in "${want[@]}"; do [ -e "$stage/$f" ] || missing+=("$f"); done
    if [ ${#missing[@]} -eq 0 ]; then pass "make-install-files (${#want[@]})"
    else fail make-install-files "missing: ${missing[*]}"; fi
    if [ "$(readlink "$stage/usr/lib/libimapdissect.so.1")" = "libimapdissect.so.$version" ] &&
       readelf -d "$stage/usr/lib/libimapdissect.so.$version" | grep -q 'SONAME.*\[libimapdissect\.so\.1\]'; then
        pass make-install-soname
    else
        fail make-install-soname "libimapdissect.so.1 -> $(readlink "$stage/usr/lib/libimapdissect.so.1"), $(readelf -d "$stage/usr/lib/libimapdissect.so.$version" | grep SONAME)"
    fi
    pc=$stage/usr/lib/pkgconfig/libimapdissect.pc
    if grep -qx 'prefix=/usr' "$pc" && grep -qx 'libdir=/usr/lib' "$pc" && grep -qx "Version: $version" "$pc" &&
       ! grep -q 'jansson' "$pc"; then pass make-install-pc
    else fail make-install-pc "$(tr '\n' ' ' <"$pc")"; fi
    if grep -qx 'ExecStart=/usr/bin/imapscope -i %i -T json -w /var/log/imapscope/%i.json -Z imapscope' \
        "$stage/usr/lib/systemd/system/imapscope@.service"; then pass make-install-unit
    else fail make-install-unit "$(grep ExecStart "$stage/usr/lib/systemd/system/imapscope@.service")"; fi
    # the installed header alone (with jansson's) is enough for a C++ or C user
    printf '#include <imapscope/imap.h>\nint main(void) { imap_config c; imap_config_default(&c); return 0; }\n' >"$tmp/hdr.c"
    if cc -std=c11 -Wall -Werror -fsyntax-only -I"$stage/usr/include" "$tmp/hdr.c" 2>"$tmp/hdr.err"; then
        pass make-install-header
    else fail make-install-header "$(head -3 "$tmp/hdr.err")"; fi
    # another PREFIX: the pc file and the unit follow it
    make -C "$src" install DESTDIR="$tmp/stage2" PREFIX=/opt/imapscope >/dev/null 2>&1
    if grep -qx 'prefix=/opt/imapscope' "$tmp/stage2/opt/imapscope/lib/pkgconfig/libimapdissect.pc" 2>/dev/null &&
       grep -q '^ExecStart=/opt/imapscope/bin/imapscope ' "$tmp/stage2/opt/imapscope/lib/systemd/system/imapscope@.service" 2>/dev/null; then
        pass make-install-prefix
    else fail make-install-prefix "pc file or unit do not name /opt/imapscope"; fi
    make -C "$src" uninstall DESTDIR="$stage" PREFIX=/usr >/dev/null 2>&1
    left=$(cd "$stage" && find . ! -type d | sort)
    if [ -z "$left" ]; then pass make-uninstall
    else fail make-uninstall "left: $(printf '%s' "$left" | tr '\n' ' ')"; fi
fi

# ---- dpkg-buildpackage and lintian -----------------------------------------
for tool in dpkg-buildpackage dh lintian fakeroot; do
    command -v "$tool" >/dev/null || { echo "SKIP package-deb: $tool not installed (dpkg-dev, debhelper, lintian, fakeroot)"; exit 0; }
done
if ! (cd "$src" && DEB_BUILD_OPTIONS="parallel=2" dpkg-buildpackage -us -uc -b >"$tmp/deb.log" 2>&1); then
    fail deb-build "$(grep -E 'error|Error|ERROR' "$tmp/deb.log" | head -5)"
    exit 1
fi
debs=()
for p in "${PKGS[@]}"; do
    d=$(ls "$tmp/${p}_"*.deb 2>/dev/null | head -1)
    [ -n "$d" ] && debs+=("$d")
done
if [ ${#debs[@]} -eq ${#PKGS[@]} ]; then pass "deb-build (${#debs[@]} packages)"
else fail deb-build "built: $(cd "$tmp" && ls ./*.deb | tr '\n' ' ')"; exit 1; fi
if grep -q 'override_dh_auto_test' "$src/debian/rules" && ! grep -q 'run-all.sh\|make test\|make check' "$tmp/deb.log"; then
    pass deb-no-full-suite
else fail deb-no-full-suite "the package build ran the project's suite"; fi

changes=$(ls "$tmp"/imapscope_*.changes)
lintian "$changes" >"$tmp/lintian.log" 2>&1
errors=$(grep -c '^E: ' "$tmp/lintian.log")
warnings=$(grep -c '^W: ' "$tmp/lintian.log")
if [ "$errors" -eq 0 ]; then pass "lintian-no-error ($warnings warnings)"
else fail lintian-no-error "$(grep '^E: ' "$tmp/lintian.log" | head -5 | tr '\n' ';')"; fi
grep '^W: ' "$tmp/lintian.log" | sed 's/^/  lintian /'

# ---- install, use, purge (root only) ---------------------------------------
if [ "$(id -u)" -ne 0 ]; then
    echo "SKIP package-install: not root (dpkg -i needs root)"
    exit 0
fi
for p in "${PKGS[@]}"; do
    if dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'installed'; then
        echo "SKIP package-install: $p is already installed here (left alone)"
        exit 0
    fi
done
for f in /usr/bin/imapscope /usr/include/imapscope; do
    [ -e "$f" ] && { echo "SKIP package-install: $f exists and is not ours"; exit 0; }
done
# the purge removes the user imapscope: only when the postinst made it
[ "$user_before" = 1 ] && { echo "SKIP package-install: a user imapscope exists already (a purge would remove it)"; exit 0; }

installed=1
if ! out=$(dpkg_locked -i "${debs[@]}"); then
    fail install "$(printf '%s' "$out" | tail -5)"
    exit 1
fi
pass install

# the installed program on a bundled capture: the same events as the build's
"$IMAPSCOPE" -r "$src/$CAPTURE" -T json >"$tmp/want.json" 2>/dev/null
if /usr/bin/imapscope -r "$src/$CAPTURE" -T json >"$tmp/got.json" 2>"$tmp/got.err"; then
    counts() { grep -o '"event_type":"[a-z_]*"' "$1" | sort | uniq -c | tr -s ' ' | tr '\n' ';'; }
    users=$(grep '"event_type":"imap_session"' "$tmp/got.json" | grep -o '"user":"[^"]*"' | sort -u | tr '\n' ' ')
    sessions=$(grep -c '"event_type":"imap_session"' "$tmp/got.json")
    logins=$(grep -c '"command":"LOGIN"' "$tmp/got.json")
    if [ "$(counts "$tmp/got.json")" = "$(counts "$tmp/want.json")" ] && [ "$sessions" -ge 1 ] &&
       [ "$users" = '"user":"alice" ' ] && [ "$logins" -ge 1 ]; then
        pass "installed-run ($(counts "$tmp/got.json") user alice)"
    else
        fail installed-run "got $(counts "$tmp/got.json") users [$users] logins $logins; build tree gives $(counts "$tmp/want.json")"
    fi
else
    fail installed-run "exit $?: $(head -3 "$tmp/got.err")"
fi

m=$(man -w imapscope 2>&1)
case $m in /usr/share/man/man1/imapscope.1*) pass "man ($m)" ;; *) fail man "man -w imapscope: $m" ;; esac
if bash -c 'source /usr/share/bash-completion/completions/imapscope && complete -p imapscope' 2>/dev/null | grep -q _imapscope; then
    pass completion-installed
else fail completion-installed "the installed completion does not register _imapscope"; fi
if [ -f /lib/systemd/system/imapscope@.service ] && getent passwd imapscope >/dev/null; then
    pass unit-and-user
else fail unit-and-user "unit: $(ls /lib/systemd/system/imapscope@.service 2>&1), user: $(getent passwd imapscope)"; fi

# the shared library exports the public functions only
lib=$(pkg-config --variable=libdir libimapdissect 2>/dev/null)/libimapdissect.so.1
exported=$(nm -D --defined-only "$lib" 2>/dev/null | awk '{print $3}')
stray=()
for s in $exported; do grep -q "\b$s *(" /usr/include/imapscope/*.h || stray+=("$s"); done
if [ -n "$exported" ] && [ ${#stray[@]} -eq 0 ] && printf '%s\n' $exported | grep -qx imap_session_feed; then
    pass "shared-exports ($(printf '%s\n' $exported | wc -l) public functions)"
else fail shared-exports "lib $lib; not in the public headers: ${stray[*]:-none}; exported: $(printf '%s ' $exported | head -c 200)"; fi

# a user of the library, built with pkg-config: a greeting, LOGIN, OK
cat >"$tmp/user.c" <<'EOF'
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <imapscope/imap.h>

static int n_txn;

static int on_event(void *user, const imap_event *ev)
{
    (void)user;
    if (ev->type == IMAP_EV_TRANSACTION) {
        const imap_transaction *t = ev->txn;
        const char *user = imap_node_str(imap_node_get(t->args, "user"), NULL);
        const char *pass = imap_node_str(imap_node_get(t->args, "password"), NULL);
        n_txn++;
        printf("txn \"command\":\"%s\" \"user\":\"%s\" \"password\":\"%s\" \"status\":\"%s\"\n",
               imap_command_name(t->command), user ? user : "", pass ? pass : "",
               imap_status_name(t->status));
    }
    return 0;
}

static void feed(imap_session *s, imap_dir d, const char *t)
{
    imap_session_feed(s, d, (const unsigned char *)t, strlen(t), 1000000);
}

int main(void)
{
    imap_config cfg;
    imap_callbacks cb = {.on_event = on_event};
    imap_session *s;

    imap_config_default(&cfg);
    s = imap_session_new(&cfg, &cb, NULL);
    if (!s)
        return 2;
    feed(s, IMAP_DIR_SERVER, "* OK IMAP ready\r\n");
    feed(s, IMAP_DIR_CLIENT, "a1 LOGIN alice hunter2\r\n");
    feed(s, IMAP_DIR_SERVER, "a1 OK logged in\r\n");
    imap_session_end(s, "fin", 2000000);
    imap_session_free(s);
    printf("transactions %d\n", n_txn);
    return 0;
}
EOF
check_user_prog() { # NAME BINARY
    local out; out=$("$2" 2>&1)
    if printf '%s\n' "$out" | grep -qx 'transactions 1' &&
       printf '%s\n' "$out" | grep -q '^txn .*"command":"LOGIN".*' &&
       printf '%s\n' "$out" | grep '^txn ' | grep -q '"user":"alice"' &&
       printf '%s\n' "$out" | grep '^txn ' | grep -q '"status":"OK"' &&
       ! printf '%s\n' "$out" | grep -q hunter2; then
        pass "$1"
    else fail "$1" "$(printf '%s' "$out" | head -c 300)"; fi
}
if cc -std=c11 -Wall -Werror -o "$tmp/user-shared" "$tmp/user.c" $(pkg-config --cflags --libs libimapdissect) 2>"$tmp/cc.err"; then
    if ldd "$tmp/user-shared" | grep -Eq 'libimapdissect\.so\.1 => (/usr)?/lib/'; then pass lib-shared-linked
    else fail lib-shared-linked "$(ldd "$tmp/user-shared" | grep imapdissect)"; fi
    check_user_prog lib-shared-login "$tmp/user-shared"
else fail lib-shared-build "$(head -3 "$tmp/cc.err")"; fi
# static: the archive, and what pkg-config --static adds (jansson, libcrypto)
static_libs=$(pkg-config --static --libs libimapdissect | sed 's/-limapdissect\b/-l:libimapdissect.a/')
if cc -std=c11 -Wall -Werror -o "$tmp/user-static" "$tmp/user.c" $(pkg-config --cflags libimapdissect) $static_libs 2>"$tmp/cc.err"; then
    if ! ldd "$tmp/user-static" | grep -q libimapdissect; then pass lib-static-linked
    else fail lib-static-linked "linked the shared library"; fi
    check_user_prog lib-static-login "$tmp/user-static"
else fail lib-static-build "$(head -3 "$tmp/cc.err")"; fi

# ---- purge: the system as it was --------------------------------------------
if out=$(dpkg_locked --purge "${PKGS[@]}"); then
    installed=0
    left=()
    for f in /usr/bin/imapscope /usr/include/imapscope /lib/systemd/system/imapscope@.service \
             /usr/share/man/man1/imapscope.1.gz "$lib"; do
        [ -e "$f" ] && left+=("$f")
    done
    [ "$logdir_before" = 0 ] && [ -e /var/log/imapscope ] && left+=(/var/log/imapscope)
    [ "$user_before" = 0 ] && getent passwd imapscope >/dev/null && left+=("user imapscope")
    [ "$user_before" = 0 ] && getent group imapscope >/dev/null && left+=("group imapscope")
    if [ ${#left[@]} -eq 0 ]; then pass purge
    else fail purge "left behind: ${left[*]}"; fi
else
    fail purge "$(printf '%s' "$out" | tail -3)"
fi
