#!/usr/bin/env bash
# The packages as a user gets them: builds the DEBs and the TGZ with CPack,
# checks what is inside, runs the validators (desktop-file-validate,
# appstreamcli, systemd-analyze), unpacks the DEBs into a scratch root and
# runs natterd from there: --version, then start, a WebSocket handshake on
# 127.0.0.1, SIGTERM, exit 0. With NATTER_PACKAGE_INSTALL=1 (CI, as root) it
# also installs the DEBs for real with apt, checks the system user, state
# directory and unit, and purges them again.
#   check_packages.sh BUILD_DIR
set -euo pipefail
build=${1:?usage: check_packages.sh BUILD_DIR}
fail() { echo "FAIL: $*" >&2; exit 1; }
need() { command -v "$1" >/dev/null || fail "$1 is missing (./dev.sh installs it)"; }
for tool in cpack dpkg-deb dpkg-shlibdeps desktop-file-validate appstreamcli systemd-analyze; do need "$tool"; done

work=$(mktemp -d)
trap 'rm -rf "$work"; [ -n "${natterd_pid:-}" ] && kill "$natterd_pid" 2>/dev/null || true' EXIT
out="$work/packages"
cpack --config "$build/CPackConfig.cmake" -G "DEB;TGZ" -B "$out" >"$work/cpack.log" 2>&1 ||
  { cat "$work/cpack.log"; fail "cpack failed"; }
client=$(ls "$out"/natter_*_*.deb) || fail "no natter .deb"
server=$(ls "$out"/natterd_*_*.deb) || fail "no natterd .deb"
tgz=$(ls "$out"/natter-*.tar.gz) || fail "no .tar.gz"
echo "built: $(basename "$client") $(basename "$server") $(basename "$tgz")"

# --- contents ---------------------------------------------------------------
contains() { # package path...
  local listing; listing=$(dpkg-deb -c "$1" | awk '{print $6}'); shift
  for path in "$@"; do grep -qx "\./$path" <<<"$listing" || fail "$path missing"; done
}
contains "$client" usr/bin/natter usr/share/applications/org.natter.Natter.desktop \
  usr/share/metainfo/org.natter.Natter.metainfo.xml usr/share/icons/hicolor/scalable/apps/org.natter.Natter.svg \
  usr/share/icons/hicolor/48x48/apps/org.natter.Natter.png usr/share/icons/hicolor/256x256/apps/org.natter.Natter.png \
  usr/share/man/man1/natter.1
contains "$server" usr/bin/natterd usr/lib/systemd/system/natterd.service usr/share/man/man1/natterd.1 \
  usr/share/natterd/natterd.default usr/lib/systemd/system/natterd@.service usr/share/natterd/natterd-cluster.default \
  usr/share/natterd/natter.cfg
# (listings go through variables: grep -q closing a pipe early trips pipefail)
server_files=$(dpkg-deb -c "$server")
grep -q "usr/bin/natter$" <<<"$server_files" && fail "natterd package carries the desktop app"
depends_client=$(dpkg-deb -f "$client" Depends)
for dep in libqt6sql6-sqlite qt6-qpa-plugins libqt6widgets6 libqt6websockets6; do
  grep -q "$dep" <<<"$depends_client" || fail "natter does not depend on $dep: $depends_client"
done
depends_server=$(dpkg-deb -f "$server" Depends)
for dep in libqt6sql6-sqlite libqt6websockets6 passwd; do
  grep -q "$dep" <<<"$depends_server" || fail "natterd does not depend on $dep: $depends_server"
done
grep -q libqt6widgets6 <<<"$depends_server" && fail "natterd depends on Qt Widgets"
server_control=$(dpkg-deb --ctrl-tarfile "$server" | tar -t)
for script in postinst prerm postrm; do grep -q "$script" <<<"$server_control" || fail "natterd has no $script"; done
tgz_files=$(tar -tzf "$tgz")
for path in /bin/natter /bin/natterd /lib/systemd/system/natterd.service /share/applications/org.natter.Natter.desktop; do
  grep -q "$path$" <<<"$tgz_files" || fail "$path missing from the tarball"
done
echo "contents: ok"

# --- validators -----------------------------------------------------------
root="$work/root"
dpkg-deb -x "$client" "$root"
dpkg-deb -x "$server" "$root"
desktop-file-validate "$root/usr/share/applications/org.natter.Natter.desktop" || fail "desktop-file-validate"
appstreamcli validate --no-net "$root/usr/share/metainfo/org.natter.Natter.metainfo.xml" ||
  fail "appstreamcli validate"
# The unit as installed, but pointing at the unpacked binary.
sed "s|^ExecStart=/usr/bin/natterd|ExecStart=$root/usr/bin/natterd|" \
  "$root/usr/lib/systemd/system/natterd.service" >"$work/natterd.service"
grep -q "^ExecStart=$root/usr/bin/natterd " "$work/natterd.service" || fail "unit's ExecStart is not /usr/bin/natterd"
for hardening in NoNewPrivileges=yes PrivateTmp=yes ProtectSystem=strict ProtectHome=yes StateDirectory=natterd; do
  grep -qx "$hardening" "$work/natterd.service" || fail "unit lacks $hardening"
