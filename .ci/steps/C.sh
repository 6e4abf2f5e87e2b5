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
# The helpers (server start/stop, run_cmd, expect_*, check, the LDIF builders,
# hinted_reset, now_us, ...) and the lab's well-known names come from
# .ci/lib/lab.sh. Everything runs in a subshell so that, when sourced, the
# traps, exits, variables and functions defined here and there do not leak
# into .ci/run.
#
# Most functions below run only through check()/step(), which shellcheck
# cannot follow, hence SC2317 ("unreachable") is off for the file.
# shellcheck disable=SC2317 source-path=SCRIPTDIR
(
    set -euo pipefail
    # shellcheck source=../lib/lab.sh
    source "$(dirname "${BASH_SOURCE[0]}")/../lib/lab.sh"

    # New passwords: 3 of 4 character classes, no token of alice's names.
    ALICE_PW1=Smoke-C-Passw0rd1
    ALICE_PW2=Smoke-C-Passw0rd2
    ALICE_PW3=Smoke-C-Passw0rd3
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

    lab_require ldapwhoami ldapsearch ldapmodify iconv base64 timeout

    # ---- start the server and read its ready file -------------------------

    lab_start sspr-smoke-c --time-scale "$TIME_SCALE"
    CA_CERT="" DC1_ADDR="" DC2_ADDR=""
    read_ready CA_CERT=ca_cert DC1_ADDR=dc0.ldaps DC2_ADDR=dc1.ldaps
    echo "ready file: ca_cert=$CA_CERT DC1 ldaps=$DC1_ADDR DC2 ldaps=$DC2_ADDR"
    for addr in "$DC1_ADDR" "$DC2_ADDR"; do
        need_addr "ldaps address" "$addr"
    done
    use_ca_cert "$CA_CERT"

    DC1_URI="ldaps://$DC1_ADDR"
    DC2_URI="ldaps://$DC2_ADDR"
    # hinted_reset and the other wrappers of lab.sh talk to DC1.
    LDAPS_URI=$DC1_URI

    # The CLI's common arguments: the lab and the domain.
    LAB_ARGS=(--lab "$ready" --domain "$DOMAIN")

    # ---- LDAP and CLI helpers ----------------------------------------------

    # set_description URI VALUE: Administrator replaces alice's description.
    set_description() {
        as_admin_replace "$ALICE_DN" description "$2" "$1"
    }

    # read_description URI: Administrator reads alice's description (quietly).
    read_description() {
        admin_read_quiet "$1" "$ALICE_DN" description
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

    # gpo_set KEY=VALUE: set one group policy setting with the CLI, expecting
    # success and the new value in its output; leaves the policy's new
    # version in GPO_VERSION.
    GPO_VERSION=""
    gpo_set() {
        run_cmd "$BIN" gpo set "${LAB_ARGS[@]}" "$1"
        expect_rc 0
        expect_contains "\"${1%%=*}\": ${1#*=}"
        GPO_VERSION=$(gpo_field version)
        [[ $GPO_VERSION =~ ^[0-9]+$ ]] || fail "no version in the output"
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
        gpo_set MinimumPasswordAge=0
        local sync_version=$GPO_VERSION
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
        gpo_set MinimumPasswordAge=1
        local new_version=$GPO_VERSION
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
        gpo_set MinimumPasswordAge=0
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

    lab_stop

    echo "step C passed"
)
