# shellcheck shell=bash
# Shared helpers of the CI step scripts (.ci/steps/*.sh). Not a step itself:
# .ci/run only sources .ci/steps/*.sh, and each step sources this file from
# inside its own subshell, first thing after `set -euo pipefail`:
#     # shellcheck source=../lib/lab.sh
#     source "$(dirname "${BASH_SOURCE[0]}")/../lib/lab.sh"
#
# Sourcing it changes to the repository root and defines the settings and
# functions below; it starts nothing. A step then typically runs
#     lab_require TOOL...         the server binary and the tools exist
#     lab_start TMP_NAME [ARG...] temp dir, exit trap, `serve ARG...`, ready
#     read_ready VAR=KEY...       values from the ready file
#     check NAME FUNC...          its own checks, with run_cmd and expect_*
#     lab_stop                    SIGTERM, expecting exit status 0
#
# Environment:
#   SSPR_LAB_BIN              server binary (default: ${CARGO_TARGET_DIR:-target}/ci/sspr-lab)
#   SSPR_LAB_ADMIN_PASSWORD   Administrator's password (default Lab-Admin-Passw0rd1)
#   SSPR_LAB_USER_PASSWORD    the teaching users' initial password (default Lab-User-Passw0rd1)
#   SSPR_LAB_SERVICE_PASSWORD the sync account's password (default Lab-Service-Passw0rd1)
#
# Most functions below run only through step()/trap or from the steps, which
# ShellCheck cannot follow, hence SC2317 ("unreachable") is off for the file;
# likewise SC2034 ("unused") for the settings that only the steps read.
# shellcheck disable=SC2317,SC2034

# Work from the repository root (this file is .ci/lib/lab.sh).
cd "$(dirname "${BASH_SOURCE[0]}")/../.." || exit

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

# ---- settings and the lab's well-known names -------------------------------

BIN=${SSPR_LAB_BIN:-${CARGO_TARGET_DIR:-target}/ci/sspr-lab}
ADMIN_PW=${SSPR_LAB_ADMIN_PASSWORD:-Lab-Admin-Passw0rd1}
USER_PW=${SSPR_LAB_USER_PASSWORD:-Lab-User-Passw0rd1}
SVC_PW=${SSPR_LAB_SERVICE_PASSWORD:-Lab-Service-Passw0rd1}
DOMAIN=contoso.lab
BASE_DN=DC=contoso,DC=lab
ADMIN_NT='CONTOSO\Administrator'
ADMIN_UPN=Administrator@contoso.lab
SVC_NT='CONTOSO\provAgentgMSA$'
ALICE_UPN=alice@contoso.lab
ALICE_DN='CN=Alice Archer,OU=Staff,DC=contoso,DC=lab'
# LDAP_SERVER_POLICY_HINTS, critical, value SEQUENCE { INTEGER 1 } =
# 30 03 02 01 01. OpenLDAP's tools take an arbitrary control as
# -e [!]<oid>[=<value>], where <value> is plain base64 (lutil_b64_pton);
# an LDIF-style "=::<b64>" is refused with "Unable to parse value of
# general control".
HINTS_CTRL='!1.2.840.113556.1.4.2239=MAMCAQE='
# Per-command limit so a hung server fails the step instead of the job.
CMD_TIMEOUT=60

# lab_require TOOL...: the server binary and every TOOL exist, else exit 1.
lab_require() {
    if [ ! -x "$BIN" ]; then
        echo "server binary $BIN not found; build it with: cargo build --profile ci" >&2
        exit 1
    fi
    local tool
    for tool in "$@"; do
        command -v "$tool" >/dev/null 2>&1 || { echo "missing tool: $tool" >&2; exit 1; }
    done
}

# ---- the server --------------------------------------------------------------

tmp=""     # the step's temp dir (lab_start)
ready=""   # the server's ready file, in $tmp
PID=""     # the server's PID while it runs

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

