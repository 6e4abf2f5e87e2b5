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
# The helpers (server start/stop, run_cmd, expect_*, check, the LDIF builders,
# hinted_reset, ...) and the lab's well-known names come from .ci/lib/lab.sh.
# Everything runs in a subshell so that, when sourced, the traps, exits,
# variables and functions defined here and there do not leak into .ci/run.
#
# The check functions below run only through check()/step(), which shellcheck
# cannot follow, hence SC2317 ("unreachable") is off for the file.
# shellcheck disable=SC2317 source-path=SCRIPTDIR
(
    set -euo pipefail
    # shellcheck source=../lib/lab.sh
    source "$(dirname "${BASH_SOURCE[0]}")/../lib/lab.sh"

    BOB_UPN=bob@contoso.lab
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
    # 1 day as a negative FILETIME interval, as AD stores minPwdAge.
    MIN_AGE_1_DAY=-864000000000

    lab_require ldapwhoami ldapsearch ldapmodify iconv base64 timeout
    if ! command -v python3 >/dev/null 2>&1 && ! command -v curl >/dev/null 2>&1; then
        echo "missing tool: python3 (or curl) for the control API" >&2
        exit 1
    fi

    # ---- start the server and read its ready file -------------------------

    lab_start sspr-smoke-b
    CA_CERT="" CONTROL_URL="" LDAPS_ADDR=""
    read_ready CA_CERT=ca_cert CONTROL_URL=control LDAPS_ADDR=dc0.ldaps
    echo "ready file: ca_cert=$CA_CERT control=$CONTROL_URL ldaps=$LDAPS_ADDR"
    need_addr "ldaps address" "$LDAPS_ADDR"
    [[ $CONTROL_URL =~ ^http://[^/]+/ ]] || { echo "bad control URL in ready file: '$CONTROL_URL'" >&2; exit 1; }
    use_ca_cert "$CA_CERT"

    LDAPS_URI="ldaps://$LDAPS_ADDR"

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
        admin_read "$LDAPS_URI" "$ALICE_DN" badPwdCount
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

    lab_stop

    echo "step B passed"
)
