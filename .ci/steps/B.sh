#!/usr/bin/env bash
# CI step B: issue [B]'s "Done when", over the real wire with the OpenLDAP
# clients, against contoso.lab's DC1 over LDAPS.
#
# Sourced by .ci/run (which provides the step() timing helper), or run on its
# own from anywhere after the ci build exists:
#     bash .ci/steps/B.sh
#
# Starts `sspr-lab serve`, waits for its ready file, then checks what the DC
# alone decides for writeback: the sync account's hinted reset of alice (and
# alice's bind with it), its refusal for carol (protected by SDProp) and dave
# (Domain Admins), the minimum password age with the policy hints, a user's
# change with a wrong old password (and badPwdCount), bob's lockout and its
# clearing, and the control API's /control/sdprop route. Finally stops the
# server with SIGTERM and expects exit status 0.
#
# Environment:
#   SSPR_LAB_BIN              server binary (default: ${CARGO_TARGET_DIR:-target}/ci/sspr-lab)
#   SSPR_LAB_ADMIN_PASSWORD   Administrator's password (default Lab-Admin-Passw0rd1)
#   SSPR_LAB_USER_PASSWORD    the teaching users' initial password (default Lab-User-Passw0rd1)
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
    USER_PW=${SSPR_LAB_USER_PASSWORD:-Lab-User-Passw0rd1}
    SVC_PW=${SSPR_LAB_SERVICE_PASSWORD:-Lab-Service-Passw0rd1}
    DOMAIN=contoso.lab
    BASE_DN=DC=contoso,DC=lab
    ADMIN_NT='CONTOSO\Administrator'
    SVC_NT='CONTOSO\provAgentgMSA$'
    ALICE_UPN=alice@contoso.lab
    BOB_UPN=bob@contoso.lab
    ALICE_DN='CN=Alice Archer,OU=Staff,DC=contoso,DC=lab'
    BOB_DN='CN=Bob Baker,OU=Staff,DC=contoso,DC=lab'
    CAROL_DN='CN=Carol Cruz,OU=Staff,DC=contoso,DC=lab'
    DAVE_DN='CN=Dave Dunn,OU=Staff,DC=contoso,DC=lab'
    # New passwords: 3 of 4 character classes, no token of alice's names.
    ALICE_PW1=Smoke-B-Passw0rd1
    ALICE_PW2=Smoke-B-Passw0rd2
    ALICE_PW3=Smoke-B-Passw0rd3
    ALICE_PW4=Smoke-B-Passw0rd4
    WRONG_OLD_PW=Wrong-Old-Passw0rd9
    OTHER_PW=Smoke-B-Passw0rd5
    # LDAP_SERVER_POLICY_HINTS, critical, value SEQUENCE { INTEGER 1 } =
    # 30 03 02 01 01. OpenLDAP's tools take an arbitrary control as
    # -e [!]<oid>[=<value>], where <value> is plain base64 (lutil_b64_pton);
    # an LDIF-style "=::<b64>" is refused with "Unable to parse value of
    # general control".
    HINTS_CTRL='!1.2.840.113556.1.4.2239=MAMCAQE='
    # 1 day as a negative FILETIME interval, as AD stores minPwdAge.
    MIN_AGE_1_DAY=-864000000000
    # Per-command limit so a hung server fails the step instead of the job.
    CMD_TIMEOUT=60

    if [ ! -x "$BIN" ]; then
        echo "server binary $BIN not found; build it with: cargo build --profile ci" >&2
        exit 1
    fi
    for tool in ldapwhoami ldapsearch ldapmodify iconv base64 timeout; do
        command -v "$tool" >/dev/null 2>&1 || { echo "missing tool: $tool" >&2; exit 1; }
    done
    if ! command -v python3 >/dev/null 2>&1 && ! command -v curl >/dev/null 2>&1; then
        echo "missing tool: python3 (or curl) for the control API" >&2
        exit 1
    fi

    tmp=$(mktemp -d "${TMPDIR:-/tmp}/sspr-smoke-b.XXXXXX")
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
    RC=0       # exit code of the last run_cmd
    LAST_CMD=""

    # run_cmd CMD...: run CMD (with a timeout), keep its output in OUT and
    # its exit code in RC. Never fails by itself.
    run_cmd() {
        LAST_CMD=$(printf '%q ' "$@")
        echo "   \$ $LAST_CMD"
        RC=0
        OUT=$(timeout "$CMD_TIMEOUT" "$@" 2>&1) || RC=$?
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

    # expect_line TEXT: some output line equals TEXT (ignoring case).
    expect_line() {
        echo "   expect line: $1"
        grep -Fxqi -- "$1" <<<"$OUT" || fail "no output line equal to: $1"
    }

    # expect_prefix TEXT: some output line starts with TEXT (ignoring case).
    expect_prefix() {
        echo "   expect a line starting with: $1"
        local line
        while IFS= read -r line; do
            case "${line,,}" in
                "${1,,}"*) return 0 ;;
            esac
        done <<<"$OUT"
        fail "no output line starting with: $1"
    }

    # expect_contains TEXT: the output contains TEXT somewhere.
    expect_contains() {
        echo "   expect output containing: $1"
        case "$OUT" in
            *"$1"*) ;;
            *) fail "output does not contain: $1" ;;
        esac
    }

    # check NAME FUNC: run one check, timed.
    check() {
        CHECK=$1
        step "$1" "$2"
    }

    # ---- start the server and read its ready file -------------------------

    ready="$tmp/lab.json"
    echo "starting: $BIN serve --ready-file $ready"
    "$BIN" serve --ready-file "$ready" >"$tmp/serve.log" 2>&1 &
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

    # Print ca_cert, the control API's URL, then the first DC's ldaps address
    # of the contoso.lab domain, one per line.
    read_ready_file() {
        if command -v python3 >/dev/null 2>&1; then
            python3 - "$ready" "$DOMAIN" <<'PY'
import json, sys
with open(sys.argv[1], encoding="utf-8") as f:
    lab = json.load(f)
dom = next(d for d in lab["domains"] if d["name"] == sys.argv[2])
dc = dom["dcs"][0]
print(lab["ca_cert"])
print(lab["control"])
print(dc["ldaps"])
PY
        else
            # Crude fallback: one JSON token per line, then pick the values.
            tr -d '\n' <"$ready" | sed 's/[{}]/\n/g; s/,/\n/g' | awk -v dom="$DOMAIN" '
                function val(s) { sub(/^[^:]*:[ \t]*"/, "", s); sub(/".*$/, "", s); return s }
                /"ca_cert"[ \t]*:/ { ca = val($0) }
                /"control"[ \t]*:/ { control = val($0) }
                /"name"[ \t]*:/ && val($0) == dom { in_dom = 1 }
                in_dom && ldaps == "" && /"ldaps"[ \t]*:/ { ldaps = val($0) }
                END { print ca; print control; print ldaps }'
        fi
    }
    fields=$(read_ready_file)
    CA_CERT="" CONTROL_URL="" LDAPS_ADDR=""
    { read -r CA_CERT; read -r CONTROL_URL; read -r LDAPS_ADDR; } <<<"$fields" || true
    echo "ready file: ca_cert=$CA_CERT control=$CONTROL_URL ldaps=$LDAPS_ADDR"
    [[ $LDAPS_ADDR =~ ^[^:/]+:[0-9]+$ ]] || { echo "bad ldaps address in ready file: '$LDAPS_ADDR'" >&2; exit 1; }
    [[ $CONTROL_URL =~ ^http://[^/]+/ ]] || { echo "bad control URL in ready file: '$CONTROL_URL'" >&2; exit 1; }
    [ -r "$CA_CERT" ] || { echo "CA certificate not readable: '$CA_CERT'" >&2; exit 1; }

    LDAPS_URI="ldaps://$LDAPS_ADDR"
    # libldap reads these like ldap.conf's TLS_CACERT / TLS_REQCERT.
    export LDAPTLS_CACERT="$CA_CERT"
    export LDAPTLS_REQCERT=demand

    # ---- LDIF builders -----------------------------------------------------

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

    # reset_ldif DN PASSWORD: a reset (replace unicodePwd).
    reset_ldif() {
        write_ldif "dn: $1" 'changetype: modify' 'replace: unicodePwd' \
            "unicodePwd:: $(pwd_b64 "$2")" '-'
    }

    # change_ldif DN OLD NEW: a user's change (delete the old, add the new).
    change_ldif() {
        write_ldif "dn: $1" 'changetype: modify' \
            'delete: unicodePwd' "unicodePwd:: $(pwd_b64 "$2")" '-' \
            'add: unicodePwd' "unicodePwd:: $(pwd_b64 "$3")" '-'
    }

    # replace_ldif DN ATTR VALUE: replace one attribute's value.
    replace_ldif() {
        write_ldif "dn: $1" 'changetype: modify' "replace: $2" "$2: $3" '-'
    }

    # hinted_reset DN PASSWORD: the sync account resets DN with the policy
    # hints control, as the writeback agent does.
    hinted_reset() {
        reset_ldif "$1" "$2"
        run_cmd ldapmodify -x -H "$LDAPS_URI" -D "$SVC_NT" -w "$SVC_PW" -e "$HINTS_CTRL" -f "$LDIF"
    }

    # as_admin_replace DN ATTR VALUE: Administrator replaces one value.
    as_admin_replace() {
        replace_ldif "$1" "$2" "$3"
        run_cmd ldapmodify -x -H "$LDAPS_URI" -D "$ADMIN_NT" -w "$ADMIN_PW" -f "$LDIF"
    }

    # ---- checks ------------------------------------------------------------

    check_1() {
        hinted_reset "$ALICE_DN" "$ALICE_PW1"
        expect_rc 0
        run_cmd ldapwhoami -x -H "$LDAPS_URI" -D "$ALICE_UPN" -w "$ALICE_PW1"
        expect_rc 0
        expect_prefix 'u:CONTOSO\alice'
    }
    check "1. sync account's hinted reset of alice, then alice binds with it" check_1

    check_2() {
        hinted_reset "$CAROL_DN" "$OTHER_PW"
        expect_rc 50
        expect_contains '00002098'
    }
    check "2. hinted reset of carol (protected) is refused (50, 00002098)" check_2

    check_3() {
        hinted_reset "$DAVE_DN" "$OTHER_PW"
        expect_rc 50
        expect_contains '00002098'
    }
    check "3. hinted reset of dave (Domain Admins) is refused (50, 00002098)" check_3

    check_4() {
        as_admin_replace "$BASE_DN" minPwdAge "$MIN_AGE_1_DAY"
        expect_rc 0
        # alice was reset in check 1, less than a day ago: with the hints,
        # every further reset is refused while the minimum age lasts.
        hinted_reset "$ALICE_DN" "$ALICE_PW2"
        expect_rc 53
        expect_contains '0000052D'
        hinted_reset "$ALICE_DN" "$ALICE_PW3"
        expect_rc 53
        expect_contains '0000052D'
        as_admin_replace "$BASE_DN" minPwdAge 0
        expect_rc 0
    }
    check "4. minPwdAge 1 day refuses hinted resets of alice (53, 0000052D)" check_4

    check_5() {
        change_ldif "$ALICE_DN" "$WRONG_OLD_PW" "$ALICE_PW4"
        run_cmd ldapmodify -x -H "$LDAPS_URI" -D "$ALICE_UPN" -w "$ALICE_PW1" -f "$LDIF"
        expect_rc 19
        expect_contains '00000056'
        run_cmd ldapsearch -x -LLL -o ldif_wrap=no -H "$LDAPS_URI" -D "$ADMIN_NT" -w "$ADMIN_PW" \
            -b "$ALICE_DN" -s base '(objectClass=*)' badPwdCount
        expect_rc 0
        expect_line 'badPwdCount: 1'
    }
    check "5. alice's change with a wrong old password (19, 00000056; badPwdCount 1)" check_5

    check_6() {
        run_cmd ldapwhoami -x -H "$LDAPS_URI" -D "$BOB_UPN" -w "$USER_PW"
        expect_rc 49
        expect_contains 'data 775'
        replace_ldif "$BOB_DN" lockoutTime 0
        run_cmd ldapmodify -x -H "$LDAPS_URI" -D "$SVC_NT" -w "$SVC_PW" -f "$LDIF"
        expect_rc 0
        run_cmd ldapwhoami -x -H "$LDAPS_URI" -D "$BOB_UPN" -w "$USER_PW"
        expect_rc 0
        expect_prefix 'u:CONTOSO\bob'
    }
    check "6. bob is locked out (49, data 775) until lockoutTime is set to 0" check_6

    # POST JSON to a URL; prints the body, then "HTTP <status>" on a line of
    # its own. Any proxy settings are ignored: the control API is local.
    cat >"$tmp/post.py" <<'PY'
import sys, urllib.error, urllib.request
url, body = sys.argv[1], sys.argv[2]
req = urllib.request.Request(url, data=body.encode(), method="POST",
                             headers={"content-type": "application/json"})
opener = urllib.request.build_opener(urllib.request.ProxyHandler({}))
try:
    with opener.open(req, timeout=30) as r:
        status, out = r.status, r.read()
except urllib.error.HTTPError as e:
    status, out = e.code, e.read()
print(out.decode("utf-8", "replace"))
print("HTTP %d" % status)
PY

    check_7() {
        local url="$CONTROL_URL/sdprop" body='{"domain":"contoso.lab"}'
        if command -v python3 >/dev/null 2>&1; then
            run_cmd python3 "$tmp/post.py" "$url" "$body"
        else
            run_cmd curl -sS --noproxy '*' -X POST -H 'content-type: application/json' \
                -d "$body" -w '\nHTTP %{http_code}\n' "$url"
        fi
        expect_rc 0
        expect_line 'HTTP 200'
        expect_contains '"domain":"contoso.lab"'
    }
    check "7. POST /control/sdprop for contoso.lab (200)" check_7

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

    echo "step B passed"
)
