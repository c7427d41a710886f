#!/usr/bin/env bash
# Proves the CI format check can fail and that `make format` fixes what it reports, in a
# temporary clone of this repository (the working tree's .clang-format, Makefile and
# scripts/check-format.sh are copied in first, so uncommitted edits to them are what is tested):
#   1. nothing changed: `make format-check` passes;
#   2. an unformatted line committed: it fails, naming the file and `make format`;
#   3. the same from a depth-1 clone (the .clang-format commit is missing): it still fails;
#   4. `make format`: it passes again, and only the committed line was reformatted.
# Touches nothing outside its temporary directory. Exit 0 when every step behaved.
set -euo pipefail
repo="$(cd "$(dirname "$0")/.." && pwd)"
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

step() { echo "test-check-format: $*"; }
fail() { echo "test-check-format: FAILED: $*" >&2; exit 1; }

git clone -q --no-hardlinks "$repo" "$tmp/clone"
cd "$tmp/clone"
git config user.email "ci@portico.invalid"
git config user.name "Portico CI"
cp "$repo/.clang-format" "$repo/Makefile" .
cp "$repo/scripts/check-format.sh" scripts/
git add -A
git diff --cached --quiet || git commit -qm "format check under test"

step "1. nothing changed since HEAD"
make -s format-check BASE=HEAD >"$tmp/out1" 2>&1 || { cat "$tmp/out1"; fail "clean tree refused"; }

step "2. an unformatted line committed"
probe=src/common/strings.cpp
printf 'int  format_probe( int a ){return a+1;}\n' >>"$probe"
git commit -qam "unformatted change"
if make -s format-check >"$tmp/out2" 2>&1; then
  cat "$tmp/out2"; fail "the unformatted line passed the check"
fi
grep -q "  $probe: lines" "$tmp/out2" || { cat "$tmp/out2"; fail "the file is not named"; }
grep -q "^fix: make format" "$tmp/out2" || { cat "$tmp/out2"; fail "no fix line"; }

step "3. the same in a depth-1 clone"
git clone -q --depth 1 "file://$tmp/clone" "$tmp/shallow"
if (cd "$tmp/shallow" && make -s format-check) >"$tmp/out3" 2>&1; then
  cat "$tmp/out3"; fail "the shallow clone passed the check"
fi
grep -q "  $probe: lines" "$tmp/out3" || { cat "$tmp/out3"; fail "shallow: the file is not named"; }

step "4. make format, then the check again"
make -s format BASE=HEAD~1 >"$tmp/out4" 2>&1 || { cat "$tmp/out4"; fail "make format failed"; }
make -s format-check >"$tmp/out5" 2>&1 || { cat "$tmp/out5"; fail "still unformatted"; }
changed=$(git diff -U0 -- "$probe" | grep -c '^[-+][^-+]' || true)
[ "$changed" = 2 ] || { git diff; fail "make format changed more than the probe line"; }
[ "$(git diff --name-only)" = "$probe" ] ||
  { git diff --stat; fail "make format touched other files"; }

step "ok: the check fails on an unformatted change and passes after make format"
