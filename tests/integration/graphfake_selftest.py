#!/usr/bin/env python3
"""Self-test of tests/testbed/graph_fake.py: starts fakes with graph-fake.sh and checks them over HTTPS.

Run by cli_graphfake.sh (python3 -m unittest style); prints "N passed, N failed" at the end. Needs python3 and the
openssl binary (client certificates and JWT signatures are made with it).
"""

import base64
import hashlib
import http.client
import json
import os
import shutil
import ssl
import subprocess
import sys
import tempfile
import time
import unittest
import urllib.parse
import uuid

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(HERE))
FAKE_SH = os.path.join(ROOT, "tests", "testbed", "graph-fake.sh")
SMALL = os.path.join(ROOT, "tests", "data", "tenants", "small.json")
TENANT = "5a1e0000-0000-4000-8000-000000000001"
CLIENT = "c11e0000-0000-4000-8000-000000000001"
SECRET = "small-tenant-secret-1"
G_SALES = "90000000-0000-4000-8000-000000000001"
G_SALES_EU = "90000000-0000-4000-8000-000000000002"
G_FINANCE = "90000000-0000-4000-8000-000000000003"
G_ENG = "90000000-0000-4000-8000-000000000005"
G_CONVERTED = "90000000-0000-4000-8000-000000000006"
U_ALICE = "a0000000-0000-4000-8000-000000000001"
U_BOB = "a0000000-0000-4000-8000-000000000002"
U_CAROL = "a0000000-0000-4000-8000-000000000003"
U_DAVE = "a0000000-0000-4000-8000-000000000004"
EXT = "extension_5e0e0000000040008000000000000001_GroupDN"
SP_CS = "5b000000-0000-4000-8000-000000000002"
JOB = "AAD2ADGroupProvisioning.5b0000000000400080000000000000020.test"
ROLE = "1a0abf4d-b9fa-4512-a3a2-51ee82c6fd9f"


def b64url(data):
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


class Fake:
    """One fake started with graph-fake.sh in a temporary directory."""

    def __init__(self, tenant_path):
        self.dir = tempfile.mkdtemp(prefix="gbfake-", dir=os.environ.get("GB_TEST_TMP"))
        subprocess.run(["sh", FAKE_SH, "start", self.dir, tenant_path], check=True)
        env = {}
        with open(os.path.join(self.dir, "env")) as f:
            for line in f:
                k, _, v = line.strip().partition("=")
                env[k] = v.strip("'")
        self.env = env
        self.url = env["GB_TEST_GRAPH_URL"]
        self.host, self.port = urllib.parse.urlsplit(self.url).netloc.split(":")
        self.ctx = ssl.create_default_context(cafile=env["GB_TEST_GRAPH_CA_FILE"])
        with open(os.path.join(self.dir, "info.json")) as f:
            self.info = json.load(f)
        self.conn = None

    def stop(self):
        subprocess.run(["sh", FAKE_SH, "stop", self.dir], check=False)
        shutil.rmtree(self.dir, ignore_errors=True)

    def request(self, method, path, body=None, headers=None, raw=False):
        """(status, headers dict lower-cased, parsed JSON or bytes). path is relative or absolute."""
        if path.startswith("https://"):
            path = path[len(self.url):]
        h = dict(headers or {})
        data = None
        if body is not None:
            if isinstance(body, (bytes, str)):
                data = body.encode() if isinstance(body, str) else body
            else:
                data = json.dumps(body).encode()
                h.setdefault("Content-Type", "application/json")
        for attempt in range(2):
            if self.conn is None:
                self.conn = http.client.HTTPSConnection(self.host, int(self.port), context=self.ctx, timeout=30)
            try:
                self.conn.request(method, path, body=data, headers=h)
                r = self.conn.getresponse()
                payload = r.read()
                break
            except (http.client.RemoteDisconnected, BrokenPipeError, ConnectionResetError):
                self.conn.close()
                self.conn = None
                if attempt:
                    raise
        hdrs = {k.lower(): v for k, v in r.getheaders()}
        if raw:
            return r.status, hdrs, payload
        return r.status, hdrs, (json.loads(payload) if payload else None)

    def control(self, method, path, body=None):
        st, _, b = self.request(method, "/_fake" + path, body)
        assert st == 200, (st, b)
        return b

    def token(self, form=None, **kw):
        f = {"client_id": CLIENT, "client_secret": SECRET, "grant_type": "client_credentials",
             "scope": self.url + "/.default"}
        f.update(form or {})
        f = {k: v for k, v in f.items() if v is not None}
        return self.request("POST", "/%s/oauth2/v2.0/token" % kw.get("tenant", TENANT),
                            urllib.parse.urlencode(f), {"Content-Type": "application/x-www-form-urlencoded"})

    def bearer(self):
        st, _, b = self.token()
        assert st == 200, b
        return {"Authorization": "Bearer " + b["access_token"]}

    def get(self, path, headers=None):
        h = self.bearer() if not hasattr(self, "_auth") else self._auth
        self._auth = h
        h = dict(h, **(headers or {}))
        return self.request("GET", path, headers=h)

    def call(self, method, path, body=None, headers=None):
        if not hasattr(self, "_auth"):
            self._auth = self.bearer()
        return self.request(method, path, body, dict(self._auth, **(headers or {})))

    def all_pages(self, path, headers=None):
        items, pages = [], 0
        while path:
            st, _, b = self.call("GET", path, headers=headers)
            assert st == 200, (path, st, b)
            items.extend(b["value"])
            pages += 1
            path = b.get("@odata.nextLink")
        return items, pages


