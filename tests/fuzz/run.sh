#!/usr/bin/env bash
# Runs the libFuzzer targets of a PORTICO_FUZZ build (tests/fuzz/CMakeLists.txt).
#
#   run.sh [--seconds N] [--runs N] BIN_DIR [TARGET...]   fuzz each target (all by default) for
#                                                     N seconds (FUZZ_SECONDS, default 30) or N
#                                                     executions, whichever comes first, one
#                                                     target after the other
#   run.sh --replay BIN_DIR TARGET                        run the target once over its seeds and
#                                                     past findings (the fuzz.<target> ctest)
#
# Seeds are read in place from tests/fixtures (never copied into the tree); what a run learns
# goes to BIN_DIR/corpus/<target>/ and any crashing input to BIN_DIR/findings/<target>/. A
# crash, a leak, a timeout or a UBSan report fails the run (halt_on_error) and names the input;
# copy it to tests/fixtures/fuzz/<target>/ once fixed, so the replay keeps it fixed.
set -euo pipefail
root="$(cd "$(dirname "$0")/../.." && pwd)"
fixtures="$root/tests/fixtures"

mode=fuzz
seconds="${FUZZ_SECONDS:-30}"
runs=""
while [[ $# -gt 0 ]]; do
  case "$1" in
    --replay) mode=replay; shift ;;
    --seconds) seconds="$2"; shift 2 ;;
    --runs) runs="$2"; shift 2 ;;
    *) break ;;
  esac
done
[[ $# -ge 1 ]] || { echo "usage: $0 [--replay] [--seconds N] [--runs N] BIN_DIR [TARGET...]" >&2; exit 2; }
bin_dir="$(cd "$1" && pwd)"
shift
targets=("$@")
[[ ${#targets[@]} -gt 0 ]] || targets=(fuzz_sip_ingress fuzz_sdp fuzz_media_headers fuzz_policy)

export ASAN_OPTIONS="detect_leaks=1:halt_on_error=1:abort_on_error=0:allocator_may_return_null=1"
export UBSAN_OPTIONS="halt_on_error=1:print_stacktrace=1"

# Seed folders (read only) and the largest input worth trying, per target.
seeds() {
  case "$1" in
    fuzz_sip_ingress) echo "$fixtures/rfc4475 $fixtures/rfc4475/variants $fixtures/rfc5118" ;;
    fuzz_sdp) echo "$fixtures/sdp" ;;
    fuzz_media_headers) echo "$fixtures/media" ;;
    fuzz_policy) echo "$root/policies $root/policies/trunks $fixtures/policy/bad" ;;
    *) echo "unknown target: $1" >&2; exit 2 ;;
  esac
}
max_len() {
  case "$1" in
    fuzz_sip_ingress) echo 8192 ;;
    fuzz_sdp) echo 8192 ;;
    fuzz_media_headers) echo 1500 ;;
    fuzz_policy) echo 16384 ;;
  esac
}

# A dictionary of the tokens the target's parser branches on, when there is one.
dict_args() {
  case "$1" in
    fuzz_sip_ingress) echo "-dict=$root/tests/fuzz/sip.dict" ;;
    fuzz_sdp) echo "-dict=$root/tests/fuzz/sdp.dict" ;;
  esac
}

status=0
for t in "${targets[@]}"; do
  exe="$bin_dir/$t"
  [[ -x "$exe" ]] || { echo "missing $exe (configure with -DPORTICO_FUZZ=ON and build it)" >&2; exit 2; }
  read -r -a seed_dirs <<<"$(seeds "$t")"
  found="$fixtures/fuzz/$t"
  [[ -d "$found" ]] && seed_dirs+=("$found")
  if [[ $mode == replay ]]; then
    # -runs=0: every input once, no mutation.
    "$exe" -runs=0 -max_len="$(max_len "$t")" "${seed_dirs[@]}" || status=1
    continue
  fi
  corpus="$bin_dir/corpus/$t"
  artifacts="$bin_dir/findings/$t"
  mkdir -p "$corpus" "$artifacts"
  limit=(-max_total_time="$seconds")
  [[ -n "$runs" ]] && limit+=(-runs="$runs")  # whichever comes first
  echo "== $t: ${limit[*]}"
  read -r -a dict <<<"$(dict_args "$t")"
  if ! "$exe" "${limit[@]}" "${dict[@]}" -max_len="$(max_len "$t")" -timeout=10 -rss_limit_mb=2048 \
      -print_final_stats=1 -artifact_prefix="$artifacts/" "$corpus" "${seed_dirs[@]}"; then
    echo "== $t FAILED: the input is in $artifacts/" >&2
    status=1
  fi
done
exit $status