# lab_start TMP_NAME [SERVE_ARG...]: make the temp dir ${TMPDIR:-/tmp}/TMP_NAME.XXXXXX,
# set the exit and signal traps, start `$BIN serve SERVE_ARG...` in the
# background and wait (as the step "server ready") for its ready file.
lab_start() {
    local name=$1
    shift
    tmp=$(mktemp -d "${TMPDIR:-/tmp}/$name.XXXXXX")
    PID=""
    trap cleanup EXIT
    trap 'exit 129' HUP
    trap 'exit 130' INT
    trap 'exit 143' TERM

    ready="$tmp/lab.json"
    echo "starting: $BIN serve ${*:+$* }--ready-file $ready"
    "$BIN" serve "$@" --ready-file "$ready" >"$tmp/serve.log" 2>&1 &
    PID=$!
    step "server ready" wait_ready
}

# ready_values KEY...: print the value of each KEY in the ready file, one a
# line: ca_cert, control, or dcN.ldap / dcN.ldaps for the (N+1)th DC of
# $DOMAIN (an empty line if there is no such DC).
ready_values() {
    if command -v python3 >/dev/null 2>&1; then
        python3 - "$ready" "$DOMAIN" "$@" <<'PY'
import json, sys
with open(sys.argv[1], encoding="utf-8") as f:
    lab = json.load(f)
dom = next(d for d in lab["domains"] if d["name"] == sys.argv[2])
for key in sys.argv[3:]:
    if key.startswith("dc"):
        n, field = key[2:].split(".")
        dcs = dom["dcs"]
        print(dcs[int(n)][field] if int(n) < len(dcs) else "")
    else:
        print(lab[key])
PY
    else
        # Crude fallback: one JSON token per line, then pick the values.
        # A "name" with a dot is a domain's (DC names have none).
        tr -d '\n' <"$ready" | sed 's/[{}]/\n/g; s/,/\n/g' | awk -v dom="$DOMAIN" -v keys="$*" '
            function val(s) { sub(/^[^:]*:[ \t]*"/, "", s); sub(/".*$/, "", s); return s }
            /"ca_cert"[ \t]*:/ { v["ca_cert"] = val($0) }
            /"control"[ \t]*:/ { v["control"] = val($0) }
            /"name"[ \t]*:/ && val($0) == dom { in_dom = 1 }
            /"name"[ \t]*:/ && val($0) != dom && val($0) ~ /\./ { in_dom = 0 }
            in_dom && /"ldap"[ \t]*:/ { v["dc" (nl++) ".ldap"] = val($0) }
            in_dom && /"ldaps"[ \t]*:/ { v["dc" (nls++) ".ldaps"] = val($0) }
            END { n = split(keys, k, " "); for (i = 1; i <= n; i++) print v[k[i]] }'
    fi
}

# read_ready VAR=KEY...: set each VAR to KEY's value in the ready file (see
# ready_values); exits if the ready file cannot be read.
read_ready() {
    local pair fields value
    local -a vars=() keys=()
    for pair in "$@"; do
        vars+=("${pair%%=*}")
        keys+=("${pair#*=}")
    done
    fields=$(ready_values "${keys[@]}")
    for pair in "${vars[@]}"; do
        value=""
        read -r value || true
        printf -v "$pair" '%s' "$value"
    done <<<"$fields"
}

# need_addr WHAT ADDR: ADDR is host:port, else exit 1 ("bad WHAT in ready file").
need_addr() {
    [[ $2 =~ ^[^:/]+:[0-9]+$ ]] || { echo "bad $1 in ready file: '$2'" >&2; exit 1; }
}

# use_ca_cert FILE: the OpenLDAP clients trust FILE, and demand a valid
# certificate; exit 1 if FILE is not readable.
use_ca_cert() {
    [ -r "$1" ] || { echo "CA certificate not readable: '$1'" >&2; exit 1; }
    # libldap reads these like ldap.conf's TLS_CACERT / TLS_REQCERT.
    export LDAPTLS_CACERT="$1"
    export LDAPTLS_REQCERT=demand
}

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

# lab_stop: stop the server with SIGTERM (as the step "stop server") and
# expect exit status 0.
lab_stop() {
    step "stop server" stop_server
}

# ---- running commands and checking their output ----------------------------

CHECK=""   # name of the running check, for messages
OUT=""     # stdout, then stderr, of the last run_cmd
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

# ---- LDIF builders and LDAP wrappers ---------------------------------------

