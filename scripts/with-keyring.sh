#!/usr/bin/env bash
# Inside a fresh D-Bus session (started with scripts/dbus-session.conf, which auto-activates
# nothing): start gnome-keyring's Secret Service unlocked, wait until it owns
# org.freedesktop.secrets, then run "$@". While "$@" runs, a watcher restarts the keyring,
# unlocked and on the same data, if it dies: gnome-keyring aborts now and then when a client
# leaves mid-request (https://github.com/basecamp/hey-cli/issues/352), and one crash must not
# fail every keychain test after it.
set -euo pipefail
unset DISPLAY
password="${TOKENTRAY_TEST_KEYRING_PASSWORD:-tokentray-test}"

owner_pid() {
  dbus-send --session --print-reply --dest=org.freedesktop.DBus /org/freedesktop/DBus \
    org.freedesktop.DBus.GetConnectionUnixProcessID string:org.freedesktop.secrets 2>/dev/null |
    awk '/uint32/ { print $2 }' || true
}

start_keyring() {
  echo -n "$password" | gnome-keyring-daemon --unlock --components=secrets >/dev/null
  for _ in $(seq 1 100); do
    keyring_pid=$(owner_pid)
    [ -n "$keyring_pid" ] && return 0
    sleep 0.1
  done
  echo "gnome-keyring-daemon did not take org.freedesktop.secrets within 10 s" >&2
  return 1
}

start_keyring
"$@" &
command_pid=$!
while kill -0 "$command_pid" 2>/dev/null; do
  if ! kill -0 "$keyring_pid" 2>/dev/null; then
    echo "with-keyring: gnome-keyring-daemon (pid $keyring_pid) died; restarting it unlocked on the same data" >&2
    start_keyring || true
  fi
  sleep 0.2
done
wait "$command_pid"
