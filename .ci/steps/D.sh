#!/usr/bin/env bash
# CI step D: fake-cloud end to end (issue [D] "Done when" and item 7), over the lab's HTTPS
# listener with curl and with the real Microsoft identity clients from PyPI.
#
# Sourced by .ci/run (which provides the step() timing helper), or run on its own from anywhere
# after the ci build exists:
#     bash .ci/steps/D.sh
#
# 1. A Python virtualenv, cached across runs in $SSPR_LAB_VENV (default
#    ${XDG_CACHE_HOME:-$HOME/.cache}/sspr-lab/venv), holding the pinned msal, azure-identity and
#    msgraph-sdk of .ci/python/requirements.txt; apt-get installs python3-venv when `python3`
#    cannot make one. Timed as its own step.
# 2. Starts `sspr-lab serve` and, with curl and the lab CA: ROPC tokens (helpdesk@, hybridadmin@)
#    and a client-credentials app token; Graph resetPassword of alice (a synced user) while a
#    scripted wire agent (.ci/python/agent.py, registered with hybridadmin's token) answers
#    `succeeded`, then the Location polled until `succeeded`; PATCH of alice's passwordProfile
#    refused with Graph's 400; the audit log lists both "Reset password (by admin)" rows.
# 3. The Python clients (.ci/python/clients.py) with REQUESTS_CA_BUNDLE / SSL_CERT_FILE set to the
#    lab CA: MSAL and azure-identity tokens, ROPC with the user-realm workaround, msgraph reading a
#    user, resetting a synced user's password and reading the operation.
# Finally stops the server with SIGTERM and expects exit status 0.
#
# Environment:
#   SSPR_LAB_BIN              server binary (default: ${CARGO_TARGET_DIR:-target}/ci/sspr-lab)
#   SSPR_LAB_ADMIN_PASSWORD   the cloud admins' password (default Lab-Admin-Passw0rd1)
#   SSPR_LAB_USER_PASSWORD    the teaching users' initial password (default Lab-User-Passw0rd1)
#   SSPR_LAB_VENV             the virtualenv to use or create (see above)
#
# The helpers (server start/stop, run_cmd, expect_*, check, lab_apt_install, ...) and the lab's
# well-known names come from .ci/lib/lab.sh. Everything runs in a subshell so that, when sourced,
# the traps, exits, variables and functions defined here and there do not leak into .ci/run.
#
# The check functions below run only through check()/step(), which shellcheck cannot follow,
# hence SC2317 ("unreachable") is off for the file.
# shellcheck disable=SC2317 source-path=SCRIPTDIR
(
    set -euo pipefail
    # shellcheck source=../lib/lab.sh
    source "$(dirname "${BASH_SOURCE[0]}")/../lib/lab.sh"

    PYDIR=.ci/python
    REQUIREMENTS=$PYDIR/requirements.txt
    VENV=${SSPR_LAB_VENV:-${XDG_CACHE_HOME:-$HOME/.cache}/sspr-lab/venv}
    VPY=$VENV/bin/python
    TENANT_DOMAIN=contoso.onmicrosoft.example
    HELPDESK_UPN=helpdesk@$TENANT_DOMAIN
    HYBRID_UPN=hybridadmin@$TENANT_DOMAIN
    CLIENT_SECRET=Lab-Client-Secret1
    RESET_PW=Ci-Curl-Reset-Passw0rd3
    PATCH_PW=Ci-Patch-Passw0rd5
    SYNCED_PATCH_ERROR='Unable to update the specified properties for on-premises mastered Directory Sync objects'

    lab_require curl timeout
    # No __pycache__ left in the work tree by agent.py / clients.py.
    export PYTHONDONTWRITEBYTECODE=1

    # ---- 1. the Python virtualenv ------------------------------------------------------------

    # A python3 that can make a virtualenv (Debian ships venv's ensurepip in python3-venv).
    can_venv() {
        command -v "$1" >/dev/null 2>&1 && "$1" -c 'import venv, ensurepip' >/dev/null 2>&1
    }

    ensure_venv() {
        local stamp="$VENV/.sspr-lab-requirements"
        if [ -x "$VPY" ] && "$VPY" -c 'import msal, azure.identity, msgraph' >/dev/null 2>&1 &&
            cmp -s "$REQUIREMENTS" "$stamp"; then
            echo "   reusing $VENV"
        else
            local py=python3
            if ! can_venv "$py"; then
                echo "   $py cannot make a virtualenv: installing python3-venv"
                lab_apt_install python3 python3-venv
                can_venv "$py" || py=/usr/bin/python3
                can_venv "$py" || { echo "still no usable python3 -m venv" >&2; return 1; }
            fi
            if [ ! -x "$VPY" ] || ! "$VPY" -c 'import sys' >/dev/null 2>&1; then
                rm -rf "$VENV"
                mkdir -p "$(dirname "$VENV")"
                echo "   \$ $py -m venv $VENV"
                "$py" -m venv "$VENV"
            fi
            rm -f "$stamp"
            echo "   \$ $VPY -m pip install -r $REQUIREMENTS"
            timeout 900 "$VPY" -m pip install --disable-pip-version-check -q -r "$REQUIREMENTS"
            cp "$REQUIREMENTS" "$stamp"
        fi
        "$VPY" --version
        "$VPY" - <<'PY'
from importlib.metadata import version
for p in ("msal", "azure-identity", "msgraph-sdk", "azure-core", "msgraph-core",
          "microsoft-kiota-http", "httpx", "requests", "cryptography"):
    print(f"   {p}=={version(p)}")
PY
    }
    step "python venv" ensure_venv

    # ---- start the server and read its ready file -----------------------------------------

    # The scripted agent (.ci/python/agent.py) stands in for the real one, so no in-process agents.
    lab_start sspr-cloud --no-agents

    # The scripted agent runs in the background; lab.sh's stop_agent stops it by its PID.
    # Runs stop_agent, then lab.sh's cleanup with the exit status it would have seen.
    # (errexit off: `(exit 1)` would end the trap before cleanup ran; cleanup exits itself.)
    d_cleanup() {
        local rc=$?
        set +e
        stop_agent
        (exit "$rc")
        cleanup
    }
    trap d_cleanup EXIT

    CA_CERT="" HTTPS="" GRAPH="" TENANT="" CLIENT_ID="" TOKEN_ENDPOINT="" RELAY=""
    read_ready CA_CERT=ca_cert HTTPS=https GRAPH=graph TENANT=tenant CLIENT_ID=client_id \
        TOKEN_ENDPOINT=token_endpoint RELAY=relay
    echo "ready file: https=$HTTPS graph=$GRAPH tenant=$TENANT client_id=$CLIENT_ID"
    echo "            token_endpoint=$TOKEN_ENDPOINT relay=$RELAY ca_cert=$CA_CERT"
    [ -r "$CA_CERT" ] || { echo "CA certificate not readable: '$CA_CERT'" >&2; exit 1; }
    for url in "$HTTPS" "$GRAPH" "$TOKEN_ENDPOINT" "$RELAY"; do
        [[ $url =~ ^https://[^/]+:[0-9]+(/|$) ]] || { echo "not an https URL in the ready file: '$url'" >&2; exit 1; }
    done
    [ "$TENANT" = "$TENANT_DOMAIN" ] || { echo "tenant is '$TENANT', expected $TENANT_DOMAIN" >&2; exit 1; }

    # http, expect_status, header, json, token, ropc and reset_url come from .ci/lib/lab.sh.

    # ---- 2. curl -----------------------------------------------------------------------------

    check_a() {
        ropc helpdesk "$HELPDESK_UPN" "$ADMIN_PW"
        echo "   id_token present: $(json '"id_token" in b')"
        ropc hybrid "$HYBRID_UPN" "$ADMIN_PW"
        token app -d grant_type=client_credentials -d client_id="$CLIENT_ID" \
            --data-urlencode client_secret="$CLIENT_SECRET" --data-urlencode "scope=$GRAPH_SCOPE"
        http token-bad -X POST "$TOKEN_ENDPOINT" -d grant_type=password -d client_id="$CLIENT_ID" \
            --data-urlencode username="$HELPDESK_UPN" --data-urlencode password=wrong \
            --data-urlencode "scope=$GRAPH_SCOPE"
        expect_status 400
        [ "$(json 'b["error"]')" = invalid_grant ] || fail "a wrong password should be invalid_grant"
    }
    check "a. curl: ROPC tokens (helpdesk@, hybridadmin@), an app token, a wrong password refused" check_a

    check_b() {
        local status_file="$tmp/agent.status"
        echo "   \$ $VPY $PYDIR/agent.py $ready --token-file $tmp/hybrid.tok --status-file $status_file ... &"
        "$VPY" "$PYDIR/agent.py" "$ready" --token-file "$tmp/hybrid.tok" --status-file "$status_file" \
            --expect-password "$RESET_PW" --jobs 1 --timeout 90 >"$tmp/agent.log" 2>&1 &
        AGENT_PID=$!
        local i
        for i in $(seq 300); do
            [ -s "$status_file" ] && break
            kill -0 "$AGENT_PID" 2>/dev/null || break
            sleep 0.1
        done
        OUT=$(cat "$tmp/agent.log")
        LAST_CMD="agent.py (log: $tmp/agent.log)"
        grep -q '^registered ' "$status_file" 2>/dev/null || fail "the scripted agent did not register"
        echo "   agent: $(cat "$status_file")"

        http reset -X POST -H @"$tmp/helpdesk.hdr" -H 'Content-Type: application/json' \
            -d "{\"newPassword\": \"$RESET_PW\"}" "$(reset_url "$ALICE_UPN")"
        expect_status 202
        local location
        location=$(header location)
        echo "   Location: $location; Retry-After: $(header retry-after)"
        [[ $location == "$GRAPH"/users/*/authentication/operations/* ]] ||
            fail "Location '$location' is not an absolute $GRAPH/users/{id}/authentication/operations/{id}"

        local op="" last="" deadline=$((SECONDS + 60))
        echo "   polling the Location until the operation ends"
        while :; do
            run_quiet curl -sS --cacert "$CA_CERT" -o "$tmp/op.body" -D "$tmp/op.head" -w '%{http_code}' \
                -H @"$tmp/helpdesk.hdr" "$location"
            BODY="$tmp/op.body" HEAD="$tmp/op.head" STATUS=${OUT%%$'\n'*}
            expect_status 200 >/dev/null
            op=$(json 'b["status"]')
            if [ "$op" != "$last" ]; then
                echo "   operation status: $op (statusDetail $(json 'b.get("statusDetail")'))"
                last=$op
            fi
            case "$op" in
                succeeded | failed) break ;;
            esac
            [ "$SECONDS" -lt "$deadline" ] || fail "the operation is still '$op' after 60 s"
            sleep 0.5
        done
        [ "$op" = succeeded ] || fail "the operation ended '$op', expected succeeded"

        local agent_rc=0
        wait "$AGENT_PID" || agent_rc=$?
        AGENT_PID=""
        sed 's/^/   | /' "$tmp/agent.log"
        OUT=$(cat "$tmp/agent.log")
        RC=$agent_rc
        expect_rc 0
        expect_contains 'result posted for job'

        # An admin's reset: the new password is right, and must be changed at next sign-in.
        http alice-token -X POST "$TOKEN_ENDPOINT" -d grant_type=password -d client_id="$CLIENT_ID" \
            --data-urlencode username="$ALICE_UPN" --data-urlencode password="$RESET_PW" \
            --data-urlencode "scope=$GRAPH_SCOPE"
        expect_status 400
        [ "$(json 'b["error_codes"][0]')" = 50055 ] || fail "expected AADSTS50055 (must change)"
        echo "   $ALICE_UPN's new password is right and must be changed at next sign-in (AADSTS50055)"
    }
    check "b. curl: Graph resetPassword of $ALICE_UPN, a scripted agent answers, the operation succeeds" check_b

    check_c() {
        http patch -X PATCH -H @"$tmp/helpdesk.hdr" -H 'Content-Type: application/json' \
            -d "{\"passwordProfile\": {\"password\": \"$PATCH_PW\", \"forceChangePasswordNextSignIn\": false}}" \
            "$GRAPH/users/$ALICE_UPN"
        expect_status 400
        echo "   Content-Type: $(header content-type)"
        [[ $(header content-type) == application/json* ]] || fail "the error is not application/json"
        local code message
        code=$(json 'b["error"]["code"]') || fail "the body is not an ODataError"
        message=$(json 'b["error"]["message"]')
        echo "   error.code=$code error.message=$message"
        case "$message" in
            *"$SYNCED_PATCH_ERROR"*) ;;
            *) fail "the message does not say: $SYNCED_PATCH_ERROR" ;;
        esac
    }
    check "c. curl: PATCH of $ALICE_UPN's passwordProfile gets Graph's 400" check_c

    check_d() {
        http audits -G -H @"$tmp/app.hdr" \
            --data-urlencode "\$filter=activityDisplayName eq 'Reset password (by admin)'" \
            "$GRAPH/auditLogs/directoryAudits"
        expect_status 200
        run_cmd python3 - "$BODY" "$ALICE_UPN" "$RESET_PW" "$PATCH_PW" <<'PY'
import json, sys
path, upn, *passwords = sys.argv[1:]
text = open(path, encoding="utf-8").read()
rows = json.loads(text)["value"]
print(f"{len(rows)} 'Reset password (by admin)' row(s)")
if any(p in text for p in passwords):
    sys.exit("a password appears in the audit log")
mine = [r for r in rows if upn in json.dumps(r).lower()]
for r in mine:
    print("row:", r.get("activityDateTime"), r.get("activityDisplayName"), r.get("result"),
          repr(r.get("resultReason")), r.get("category"), r.get("loggedByService"))
if any(r.get("activityDisplayName") != "Reset password (by admin)" for r in rows):
    sys.exit("$filter was not applied")
if not any(r.get("result") == "success" for r in mine):
    sys.exit(f"no success row for {upn} (the Graph resetPassword)")
if not any(r.get("result") == "failure" and "OnPremisesMasteredObject" in (r.get("resultReason") or "")
           for r in mine):
    sys.exit(f"no failure row with OnPremisesMasteredObject for {upn} (the PATCH)")
print("both rows found")
PY
        printf '%s\n' "$OUT" | sed 's/^/   | /'
        expect_rc 0
        expect_line 'both rows found'
    }
    check "d. curl: the audit log (app token) lists the reset and the refused PATCH" check_d

    # ---- 3. the Python clients --------------------------------------------------------------

    check_e() {
        local saved=$CMD_TIMEOUT
        CMD_TIMEOUT=300
        run_cmd env REQUESTS_CA_BUNDLE="$CA_CERT" SSL_CERT_FILE="$CA_CERT" \
            SSPR_LAB_ADMIN_PASSWORD="$ADMIN_PW" PYTHONWARNINGS=ignore::DeprecationWarning \
            "$VPY" "$PYDIR/clients.py" "$ready"
        CMD_TIMEOUT=$saved
        # On failure, fail() shows the whole output; on success show it here.
        [ "$RC" -ne 0 ] || printf '%s\n' "$OUT" | sed 's/^/   | /'
        expect_rc 0
        expect_contains 'passed, 0 failed'
    }
    check "e. Python: msal, azure-identity and msgraph-sdk against the lab" check_e

    # ---- stop the server ---------------------------------------------------

    lab_stop

    echo "fake-cloud clients test passed"
)