def make_cert(directory, name):
    cert = os.path.join(directory, name + ".pem")
    key = os.path.join(directory, name + ".key")
    subprocess.run(["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "2", "-subj",
                    "/CN=" + name, "-keyout", key, "-out", cert], check=True, capture_output=True)
    der = subprocess.run(["openssl", "x509", "-in", cert, "-outform", "DER"], check=True,
                         capture_output=True).stdout
    return cert, key, der


def sign_jwt(key, der, alg, claims, thumb_header=None):
    header = {"alg": alg, "typ": "JWT"}
    if thumb_header is None:
        thumb_header = "x5t" if alg == "RS256" else "x5t#S256"
    header[thumb_header] = b64url(hashlib.sha1(der).digest() if thumb_header == "x5t"
                                  else hashlib.sha256(der).digest())
    signing = (b64url(json.dumps(header).encode()) + "." + b64url(json.dumps(claims).encode())).encode()
    cmd = ["openssl", "dgst", "-sha256", "-sign", key]
    if alg == "PS256":
        cmd += ["-sigopt", "rsa_padding_mode:pss", "-sigopt", "rsa_pss_saltlen:-1"]
    sig = subprocess.run(cmd, input=signing, check=True, capture_output=True).stdout
    return signing.decode() + "." + b64url(sig)


