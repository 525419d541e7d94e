#!/bin/bash
# Runs the Wayland Conformance Test Suite (Debian's wlcs) against the compositor core
# through tests/wlcs (libgwd_wlcs.so).
#
#   scripts/wlcs.sh            the tests in tests/wlcs/expected-pass.txt; fails if one of
#                              them does not pass (what CI runs)
#   scripts/wlcs.sh --all      every test; prints pass/skip/fail per suite and the tests
#                              that pass but are not listed yet
#   scripts/wlcs.sh --all --update
#                              the same, then rewrites the list with what passed
#
# Extra arguments after `--` go to wlcs (gtest options, e.g. --gtest_filter=...).
# A test that hangs is bounded by the runner's own 10 s waits; the whole run by
# GWD_WLCS_TIMEOUT seconds (default 1800). --all runs GWD_WLCS_SHARDS (8) runners at once.
set -euo pipefail
cd "$(dirname "$0")/.."
[ -f "$HOME/.cargo/env" ] && . "$HOME/.cargo/env"

runner=/usr/lib/$(gcc -print-multiarch)/wlcs/wlcs
expected=tests/wlcs/expected-pass.txt
all=0 update=0 extra=()
while [ $# -gt 0 ]; do
  case "$1" in
    --all) all=1 ;;
    --update) update=1 ;;
    --) shift; extra=("$@"); break ;;
    *) echo "wlcs.sh: unknown argument $1" >&2; exit 2 ;;
  esac
  shift
done
[ -x "$runner" ] || { echo "wlcs.sh: $runner is missing (apt-get install wlcs)" >&2; exit 1; }

./scripts/cargo-build.sh
module=$PWD/target/debug/libgwd_wlcs.so

work=$(mktemp -d /tmp/gwd-wlcs-XXXXXX)
trap 'rm -rf "$work"' EXIT
filter=()
if [ $all = 0 ]; then
  filter=("--gtest_filter=$(grep -v '^#' "$expected" | grep . | paste -sd:)")
fi

# The runner exits non-zero when any test fails; the XML reports are what is judged. The
# whole suite runs in shards side by side: failing tests mostly wait out 10 s timeouts.
shards=1
[ $all = 1 ] && shards=${GWD_WLCS_SHARDS:-8}
pids=()
for ((i = 0; i < shards; i++)); do
  GTEST_TOTAL_SHARDS=$shards GTEST_SHARD_INDEX=$i \
    timeout --kill-after=10 "${GWD_WLCS_TIMEOUT:-1800}" "$runner" "$module" \
    --gtest_output="xml:$work/report-$i.xml" "${filter[@]}" "${extra[@]}" >"$work/log-$i" 2>&1 &
  pids+=($!)
done
for ((i = 0; i < shards; i++)); do
  if ! wait "${pids[$i]}" && [ ! -s "$work/report-$i.xml" ]; then
    tail -40 "$work/log-$i"
    echo "wlcs.sh: shard $i of the runner ended without a report" >&2
    exit 1
  fi
done
cat "$work"/log-* >/tmp/gwd-wlcs-last.log

# Expected passes that did not pass get one more run on their own; one that passes then is
# reported as flaky rather than failing the run.
/usr/bin/python3 - "$expected" "$work"/report-*.xml >"$work/retry" <<'PY'
import sys, xml.etree.ElementTree as ET
passed = set()
for report in sys.argv[2:]:
    for case in ET.parse(report).iter("testcase"):
        skipped = any(p.get("name") == "wlcs-skip-test" for p in case.iter("property"))
        if case.find("failure") is None and not skipped:
            passed.add(f"{case.get('classname')}.{case.get('name')}")
expected = [l.strip() for l in open(sys.argv[1]) if l.strip() and not l.startswith("#")]
print(":".join(t for t in expected if t not in passed))
PY
if [ -s "$work/retry" ] && [ "$(cat "$work/retry")" != "" ]; then
  echo "wlcs.sh: running again: $(tr ':' ' ' <"$work/retry")"
  timeout --kill-after=10 600 "$runner" "$module" --gtest_output="xml:$work/retry.xml" \
    "--gtest_filter=$(cat "$work/retry")" >"$work/log-retry" 2>&1 || true
  cat "$work/log-retry" >>/tmp/gwd-wlcs-last.log
fi

retried=()
[ -s "$work/retry.xml" ] && retried=("$work/retry.xml")
/usr/bin/python3 - "$expected" "$all" "$update" "${#retried[@]}" "${retried[@]}" "$work"/report-*.xml <<'PY'
import sys, xml.etree.ElementTree as ET
from collections import defaultdict

expected_path, run_all, update = sys.argv[1], sys.argv[2] == "1", sys.argv[3] == "1"
n_retry = int(sys.argv[4])
retry_reports, reports = sys.argv[5:5 + n_retry], sys.argv[5 + n_retry:]

def outcome(case):
    # wlcs reports a test it skips (a missing extension) as a failure with this property.
    if any(p.get("name") == "wlcs-skip-test" for p in case.iter("property")):
        return "skip"
    if case.find("failure") is not None:
        return "fail"
    if case.get("result") == "skipped" or case.find("skipped") is not None or case.get("status") == "notrun":
        return "skip"
    return "pass"

flaky = []
retried = {f"{c.get('classname')}.{c.get('name')}": outcome(c)
           for r in retry_reports for c in ET.parse(r).iter("testcase")}
results = {}
for case in (c for r in reports for c in ET.parse(r).iter("testcase")):
    name = f"{case.get('classname')}.{case.get('name')}"
    results[name] = outcome(case)
    if results[name] != "pass" and retried.get(name) == "pass":
        results[name] = "pass"
        flaky.append(name)

expected = [l.strip() for l in open(expected_path) if l.strip() and not l.startswith("#")]
header = [l for l in open(expected_path) if l.startswith("#")]

suites = defaultdict(lambda: defaultdict(int))
for name, outcome in results.items():
    suites[name.split(".")[0]][outcome] += 1
print("| suite | pass | skip | fail |\n|---|---:|---:|---:|")
for suite in sorted(suites):
    c = suites[suite]
    print(f"| {suite} | {c['pass']} | {c['skip']} | {c['fail']} |")
total = defaultdict(int)
for c in suites.values():
    for k, v in c.items():
        total[k] += v
print(f"| **all** | {total['pass']} | {total['skip']} | {total['fail']} |")

if flaky:
    print(f"\npassed only when run again (flaky): {' '.join(flaky)}")
regressed = [t for t in expected if results.get(t) != "pass"]
new = sorted(t for t, o in results.items() if o == "pass" and t not in set(expected))
if run_all and new:
    print(f"\n{len(new)} tests pass that {expected_path} does not list:")
    for t in new:
        print("  " + t)
if update:
    with open(expected_path, "w") as f:
        f.writelines(header)
        for t in sorted(t for t, o in results.items() if o == "pass"):
            f.write(t + "\n")
    print(f"\n{expected_path} rewritten: {total['pass']} tests")
    sys.exit(0)
if regressed:
    print(f"\n{len(regressed)} expected passes did not pass:")
    for t in regressed:
        print(f"  {t}: {results.get(t, 'not run')}")
    print("(the runner's output is in /tmp/gwd-wlcs-last.log; one test alone: "
          "scripts/wlcs.sh --all -- --gtest_filter=NAME)")
    sys.exit(1)
print(f"\nall {len(expected)} expected passes passed")
PY
