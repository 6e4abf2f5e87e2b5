#!/usr/bin/env bash
# CI step A: smoke test of the fake AD LDAP server with the OpenLDAP clients.
#
# Sourced by .ci/run (which provides the step() timing helper), or run on its
# own from anywhere after the ci build exists:
#     bash .ci/steps/A.sh
#
# Starts `sspr-lab serve`, waits for its ready file, then checks binds,
# searches, the root DSE, a bad bind, a password reset (and its refusal
# without TLS) and an add/delete, each over the real wire. Finally stops the
# server with SIGTERM and expects exit status 0.
#
# Environment:
#   SSPR_LAB_BIN              server binary (default: ${CARGO_TARGET_DIR:-target}/ci/sspr-lab)
#   SSPR_LAB_ADMIN_PASSWORD   Administrator's password (default Lab-Admin-Passw0rd1)
#   SSPR_LAB_USER_PASSWORD    alice's initial password (default Lab-User-Passw0rd1)
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
    NEW_PW=Smoke-Test-Passw0rd7
    DOMAIN=contoso.lab
    BASE_DN=DC=contoso,DC=lab
    ADMIN_NT='CONTOSO\Administrator'
    ADMIN_UPN=Administrator@contoso.lab
    ALICE_UPN=alice@contoso.lab
    SMOKE_OU=OU=Smoke,DC=contoso,DC=lab
    # Per-command limit so a hung server fails the step instead of the job.
    CMD_TIMEOUT=60

    if [ ! -x "$BIN" ]; then
        echo "server binary $BIN not found; build it with: cargo build --profile ci" >&2
        exit 1
    fi
    for tool in ldapwhoami ldapsearch ldapmodify ldapdelete iconv base64 timeout; do
        command -v "$tool" >/dev/null 2>&1 || { echo "missing tool: $tool" >&2; exit 1; }
    done

    tmp=$(mktemp -d "${TMPDIR:-/tmp}/sspr-smoke.XXXXXX")
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

    # Print ca_cert, then the first DC's ldap and ldaps addresses of the
    # contoso.lab domain, one per line.
    read_ready_file() {
        if command -v python3 >/dev/null 2>&1; then
            python3 - "$ready" "$DOMAIN" <<'PY'
import json, sys
with open(sys.argv[1], encoding="utf-8") as f:
    lab = json.load(f)
dom = next(d for d in lab["domains"] if d["name"] == sys.argv[2])
dc = dom["dcs"][0]
print(lab["ca_cert"])
print(dc["ldap"])
print(dc["ldaps"])
PY
        else
            # Crude fallback: one JSON token per line, then pick the values.
            tr -d '\n' <"$ready" | sed 's/[{}]/\n/g; s/,/\n/g' | awk -v dom="$DOMAIN" '
                function val(s) { sub(/^[^:]*:[ \t]*"/, "", s); sub(/".*$/, "", s); return s }
                /"ca_cert"[ \t]*:/ { ca = val($0) }
                /"name"[ \t]*:/ && val($0) == dom { in_dom = 1 }
                in_dom && ldap == "" && /"ldap"[ \t]*:/ { ldap = val($0) }
                in_dom && ldaps == "" && /"ldaps"[ \t]*:/ { ldaps = val($0) }
                END { print ca; print ldap; print ldaps }'
        fi
    }
    fields=$(read_ready_file)
    CA_CERT="" LDAP_ADDR="" LDAPS_ADDR=""
    { read -r CA_CERT; read -r LDAP_ADDR; read -r LDAPS_ADDR; } <<<"$fields" || true
    echo "ready file: ca_cert=$CA_CERT ldap=$LDAP_ADDR ldaps=$LDAPS_ADDR"
    for addr in "$LDAP_ADDR" "$LDAPS_ADDR"; do
        [[ $addr =~ ^[^:/]+:[0-9]+$ ]] || { echo "bad address in ready file: '$addr'" >&2; exit 1; }
    done
    [ -r "$CA_CERT" ] || { echo "CA certificate not readable: '$CA_CERT'" >&2; exit 1; }

    LDAP_URI="ldap://$LDAP_ADDR"
    LDAPS_URI="ldaps://$LDAPS_ADDR"
    # libldap reads these like ldap.conf's TLS_CACERT / TLS_REQCERT.
    export LDAPTLS_CACERT="$CA_CERT"
    export LDAPTLS_REQCERT=demand

    # ---- checks ------------------------------------------------------------

    check_a() {
        run_cmd ldapwhoami -x -H "$LDAPS_URI" -D "$ADMIN_NT" -w "$ADMIN_PW"
        expect_rc 0
        expect_prefix 'u:CONTOSO\Administrator'
    }
    check "a. whoami CONTOSO\\Administrator over LDAPS" check_a

    check_b() {
        run_cmd ldapwhoami -x -ZZ -H "$LDAP_URI" -D "$ADMIN_UPN" -w "$ADMIN_PW"
        expect_rc 0
        expect_prefix 'u:CONTOSO\Administrator'
    }
    check "b. whoami $ADMIN_UPN over StartTLS" check_b

    ALICE_DN=""
    ALICE_DN_LDIF=""   # the DN as an LDIF "dn:" line, exactly as the server sent it
    check_c() {
        run_cmd ldapsearch -x -LLL -o ldif_wrap=no -H "$LDAPS_URI" -D "$ADMIN_NT" -w "$ADMIN_PW" \
            -b "$BASE_DN" '(sAMAccountName=alice)' sAMAccountName userPrincipalName
        expect_rc 0
        local dns
        dns=$(grep -E '^dn::? ' <<<"$OUT" || true)
        echo "   expect exactly one entry"
        if [ -z "$dns" ] || [ "$(wc -l <<<"$dns")" -ne 1 ]; then
            fail "expected exactly one entry"
        fi
        expect_line 'sAMAccountName: alice'
        expect_line "userPrincipalName: $ALICE_UPN"
        ALICE_DN_LDIF=$dns
        case "$dns" in
            'dn:: '*) ALICE_DN=$(printf '%s' "${dns#dn:: }" | base64 -d) || fail "bad base64 DN: $dns" ;;
            *) ALICE_DN=${dns#dn: } ;;
        esac
        [ -n "$ALICE_DN" ] || fail "empty DN"
        echo "   alice's DN: $ALICE_DN"
    }
    check "c. search sAMAccountName=alice over LDAPS" check_c

    check_d() {
        run_cmd ldapsearch -x -LLL -o ldif_wrap=no -H "$LDAP_URI" -b '' -s base '(objectClass=*)' \
            defaultNamingContext supportedControl
        expect_rc 0
        expect_line "defaultNamingContext: $BASE_DN"
        expect_line 'supportedControl: 1.2.840.113556.1.4.2239'
    }
    check "d. anonymous root DSE over LDAP" check_d

    check_e() {
        run_cmd ldapwhoami -x -H "$LDAPS_URI" -D "$ADMIN_NT" -w wrong
        expect_rc 49
        expect_contains 'data 52e'
    }
    check "e. bad password bind is refused (49, data 52e)" check_e

    # The password-reset LDIF: unicodePwd is the quoted password in UTF-16LE.
    new_pw_b64=$(printf '"%s"' "$NEW_PW" | iconv -f UTF-8 -t UTF-16LE | base64 -w0)
    reset_ldif="$tmp/reset.ldif"
    write_reset_ldif() {
        printf '%s\n' "$ALICE_DN_LDIF" 'changetype: modify' 'replace: unicodePwd' \
            "unicodePwd:: $new_pw_b64" '-' >"$reset_ldif"
        echo "   LDIF ($reset_ldif):"
        sed 's/^/     /' "$reset_ldif"
    }

    check_f() {
        write_reset_ldif
        run_cmd ldapmodify -x -H "$LDAPS_URI" -D "$ADMIN_NT" -w "$ADMIN_PW" -f "$reset_ldif"
        expect_rc 0
        run_cmd ldapwhoami -x -H "$LDAPS_URI" -D "$ALICE_UPN" -w "$NEW_PW"
        expect_rc 0
        expect_prefix 'u:CONTOSO\alice'
        run_cmd ldapwhoami -x -H "$LDAPS_URI" -D "$ALICE_UPN" -w "$USER_PW"
        expect_rc 49
    }
    check "f. admin resets alice's password over LDAPS" check_f

    check_g() {
        write_reset_ldif
        run_cmd ldapmodify -x -H "$LDAP_URI" -D "$ADMIN_NT" -w "$ADMIN_PW" -f "$reset_ldif"
        expect_rc 53
        expect_contains '00002077'
    }
    check "g. password reset without TLS is refused (53, 00002077)" check_g

    check_h() {
        local add_ldif="$tmp/add.ldif"
        printf '%s\n' "dn: $SMOKE_OU" 'changetype: add' 'objectClass: organizationalUnit' >"$add_ldif"
        run_cmd ldapmodify -x -ZZ -H "$LDAP_URI" -D "$ADMIN_NT" -w "$ADMIN_PW" -f "$add_ldif"
        expect_rc 0
        run_cmd ldapsearch -x -LLL -o ldif_wrap=no -ZZ -H "$LDAP_URI" -D "$ADMIN_NT" -w "$ADMIN_PW" \
            -b "$SMOKE_OU" -s base '(objectClass=*)' objectClass
        expect_rc 0
        expect_line "dn: $SMOKE_OU"
        expect_line 'objectClass: organizationalUnit'
        run_cmd ldapdelete -x -ZZ -H "$LDAP_URI" -D "$ADMIN_NT" -w "$ADMIN_PW" "$SMOKE_OU"
        expect_rc 0
        run_cmd ldapsearch -x -LLL -o ldif_wrap=no -ZZ -H "$LDAP_URI" -D "$ADMIN_NT" -w "$ADMIN_PW" \
            -b "$SMOKE_OU" -s base '(objectClass=*)' objectClass
        expect_rc 32
    }
    check "h. add, read and delete $SMOKE_OU over StartTLS" check_h

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

    echo "smoke test passed"
)