# pwd_b64 PASSWORD: unicodePwd's value, the quoted password in UTF-16LE, base64.
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

# reset_ldif DN PASSWORD: a reset (replace unicodePwd). DN may also be a
# whole "dn:" or "dn::" line, as ldapsearch printed it; it is kept as it is.
reset_ldif() {
    local dn_line="dn: $1"
    case "$1" in
        dn:*) dn_line=$1 ;;
    esac
    write_ldif "$dn_line" 'changetype: modify' 'replace: unicodePwd' \
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

# The wrappers below talk to the DC at LDAPS_URI, which each step sets
# (as_admin_replace and admin_read can be given another).
LDAPS_URI=""

# hinted_reset DN PASSWORD: the sync account resets DN with the policy
# hints control, as the writeback agent does.
hinted_reset() {
    reset_ldif "$1" "$2"
    run_cmd ldapmodify -x -H "$LDAPS_URI" -D "$SVC_NT" -w "$SVC_PW" -e "$HINTS_CTRL" -f "$LDIF"
}

# as_admin_replace DN ATTR VALUE [URI]: Administrator replaces one value.
as_admin_replace() {
    replace_ldif "$1" "$2" "$3"
    run_cmd ldapmodify -x -H "${4:-$LDAPS_URI}" -D "$ADMIN_NT" -w "$ADMIN_PW" -f "$LDIF"
}

# admin_read URI DN ATTR...: Administrator reads ATTRs of the entry DN.
# admin_read_quiet: the same, without printing the command (for polling).
admin_read() { admin_read_with run_cmd "$@"; }
admin_read_quiet() { admin_read_with run_quiet "$@"; }
admin_read_with() {
    local run=$1 uri=$2 dn=$3
    shift 3
    "$run" ldapsearch -x -LLL -o ldif_wrap=no -H "$uri" -D "$ADMIN_NT" -w "$ADMIN_PW" \
        -b "$dn" -s base '(objectClass=*)' "$@"
}

# ---- the real-time clock ---------------------------------------------------

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

# ---- OS packages -------------------------------------------------------------

# lab_apt_install PKG...: apt-get update, then install PKG... without recommends; as root
# through .ci/run's as_root when it is defined, else directly when this shell is root.
lab_apt_install() {
    local -a run=()
    if declare -F as_root >/dev/null; then
        run=(as_root)
    elif [ "$(id -u)" -ne 0 ]; then
        echo "need root to run: apt-get install $*" >&2
        return 1
    fi
    "${run[@]}" env DEBIAN_FRONTEND=noninteractive apt-get update
    "${run[@]}" env DEBIAN_FRONTEND=noninteractive \
        apt-get install -y --no-install-recommends "$@"
}

# ---- HTTP: curl over HTTPS with the lab CA -----------------------------------
# These read CA_CERT, TOKEN_ENDPOINT, CLIENT_ID, GRAPH, GRAPH_SCOPE and PASSWORD_METHOD, which a
# step sets from its ready file (read_ready) before using them.
GRAPH_SCOPE=https://graph.microsoft.com/.default
PASSWORD_METHOD=28c10230-6103-485e-b985-444c60001490

# http NAME CURL_ARG...: curl over HTTPS trusting the lab CA; the body goes to BODY
# ($tmp/NAME.body), the headers to HEAD ($tmp/NAME.head), the status to STATUS.
BODY="" HEAD="" STATUS=""
http() {
    local name=$1
    shift
    BODY="$tmp/$name.body"
    HEAD="$tmp/$name.head"
    run_cmd curl -sS --cacert "$CA_CERT" -o "$BODY" -D "$HEAD" -w '%{http_code}' "$@"
    STATUS=${OUT%%$'\n'*}
}

# expect_status CODE: the last http call succeeded with status CODE (else fail, showing
# the body).
expect_status() {
    echo "   expect HTTP $1"
    expect_rc 0
    if [ "$STATUS" != "$1" ]; then
        OUT="$OUT"$'\n'"---- response headers:"$'\n'"$(cat "$HEAD")"$'\n'"---- body:"$'\n'"$(cat "$BODY")"
        fail "expected HTTP $1, got $STATUS"
    fi
}

