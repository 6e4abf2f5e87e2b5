#!/usr/bin/env bash
# CI step E: the real writeback agent as its own process (issue [E] "Done when").
#
# Sourced by .ci/run (which provides the step() timing helper), or run on its own from anywhere
# after the ci build exists:
#     bash .ci/steps/E.sh
#
# Starts `sspr-lab serve --no-agents` and `sspr-lab agent run --lab READY --domain contoso.lab
# --state DIR` beside it; then, with curl and ldapwhoami over LDAPS (the lab CA):
#   a. a Graph reset of carol (inheritance disabled) fails on-premises with SSPR_0029;
#   b. `sspr-lab agent permissions --object <carol's DN>` grants the writeback rights on her;
#   c. the same reset succeeds, and carol's new password binds with 49 `data 773` (must change);
#   d. SIGTERM stops the agent with status 0; its JSONL event log holds 33004 (permissions) and
#      31010 (admin reset succeeded) and none of the passwords used.
# Finally stops the server with SIGTERM and expects exit status 0.
#
# Environment: as .ci/lib/lab.sh (SSPR_LAB_BIN, SSPR_LAB_*_PASSWORD).
#
# shellcheck disable=SC2317 source-path=SCRIPTDIR
(
    set -euo pipefail
    # shellcheck source=../lib/lab.sh
    source "$(dirname "${BASH_SOURCE[0]}")/../lib/lab.sh"

    CAROL_UPN=carol@contoso.lab
    CAROL_DN='CN=Carol Cruz,OU=Staff,DC=contoso,DC=lab'
    HELPDESK_UPN=helpdesk@contoso.onmicrosoft.example
    FIRST_PW=Ci-Agent-Reset-Passw0rd1
    SECOND_PW=Ci-Agent-Reset-Passw0rd2

    lab_require curl timeout ldapwhoami python3
    lab_start sspr-agent --no-agents

    # The agent process runs in the background; lab.sh's stop_agent stops it by its PID.
    e_cleanup() {
        local rc=$?
        set +e
        stop_agent
        if [ "$rc" -ne 0 ] && [ -f "$tmp/agent.log" ]; then
            echo "---- agent log ($tmp/agent.log) ----" >&2
            cat "$tmp/agent.log" >&2
        fi
        (exit "$rc")
        cleanup
    }
    trap e_cleanup EXIT

    CA_CERT="" GRAPH="" CLIENT_ID="" TOKEN_ENDPOINT="" DC1=""
    read_ready CA_CERT=ca_cert GRAPH=graph CLIENT_ID=client_id TOKEN_ENDPOINT=token_endpoint \
        DC1=dc0.ldaps
    need_addr "contoso DC1 ldaps" "$DC1"
    use_ca_cert "$CA_CERT"
    AGENT_STATE="$tmp/agent"

    start_agent() {
        echo "   \$ $BIN agent run --lab $ready --domain $DOMAIN --state $AGENT_STATE &"
        "$BIN" agent run --lab "$ready" --domain "$DOMAIN" --state "$AGENT_STATE" \
            >"$tmp/agent.out" 2>"$tmp/agent.log" &
        AGENT_PID=$!
        local i
        for i in $(seq 300); do
            [ -s "$tmp/agent.out" ] && break
            kill -0 "$AGENT_PID" 2>/dev/null || break
            sleep 0.1
        done
        OUT=$(cat "$tmp/agent.out" "$tmp/agent.log")
        LAST_CMD="sspr-lab agent run"
        grep -q '"connected":true' "$tmp/agent.out" || fail "the agent did not register and poll"
        echo "   agent: $(cat "$tmp/agent.out")"
    }
    step "agent run" start_agent

    check_a() {
        ropc helpdesk "$HELPDESK_UPN" "$ADMIN_PW"
        graph_reset carol1 "$tmp/helpdesk.hdr" "$CAROL_UPN" "$FIRST_PW"
        [ "$OP_STATUS/$OP_DETAIL" = failed/SSPR_0029 ] ||
            fail "expected failed/SSPR_0029, got $OP_STATUS/$OP_DETAIL"
    }
    check "a. a reset of carol (inheritance disabled) fails on-premises: SSPR_0029" check_a

    check_b() {
        run_cmd "$BIN" agent permissions --lab "$ready" --domain "$DOMAIN" --object "$CAROL_DN"
        expect_rc 0
        printf '%s\n' "$OUT" | sed 's/^/   | /'
    }
    check "b. sspr-lab agent permissions --object carol" check_b

    check_c() {
        graph_reset carol2 "$tmp/helpdesk.hdr" "$CAROL_UPN" "$SECOND_PW"
        [ "$OP_STATUS" = succeeded ] || fail "expected succeeded, got $OP_STATUS/$OP_DETAIL"
        run_cmd ldapwhoami -x -H "ldaps://$DC1" -D "$CAROL_UPN" -w "$SECOND_PW"
        expect_rc 49
        expect_contains "data 773"
    }
    check "c. the same reset now succeeds: carol's new password must be changed (773)" check_c

    check_d() {
        echo "   kill -TERM $AGENT_PID"
        kill -TERM "$AGENT_PID"
        RC=0
        wait "$AGENT_PID" || RC=$?
        AGENT_PID=""
        OUT=$(cat "$tmp/agent.log")
        expect_rc 0
        local log="$AGENT_STATE/agent-$DOMAIN-0.events.jsonl"
        [ -s "$log" ] || fail "no event log at $log"
        run_cmd python3 - "$log" <<'PY'
import json, sys
for line in open(sys.argv[1], encoding="utf-8"):
    e = json.loads(line)
    print(e["id"], e["name"], e.get("user", ""), e.get("outcome", ""))
PY
        expect_contains "33004 ADPermissionsError carol access_denied"
        expect_contains "31010 ResetUserPasswordByAdminSuccess carol succeeded"
        local pw
        for pw in "$FIRST_PW" "$SECOND_PW" "$ADMIN_PW" "$USER_PW" "$SVC_PW"; do
            if grep -rqF -- "$pw" "$AGENT_STATE" "$tmp/agent.log" "$tmp/agent.out"; then
                fail "a password appears in the agent's files or log"
            fi
        done
        echo "   no password in $AGENT_STATE or the agent's log"
    }
    check "d. the agent stops on SIGTERM; its event log names the refusal and the success" check_d

    lab_stop
)