done
systemd-analyze verify --man=no "$work/natterd.service" || fail "systemd-analyze verify"
# The cluster's template unit, as an instance on port 5001, and the HAProxy example.
sed "s|^ExecStart=/usr/bin/natterd|ExecStart=$root/usr/bin/natterd|" \
  "$root/usr/lib/systemd/system/natterd@.service" >"$work/natterd@5001.service"
grep -q "^ExecStart=$root/usr/bin/natterd .*--port %i" "$work/natterd@5001.service" || fail "template's ExecStart"
for hardening in NoNewPrivileges=yes ProtectSystem=strict ProtectHome=yes; do
  grep -qx "$hardening" "$work/natterd@5001.service" || fail "template unit lacks $hardening"
done
systemd-analyze verify --man=no "$work/natterd@5001.service" || fail "systemd-analyze verify natterd@5001"
if command -v haproxy >/dev/null; then
  # maxconn needs a descriptor limit this test may not have: checked as written otherwise.
  sed 's/maxconn 100000/maxconn 1000/' "$root/usr/share/natterd/natter.cfg" >"$work/haproxy.cfg"
  haproxy -c -q -f "$work/haproxy.cfg" || fail "haproxy -c"
fi
grep -q '^\.TH NATTERD 1' "$root/usr/share/man/man1/natterd.1" || fail "natterd.1 is not a man page"
echo "validators: ok"

# --- natterd from the unpacked package --------------------------------------
version=$("$root/usr/bin/natterd" --version) || fail "natterd --version"
[[ $version == "natterd "* ]] || fail "natterd --version printed: $version"
client_version=$("$root/usr/bin/natter" --version) || fail "natter --version"
[[ $client_version == "natter "* ]] || fail "natter --version printed: $client_version"
"$root/usr/bin/natterd" --host 127.0.0.1 --port 0 --no-discovery --db "$work/db/natter.db" >"$work/natterd.out" 2>&1 &
natterd_pid=$!
port=""
for _ in $(seq 100); do
  port=$(sed -n 's/.*listening on 127\.0\.0\.1:\([0-9]*\).*/\1/p' "$work/natterd.out")
  [ -n "$port" ] && break
  kill -0 "$natterd_pid" 2>/dev/null || { cat "$work/natterd.out"; fail "natterd exited"; }
  sleep 0.1
done
[ -n "$port" ] || fail "natterd did not say where it listens"
# natterd serves wss:// by default: the WebSocket handshake goes over TLS, and
# the certificate is the one natterd --fingerprint names.
status=$( (printf 'GET / HTTP/1.1\r\nHost: 127.0.0.1\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n'; sleep 2) |
  timeout 10 openssl s_client -quiet -connect "127.0.0.1:$port" 2>/dev/null | head -n 1) || true
[ -n "$status" ] || fail "no handshake answer over TLS"
[[ $status == "HTTP/1.1 101"* ]] || fail "handshake answered: $status"
served=$(echo | timeout 10 openssl s_client -connect "127.0.0.1:$port" 2>/dev/null |
  openssl x509 -noout -fingerprint -sha256 | sed 's/.*=//; s/://g' | tr 'A-F' 'a-f')
printed=$("$root/usr/bin/natterd" --db "$work/db/natter.db" --fingerprint | tr -d ' ' | tr 'A-F' 'a-f')
[ "$served" = "$printed" ] || fail "natterd --fingerprint ($printed) is not the served certificate ($served)"
kill -TERM "$natterd_pid"
wait "$natterd_pid" && code=0 || code=$?
natterd_pid=""
[ "$code" -eq 0 ] || fail "natterd exited with $code after SIGTERM"
echo "natterd from the package: ok ($version, wss:// handshake on port $port, fingerprint $printed, clean stop)"

# --- a real install (CI) -------------------------------------------------
if [ "${NATTER_PACKAGE_INSTALL:-0}" = 1 ]; then
  [ "$(id -u)" -eq 0 ] || fail "NATTER_PACKAGE_INSTALL needs root"
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "$client" "$server" >"$work/apt.log" 2>&1 ||
    { cat "$work/apt.log"; fail "apt-get install of the packages"; }
  [[ $(/usr/bin/natterd --version) == "natterd "* ]] || fail "installed natterd --version"
  getent passwd natterd >/dev/null || fail "no natterd user"
  [ "$(stat -c %U /var/lib/natterd)" = natterd ] || fail "/var/lib/natterd is not natterd's"
  [ -f /etc/default/natterd ] || fail "no /etc/default/natterd"
  systemd-analyze verify --man=no /usr/lib/systemd/system/natterd.service || fail "installed unit"
  desktop-file-validate /usr/share/applications/org.natter.Natter.desktop || fail "installed desktop file"
  DEBIAN_FRONTEND=noninteractive apt-get purge -y -qq natter natterd >"$work/apt.log" 2>&1 ||
    { cat "$work/apt.log"; fail "apt-get purge"; }
  [ ! -e /usr/bin/natterd ] || fail "natterd left after purge"
  echo "installed with apt, checked, purged: ok"
fi
echo "PASS"