# header NAME: the value of response header NAME of the last http call (last one wins).
header() {
    tr -d '\r' <"$HEAD" | awk -v h="${1,,}" 'BEGIN { FS = ": " } tolower($1) == h { v = substr($0, length($1) + 3) } END { print v }'
}

# json PYTHON_EXPR: evaluate PYTHON_EXPR with `b` bound to the last body's JSON; print it.
json() {
    python3 - "$BODY" "$1" <<'PY'
import json, sys
with open(sys.argv[1], encoding="utf-8") as f:
    b = json.load(f)
v = eval(sys.argv[2], {"b": b})
print(v if isinstance(v, str) else json.dumps(v))
PY
}

# token NAME CURL_FORM_ARG...: POST the token endpoint; expect 200 and an access token;
# write `Authorization: Bearer …` to $tmp/NAME.hdr (so no token shows in a command line).
token() {
    local name=$1
    shift
    http "token-$name" -X POST "$TOKEN_ENDPOINT" "$@"
    expect_status 200
    local tok type
    tok=$(json 'b.get("access_token", "")') || fail "the token answer is not JSON"
    type=$(json 'b.get("token_type", "")')
    echo "   token_type=$type expires_in=$(json 'b.get("expires_in")') scope=$(json 'b.get("scope")')"
    [ -n "$tok" ] || fail "no access_token in the answer"
    [ "${type,,}" = bearer ] || fail "token_type is '$type', expected Bearer"
    printf 'Authorization: Bearer %s\n' "$tok" >"$tmp/$name.hdr"
    printf '%s\n' "$tok" >"$tmp/$name.tok"
}

ropc() { # NAME UPN PASSWORD
    token "$1" -d grant_type=password -d client_id="$CLIENT_ID" \
        --data-urlencode username="$2" --data-urlencode password="$3" \
        --data-urlencode "scope=$GRAPH_SCOPE openid profile offline_access"
}

reset_url() { # USER
    echo "$GRAPH/users/$1/authentication/methods/$PASSWORD_METHOD/resetPassword"
}

# graph_reset NAME HDR_FILE USER PASSWORD: Graph resetPassword of USER by the token in HDR_FILE;
# expects 202, then polls the Location until the operation ends; leaves its status in OP_STATUS
# and its statusDetail in OP_DETAIL.
OP_STATUS="" OP_DETAIL=""
graph_reset() {
    local name=$1 hdr=$2 user=$3 pw=$4
    http "$name" -X POST -H @"$hdr" -H 'Content-Type: application/json' \
        -d "{\"newPassword\": \"$pw\"}" "$(reset_url "$user")"
    expect_status 202
    local location deadline=$((SECONDS + 90))
    location=$(header location)
    echo "   polling $location"
    while :; do
        run_quiet curl -sS --cacert "$CA_CERT" -o "$tmp/$name.op" -D "$tmp/$name.ophead" \
            -w '%{http_code}' -H @"$hdr" "$location"
        BODY="$tmp/$name.op" HEAD="$tmp/$name.ophead" STATUS=${OUT%%$'\n'*}
        expect_status 200 >/dev/null
        OP_STATUS=$(json 'b["status"]')
        OP_DETAIL=$(json 'b.get("statusDetail") or ""')
        case "$OP_STATUS" in
            succeeded | failed) break ;;
        esac
        [ "$SECONDS" -lt "$deadline" ] || fail "the operation is still '$OP_STATUS' after 90 s"
        sleep 0.2
    done
    echo "   operation: $OP_STATUS ${OP_DETAIL:+($OP_DETAIL)}"
}

# ---- a background agent ------------------------------------------------------

# A step that starts an agent in the background sets AGENT_PID; stop_agent stops it by that PID
# (SIGTERM, then waits), for the step's exit trap to call before cleanup.
AGENT_PID=""
stop_agent() {
    if [ -n "$AGENT_PID" ] && kill -0 "$AGENT_PID" 2>/dev/null; then
        kill -TERM "$AGENT_PID" 2>/dev/null || true
        wait "$AGENT_PID" 2>/dev/null || true
    fi
    AGENT_PID=""
}