class SmallTenant(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.tmp = tempfile.mkdtemp(prefix="gbfake-t-", dir=os.environ.get("GB_TEST_TMP"))
        cls.cert, cls.key, cls.der = make_cert(cls.tmp, "client")
        _, _, cls.other_der = make_cert(cls.tmp, "other")
        with open(SMALL) as f:
            doc = json.load(f)
        doc["clients"].append({"client_id": "c22e0000-0000-4000-8000-000000000002", "certificate": cls.cert,
                               "private_key": cls.key})
        doc["groups"].append({"id": "97000000-0000-4000-8000-000000000001", "displayName": "Big",
                              "generate_members": {"count": 250, "id_prefix": "97100000-0000-4000-8000-",
                                                   "on_premises": "alternate"}})
        cls.tenant = os.path.join(cls.tmp, "tenant.json")
        with open(cls.tenant, "w") as f:
            json.dump(doc, f)

    @classmethod
    def tearDownClass(cls):
        shutil.rmtree(cls.tmp, ignore_errors=True)

    def setUp(self):
        self.f = Fake(self.tenant)

    def tearDown(self):
        self.f.stop()

    # -- tokens --

    def test_token_secret(self):
        st, h, b = self.f.token()
        self.assertEqual(st, 200)
        self.assertEqual(b["token_type"], "Bearer")
        self.assertEqual(b["expires_in"], 3599)
        self.assertTrue(len(b["access_token"]) > 20)

    def test_token_errors(self):
        st, _, b = self.f.token({"client_secret": "wrong"})
        self.assertEqual((st, b["error"], b["error_codes"]), (401, "invalid_client", [7000215]))
        st, _, b = self.f.token({"scope": "https://graph.microsoft.com/.default"})
        self.assertEqual((st, b["error"], b["error_codes"]), (400, "invalid_scope", [70011]))
        st, _, b = self.f.token({"client_id": str(uuid.uuid4())})
        self.assertEqual((st, b["error"]), (400, "unauthorized_client"))
        st, _, b = self.f.token(tenant="00000000-0000-4000-8000-00000000dead")
        self.assertEqual((st, b["error_codes"]), (400, [90002]))
        st, _, b = self.f.token({"grant_type": "password"})
        self.assertEqual((st, b["error"]), (400, "unsupported_grant_type"))
        self.assertIn("error_description", b)

    def assertion(self, alg, **over):
        now = int(time.time())
        claims = {"aud": "%s/%s/oauth2/v2.0/token" % (self.f.url, TENANT),
                  "iss": "c22e0000-0000-4000-8000-000000000002", "sub": "c22e0000-0000-4000-8000-000000000002",
                  "jti": str(uuid.uuid4()), "nbf": now, "iat": now, "exp": now + 600}
        thumb = over.pop("thumb_header", None)
        claims.update(over)
        claims = {k: v for k, v in claims.items() if v is not None}
        return sign_jwt(self.key, self.der, alg, claims, thumb)

    def token_jwt(self, jwt):
        return self.f.token({"client_id": "c22e0000-0000-4000-8000-000000000002", "client_secret": None,
                             "client_assertion_type": "urn:ietf:params:oauth:client-assertion-type:jwt-bearer",
                             "client_assertion": jwt})

    def test_token_certificate_rs256_and_ps256(self):
        for alg in ("RS256", "PS256"):
            st, _, b = self.token_jwt(self.assertion(alg))
            self.assertEqual(st, 200, (alg, b))
            st, _, _ = self.f.request("GET", "/v1.0/groups", headers={"Authorization": "Bearer " +
                                                                        b["access_token"]})
            self.assertEqual(st, 200)

    def test_token_certificate_refusals(self):
        cases = [
            (self.assertion("PS256", aud="https://login.microsoftonline.com/x/oauth2/v2.0/token"), 50012),
            (self.assertion("RS256", iss="someone-else"), 700021),
            (self.assertion("PS256", jti=None), 50027),
            (self.assertion("RS256", nbf=int(time.time()) - 3600, exp=int(time.time()) - 1800), 700024),
            (self.assertion("PS256", thumb_header="x5t"), 700027),   # PS256 needs x5t#S256
            (self.assertion("RS256", thumb_header="x5t#S256"), 700027),
            ("not.a.jwt", 50027),
        ]
        for jwt, code in cases:
            st, _, b = self.token_jwt(jwt)
            self.assertIn(st, (400, 401), b)
            self.assertEqual(b["error_codes"], [code], b)
        # a valid signature by a key that is not registered, and a tampered payload
        jwt = self.assertion("PS256")
        h, p, s = jwt.split(".")
        claims = json.loads(base64.urlsafe_b64decode(p + "=" * (-len(p) % 4)))
        claims["exp"] += 1
        st, _, b = self.token_jwt(h + "." + b64url(json.dumps(claims).encode()) + "." + s)
        self.assertEqual(b["error_codes"], [700027])
        hdr = {"alg": "RS256", "typ": "JWT", "x5t": b64url(hashlib.sha1(self.other_der).digest())}
        st, _, b = self.token_jwt(b64url(json.dumps(hdr).encode()) + "." + p + "." + s)
        self.assertEqual(b["error_codes"], [700027])
        self.assertIn("not registered", b["error_description"])

    def test_auth_required_and_expiry(self):
        st, h, b = self.f.request("GET", "/v1.0/groups")
        self.assertEqual((st, b["error"]["code"]), (401, "InvalidAuthenticationToken"))
        self.assertIn("www-authenticate", h)
        st, _, b = self.f.get("/v1.0/groups")
        self.assertEqual(st, 200)
        self.f.control("POST", "/faults", {"expire_all_tokens": True})
        st, _, b = self.f.get("/v1.0/groups")
        self.assertEqual((st, b["error"]["code"]), (401, "InvalidAuthenticationToken"))
        self.assertIn("expired", b["error"]["message"])
        self.f.control("POST", "/faults", {"token_lifetime": 1})
        st, _, b = self.f.token()
        self.assertEqual(b["expires_in"], 1)
        auth = {"Authorization": "Bearer " + b["access_token"]}
        self.assertEqual(self.f.request("GET", "/v1.0/groups", headers=auth)[0], 200)
        time.sleep(1.2)
        self.assertEqual(self.f.request("GET", "/v1.0/groups", headers=auth)[0], 401)

    # -- reading --

    def test_paging_and_select(self):
        members, pages = self.f.all_pages("/v1.0/groups/97000000-0000-4000-8000-000000000001/members"
                                          "?$select=id&$top=100")
        self.assertEqual((len(members), pages), (250, 3))
        self.assertEqual(len({m["id"] for m in members}), 250)
        self.assertTrue(all(m["@odata.type"] == "#microsoft.graph.user" and set(m) == {"@odata.type", "id"}
                            for m in members))
        st, _, b = self.f.get("/v1.0/groups?$top=1000")
        self.assertEqual((st, b["error"]["code"]), (400, "Request_UnsupportedQuery"))
        self.assertEqual(self.f.get("/v1.0/groups?$top=0")[0], 400)
        st, _, b = self.f.get("/v1.0/groups?$select=id,bogus")
        self.assertEqual((st, b["error"]["code"]), (400, "BadRequest"))
        st, _, b = self.f.get("/v1.0/groups/%s?$select=id,displayName,%s" % (G_FINANCE, EXT))
        self.assertEqual(b[EXT], "CN=Finance,OU=Groups,DC=test,DC=example")
        self.assertNotIn("description", b)
        st, _, b = self.f.get("/v1.0/groups/%s" % G_FINANCE)
        self.assertNotIn(EXT, b)  # extensions only when selected
        st, _, b = self.f.get("/v1.0/users/%s" % U_BOB)
        self.assertNotIn("onPremisesObjectIdentifier", b)  # not a default property
        st, _, b = self.f.get("/v1.0/users/%s?$select=id,onPremisesObjectIdentifier" % U_BOB)
        self.assertEqual(b["onPremisesObjectIdentifier"], "0b0b0b0b-1111-4222-8333-000000000002")
        st, _, b = self.f.get("/v1.0/groups/%s/members" % G_SALES)
        self.assertEqual([m["@odata.type"] for m in b["value"]],
                         ["#microsoft.graph.user", "#microsoft.graph.user", "#microsoft.graph.group",
                          "#microsoft.graph.device", "#microsoft.graph.orgContact"])
        st, _, b = self.f.get("/v1.0/groups/%s/transitiveMembers?$select=id" % G_SALES)
        self.assertIn(U_CAROL, [m["id"] for m in b["value"]])
        st, _, b = self.f.get("/v1.0/groups/%s/members/microsoft.graph.group" % G_SALES)
        self.assertEqual([m["id"] for m in b["value"]], [G_SALES_EU])
        st, _, b = self.f.get("/v1.0/groups/00000000-0000-4000-8000-0000000000ff")
        self.assertEqual((st, b["error"]["code"]), (404, "Request_ResourceNotFound"))
        self.assertEqual(self.f.get("/v1.0/groups/not-a-guid")[0], 400)

    def test_filters(self):
        def ids(path, headers=None):
            st, _, b = self.f.get(path, headers)
            self.assertEqual(st, 200, b)
            return [o["id"] for o in b["value"]]
        q = urllib.parse.quote
        self.assertEqual(ids("/v1.0/groups?$filter=" + q("id in ('%s','%s')" % (G_SALES, G_FINANCE))),
                         [G_SALES, G_FINANCE])
        self.assertEqual(ids("/v1.0/groups?$filter=" + q("onPremisesSyncEnabled eq true")), [G_FINANCE])
        self.assertEqual(len(ids("/v1.0/groups?$filter=" + q("securityEnabled eq true and mailEnabled eq false"))),
                         6)
        self.assertEqual(ids("/v1.0/groups?$filter=" + q("groupTypes/any(c:c eq 'Unified')")),
                         ["90000000-0000-4000-8000-000000000004"])
        self.assertEqual(ids("/v1.0/users?$filter=" + q("startswith(displayName,'carol')")), [U_CAROL])
        st, _, b = self.f.get("/v1.0/groups?$filter=" + q("onPremisesSyncEnabled ne true"))
        self.assertEqual((st, b["error"]["code"]), (400, "Request_UnsupportedQuery"))
        self.assertEqual(len(ids("/v1.0/groups?$count=true&$filter=" + q("onPremisesSyncEnabled ne true"),
                                 {"ConsistencyLevel": "eventual"})), 6)
        self.assertEqual(ids("/v1.0/applications?$filter=" + q(
            "identifierUris/any(uri:uri eq 'API://%s/CloudSyncCustomExtensionsApp')" % TENANT)),
            ["ab000000-0000-4000-8000-000000000001"])
        self.assertEqual(ids("/v1.0/servicePrincipals?$filter=" + q("appId eq '5e0e0000-0000-4000-8000-000000000001'")),
                         ["5b000000-0000-4000-8000-000000000001"])
        self.assertEqual(self.f.get("/v1.0/groups?$filter=" + q("displayName eq"))[0], 400)
        self.assertEqual(ids("/v1.0/users?$orderby=displayName%20desc&$select=id&$top=999")[-4:],
                         [U_DAVE, U_CAROL, U_BOB, U_ALICE])
        st, _, b = self.f.get("/v1.0/users/carol@test.example?$select=id")
        self.assertEqual((st, b["id"]), (200, U_CAROL))
        self.f.control("POST", "/mutate", [{"op": "create_group", "object": {"displayName": "No id yet"}}])
        self.assertEqual(len(ids("/v1.0/groups?$filter=" + q("displayName eq 'no id yet'"))), 1)
        st, _, _ = self.f.request("POST", "/_fake/mutate", [{"op": "create_group", "object": {
            "displayName": "Bad", "members": ["00000000-0000-4000-8000-0000000000ff"]}}])
        self.assertEqual(st, 400)

    # -- faults --

    def test_fault_429_retry_after_and_count(self):
        self.f.control("POST", "/faults", {"rules": [{"method": "GET", "path_regex": "^/v1.0/groups",
                                                      "status": 429, "retry_after": "1", "count": 2}]})
        for _ in range(2):
            st, h, b = self.f.get("/v1.0/groups")
            self.assertEqual((st, h.get("retry-after"), b["error"]["code"]), (429, "1", "TooManyRequests"))
            self.assertEqual(b["error"]["innerError"]["request-id"], h["request-id"])
        self.assertEqual(self.f.get("/v1.0/groups")[0], 200)
        self.f.control("POST", "/faults", {"rules": [{"path_regex": "/users", "status": 503}]})
        st, h, _ = self.f.get("/v1.0/users")
        self.assertEqual(st, 503)
        self.assertNotIn("retry-after", h)
        date = "Wed, 21 Oct 2099 07:28:00 GMT"
        self.f.control("POST", "/faults", {"rules": [{"path_regex": "/users", "status": 429, "retry_after": date,
                                                      "skip": 1, "every": 2, "count": 2}]})
        got = [self.f.get("/v1.0/users")[0] for _ in range(6)]
        self.assertEqual(got, [200, 200, 429, 200, 429, 200])  # skip 1, then every 2nd match

    def test_fault_bodies_delay_reset(self):
        self.f.get("/v1.0/users")
        self.f.control("POST", "/faults", {"rules": [{"path_regex": "/groups", "body": "malformed"}]})
        st, _, raw = self.f.request("GET", "/v1.0/groups", headers=self.f._auth, raw=True)
        self.assertEqual(st, 200)
        self.assertRaises(ValueError, json.loads, raw)
        self.f.control("POST", "/faults", {"rules": [{"path_regex": "/groups", "body": "truncated"}]})
        with self.assertRaises(http.client.IncompleteRead):
            self.f.request("GET", "/v1.0/groups", headers=self.f._auth, raw=True)
        self.f.conn = None
        self.f.control("POST", "/faults", {"rules": [{"path_regex": "/groups", "delay_ms": 600}]})
        t0 = time.time()
        self.assertEqual(self.f.get("/v1.0/groups")[0], 200)
        self.assertGreaterEqual(time.time() - t0, 0.55)
        self.f.control("POST", "/faults", {"rules": [{"path_regex": "/groups", "reset_connection": True}]})
        self.f.conn = None
        with self.assertRaises((ConnectionError, http.client.RemoteDisconnected, ssl.SSLError, OSError)):
            c = http.client.HTTPSConnection(self.f.host, int(self.f.port), context=self.f.ctx, timeout=10)
            c.request("GET", "/v1.0/groups", headers=self.f._auth)
            c.getresponse().read()
        self.f.control("POST", "/faults", {"throttle_percentage": "1.2"})
        st, h, _ = self.f.get("/v1.0/groups")
        self.assertEqual(h.get("x-ms-throttle-limit-percentage"), "1.2")

    # -- delta --

    def test_delta_rounds(self):
        first, pages = self.f.all_pages("/v1.0/groups/delta?$select=displayName,members")
        st, _, b = self.f.get("/v1.0/groups/delta?$select=displayName,members")
        link = None
        path = "/v1.0/groups/delta?$select=displayName,members"
        while path:
            st, _, b = self.f.get(path)
            path = b.get("@odata.nextLink")
            link = b.get("@odata.deltaLink", link)
        big = [r for r in first if r["id"] == "97000000-0000-4000-8000-000000000001"]
        self.assertGreaterEqual(len(big), 3)  # 250 members at 100 per record
        self.assertEqual(sum(len(r["members@delta"]) for r in big), 250)
        new_group = {"id": "98000000-0000-4000-8000-000000000001", "displayName": "New", "members": [U_DAVE]}
        self.f.control("POST", "/mutate", {"changes": [
            {"op": "add_members", "group": G_SALES_EU, "members": [U_DAVE]},
            {"op": "remove_members", "group": G_SALES, "members": [U_ALICE]},
            {"op": "update_group", "id": G_ENG, "set": {"displayName": "Engineering 2"}},
            {"op": "update_group", "id": G_FINANCE, "set": {"mail": "x@test.example"}},  # not selected
            {"op": "soft_delete_group", "id": G_CONVERTED},
            {"op": "hard_delete_group", "id": "90000000-0000-4000-8000-000000000004"},
            {"op": "create_group", "object": new_group}]})
        st, _, b = self.f.get(link)
        self.assertEqual(st, 200, b)
        recs = {r["id"]: r for r in b["value"]}
        self.assertEqual(set(recs), {G_SALES_EU, G_SALES, G_ENG, G_CONVERTED,
                                     "90000000-0000-4000-8000-000000000004", new_group["id"]})
        self.assertEqual(recs[G_SALES_EU]["members@delta"], [{"@odata.type": "#microsoft.graph.user", "id": U_DAVE}])
        self.assertEqual(recs[G_SALES]["members@delta"], [{"@odata.type": "#microsoft.graph.user", "id": U_ALICE,
                                                           "@removed": {"reason": "deleted"}}])
        self.assertEqual(recs[G_ENG]["displayName"], "Engineering 2")
        self.assertNotIn("members@delta", recs[G_ENG])
        self.assertEqual(recs[G_CONVERTED]["@removed"], {"reason": "changed"})
        self.assertEqual(recs["90000000-0000-4000-8000-000000000004"]["@removed"], {"reason": "deleted"})
        self.assertEqual(recs[new_group["id"]]["members@delta"][0]["id"], U_DAVE)
        link2 = b["@odata.deltaLink"]
        st, _, b = self.f.get(link2)
        self.assertEqual(b["value"], [])
        # the old link still replays; after expiry both fail with 410 and the code chosen
        self.f.control("POST", "/delta/expire", {"code": "resyncRequired"})
        st, h, b = self.f.get(link2)
        self.assertEqual((st, b["error"]["code"]), (410, "resyncRequired"))
        self.assertIn("location", h)
        st, _, b = self.f.get("/v1.0/groups/delta?$deltatoken=bogus")
        self.assertEqual((st, b["error"]["code"]), (410, "syncStateNotFound"))
        st, _, b = self.f.get("/v1.0/groups/delta?$deltatoken=latest")
        self.assertEqual((b["value"], "@odata.deltaLink" in b), ([], True))
        self.assertEqual(self.f.get("/v1.0/groups/delta?$top=5")[0], 400)

    def test_users_delta(self):
        _, _, b = self.f.get("/v1.0/users/delta?$select=id,onPremisesObjectIdentifier")
        while "@odata.nextLink" in b:
            _, _, b = self.f.get(b["@odata.nextLink"])
        link = b["@odata.deltaLink"]
        self.f.control("POST", "/mutate", [{"op": "update_user", "id": U_ALICE,
                                            "set": {"onPremisesObjectIdentifier": "0a0a0a0a-0000-4000-8000-0000000000a1"}},
                                           {"op": "update_user", "id": U_DAVE, "set": {"jobTitle": "x"}},
                                           {"op": "soft_delete_user", "id": U_CAROL}])
        _, _, b = self.f.get(link)
        self.assertEqual(b["value"], [
            {"id": U_ALICE, "onPremisesObjectIdentifier": "0a0a0a0a-0000-4000-8000-0000000000a1"},
            {"@odata.type": "#microsoft.graph.user", "id": U_CAROL, "@removed": {"reason": "changed"}}])
        st = self.f.control("GET", "/state?id=" + G_SALES_EU)
        self.assertNotIn(U_CAROL, st["members"])

    # -- $batch --

    def test_batch(self):
        reqs = [{"id": str(i), "method": "GET", "url": "/groups/%s?$select=id" % G_SALES} for i in range(21)]
        st, _, b = self.f.call("POST", "/v1.0/$batch", {"requests": reqs})
        self.assertEqual((st, b["error"]["code"]), (400, "BadRequest"))
        st, _, b = self.f.call("POST", "/v1.0/$batch", {"requests": reqs[:2] + [dict(reqs[2], id="1")]})
        self.assertEqual(st, 400)
        self.f.control("POST", "/faults", {"rules": [{"path_regex": "/users/", "status": 429, "retry_after": "2",
                                                      "where": "batch_part"}]})
        parts = [{"id": "a", "method": "GET", "url": "/groups/%s?$select=id,displayName" % G_SALES},
                 {"id": "b", "method": "GET", "url": "/groups/00000000-0000-4000-8000-0000000000ff"},
                 {"id": "c", "method": "GET", "url": "/users/%s" % U_ALICE},
                 {"id": "d", "method": "PATCH", "url": "/groups/%s" % G_SALES,
                  "headers": {"Content-Type": "application/json"}, "body": {"description": "patched"},
                  "dependsOn": ["a"]},
                 {"id": "e", "method": "GET", "url": "/groups/%s" % G_SALES, "dependsOn": ["b"]}]
        st, _, b = self.f.call("POST", "/v1.0/$batch", {"requests": parts})
        self.assertEqual(st, 200)
        got = {r["id"]: r for r in b["responses"]}
        self.assertEqual({k: v["status"] for k, v in got.items()}, {"a": 200, "b": 404, "c": 429, "d": 204,
                                                                     "e": 424})
        self.assertEqual(got["a"]["body"]["displayName"], "Sales")
        self.assertEqual(got["b"]["body"]["error"]["code"], "Request_ResourceNotFound")
        self.assertEqual(got["c"]["headers"]["Retry-After"], "2")
        self.assertEqual(self.f.control("GET", "/state?id=" + G_SALES)["description"], "patched")
        log = self.f.control("GET", "/log")["value"]
        batch = [e for e in log if e["path"] == "/v1.0/$batch" and e["status"] == 200][-1]
        self.assertEqual(len(batch["parts"]), 5)

    # -- migration resources --

    def test_writeback_and_sync_behavior(self):
        st, _, b = self.f.get("/beta/groups/%s?$select=id,writebackConfiguration" % G_ENG)
        self.assertEqual(b["writebackConfiguration"], {"isEnabled": True, "onPremisesGroupType":
                                                       "universalSecurityGroup"})
        self.assertEqual(self.f.get("/v1.0/groups/%s?$select=id,writebackConfiguration" % G_ENG)[0], 400)
        st, _, _ = self.f.call("PATCH", "/beta/groups/%s" % G_ENG, {"writebackConfiguration": {"isEnabled": False}})
        self.assertEqual(st, 204)
        st, _, b = self.f.call("PATCH", "/beta/groups/%s" % G_ENG, {"writebackConfiguration": {
            "onPremisesGroupType": "universalDistributionGroup"}})
        self.assertEqual(st, 400)
        self.assertEqual(self.f.control("GET", "/state?id=" + G_ENG)["writebackConfiguration"]["isEnabled"], False)
        st, _, b = self.f.get("/beta/groups/%s/onPremisesSyncBehavior?$select=id,isCloudManaged" % G_FINANCE)
        self.assertEqual(b["value"]["isCloudManaged"], False)
        st, _, b = self.f.call("PATCH", "/beta/groups/%s" % G_FINANCE, {"displayName": "Finance 2"})
        self.assertEqual((st, b["error"]["code"]), (400, "Request_BadRequest"))
        st, _, b = self.f.call("PATCH", "/beta/groups/%s/onPremisesSyncBehavior" % G_FINANCE,
                               {"@odata.type": "#microsoft.graph.onPremisesSyncBehavior", "isCloudManaged": True})
        self.assertEqual((st, b["isCloudManaged"]), (200, True))
        s = self.f.control("GET", "/state?id=" + G_FINANCE)
        self.assertEqual((s["onPremisesSyncEnabled"], s["onPremisesSyncBehavior"]), (None, {"isCloudManaged": True}))
        self.assertEqual(self.f.call("PATCH", "/v1.0/groups/%s" % G_FINANCE, {"displayName": "Finance 2"})[0], 204)
        self.f.control("POST", "/config", {"sync_behavior_shape": "plain", "sync_behavior_patch_reply": "no_content"})
        st, _, b = self.f.get("/beta/groups/%s/onPremisesSyncBehavior" % G_FINANCE)
        self.assertEqual(b["isCloudManaged"], True)
        self.assertEqual(self.f.call("PATCH", "/beta/groups/%s/onPremisesSyncBehavior" % G_FINANCE,
                                     {"isCloudManaged": "false"})[0], 204)
        self.f.control("POST", "/config", {"sync_behavior_shape": "value_array"})
        st, _, b = self.f.get("/beta/groups/%s/onPremisesSyncBehavior" % G_FINANCE)
        self.assertEqual(b["value"][0]["isCloudManaged"], False)
        self.assertEqual(self.f.call("PATCH", "/beta/groups/%s/onPremisesSyncBehavior" % G_FINANCE,
                                     {"isCloudManaged": 3})[0], 400)

    def test_sync_features(self):
        st, _, b = self.f.get("/v1.0/directory/onPremisesSynchronization")
        self.assertEqual(b["value"][0]["id"], TENANT)
        self.assertTrue(b["value"][0]["features"]["groupWriteBackEnabled"])
        st, _, _ = self.f.call("PATCH", "/v1.0/directory/onPremisesSynchronization/" + TENANT,
                               {"features": {"groupWriteBackEnabled": False}})
        self.assertEqual(st, 204)
        st, _, b = self.f.get("/v1.0/directory/onPremisesSynchronization/" + TENANT)
        self.assertFalse(b["features"]["groupWriteBackEnabled"])
        self.assertEqual(self.f.call("PATCH", "/v1.0/directory/onPremisesSynchronization/" + TENANT,
                                     {"features": {"noSuchFeature": True}})[0], 400)

    def test_applications_and_extensions(self):
        st, _, b = self.f.call("POST", "/v1.0/applications", {"displayName": "CloudSyncCustomExtensionsApp",
                                                              "identifierUris": ["api://%s/CloudSyncCustomExtensionsApp"
                                                                                 % TENANT]})
        self.assertEqual(st, 400)  # the tenant has it already
        st, _, app = self.f.call("POST", "/v1.0/applications", {"displayName": "Other",
                                                                "identifierUris": ["api://other"]})
        self.assertEqual(st, 201)
        st, _, sp = self.f.call("POST", "/v1.0/servicePrincipals", {"appId": app["appId"]})
        self.assertEqual((st, sp["appId"]), (201, app["appId"]))
        self.assertEqual(self.f.call("POST", "/v1.0/servicePrincipals", {"appId": app["appId"]})[0], 409)
        self.assertEqual(self.f.call("POST", "/v1.0/servicePrincipals", {"appId": str(uuid.uuid4())})[0], 400)
        st, _, e = self.f.call("POST", "/v1.0/applications/%s/extensionProperties" % app["id"],
                               {"name": "GroupDN", "dataType": "String", "isMultiValued": False,
                                "targetObjects": ["Group"]})
        self.assertEqual((st, e["name"]), (201, "extension_%s_GroupDN" % app["appId"].replace("-", "")))
        self.assertEqual(self.f.call("POST", "/v1.0/applications/%s/extensionProperties" % app["id"],
                                     {"name": "GroupDN", "dataType": "String", "targetObjects": ["Group"]})[0], 400)
        st, _, b = self.f.get("/v1.0/applications/%s/extensionProperties" % app["id"])
        self.assertEqual([x["name"] for x in b["value"]], [e["name"]])
        self.assertEqual(self.f.call("PATCH", "/v1.0/groups/%s" % G_SALES, {e["name"]: "CN=Sales,OU=X"})[0], 204)
        self.assertEqual(self.f.control("GET", "/state?id=" + G_SALES)[e["name"]], "CN=Sales,OU=X")
        st, _, b = self.f.call("PATCH", "/v1.0/groups/%s" % G_SALES,
                               {"extension_00000000000000000000000000000000_Nope": "x"})
        self.assertEqual(st, 400)
        st, _, b = self.f.call("POST", "/v1.0/applications", b"{not json",
                               {"Content-Type": "application/json"})
        self.assertEqual((st, b["error"]["code"]), (400, "BadRequest"))

    def test_app_roles_and_provision_on_demand(self):
        st, _, b = self.f.get("/v1.0/servicePrincipals/%s/appRoleAssignedTo" % SP_CS)
        self.assertEqual([a["principalId"] for a in b["value"]], [G_CONVERTED])
        self.assertEqual(b["value"][0]["principalType"], "Group")
        body = {"principalId": G_SALES, "resourceId": SP_CS, "appRoleId": ROLE}
        st, _, a = self.f.call("POST", "/v1.0/servicePrincipals/%s/appRoleAssignedTo" % SP_CS, body)
        self.assertEqual((st, a["principalType"]), (201, "Group"))
        self.assertEqual(self.f.call("POST", "/v1.0/servicePrincipals/%s/appRoleAssignedTo" % SP_CS, body)[0], 400)
        url = "/v1.0/servicePrincipals/%s/synchronization/jobs/%s/provisionOnDemand" % (SP_CS, JOB)

        def pod(members, groups=1):
            subjects = [{"objectId": G_CONVERTED, "objectTypeName": "Group",
                         "links": {"members": [{"objectId": m, "objectTypeName": "User"} for m in members]}}]
            subjects += [{"objectId": G_SALES, "objectTypeName": "Group"}] * (groups - 1)
            return self.f.call("POST", url, {"parameters": [{"ruleId": "r1", "subjects": subjects}]})
        st, _, b = pod([U_CAROL])
        self.assertEqual(st, 200, b)
        # the result is in key (provisionOnDemand Examples 1-3); value holds the provisioning steps
        self.assertEqual(json.loads(b["key"])["result"], "Success")
        self.assertIn("provisioningSteps", json.loads(b["value"]))
        self.assertEqual(pod([U_CAROL] * 6)[0], 400)
        self.assertEqual(pod([], groups=2)[0], 400)
        statuses = [pod([])[0] for _ in range(3)]
        self.assertEqual(statuses, [200, 200, 429])  # 5 per 10 s: 3 calls were made before
        jobs = self.f.control("GET", "/state?id=" + SP_CS)["synchronization"]["jobs"]
        self.assertEqual(len(jobs[0]["provisionedOnDemand"]), 3)  # refused calls are not recorded

    # -- misc --

    def test_errors_headers_and_log(self):
        self.f.control("POST", "/log/clear")
        st, h, b = self.f.get("/v1.0/nosuch", {"client-request-id": "11111111-2222-4333-8444-555555555555"})
        self.assertEqual((st, b["error"]["code"]), (404, "Request_ResourceNotFound"))
        self.assertEqual(h["client-request-id"], "11111111-2222-4333-8444-555555555555")
        self.assertEqual(b["error"]["innerError"]["client-request-id"], "11111111-2222-4333-8444-555555555555")
        self.assertEqual(b["error"]["innerError"]["request-id"], h["request-id"])
        self.assertEqual(self.f.get("/v2.0/groups")[0], 404)
        self.assertEqual(self.f.call("DELETE", "/v1.0/groups")[0], 405)
        log = self.f.control("GET", "/log")["value"]
        self.assertEqual([e["path"] for e in log][-3:], ["/v1.0/nosuch", "/v2.0/groups", "/v1.0/groups"])
        self.assertEqual(log[-3]["client_request_id"], "11111111-2222-4333-8444-555555555555")
        text = json.dumps(log)
        self.assertNotIn(self.f._auth["Authorization"][7:], text)
        self.assertNotIn(SECRET, text)
        self.assertTrue(any(e["path"].endswith("/oauth2/v2.0/token") for e in log))
        self.f.control("POST", "/log/clear")
        self.assertEqual(self.f.control("GET", "/log")["value"], [])


class BigTenants(unittest.TestCase):
    def run_big(self, doc, group_id, expect):
        tmp = tempfile.mkdtemp(prefix="gbfake-big-", dir=os.environ.get("GB_TEST_TMP"))
        path = os.path.join(tmp, "t.json")
        with open(path, "w") as f:
            json.dump(doc, f)
        t0 = time.time()
        fake = Fake(path)
        try:
            start = time.time() - t0
            load = fake.info["load_seconds"]
            print("\n  load %.2f s (start-up incl. certificate %.2f s)" % (load, start), file=sys.stderr)
            self.assertLess(load, 5.0)
            t1 = time.time()
            items, pages = fake.all_pages("/v1.0/groups/%s/members?$select=id&$top=999" % group_id)
            print("  read %d members in %d pages in %.2f s" % (len(items), pages, time.time() - t1), file=sys.stderr)
            self.assertEqual(len(items), expect)
            return fake, load
        except Exception:
            fake.stop()
            raise
        finally:
            shutil.rmtree(tmp, ignore_errors=True)

    def test_group_of_50001(self):
        doc = {"tenant_id": TENANT, "clients": [{"client_id": CLIENT, "secret": SECRET}],
               "groups": [{"id": "99000000-0000-4000-8000-000000000001", "displayName": "Huge",
                           "generate_members": {"count": 50001, "id_prefix": "99100000-0000-4000-8000-",
                                                "on_premises": "alternate"}}]}
        fake, _ = self.run_big(doc, "99000000-0000-4000-8000-000000000001", 50001)
        try:
            t1 = time.time()
            recs, pages = fake.all_pages("/v1.0/groups/delta?$select=id,members")
            self.assertEqual(sum(len(r.get("members@delta", [])) for r in recs), 50001)
            print("  delta of it: %d records, %d pages in %.2f s" % (len(recs), pages, time.time() - t1),
                  file=sys.stderr)
        finally:
            fake.stop()

    def test_1000_groups_100000_links(self):
        doc = {"tenant_id": TENANT, "clients": [{"client_id": CLIENT, "secret": SECRET}],
               "generate": {"users": {"count": 20000, "id_prefix": "88100000-0000-4000-8000-",
                                      "on_premises": True},
                            "groups": {"count": 1000, "id_prefix": "88000000-0000-4000-8000-",
                                       "members_per_group": 100}}}
        fake, _ = self.run_big(doc, "88000000-0000-4000-8000-000000000007", 100)
        try:
            groups, _ = fake.all_pages("/v1.0/groups?$select=id&$top=999")
            self.assertEqual(len(groups), 1000)
            st = fake.control("GET", "/state")
            self.assertEqual(sum(len(g["members"]) for g in st["groups"]), 100000)
        finally:
            fake.stop()


class Result(unittest.TextTestResult):
    pass


if __name__ == "__main__":
    suite = unittest.defaultTestLoader.loadTestsFromModule(sys.modules[__name__])
    if len(sys.argv) > 1:
        suite = unittest.defaultTestLoader.loadTestsFromNames(sys.argv[1:], sys.modules[__name__])
    res = unittest.TextTestRunner(verbosity=2, stream=sys.stdout).run(suite)
    failed = len(res.failures) + len(res.errors)
    print("%d passed, %d failed" % (res.testsRun - failed, failed))
    sys.exit(1 if failed else 0)
