#!/usr/bin/env bash
# CI step F: the simulation lab (issue [F] "Done when"), with the ci build.
#
# Sourced by .ci/run (which provides the step() timing helper), or run on its own from anywhere
# after the ci build exists:
#     bash .ci/steps/F.sh
#
#   a. `sspr-lab` with no subcommand plays the tutorial and exits 0 (every expectation met);
#   b. `sspr-lab run tutorial --out DIR` twice: report.json byte-identical, report.md and the three
#      SVGs written and well-formed (python3's XML parser);
#   c. `sspr-lab demo tutorial --no-pause` narrates it;
#   d. `sspr-lab scenarios check` refuses a broken file with its line and field;
#   e. `sspr-lab run day-100k --out DIR` (two forests, 100,000 users, a day of traffic with faults)
#      finishes with a report and plots; its wall time and peak memory are printed.
#
# shellcheck disable=SC2317 source-path=SCRIPTDIR
(
    set -euo pipefail
    # shellcheck source=../lib/lab.sh
    source "$(dirname "${BASH_SOURCE[0]}")/../lib/lab.sh"
    lab_require python3 timeout
    tmp=$(mktemp -d "${TMPDIR:-/tmp}/sspr-sim.XXXXXX")
    trap 'rm -rf "$tmp"' EXIT
    CMD_TIMEOUT=1800

    check_a() {
        run_cmd "$BIN"
        expect_rc 0
        expect_contains "Expectations:"
        expect_contains ", 0 failed"
    }
    check "a. sspr-lab with no subcommand plays the tutorial" check_a

    check_b() {
        run_cmd "$BIN" run tutorial --out "$tmp/one"
        expect_rc 0
        run_cmd "$BIN" run tutorial --out "$tmp/two"
        expect_rc 0
        run_cmd cmp "$tmp/one/report.json" "$tmp/two/report.json"
        expect_rc 0
        run_cmd python3 - "$tmp/one" <<'PY'
import json, sys, xml.dom.minidom
from pathlib import Path
d = Path(sys.argv[1])
r = json.loads((d / "report.json").read_text())
assert r["record"]["scenario"] == "tutorial", r["record"].get("scenario")
assert (d / "report.md").read_text().startswith("#")
for svg in sorted(d.glob("*.svg")):
    xml.dom.minidom.parse(str(svg))
    print("well-formed", svg.name)
print("writebacks", len(r["record"]["writebacks"]))
PY
        expect_rc 0
        expect_contains "well-formed latency_cdf.svg"
    }
    check "b. run tutorial twice: the same report.json; report.md and SVGs well-formed" check_b

    check_c() {
        run_cmd "$BIN" demo tutorial --no-pause
        expect_rc 0
        expect_contains "Validation a:"
        expect_contains "agent permissions contoso.lab"
    }
    check "c. demo tutorial --no-pause narrates it" check_c

    check_d() {
        printf 'name = "bad"\ndescription = "x"\nduration = "1h"\n[lab]\nbase = "default"\n[[timeline]]\nat = "1m"\ndc_stop = { domain = "contoso.lab", dc = "DC9" }\n' >"$tmp/bad.toml"
        run_cmd "$BIN" scenarios check "$tmp/bad.toml"
        expect_nonzero
        expect_contains "bad.toml:8"
        expect_contains "timeline[0].dc_stop.dc"
    }
    check "d. a broken scenario file is refused with its line and field" check_d

    check_e() {
        local start=$SECONDS
        run_cmd /usr/bin/time -v "$BIN" run day-100k --out "$tmp/day"
        echo "   wall time $((SECONDS - start)) s; $(grep -i 'Maximum resident' <<<"$ERR" | sed 's/^\s*//')"
        printf '%s\n' "$OUT" | grep -E '^(writebacks|Expectations)' | sed 's/^/   | /'
        [ -s "$tmp/day/report.json" ] || fail "no report.json"
        [ -s "$tmp/day/latency_cdf.svg" ] || fail "no plot"
        expect_rc 0
    }
    if command -v /usr/bin/time >/dev/null 2>&1; then
        check "e. run day-100k: a day, 100k users, with a report and plots" check_e
    else
        lab_apt_install time
        check "e. run day-100k: a day, 100k users, with a report and plots" check_e
    fi
)
