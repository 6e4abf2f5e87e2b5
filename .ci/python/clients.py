#!/usr/bin/env python3
"""Real Microsoft identity clients against `sspr-lab serve` (issue [D] item 7): MSAL Python,
azure-identity and the Microsoft Graph Python SDK (msgraph-sdk), used the way our users' own code
uses them, configured only as shared/reference/graph-clients.md documents.

    python clients.py READY_FILE

READY_FILE is the server's ready file (`https`, `graph`, `tenant`, `client_id`, `relay`,
`ca_cert`, …). The lab CA is trusted through REQUESTS_CA_BUNDLE / SSL_CERT_FILE (set here from
`ca_cert` when the caller did not). Steps, each printed with its result:

 1. msal.ConfidentialClientApplication: client credentials → token; a second call is served from
    MSAL's cache (the server echoes the requested scope).
 2. azure.identity.ClientSecretCredential (authority = the lab's https base,
    disable_instance_discovery=True) → token.
 3. msal.PublicClientApplication ROPC as helpdesk@ (and hybridadmin@, who registers the scripted
    agent), with the documented user-realm workaround: a requests.Session http_client that sends
    MSAL's port-less `https://127.0.0.1/common/userrealm/…` to the lab's port.
 4. msgraph GraphServiceClient with the app credential reads a user by UPN, then by id.
 5. azure.identity.UsernamePasswordCredential (ROPC as helpdesk@, the same workaround as an
    azure-core raw_request_hook) drives msgraph: resetPassword of a synced user, with a scripted
    wire agent (agent.py) answering `succeeded`; the Location read through
    HeadersInspectionHandlerOption; the long-running operation read with msgraph until
    `succeeded`; then the user signs in (MSAL ROPC) with the new password.
 6. msgraph with the app credential: resetPassword is refused (403), parsed as an ODataError.
 7. msgraph with the app credential reads the audit log ($filter on the activity) and finds the
    reset of step 5 with its initiator and target.

Exit status 0 when every step passed; 1 with "FAIL [step]: …" otherwise. Never prints a password
or a token.
"""

import asyncio
import json
import os
import sys
import threading
import time
import traceback
import urllib.parse
import warnings

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)

ADMIN_PW = os.environ.get("SSPR_LAB_ADMIN_PASSWORD", "Lab-Admin-Passw0rd1")
CLIENT_SECRET = "Lab-Client-Secret1"
GRAPH_SCOPE = "https://graph.microsoft.com/.default"
PASSWORD_METHOD_ID = "28c10230-6103-485e-b985-444c60001490"
RESET_UPN = "bob@contoso.lab"
RESET_PW = "Py-Graph-Reset-Passw0rd4"


class Fail(Exception):
    """A check failed; the message says what was expected and what came."""


def need(cond, msg):
    if not cond:
        raise Fail(msg)


def say(line):
    """One whole line in one write, so the agent thread's lines never split it."""
    sys.stdout.write(line + "\n")
    sys.stdout.flush()


def ok(msg):
    say(f"   ok: {msg}")


def info(msg):
    say(f"   {msg}")


def msal_error(result):
    """A short description of an MSAL error dict (no secrets in it)."""
    return json.dumps(
        {k: result.get(k) for k in ("error", "error_description", "error_codes") if k in result}
    )


