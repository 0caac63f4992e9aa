# Sourced by the scripts that drive a real `acs-auth dev` (api-fuzz, clients, swagger-ui):
# `start_dev_server` builds the debug binary (with the tests' features, so the test build's
# binary is reused as it is), starts `acs-auth dev`
# with the admin API enabled on a free loopback port and waits for it; it sets `base`, `token`
# (a dev token, 120 minutes), `admin_key`, `bin` and `work`, and stops the server on exit.

start_dev_server() {
  local root python
  root="$(pwd)"
  python="${PYTHON:-python3}"
  cargo build --quiet --all-features --bin acs-auth
  bin="${CARGO_TARGET_DIR:-$root/target}/debug/acs-auth"
  work="$(mktemp -d)"
  local port
  port="$("$python" -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')"
  admin_key="dev-admin-key-$(date +%s%N)"
  local admin_hash
  admin_hash="$(printf '%s' "$admin_key" | sha256sum | cut -d' ' -f1)"
  "$bin" dev --bind "127.0.0.1:$port" --data-dir "$work" --admin-key-hash "$admin_hash" --no-rate-limits >"$work/server.log" 2>&1 &
  dev_server_pid=$!
  trap 'kill $dev_server_pid 2>/dev/null || true; wait $dev_server_pid 2>/dev/null || true; rm -rf "$work"' EXIT
  base="http://127.0.0.1:$port"
  for _ in $(seq 1 100); do
    curl -fsS "$base/readyz" >/dev/null 2>&1 && break
    sleep 0.2
  done
  curl -fsS "$base/readyz" >/dev/null || { cat "$work/server.log"; return 1; }
  token="$("$bin" dev-token "${1:-alice}" --data-dir "$work" --minutes 120)"
}
