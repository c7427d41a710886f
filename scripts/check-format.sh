#!/usr/bin/env bash
# Checks (default) or fixes (--fix) the formatting of the C++ lines changed since a base commit,
# with .clang-format. Only changed lines are looked at: the tree is not reformatted wholesale.
#
#   scripts/check-format.sh [--fix] [--base COMMIT | --all]
#
#   --fix          format those lines in place (what `make format` runs)
#   --base COMMIT  compare with COMMIT (make: BASE=...)
#   --all          every C++ file under src/ include/ tests/ bench/, whole files (make: FILES=all)
#
# Default base: for a check, the commit that introduced .clang-format, so CI checks every line
# written since formatting became a rule; for --fix, the merge-base with main (the lines of the
# current branch). If that commit is missing (a shallow clone), the lines changed by HEAD are
# used. clang-format is installed with apt-get when missing.
set -euo pipefail
cd "$(dirname "$0")/.."

mode=check
base="${BASE:-}"
all=0
[ "${FILES:-}" = all ] && all=1
while [ $# -gt 0 ]; do
  case "$1" in
    --fix) mode=fix ;;
    --base) base="$2"; shift ;;
    --all) all=1 ;;
    *) echo "usage: $0 [--fix] [--base COMMIT | --all]" >&2; exit 2 ;;
  esac
  shift
done

ensure_tools() {
  if command -v clang-format >/dev/null && command -v git-clang-format >/dev/null; then
    return
  fi
  local sudo=""
  [ "$(id -u)" -ne 0 ] && sudo="sudo"
  echo "check-format: installing clang-format" >&2
  DEBIAN_FRONTEND=noninteractive $sudo apt-get update -q >&2
  DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -q --no-install-recommends \
    clang-format >&2
}

has_commit() { git rev-parse -q --verify "$1^{commit}" >/dev/null 2>&1; }
is_shallow_boundary() { [ -f "$(git rev-parse --git-dir)/shallow" ] &&
  grep -qx "$(git rev-parse "$1")" "$(git rev-parse --git-dir)/shallow"; }

# The commit that added .clang-format, unless the history stops there (a shallow clone, where
# the oldest commit seems to add every file).
format_intro() {
  local c
  c=$(git log --diff-filter=A --format=%H -- .clang-format 2>/dev/null | tail -n 1)
  if [ -n "$c" ] && ! is_shallow_boundary "$c"; then
    echo "$c"
  fi
}

main_merge_base() {
  local ref
  for ref in main origin/main; do
    if has_commit "$ref"; then
      git merge-base HEAD "$ref" 2>/dev/null && return
    fi
  done
}

resolve_base() {
  if [ -n "$base" ]; then
    has_commit "$base" || { echo "check-format: no commit '$base' here" >&2; exit 2; }
    git rev-parse "$base"
    return
  fi
  local c=""
  if [ "$mode" = fix ]; then
    c=$(main_merge_base || true)
  fi
  [ -n "$c" ] || c=$(format_intro)
  if [ -z "$c" ]; then
    # Shallow history: check what HEAD changed; deepen by one commit if HEAD has no parent.
    if ! has_commit HEAD~1; then
      git fetch -q --deepen=1 2>/dev/null || true
    fi
    if has_commit HEAD~1; then
      echo "check-format: .clang-format's commit is not in this clone; checking the lines" \
        "changed by HEAD" >&2
      c=$(git rev-parse HEAD~1)
    fi
  fi
  echo "$c"
}

all_files() {
  git ls-files -- 'src/*.cpp' 'src/*.hpp' 'include/*.hpp' 'tests/*.cpp' 'tests/*.hpp' \
    'bench/*.cpp' 'bench/*.hpp'
}

ensure_tools

if [ "$all" = 1 ]; then
  mapfile -t files < <(all_files)
  if [ "$mode" = fix ]; then
    clang-format -i --style=file "${files[@]}"
    echo "check-format: formatted ${#files[@]} files"
    exit 0
  fi
  bad=()
  for f in "${files[@]}"; do
    clang-format --style=file "$f" | diff -q "$f" - >/dev/null || bad+=("$f")
  done
  if [ ${#bad[@]} -eq 0 ]; then
    echo "check-format: all ${#files[@]} files are formatted"
    exit 0
  fi
  echo "check-format: ${#bad[@]} files are not formatted:"
  printf '  %s\n' "${bad[@]}"
  echo "fix: make format FILES=all"
  exit 1
fi

b=$(resolve_base)
if [ -z "$b" ]; then
  echo "check-format: the history is too shallow to tell what changed; nothing checked" >&2
  exit 0
fi
short=$(git rev-parse --short "$b")

if [ "$mode" = fix ]; then
  # -f: the changed lines may be unstaged; git-clang-format then edits the working tree.
  out=$(git clang-format -f --style=file "$b" -- 2>&1) || true
  printf '%s\n' "$out" | sed 's/^/check-format: /'
  if printf '%s\n' "$out" | grep -q '^error:'; then
    exit 2
  fi
  exit 0
fi

out=$(git clang-format --diff --style=file "$b" -- 2>&1) || true
if printf '%s\n' "$out" | grep -q '^error:'; then
  printf '%s\n' "$out" >&2
  exit 2
fi
if ! printf '%s\n' "$out" | grep -q '^diff --git'; then
  echo "check-format: the C++ lines changed since $short are formatted"
  exit 0
fi
echo "check-format: C++ lines changed since $short are not formatted (.clang-format):"
# Each file with the working-tree lines the formatter would change, then its diff.
printf '%s\n' "$out" | awk '
  function flush() {
    if (first) list[file] = list[file] " " first (last > first ? "-" last : "")
    first = 0
  }
  /^diff --git/ { flush(); next }
  /^\+\+\+ b\// { file = substr($0, 7); next }
  /^(---|index) / { next }
  /^@@ / { flush(); split(substr($2, 2), r, ","); ln = r[1]; next }
  /^-/ { if (first && ln == last + 1) last = ln; else { flush(); first = ln; last = ln }
         ln++; next }
  /^ / { ln++; next }
  END { flush(); for (f in list) printf "  %s: lines%s\n", f, list[f] }' | sort
printf '%s\n' "$out"
echo "fix: make format BASE=$short   (formats only the changed lines; then commit)"
exit 1