def main(ready_path):
    with open(ready_path, encoding="utf-8") as f:
        ready = json.load(f)
    for key in ("https", "graph", "tenant", "tenant_id", "client_id", "relay", "ca_cert"):
        if not ready.get(key):
            print(f"FAIL [ready file]: no `{key}` in {ready_path}", file=sys.stderr)
            return 1
    ca = ready["ca_cert"]
    for var in ("REQUESTS_CA_BUNDLE", "SSL_CERT_FILE"):
        if os.environ.get(var) != ca:
            os.environ[var] = ca
    info(f"REQUESTS_CA_BUNDLE={os.environ['REQUESTS_CA_BUNDLE']}")
    info(f"SSL_CERT_FILE={os.environ['SSL_CERT_FILE']}")

    # Imported after the environment is set (httpx reads SSL_CERT_FILE when a client is made).
    import azure.identity
    import httpx
    import msal
    import msgraph
    import requests
    from importlib.metadata import version

    info(
        "versions: "
        + ", ".join(
            f"{p} {version(p)}"
            for p in (
                "msal",
                "azure-identity",
                "azure-core",
                "msgraph-sdk",
                "msgraph-core",
                "microsoft-kiota-http",
                "httpx",
                "requests",
            )
        )
    )

    base = ready["https"].rstrip("/")
    lab = urllib.parse.urlsplit(base)
    authority = f"{base}/{ready['tenant']}"
    client_id = ready["client_id"]
    graph = ready["graph"].rstrip("/")
    info(f"authority {authority}, graph {graph}")

    def port_fixed(url):
        """MSAL's user-realm URL with the lab's port put back (graph-clients.md §1, port bug)."""
        u = urllib.parse.urlsplit(url)
        if u.path.startswith("/common/userrealm/") and u.hostname == lab.hostname and u.port is None:
            return urllib.parse.urlunsplit(u._replace(netloc=lab.netloc))
        return None

    class UserRealmPortFix(requests.Session):
        """MSAL's documented extension point (`http_client`): a requests.Session that sends the
        user-realm lookup to the lab's port instead of 443."""

        def __init__(self):
            super().__init__()
            self.userrealm = []  # (url, status, account_type) of each lookup

        def request(self, method, url, *args, **kwargs):
            fixed = port_fixed(url)
            resp = super().request(method, fixed or url, *args, **kwargs)
            if fixed:
                try:
                    kind = resp.json().get("account_type")
                except ValueError:
                    kind = None
                self.userrealm.append((fixed, resp.status_code, kind))
            return resp

    results = []

    def step(name, fn):
        say(f"-- {name}")
        start = time.monotonic()
        try:
            fn()
        except Fail as e:
            raise Fail(f"[{name}]: {e}") from e
        except Exception as e:  # a client library raised: show it whole
            traceback.print_exc()
            raise Fail(f"[{name}]: {type(e).__name__}: {e}") from e
        results.append(name)
        info(f"({time.monotonic() - start:.1f} s)")

    state = {}

    # ---- 1. MSAL, client credentials ----------------------------------------------------------
    def msal_client_credentials():
        app = msal.ConfidentialClientApplication(
            client_id,
            client_credential=CLIENT_SECRET,
            authority=authority,
            instance_discovery=False,
        )
        r = app.acquire_token_for_client(scopes=[GRAPH_SCOPE])
        need("access_token" in r, f"acquire_token_for_client: expected a token, got {msal_error(r)}")
        need(r.get("token_type", "Bearer").lower() == "bearer", f"token_type {r.get('token_type')}")
        ok(f"app token ({len(r['access_token'])} chars, expires_in {r.get('expires_in')}, "
           f"source {r.get('token_source')})")
        r2 = app.acquire_token_for_client(scopes=[GRAPH_SCOPE])
        need("access_token" in r2, f"second acquire_token_for_client: {msal_error(r2)}")
        need(
            r2.get("token_source") == "cache",
            f"the second call should be served from MSAL's cache (response `scope` must echo "
            f"{GRAPH_SCOPE}); token_source={r2.get('token_source')}",
        )
        ok("the second call came from MSAL's token cache")

    step("1. msal ConfidentialClientApplication: client credentials", msal_client_credentials)

    # ---- 2. azure-identity, client secret -----------------------------------------------------
    def azure_client_secret():
        cred = azure.identity.ClientSecretCredential(
            tenant_id=ready["tenant"],
            client_id=client_id,
            client_secret=CLIENT_SECRET,
            authority=base,
            disable_instance_discovery=True,
        )
        tok = cred.get_token(GRAPH_SCOPE)
        need(tok.token, "get_token returned an empty token")
        need(tok.expires_on > time.time(), f"expires_on {tok.expires_on} is in the past")
        ok(f"app token ({len(tok.token)} chars), expires in {int(tok.expires_on - time.time())} s")
        state["app_cred"] = cred

    step("2. azure-identity ClientSecretCredential", azure_client_secret)

    # ---- 3. MSAL, ROPC with the user-realm workaround -----------------------------------------
    def msal_ropc():
        session = UserRealmPortFix()
        app = msal.PublicClientApplication(
            client_id, authority=authority, instance_discovery=False, http_client=session
        )
        state["pca"] = app
        tokens = {}
        for upn in ("helpdesk@contoso.onmicrosoft.example", "hybridadmin@contoso.onmicrosoft.example"):
            with warnings.catch_warnings():
                warnings.simplefilter("ignore", DeprecationWarning)
                r = app.acquire_token_by_username_password(upn, ADMIN_PW, scopes=[GRAPH_SCOPE])
            need("access_token" in r, f"ROPC as {upn}: expected a token, got {msal_error(r)}")
            claims = r.get("id_token_claims") or {}
            need(
                (claims.get("preferred_username") or "").lower() == upn,
                f"ROPC as {upn}: id_token preferred_username is {claims.get('preferred_username')!r}",
            )
            tokens[upn] = r["access_token"]
            ok(f"ROPC token for {upn} (id_token for {claims.get('preferred_username')}, "
               f"tid {claims.get('tid')})")
        need(session.userrealm, "MSAL made no user-realm lookup: the workaround was not exercised")
        for url, status, kind in session.userrealm:
            need(status in (200, 404), f"GET {url}: expected 200 or 404, got {status}")
            need(status == 404 or kind == "Managed", f"GET {url}: account_type {kind!r}, expected Managed")
            ok(f"user realm lookup sent to the lab's port: {url.split('?')[0]} → {status} {kind or ''}")
        state["hybrid_token"] = tokens["hybridadmin@contoso.onmicrosoft.example"]

    step("3. msal PublicClientApplication: ROPC with the user-realm port workaround", msal_ropc)

    # ---- msgraph plumbing (graph-clients.md §2) -----------------------------------------------
    from kiota_abstractions.base_request_configuration import RequestConfiguration
    from kiota_authentication_azure.azure_identity_authentication_provider import (
        AzureIdentityAuthenticationProvider,
    )
    from kiota_http.middleware.options import HeadersInspectionHandlerOption
    from msgraph import GraphRequestAdapter, GraphServiceClient
    from msgraph.generated.models.long_running_operation_status import LongRunningOperationStatus
    from msgraph.generated.models.o_data_errors.o_data_error import ODataError
    from msgraph.generated.users.item.authentication.methods.item.reset_password.reset_password_post_request_body import (
        ResetPasswordPostRequestBody,
    )
    from msgraph.graph_request_adapter import options as graph_options
    from msgraph_core import GraphClientFactory

    # One event loop for every msgraph call: an httpx.AsyncClient is bound to the loop it
    # first ran on, so the app's client (steps 4 and 6) must not outlive an asyncio.run().
    loop = asyncio.new_event_loop()

    def graph_client(cred):
        auth = AzureIdentityAuthenticationProvider(cred, scopes=[GRAPH_SCOPE], allowed_hosts=[])
        http = GraphClientFactory.create_with_default_middleware(
            client=httpx.AsyncClient(timeout=30), options=graph_options
        )
        adapter = GraphRequestAdapter(auth, client=http)
        adapter.base_url = graph
        return GraphServiceClient(request_adapter=adapter)

    # ---- 4. msgraph, app credential: a user by UPN --------------------------------------------
    def graph_read_user():
        client = graph_client(state["app_cred"])

        async def go():
            u = await client.users.by_user_id("alice@contoso.lab").get()
            need(u is not None, "GET /users/alice@contoso.lab parsed to None (Content-Type?)")
            need(
                (u.user_principal_name or "").lower() == "alice@contoso.lab",
                f"userPrincipalName {u.user_principal_name!r}",
            )
            need(u.id, "the user has no id")
            ok(f"by UPN: {u.user_principal_name} id={u.id} displayName={u.display_name!r}")
            u2 = await client.users.by_user_id(u.id).get()
            need(u2 is not None and u2.id == u.id, "GET by object id did not return the same user")
            ok(f"by id: {u2.user_principal_name}")

        loop.run_until_complete(go())
        state["app_graph"] = client

    step("4. msgraph (app credential): read a user by UPN", graph_read_user)

    # ---- 5. msgraph, helpdesk's ROPC token: resetPassword and the operation -------------------
    def graph_reset():
        from agent import AgentError, ScriptedAgent

        hook_hits = []

        def userrealm_hook(request):  # azure-core raw_request_hook (graph-clients.md §1)
            fixed = port_fixed(request.http_request.url)
            if fixed:
                request.http_request.url = fixed
                hook_hits.append(fixed)

        with warnings.catch_warnings():
            warnings.simplefilter("ignore", DeprecationWarning)
            cred = azure.identity.UsernamePasswordCredential(
                client_id,
                "helpdesk@contoso.onmicrosoft.example",
                ADMIN_PW,
                tenant_id=ready["tenant"],
                authority=base,
                disable_instance_discovery=True,
                raw_request_hook=userrealm_hook,
            )
            tok = cred.get_token(GRAPH_SCOPE)
        need(tok.token, "UsernamePasswordCredential.get_token returned an empty token")
        need(hook_hits, "azure-identity made no user-realm lookup: the workaround was not exercised")
        ok(f"helpdesk@ token through azure-identity ROPC (user realm sent to {hook_hits[0].split('?')[0]})")
        client = graph_client(cred)

        # The scripted agent: registered with hybridadmin's token, polling in a thread.
        agent = ScriptedAgent(ready)
        agent.register(state["hybrid_token"])
        agent.poll(0)
        ok(f"scripted agent {agent.agent_id} registered and polling")
        outcome = {}

        def run_agent():
            try:
                agent.serve(1, 60, expect_password=RESET_PW)
            except Exception as e:  # reported by the main thread
                outcome["error"] = e
            finally:
                agent.close()

        thread = threading.Thread(target=run_agent, name="scripted-agent", daemon=True)
        thread.start()

        async def go():
            target = await client.users.by_user_id(RESET_UPN).get()
            need(target is not None and target.id, f"GET /users/{RESET_UPN}: no user")
            headers = HeadersInspectionHandlerOption(inspect_response_headers=True)
            cfg = RequestConfiguration(options=[headers])
            r = await (
                client.users.by_user_id(target.id)
                .authentication.methods.by_authentication_method_id(PASSWORD_METHOD_ID)
                .reset_password.post(ResetPasswordPostRequestBody(new_password=RESET_PW), cfg)
            )
            need(r is None, f"resetPassword with newPassword should answer an empty body, got {r!r}")
            loc = headers.response_headers.get("location")
            need(loc, "resetPassword: no Location header in the response")
            location = next(iter(loc))
            ok(f"resetPassword {RESET_UPN}: accepted, Location {location}")
            need(location.startswith(graph + "/"), f"Location {location} is not under {graph}")
            op_builder = (
                client.users.by_user_id(target.id)
                .authentication.operations.by_long_running_operation_id("x")
                .with_url(location)
            )
            deadline = time.monotonic() + 60
            seen = []
            while True:
                op = await op_builder.get()
                need(op is not None, f"GET {location} parsed to None (Content-Type?)")
                if not seen or seen[-1] != op.status:
                    seen.append(op.status)
                    info(f"operation {op.id}: status {op.status}, statusDetail {op.status_detail!r}")
                if op.status in (LongRunningOperationStatus.Succeeded, LongRunningOperationStatus.Failed):
                    break
                need(time.monotonic() < deadline, f"operation still {op.status} after 60 s")
                await asyncio.sleep(0.5)
            need(
                op.status == LongRunningOperationStatus.Succeeded,
                f"operation ended {op.status} ({op.status_detail!r}), expected succeeded",
            )
            ok(f"the operation read with msgraph ended succeeded (states seen: {[s.value for s in seen]})")

        loop.run_until_complete(go())
        thread.join(70)
        need(not thread.is_alive(), "the scripted agent did not finish")
        if "error" in outcome:
            e = outcome["error"]
            raise Fail(f"scripted agent: {type(e).__name__}: {e}")
        need(len(agent.jobs_done) == 1, f"the agent answered {len(agent.jobs_done)} jobs, expected 1")
        job = agent.jobs_done[0]
        need(job["kind"] == "admin_reset", f"job kind {job['kind']}, expected admin_reset")
        ok(f"the agent took job {job['id']} ({job['kind']} of {job['target'].get('sam_account_name')})")
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", DeprecationWarning)
            r = state["pca"].acquire_token_by_username_password(RESET_UPN, RESET_PW, scopes=[GRAPH_SCOPE])
        # An admin's reset: the new password is right, and must be changed at next sign-in.
        need(
            r.get("error_codes") == [50055],
            f"ROPC as {RESET_UPN} with the new password: expected AADSTS50055, got {msal_error(r)}",
        )
        ok(f"{RESET_UPN}'s new password is right and must be changed at next sign-in (AADSTS50055)")

    step("5. msgraph (helpdesk@ ROPC): resetPassword of a synced user and its operation", graph_reset)

    # ---- 6. msgraph, app credential: resetPassword refused -------------------------------------
    def graph_app_refused():
        client = state["app_graph"]

        async def go():
            try:
                await (
                    client.users.by_user_id("alice@contoso.lab")
                    .authentication.methods.by_authentication_method_id(PASSWORD_METHOD_ID)
                    .reset_password.post(ResetPasswordPostRequestBody(new_password="App-Only-Passw0rd9"))
                )
            except ODataError as e:
                need(e.response_status_code == 403, f"expected 403, got {e.response_status_code}")
                code = e.error.code if e.error else None
                need(code, "the ODataError has no error.code")
                ok(f"403 ODataError {code}: {e.error.message}")
                return
            raise Fail("an app-only token reset a password (expected 403)")

        loop.run_until_complete(go())

    step("6. msgraph (app credential): resetPassword refused with an ODataError", graph_app_refused)

    # ---- 7. msgraph, app credential: the audit row of step 5 ---------------------------------
    def graph_audit():
        from msgraph.generated.audit_logs.directory_audits.directory_audits_request_builder import (
            DirectoryAuditsRequestBuilder,
        )
        from msgraph.generated.models.operation_result import OperationResult

        client = state["app_graph"]
        activity = "Reset password (by admin)"
        query = DirectoryAuditsRequestBuilder.DirectoryAuditsRequestBuilderGetQueryParameters(
            filter=f"activityDisplayName eq '{activity}'", top=50
        )

        async def go():
            page = await client.audit_logs.directory_audits.get(RequestConfiguration(query_parameters=query))
            need(page is not None and page.value, "GET /auditLogs/directoryAudits: no rows parsed")
            need(
                all(a.activity_display_name == activity for a in page.value),
                f"$filter ignored: activities {sorted({a.activity_display_name for a in page.value})}",
            )
            ok(f"{len(page.value)} '{activity}' row(s)")

            def upns(a):
                return [(t.user_principal_name or "").lower() for t in (a.target_resources or [])]

            def initiator(a):
                by = a.initiated_by
                user = by.user if by else None
                return (user.user_principal_name or "").lower() if user else ""

            rows = [a for a in page.value if a.result == OperationResult.Success and RESET_UPN in upns(a)]
            if not rows:
                row = page.value[0]
                raise Fail(
                    f"no success row whose targetResources[].userPrincipalName is {RESET_UPN}; "
                    f"the newest row parsed as initiatedBy={row.initiated_by!r}, "
                    f"targetResources={row.target_resources!r}, additional_data={row.additional_data!r} "
                    "(graph-clients.md §2: a directoryAudit has initiatedBy{user|app} and "
                    "targetResources[] objects)"
                )
            a = rows[0]
            need(
                initiator(a) == "helpdesk@contoso.onmicrosoft.example",
                f"initiatedBy.user.userPrincipalName is {initiator(a)!r}, expected helpdesk@…",
            )
            need(a.activity_date_time is not None, "the row has no activityDateTime")
            ok(f"{a.activity_date_time:%H:%M:%S} {a.activity_display_name}: {a.result.value} "
               f"by {initiator(a)} on {RESET_UPN} ({a.category}, {a.logged_by_service})")

        loop.run_until_complete(go())

    step("7. msgraph (app credential): the audit log lists the reset", graph_audit)

    loop.close()
    say(f"clients: {len(results)} passed, 0 failed")
    return 0


if __name__ == "__main__":
    if len(sys.argv) != 2:
        print(__doc__.split("\n\n")[1].strip(), file=sys.stderr)
        sys.exit(2)
    try:
        sys.exit(main(sys.argv[1]))
    except Fail as e:
        print(f"FAIL {e}", file=sys.stderr, flush=True)
        sys.exit(1)
