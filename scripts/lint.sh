#!/usr/bin/env bash
# Runs clang-tidy (.clang-tidy) on the C++ sources changed since the merge-base with main, or on
# every source with --all, using the build's compile_commands.json (the build is configured if
# it is missing; nothing is compiled). Exits 1 if clang-tidy reports anything.
#
#   scripts/lint.sh [--base COMMIT | --all]     (make lint [BASE=...] [FILES=all])
#
# A changed header is linted through the sources of its module that include it.
set -euo pipefail
cd "$(dirname "$0")/.."

build="${BUILD_DIR:-build}"
jobs="${JOBS:-$(nproc)}"
base="${BASE:-}"
all=0
[ "${FILES:-}" = all ] && all=1
while [ $# -gt 0 ]; do
  case "$1" in
    --base) base="$2"; shift ;;
    --all) all=1 ;;
    *) echo "usage: $0 [--base COMMIT | --all]" >&2; exit 2 ;;
  esac
  shift
done

if ! command -v clang-tidy >/dev/null; then
  echo "lint: clang-tidy is not installed (apt-get install clang-tidy)" >&2
  exit 2
fi
if [ ! -f "$build/compile_commands.json" ]; then
  cmake -S . -B "$build" -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null
fi

if [ "$all" = 1 ]; then
  mapfile -t sources < <(git ls-files -- 'src/*.cpp' 'tests/*.cpp')
else
  if [ -z "$base" ]; then
    for ref in main origin/main; do
      if git rev-parse -q --verify "$ref^{commit}" >/dev/null; then
        base=$(git merge-base HEAD "$ref") && break
      fi
    done
  fi
  [ -n "$base" ] || base=HEAD~1
  # Changed files, committed or not, that still exist.
  mapfile -t changed < <(git diff --name-only --diff-filter=d "$base" -- \
    'src/*.cpp' 'src/*.hpp' 'include/*.hpp' 'tests/*.cpp' 'tests/*.hpp')
  sources=()
  for f in "${changed[@]}"; do
    case "$f" in
      *.cpp) sources+=("$f") ;;
      *.hpp)
        # The sources that include it by name, in its own module.
        name=$(basename "$f")
        dir=$(dirname "$f")
        mod=${dir#include/portico/}; mod=${mod#src/}; mod=${mod%%/*}
        while IFS= read -r s; do sources+=("$s"); done < <(
          git grep -l -F "$name\"" -- "src/$mod/*.cpp" 2>/dev/null | head -n 3)
        ;;
    esac
  done
  mapfile -t sources < <(printf '%s\n' "${sources[@]}" | sort -u | sed '/^$/d')
fi

if [ ${#sources[@]} -eq 0 ]; then
  echo "lint: no changed C++ sources"
  exit 0
fi
echo "lint: clang-tidy on ${#sources[@]} file(s)"
out=$(printf '%s\n' "${sources[@]}" |
  xargs -P "$jobs" -n 1 clang-tidy -p "$build" --quiet 2>/dev/null || true)
if printf '%s\n' "$out" | grep -q ': warning: \|: error: '; then
  printf '%s\n' "$out"
  echo "lint: $(printf '%s\n' "$out" | grep -c ': warning: \|: error: ') finding(s)"
  exit 1
fi
echo "lint: clean"
