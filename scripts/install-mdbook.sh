#!/usr/bin/env bash
# Installs the pinned mdbook that builds the course book (book/), unless it is already there.
#
#   scripts/install-mdbook.sh               mdbook with `serve` and `watch` (for `just book`)
#   scripts/install-mdbook.sh --build-only  only `mdbook build` (for CI: about 25% less to compile)
#
# Idempotent: it does nothing when `mdbook --version` already prints the pinned version (and,
# without --build-only, that binary can `serve`). Otherwise it runs
# `cargo install --locked mdbook --version <pin>`, which replaces any other cargo-installed
# version. Exits non-zero with a message saying what to do when something fails.
#
# The pin: mdbook 0.5 is the current stable series (0.5.0, November 2025), used by the Rust
# project's own books. It needs Rust 1.88 or newer to compile. The book uses only standard
# features ({{#include}} with anchors and line ranges, tables, code blocks) and no
# preprocessor that needs installing.

set -euo pipefail

readonly VERSION="0.5.4"

say() { printf 'install-mdbook: %s\n' "$*"; }
fail() {
    printf 'install-mdbook: error: %s\n' "$*" >&2
    exit 1
}

build_only=false
case "${1-}" in
    "") ;;
    --build-only) build_only=true ;;
    -h | --help)
        sed -n '2,10p' "$0" | sed 's/^# \{0,1\}//'
        exit 0
        ;;
    *) fail "unknown argument \`$1\` (expected nothing, --build-only or --help)" ;;
esac

# Does the `mdbook` on PATH (or the given binary) already do what we need?
good_enough() {
    local bin="$1" found
    found="$("$bin" --version 2>/dev/null || true)"
    [[ "$found" == "mdbook v$VERSION" ]] || return 1
    $build_only || "$bin" serve --help >/dev/null 2>&1
}

# What a binary is, in a few words: its version, and whether it lacks `serve` when we need it.
describe() {
    local bin="$1" found
    found="$("$bin" --version 2>/dev/null || echo "an mdbook whose version cannot be read")"
    if ! $build_only && [[ "$found" == "mdbook v$VERSION" ]] && ! "$bin" serve --help >/dev/null 2>&1; then
        found+=", built without \`serve\`"
    fi
    printf '%s' "$found"
}

if command -v mdbook >/dev/null 2>&1; then
    current="$(mdbook --version 2>/dev/null || echo "an unreadable version")"
    if good_enough mdbook; then
        say "$current is already installed at $(command -v mdbook); nothing to do."
        exit 0
    fi
    if [[ "$current" == "mdbook v$VERSION" ]]; then
        say "found $current at $(command -v mdbook), but it was built without \`serve\` (which \`just book\` needs)."
    else
        say "found $current at $(command -v mdbook); the course pins mdbook v$VERSION."
    fi
else
    say "mdbook is not installed."
fi

# cargo installs into $CARGO_INSTALL_ROOT/bin or $CARGO_HOME/bin (~/.cargo/bin by default).
bin_dir="${CARGO_INSTALL_ROOT:-${CARGO_HOME:-$HOME/.cargo}}/bin"
installed="$bin_dir/mdbook"

if [[ -x "$installed" ]] && good_enough "$installed"; then
    # The right mdbook is there already, hidden by another one earlier on PATH.
    say "mdbook v$VERSION is already installed at $installed; not recompiling it."
else
    command -v cargo >/dev/null 2>&1 ||
        fail "cargo is not on PATH. Install Rust from https://rustup.rs, open a new shell, and run this script again."

    args=(install --locked mdbook --version "$VERSION")
    if $build_only; then
        # `search` is the book's search box; `serve` and `watch` (a web server and file
        # watching) are what cost the extra compile time, and CI only runs `mdbook build`.
        args+=(--no-default-features --features search)
    fi
    # --force: replace an `mdbook` in cargo's bin directory that cargo did not install
    # itself (a downloaded binary, say) instead of stopping with "binary already exists".
    args+=(--force)

    say "running: cargo ${args[*]}"
    say "(this compiles mdbook from source: one to two minutes on two cores)"
    start=$SECONDS
    if ! cargo "${args[@]}"; then
        fail "\`cargo ${args[*]}\` failed (see cargo's message above). Check your network connection and that \`rustc --version\` is 1.88 or newer (\`rustup update\` upgrades it), then run this script again."
    fi
    say "installed mdbook v$VERSION in $((SECONDS - start)) s."
    [[ -x "$installed" ]] || fail "cargo reported success but $installed does not exist."
    good_enough "$installed" ||
        fail "$installed reports \`$("$installed" --version 2>&1 || true)\`, expected mdbook v$VERSION."
fi

on_path="$(command -v mdbook 2>/dev/null || true)"
if [[ -z "$on_path" ]]; then
    fail "mdbook is installed in $bin_dir, which is not on your PATH. Add it (for example: export PATH=\"$bin_dir:\$PATH\") and run this script again."
elif [[ "$on_path" != "$installed" ]] && ! good_enough "$on_path"; then
    fail "the \`mdbook\` first on your PATH is $on_path ($(describe "$on_path")), not $installed. Put $bin_dir first on your PATH or remove the other mdbook."
fi
say "ready: $(mdbook --version) at $on_path"
