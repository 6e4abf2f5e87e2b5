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
# The helpers (server start/stop, run_cmd, expect_*, check, ...) and the lab's
# well-known names come from .ci/lib/lab.sh. Everything runs in a subshell so
# that, when sourced, the traps, exits, variables and functions defined here
# and there do not leak into .ci/run.
#
# The check functions below run only through check()/step(), which shellcheck
# cannot follow, hence SC2317 ("unreachable") is off for the file.
# shellcheck disable=SC2317 source-path=SCRIPTDIR
(
    set -euo pipefail
    # shellcheck source=../lib/lab.sh
    source "$(dirname "${BASH_SOURCE[0]}")/../lib/lab.sh"

    NEW_PW=Smoke-Test-Passw0rd7
    SMOKE_OU=OU=Smoke,DC=contoso,DC=lab

    lab_require ldapwhoami ldapsearch ldapmodify ldapdelete iconv base64 timeout

    # ---- start the server and read its ready file -------------------------

    lab_start sspr-smoke
    CA_CERT="" LDAP_ADDR="" LDAPS_ADDR=""
    read_ready CA_CERT=ca_cert LDAP_ADDR=dc0.ldap LDAPS_ADDR=dc0.ldaps
    echo "ready file: ca_cert=$CA_CERT ldap=$LDAP_ADDR ldaps=$LDAPS_ADDR"
    for addr in "$LDAP_ADDR" "$LDAPS_ADDR"; do
        need_addr address "$addr"
    done
    use_ca_cert "$CA_CERT"

    LDAP_URI="ldap://$LDAP_ADDR"
    LDAPS_URI="ldaps://$LDAPS_ADDR"

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

    check_f() {
        reset_ldif "$ALICE_DN_LDIF" "$NEW_PW"
        run_cmd ldapmodify -x -H "$LDAPS_URI" -D "$ADMIN_NT" -w "$ADMIN_PW" -f "$LDIF"
        expect_rc 0
        run_cmd ldapwhoami -x -H "$LDAPS_URI" -D "$ALICE_UPN" -w "$NEW_PW"
        expect_rc 0
        expect_prefix 'u:CONTOSO\alice'
        run_cmd ldapwhoami -x -H "$LDAPS_URI" -D "$ALICE_UPN" -w "$USER_PW"
        expect_rc 49
    }
    check "f. admin resets alice's password over LDAPS" check_f

    check_g() {
        reset_ldif "$ALICE_DN_LDIF" "$NEW_PW"
        run_cmd ldapmodify -x -H "$LDAP_URI" -D "$ADMIN_NT" -w "$ADMIN_PW" -f "$LDIF"
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

    lab_stop

    echo "smoke test passed"
)
