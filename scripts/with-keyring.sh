#!/usr/bin/env bash
# Inside a fresh D-Bus session: start gnome-keyring's Secret Service unlocked, wait until it owns
# org.freedesktop.secrets (else a second, locked daemon may be auto-started), then run "$@".
set -euo pipefail
unset DISPLAY
echo -n "${TOKENTRAY_TEST_KEYRING_PASSWORD:-tokentray-test}" | gnome-keyring-daemon --unlock --components=secrets >/dev/null
for _ in $(seq 1 100); do
  if dbus-send --session --print-reply --dest=org.freedesktop.DBus /org/freedesktop/DBus \
       org.freedesktop.DBus.NameHasOwner string:org.freedesktop.secrets 2>/dev/null | grep -q 'boolean true'; then
    exec "$@"
  fi
  sleep 0.1
done
echo "gnome-keyring-daemon did not take org.freedesktop.secrets within 10 s" >&2
exit 1
