#!/usr/bin/env bash
# CI step C: issue [C]'s "Done when", over the real wire with the OpenLDAP
# clients and the sspr-lab CLI, against contoso.lab's DC1 and DC2 over LDAPS,
# with the lab clock running 60 times faster than real time.
#
# Sourced by .ci/run (which provides the step() timing helper), or run on its
# own from anywhere after the ci build exists:
#     bash .ci/steps/C.sh
#
# Starts `sspr-lab serve --time-scale 60`, waits for its ready file, then
# checks: a write on DC1 reaching DC2 only after the intra-site notification
# delay (15 lab seconds = 0.25 s real); `gpo set MinimumPasswordAge=1` taking
# effect on DC1 only after `gpupdate --force`; the CLI's errors for an unknown
# policy key and an unknown DC; a stopped DC2 refusing connections and
# catching up once started. Finally stops the server with SIGTERM and expects
# exit status 0.
#
# Environment:
#   SSPR_LAB_BIN              server binary (default: ${CARGO_TARGET_DIR:-target}/ci/sspr-lab)
#   SSPR_LAB_ADMIN_PASSWORD   Administrator's password (default Lab-Admin-Passw0rd1)
#   SSPR_LAB_SERVICE_PASSWORD the sync account's password (default Lab-Service-Passw0rd1)
#
# Everything runs in a subshell so that, when sourced, the traps, exits,
# variables and functions defined here do not leak into .ci/run.
#
# Most functions below run only through step()/trap, which shellcheck cannot
# follow, hence SC2317 ("unreachable") is off for the file.
# shellcheck disable=SC2317
(
    set -euo pipefail
    cd "$(dirname "${BASH_SOURCE[0]}")/../.."

    # Timing helper: reuse .ci/run's step() when sourced, else a fallback
    # with the same output ("== NAME (N s)").
    if ! declare -F step >/dev/null; then
        step() {
            local name=$1
            shift
            local start=$SECONDS
            echo ">> $name"
            "$@"
            echo "== $name ($((SECONDS - start)) s)"
        }
    fi

    BIN=${SSPR_LAB_BIN:-${CARGO_TARGET_DIR:-target}/ci/sspr-lab}
    ADMIN_PW=${SSPR_LAB_ADMIN_PASSWORD:-Lab-Admin-Passw0rd1}
    SVC_PW=${SSPR_LAB_SERVICE_PASSWORD:-Lab-Service-Passw0rd1}
    DOMAIN=contoso.lab
    ADMIN_NT='CONTOSO\Administrator'
    SVC_NT='CONTOSO\provAgentgMSA$'
    ALICE_DN='CN=Alice Archer,OU=Staff,DC=contoso,DC=lab'
    # New passwords: 3 of 4 character classes, no token of alice's names.
    ALICE_PW1=Smoke-C-Passw0rd1
    ALICE_PW2=Smoke-C-Passw0rd2
    ALICE_PW3=Smoke-C-Passw0rd3
    # LDAP_SERVER_POLICY_HINTS, critical, value SEQUENCE { INTEGER 1 } =
    # 30 03 02 01 01, as plain base64 (see B.sh).
    HINTS_CTRL='!1.2.840.113556.1.4.2239=MAMCAQE='
    # Lab seconds per real second.
    TIME_SCALE=60
    # Intra-site change notification to the first partner: 15 lab seconds,
    # 250 ms real at scale 60. A replicated value must not be seen sooner
    # than this many real milliseconds after the write (250 ms less slack).
    MIN_REPL_DELAY_MS=200
    # How long (real seconds) to poll a DC for a replicated value, and how
    # often.
    POLL_MAX_S=10
    POLL_EVERY=0.05
    # Per-command limit so a hung server fails the step instead of the job.
    CMD_TIMEOUT=60

    if [ ! -x "$BIN" ]; then
        echo "server binary $BIN not found; build it with: cargo build --profile ci" >&2
        exit 1
    fi
    for tool in ldapwhoami ldapsearch ldapmodify iconv base64 timeout; do
        command -v "$tool" >/dev/null 2>&1 || { echo "missing tool: $tool" >&2; exit 1; }
    done

    tmp=$(mktemp -d "${TMPDIR:-/tmp}/sspr-smoke-c.XXXXXX")
    PID=""

    # On exit: stop the server (by its PID only) and, on failure, show its
    # log and keep the temp dir for inspection.
    cleanup() {
        local rc=$?
        if [ -n "$PID" ] && kill -0 "$PID" 2>/dev/null; then
            kill -TERM "$PID" 2>/dev/null || true
            for _ in $(seq 50); do
                kill -0 "$PID" 2>/dev/null || break
                sleep 0.1
            done
            kill -KILL "$PID" 2>/dev/null || true
        fi
        if [ "$rc" -ne 0 ]; then
            echo "---- server log ($tmp/serve.log) ----" >&2
            cat "$tmp/serve.log" >&2 2>/dev/null || true
            echo "---- end of server log; temp dir kept: $tmp ----" >&2
        else
            rm -rf "$tmp"
        fi
        exit "$rc"
    }
    trap cleanup EXIT
    trap 'exit 129' HUP
    trap 'exit 130' INT
    trap 'exit 143' TERM

    # ---- helpers for the checks -------------------------------------------

    CHECK=""   # name of the running check, for messages
    OUT=""     # combined stdout+stderr of the last run_cmd
    ERR=""     # stderr alone of the last run_cmd
    RC=0       # exit code of the last run_cmd
    LAST_CMD=""

    # run_quiet CMD...: run CMD (with a timeout), keep its output in OUT, its
    # stderr alone in ERR and its exit code in RC, without printing the
    # command. Never fails by itself.
    run_quiet() {
        LAST_CMD=$(printf '%q ' "$@")
        RC=0
        OUT=$(timeout "$CMD_TIMEOUT" "$@" 2>"$tmp/stderr") || RC=$?
        ERR=$(cat "$tmp/stderr")
        if [ -n "$ERR" ]; then
            OUT=${OUT:+$OUT$'\n'}$ERR
        fi
    }

    # run_cmd CMD...: as run_quiet, printing the command first.
    run_cmd() {
        echo "   \$ $(printf '%q ' "$@")"
        run_quiet "$@"
    }

    # fail MESSAGE: report the failed check with the last command's output.
    fail() {
        {
            echo "FAIL [$CHECK]: $*"
            echo "---- command: $LAST_CMD"
            echo "---- exit code: $RC; output:"
            printf '%s\n' "$OUT"
            echo "----"
        } >&2
        exit 1
    }

    # expect_rc N: the last command exited with code N.
    expect_rc() {
        echo "   expect exit code $1"
        [ "$RC" -eq "$1" ] || fail "expected exit code $1, got $RC"
    }

    # expect_nonzero: the last command failed.
    expect_nonzero() {
        echo "   expect a non-zero exit code"
        [ "$RC" -ne 0 ] || fail "expected a non-zero exit code, got 0"
    }

    # expect_line TEXT: some output line equals TEXT (ignoring case).
    expect_line() {
        echo "   expect line: $1"
        grep -Fxqi -- "$1" <<<"$OUT" || fail "no output line equal to: $1"
    }

    # expect_contains TEXT: the output contains TEXT somewhere.
    expect_contains() {
        echo "   expect output containing: $1"
        case "$OUT" in
            *"$1"*) ;;
            *) fail "output does not contain: $1" ;;
        esac
    }

    # expect_stderr_contains TEXT: the standard error contains TEXT.
    expect_stderr_contains() {
        echo "   expect standard error containing: $1"
        case "$ERR" in
            *"$1"*) ;;
            *) fail "standard error does not contain: $1" ;;
        esac
    }

    # check NAME FUNC: run one check, timed.
    check() {
        CHECK=$1
        step "$1" "$2"
    }

    # now_us: the real time in microseconds (bash 5's EPOCHREALTIME, whose
    # decimal separator follows the locale).
    now_us() {
        local t=$EPOCHREALTIME
        echo "${t/[.,]/}"
    }

    # ms_of US: microseconds as milliseconds with 3 decimals ("1234.567").
    ms_of() {
        printf '%d.%03d' "$(($1 / 1000))" "$(($1 % 1000))"
    }

    # ---- start the server and read its ready file -------------------------

    ready="$tmp/lab.json"
    echo "starting: $BIN serve --time-scale $TIME_SCALE --ready-file $ready"
    "$BIN" serve --time-scale "$TIME_SCALE" --ready-file "$ready" >"$tmp/serve.log" 2>&1 &
    PID=$!

    # The ready file is written atomically once the listeners are up.
    wait_ready() {
        local i
        for i in $(seq 300); do
            if [ -s "$ready" ]; then
                echo "   ready after about $((i / 10)) s"
                return 0
            fi
            if ! kill -0 "$PID" 2>/dev/null; then
                echo "server exited before writing $ready" >&2
                return 1
            fi
            sleep 0.1
        done
        echo "no ready file after 30 s: $ready" >&2
        return 1
    }
    step "server ready" wait_ready

    # Print ca_cert, then the first and second DCs' ldaps addresses of the
    # contoso.lab domain, one per line.
    read_ready_file() {
        if command -v python3 >/dev/null 2>&1; then
            python3 - "$ready" "$DOMAIN" <<'PY'
import json, sys
with open(sys.argv[1], encoding="utf-8") as f:
    lab = json.load(f)
dom = next(d for d in lab["domains"] if d["name"] == sys.argv[2])
print(lab["ca_cert"])
print(dom["dcs"][0]["ldaps"])
print(dom["dcs"][1]["ldaps"] if len(dom["dcs"]) > 1 else "")
PY
        else
            # Crude fallback: one JSON token per line, then pick the values.
            # A "name" with a dot is a domain's (DC names have none).
            tr -d '\n' <"$ready" | sed 's/[{}]/\n/g; s/,/\n/g' | awk -v dom="$DOMAIN" '
                function val(s) { sub(/^[^:]*:[ \t]*"/, "", s); sub(/".*$/, "", s); return s }
                /"ca_cert"[ \t]*:/ { ca = val($0) }
                /"name"[ \t]*:/ && val($0) == dom { in_dom = 1 }
                /"name"[ \t]*:/ && val($0) != dom && val($0) ~ /\./ { in_dom = 0 }
                in_dom && /"ldaps"[ \t]*:/ { ldaps[n++] = val($0) }
                END { print ca; print ldaps[0]; print ldaps[1] }'
        fi
    }
    fields=$(read_ready_file)
    CA_CERT="" DC1_ADDR="" DC2_ADDR=""
    { read -r CA_CERT; read -r DC1_ADDR; read -r DC2_ADDR; } <<<"$fields" || true
    echo "ready file: ca_cert=$CA_CERT DC1 ldaps=$DC1_ADDR DC2 ldaps=$DC2_ADDR"
    for addr in "$DC1_ADDR" "$DC2_ADDR"; do
        [[ $addr =~ ^[^:/]+:[0-9]+$ ]] || { echo "bad ldaps address in ready file: '$addr'" >&2; exit 1; }
    done
    [ -r "$CA_CERT" ] || { echo "CA certificate not readable: '$CA_CERT'" >&2; exit 1; }

    DC1_URI="ldaps://$DC1_ADDR"
    DC2_URI="ldaps://$DC2_ADDR"
    # libldap reads these like ldap.conf's TLS_CACERT / TLS_REQCERT.
    export LDAPTLS_CACERT="$CA_CERT"
    export LDAPTLS_REQCERT=demand

    # The CLI's common arguments: the lab and the domain.
    LAB_ARGS=(--lab "$ready" --domain "$DOMAIN")

    # ---- LDIF builders and LDAP helpers ------------------------------------

    # unicodePwd's value: the quoted password in UTF-16LE, base64.
    pwd_b64() {
        printf '"%s"' "$1" | iconv -f UTF-8 -t UTF-16LE | base64 -w0
    }

    # write_ldif LINE...: write an LDIF file (a new one each time), print it,
    # and leave its path in LDIF.
    LDIF=""
    LDIF_N=0
    write_ldif() {
        LDIF_N=$((LDIF_N + 1))
        LDIF="$tmp/op$LDIF_N.ldif"
        printf '%s\n' "$@" >"$LDIF"
        echo "   LDIF ($LDIF):"
        sed 's/^/     /' "$LDIF"
    }

    # hinted_reset DN PASSWORD: the sync account resets DN on DC1 with the
    # policy hints control, as the writeback agent does.
    hinted_reset() {
        write_ldif "dn: $1" 'changetype: modify' 'replace: unicodePwd' \
            "unicodePwd:: $(pwd_b64 "$2")" '-'
        run_cmd ldapmodify -x -H "$DC1_URI" -D "$SVC_NT" -w "$SVC_PW" -e "$HINTS_CTRL" -f "$LDIF"
    }

    # set_description URI VALUE: Administrator replaces alice's description.
    set_description() {
        write_ldif "dn: $ALICE_DN" 'changetype: modify' 'replace: description' \
            "description: $2" '-'
        run_cmd ldapmodify -x -H "$1" -D "$ADMIN_NT" -w "$ADMIN_PW" -f "$LDIF"
    }

    # read_description URI: Administrator reads alice's description (quietly).
    read_description() {
        run_quiet ldapsearch -x -LLL -o ldif_wrap=no -H "$1" -D "$ADMIN_NT" -w "$ADMIN_PW" \
            -b "$ALICE_DN" -s base '(objectClass=*)' description
    }

    # has_description VALUE: the last read_description returned VALUE.
    has_description() {
        grep -Fxq -- "description: $1" <<<"$OUT"
    }

    # poll_description URI VALUE SINCE_US: read alice's description on URI
    # every POLL_EVERY s (at most POLL_MAX_S s) until it is VALUE; every read
    # must succeed. Sets SEEN_US (real time after the read that saw it),
    # SEEN_FROM_US (real time before that read), FIRST_READ_SAW (whether the
    # very first read saw it) and READS.
    SEEN_US=0 SEEN_FROM_US=0 FIRST_READ_SAW=0 READS=0
    poll_description() {
        local uri=$1 value=$2 since=$3 before after
        local deadline=$((since + POLL_MAX_S * 1000000))
        echo "   polling every $POLL_EVERY s (at most $POLL_MAX_S s):" \
            "ldapsearch -H $uri ... -b '$ALICE_DN' -s base description"
        echo "   expect line: description: $value"
        READS=0
        while :; do
            before=$(now_us)
            read_description "$uri"
            after=$(now_us)
            READS=$((READS + 1))
            [ "$RC" -eq 0 ] || fail "read $READS of $uri: expected exit code 0, got $RC"
            if has_description "$value"; then
                SEEN_FROM_US=$((before - since))
                SEEN_US=$((after - since))
                FIRST_READ_SAW=0
                if [ "$READS" -eq 1 ]; then
                    FIRST_READ_SAW=1
                fi
                return 0
            fi
            [ "$after" -lt "$deadline" ] ||
                fail "description '$value' not seen on $uri after $READS reads in $POLL_MAX_S s"
            sleep "$POLL_EVERY"
        done
    }

    # gpo_field NAME: from the last command's JSON output (`gpo show` and
    # friends), print "version" or the version "applied" by DC NAME.
    gpo_field() {
        if command -v python3 >/dev/null 2>&1; then
            python3 -c '
import json, sys
doc = json.loads(sys.stdin.read())
key = sys.argv[1]
print(doc["version"] if key == "version" else doc["applied"][key])
' "$1" <<<"$OUT" 2>/dev/null || echo "?"
        else
            # Crude fallback: DC names only appear under "applied".
            sed -n "s/.*\"$1\"[ \\t]*:[ \\t]*\\([0-9][0-9]*\\).*/\\1/p" <<<"$OUT" | head -n 1
        fi
    }

    # ---- checks ------------------------------------------------------------

    check_1() {
        # DC2 answers and does not hold the value yet.
        local value
        value="replicated-$RANDOM$RANDOM"
        echo "   \$ ldapsearch -H $DC2_URI ... -b '$ALICE_DN' -s base description"
        read_description "$DC2_URI"
        expect_rc 0
        if has_description "$value"; then
            fail "DC2 already has description: $value before the write"
        fi
        set_description "$DC1_URI" "$value"
        local written
        written=$(now_us)
        expect_rc 0
        poll_description "$DC2_URI" "$value" "$written"
        if [ "$FIRST_READ_SAW" -eq 1 ]; then
            echo "   note: the first read of DC2, right after the write, already saw it"
        else
            echo "   the first read of DC2, right after the write, did not see it yet"
        fi
        echo "   seen on DC2 by read $READS, which started $(ms_of "$SEEN_FROM_US") ms" \
            "and returned $(ms_of "$SEEN_US") ms after the write returned"
        echo "   expect an observed delay >= $MIN_REPL_DELAY_MS ms" \
            "(15 lab s / $TIME_SCALE = 250 ms, less slack)"
        [ "$SEEN_US" -ge $((MIN_REPL_DELAY_MS * 1000)) ] ||
            fail "replicated to DC2 after $(ms_of "$SEEN_US") ms, expected >= $MIN_REPL_DELAY_MS ms"
    }
    check "1. a write on DC1 reaches DC2 after the intra-site delay (15 lab s)" check_1

    check_2() {
        # DCs refresh group policy every 5 lab minutes (5 s real), all at the
        # same ticks. So that no tick falls between `gpo set` and the resets
        # below, first wait for one: bump the policy's version without
        # changing a setting and poll until DC1 has applied it in the
        # background; the next tick is then about 5 s real away.
        run_cmd "$BIN" gpo set "${LAB_ARGS[@]}" MinimumPasswordAge=0
        expect_rc 0
        expect_contains '"MinimumPasswordAge": 0'
        local sync_version
        sync_version=$(gpo_field version)
        [[ $sync_version =~ ^[0-9]+$ ]] || fail "no version in the output"
        echo "   waiting for DC1's background refresh to apply version $sync_version" \
            "(every 5 lab min = 5 s real; at most 10 s)"
        echo "   \$ $(printf '%q ' "$BIN" gpo show "${LAB_ARGS[@]}") (polled)"
        local deadline applied
        deadline=$(($(now_us) + 10000000))
        while :; do
            run_quiet "$BIN" gpo show "${LAB_ARGS[@]}"
            [ "$RC" -eq 0 ] || fail "gpo show: expected exit code 0, got $RC"
            applied=$(gpo_field DC1)
            [ "$applied" = "$sync_version" ] && break
            [ "$(now_us)" -lt "$deadline" ] ||
                fail "DC1 did not apply version $sync_version within 10 s (applied: $applied)"
            sleep 0.05
        done
        echo "   DC1 applied version $applied in the background"

        # The edit: a new version, not applied by DC1 yet.
        run_cmd "$BIN" gpo set "${LAB_ARGS[@]}" MinimumPasswordAge=1
        expect_rc 0
        expect_contains '"MinimumPasswordAge": 1'
        local new_version
        new_version=$(gpo_field version)
        [[ $new_version =~ ^[0-9]+$ ]] || fail "no version in the output"
        run_cmd "$BIN" gpo show "${LAB_ARGS[@]}"
        expect_rc 0
        expect_contains '"MinimumPasswordAge": 1'
        applied=$(gpo_field DC1)
        echo "   expect DC1 still at version $sync_version (not $new_version)"
        [ "$applied" = "$sync_version" ] ||
            fail "DC1 applied version $applied, expected still $sync_version"

        # Not in effect: two hinted resets of alice in a row are accepted.
        hinted_reset "$ALICE_DN" "$ALICE_PW1"
        expect_rc 0
        hinted_reset "$ALICE_DN" "$ALICE_PW2"
        expect_rc 0

        # gpupdate /force on DC1: in effect at once.
        run_cmd "$BIN" gpupdate "${LAB_ARGS[@]}" --force --dc DC1
        expect_rc 0
        run_cmd "$BIN" gpo show "${LAB_ARGS[@]}"
        expect_rc 0
        applied=$(gpo_field DC1)
        echo "   expect DC1 at version $new_version"
        [ "$applied" = "$new_version" ] ||
            fail "DC1 applied version $applied, expected $new_version"
        hinted_reset "$ALICE_DN" "$ALICE_PW3"
        expect_rc 53
        expect_contains '0000052D'

        # Restore: minimum age 0 on every DC.
        run_cmd "$BIN" gpo set "${LAB_ARGS[@]}" MinimumPasswordAge=0
        expect_rc 0
        expect_contains '"MinimumPasswordAge": 0'
        run_cmd "$BIN" gpupdate "${LAB_ARGS[@]}" --force
        expect_rc 0
    }
    check "2. gpo set MinimumPasswordAge=1 takes effect only after gpupdate --force" check_2

    check_3() {
        run_cmd "$BIN" gpo set "${LAB_ARGS[@]}" Bogus=1
        expect_nonzero
        expect_stderr_contains 'unknown group policy key'
        run_cmd "$BIN" dc stop "${LAB_ARGS[@]}" DC9
        expect_nonzero
        expect_stderr_contains 'no DC DC9'
    }
    check "3. an unknown policy key and an unknown DC are refused" check_3

    check_4() {
        run_cmd "$BIN" dc stop "${LAB_ARGS[@]}" DC2
        expect_rc 0
        expect_contains '"running": false'
        run_cmd ldapwhoami -x -H "$DC2_URI" -D "$ADMIN_NT" -w "$ADMIN_PW"
        expect_rc 255
        expect_contains "Can't contact LDAP server"
        local value
        value="while-down-$RANDOM$RANDOM"
        set_description "$DC1_URI" "$value"
        expect_rc 0
        run_cmd "$BIN" dc start "${LAB_ARGS[@]}" DC2
        local started
        started=$(now_us)
        expect_rc 0
        poll_description "$DC2_URI" "$value" "$started"
        echo "   DC2 caught up: seen by read $READS, $(ms_of "$SEEN_US") ms after dc start returned"
    }
    check "4. a stopped DC2 refuses connections, then catches up once started" check_4

    # ---- stop the server ---------------------------------------------------

    stop_server() {
        echo "   kill -TERM $PID"
        kill -TERM "$PID"
        local i
        for i in $(seq 100); do
            if ! kill -0 "$PID" 2>/dev/null; then
                echo "   stopped after about $((i / 10)) s"
                break
            fi
            sleep 0.1
        done
        if kill -0 "$PID" 2>/dev/null; then
            echo "server (pid $PID) still running 10 s after SIGTERM" >&2
            return 1
        fi
        local status=0
        wait "$PID" || status=$?
        PID=""
        echo "   server exit status: $status"
        if [ "$status" -ne 0 ]; then
            echo "server exited with status $status (expected 0)" >&2
            return 1
        fi
    }
    step "stop server" stop_server

    echo "step C passed"
)
