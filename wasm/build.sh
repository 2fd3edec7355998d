#!/usr/bin/env bash
# Builds the WASM core (wasm/matrix_core.wasm) from wasm/src, reproducibly.
#
#   bash wasm/build.sh           build and copy the artifact to wasm/matrix_core.wasm
#   bash wasm/build.sh --check   build and fail if the bytes differ from the committed artifact
#   bash wasm/build.sh --test    run the crate's cargo tests on the host
#
# Toolchain: Debian's rustc/cargo with its wasm32 standard library (packages rustc cargo
# libstd-rust-dev-wasm32 lld-14) and crates from Debian's librust-*-dev packages through the
# directory source in wasm/.cargo/config.toml. They are installed here when missing (idempotent,
# needs root or sudo). A rustup toolchain with the wasm32-unknown-unknown target is used instead
# when Debian's is absent; its bytes differ from the committed artifact, so --check needs Debian's.
# The artifact is committed so that `npm start` and `npm test` need no Rust at all.
set -euo pipefail
cd "$(dirname "$0")"
mode="${1:-build}"

DEBIAN_PACKAGES=(rustc cargo libstd-rust-dev-wasm32 lld-14 librust-serde-json-dev librust-sha2-dev librust-base64-dev librust-once-cell-dev)

have_debian_toolchain() {
  [ -x /usr/bin/rustc ] && [ -x /usr/bin/cargo ] && [ -d /usr/lib/rustlib/wasm32-unknown-unknown ] &&
    compgen -G '/usr/share/cargo/registry/serde_json-*' >/dev/null &&
    compgen -G '/usr/share/cargo/registry/sha2-*' >/dev/null &&
    compgen -G '/usr/share/cargo/registry/base64-*' >/dev/null &&
    compgen -G '/usr/share/cargo/registry/once_cell-*' >/dev/null
}

have_rustup_target() {
  command -v rustup >/dev/null 2>&1 && rustup target list --installed 2>/dev/null | grep -q '^wasm32-unknown-unknown$' &&
    compgen -G '/usr/share/cargo/registry/serde_json-*' >/dev/null
}

if have_debian_toolchain; then
  CARGO=/usr/bin/cargo
  export RUSTC=/usr/bin/rustc RUSTDOC=/usr/bin/rustdoc
elif [ "$mode" != "--check" ] && have_rustup_target; then
  CARGO=cargo
else
  echo "wasm/build.sh: installing Debian's Rust toolchain for wasm32 (${DEBIAN_PACKAGES[*]})" >&2
  SUDO=""
  [ "$(id -u)" -ne 0 ] && SUDO="sudo"
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq "${DEBIAN_PACKAGES[@]}" >/dev/null
  CARGO=/usr/bin/cargo
  export RUSTC=/usr/bin/rustc RUSTDOC=/usr/bin/rustdoc
fi

# Paths must not leak into the binary, or a build in another folder gives other bytes.
export RUSTFLAGS="--remap-path-prefix=$PWD=/matrix_core --remap-path-prefix=/usr/share/cargo/registry=/registry"
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$PWD/target}"

case "$mode" in
  --test)
    exec "$CARGO" test --locked --offline
    ;;
  build | --check)
    "$CARGO" build --locked --offline --release --target wasm32-unknown-unknown --quiet
    built="$CARGO_TARGET_DIR/wasm32-unknown-unknown/release/matrix_core.wasm"
    if [ "$mode" = "--check" ]; then
      if cmp -s "$built" matrix_core.wasm; then
        echo "wasm/matrix_core.wasm matches a fresh build from source ($(wc -c <"$built") bytes)"
      else
        echo "wasm/matrix_core.wasm differs from a fresh build of wasm/src: run 'npm run build:wasm' and commit it" >&2
        exit 1
      fi
    else
      cp "$built" matrix_core.wasm
      echo "built wasm/matrix_core.wasm ($(wc -c <matrix_core.wasm) bytes)"
    fi
    ;;
  *)
    echo "usage: wasm/build.sh [--check|--test]" >&2
    exit 2
    ;;
esac
