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


GROUP_JOB = "AAD2ADGroupProvisioning.5c0000000000400080000000000000010.fidelity"
SP_JOB = "5c000000-0000-4000-8000-000000000001"
GOV_ROLE = "d8fa317e-0713-4930-91d8-1dbeb150978f"
G_ONPREM_MEMBERS = "96000000-0000-4000-8000-000000000001"   # cloud security group with synced (on-premises) members
G_CLOUD_MEMBERS = "96000000-0000-4000-8000-000000000002"    # cloud security group with cloud-only members
C_LIMITED = "c33e0000-0000-4000-8000-000000000003"
C_OWNER = "c44e0000-0000-4000-8000-000000000004"


def fidelity_tenant(**over):
    """small.json plus a Cloud Sync group job (no forced result, settings as Microsoft's defaults), an AD view in
    which one migrated group already holds its members, and two clients with few permissions."""
    with open(SMALL) as f:
        doc = json.load(f)
    doc["groups"] += [
        {"id": G_ONPREM_MEMBERS, "displayName": "Migrated Ops", "securityEnabled": True, "mailEnabled": False,
         "members": [U_BOB, U_CAROL]},
        {"id": G_CLOUD_MEMBERS, "displayName": "Cloud Team", "securityEnabled": True, "mailEnabled": False,
         "members": [U_ALICE, U_DAVE]}]
    doc["clients"] += [{"client_id": C_LIMITED, "secret": "limited-secret", "roles": ["Group.Read.All"]},
                       {"client_id": C_OWNER, "secret": "owner-secret", "roles": ["Application.ReadWrite.OwnedBy"]}]
    doc["servicePrincipals"].append(
        {"id": SP_JOB, "appId": "1a2b0000-0000-4000-8000-000000000003", "owners": [C_OWNER],
         "displayName": "test.example (groups to AD)", "servicePrincipalType": "Application",
         "appRoleAssignedTo": [{"principalId": G_ONPREM_MEMBERS, "appRoleId": ROLE},
                               {"principalId": G_CLOUD_MEMBERS, "appRoleId": ROLE}],
         "synchronization": {"jobs": [{"id": GROUP_JOB, "ad": {"groups": [
             {"id": G_ONPREM_MEMBERS, "cn": "Group_" + G_ONPREM_MEMBERS, "container": "OU=WB,DC=test,DC=example",
              "members": [U_BOB, U_CAROL]}]}}]}})
    doc.update(over)
    return doc


class Fidelity(unittest.TestCase):
    """What the fake does as Microsoft documents it (issue 16's list for the fake, issue 17's job, issue 14's budget)."""

    def start(self, doc):
        tmp = tempfile.mkdtemp(prefix="gbfake-fid-", dir=os.environ.get("GB_TEST_TMP"))
        self.addCleanup(shutil.rmtree, tmp, True)
        path = os.path.join(tmp, "tenant.json")
        with open(path, "w") as f:
            json.dump(doc, f)
        fake = Fake(path)
        self.addCleanup(fake.stop)
        return fake

    def as_client(self, f, cid, secret):
        st, _, b = f.token({"client_id": cid, "client_secret": secret})
        self.assertEqual(st, 200, b)
        return {"Authorization": "Bearer " + b["access_token"]}

    def pod(self, f, group, members, job=GROUP_JOB, sp=SP_JOB, headers=None):
        body = {"parameters": [{"ruleId": "33f7c90d-bf71-41b1-bda6-aaf0ddbee5d8#V2", "subjects": [{
            "objectId": group, "objectTypeName": "Group",
            "links": {"members": [{"objectId": m, "objectTypeName": "User"} for m in members]}}]}]}
        url = "/v1.0/servicePrincipals/%s/synchronization/jobs/%s/provisionOnDemand" % (sp, job)
        if headers is not None:
            return f.request("POST", url, body, headers)
        return f.call("POST", url, body)

    def ad_view(self, f, group):
        jobs = f.control("GET", "/state?id=" + SP_JOB)["synchronization"]["jobs"]
        return next((g for g in jobs[0]["ad"]["groups"] if g["id"] == group), None)

    # 1 and 6: provisionOnDemand as documented, driven by the job's settings

    def test_provision_on_demand_follows_the_jobs_membership_setting(self):
        f = self.start(fidelity_tenant(provision_on_demand_rate=None))
        st, _, b = self.pod(f, G_ONPREM_MEMBERS, [U_BOB, U_CAROL])
        self.assertEqual(st, 200, b)
        self.assertEqual(json.loads(b["key"]), {"result": "Success", "details": {}})
        steps = json.loads(b["value"])
        export = [s for s in steps["provisioningSteps"] if s["type"] == "Export"][0]
        self.assertIn("provisioning membership to on-premises users is off", export["details"]["MembersSkipped"])
        # membership provisioning is off by default: the job empties the group that held both members
        self.assertEqual(self.ad_view(f, G_ONPREM_MEMBERS)["members"], [])
        self.assertTrue(self.ad_view(f, G_ONPREM_MEMBERS)["cn"].startswith("Migrated Ops_"))  # renamed by the cn map
        f.control("POST", "/sync/config", {"job": GROUP_JOB, "settings": {
            "provision_membership_to_on_premises_users": True, "cn": 'Append("Group_", [objectId])'}})
        st, _, b = self.pod(f, G_ONPREM_MEMBERS, [U_BOB, U_CAROL])
        self.assertEqual(json.loads(b["key"])["result"], "Success")
        v = self.ad_view(f, G_ONPREM_MEMBERS)
        self.assertEqual((v["members"], v["cn"]), ([U_BOB, U_CAROL], "Group_" + G_ONPREM_MEMBERS))
        st, _, b = self.pod(f, G_ONPREM_MEMBERS, [U_BOB])
        self.assertEqual(json.loads(b["key"])["details"]["errorCode"], "RedundantExport")
        # cloud-only members have no AD account in a groups-only configuration, whatever the switch says
        st, _, b = self.pod(f, G_CLOUD_MEMBERS, [U_ALICE])
        self.assertEqual(json.loads(b["key"])["result"], "Success")
        self.assertEqual(self.ad_view(f, G_CLOUD_MEMBERS)["members"], [])
        # a group not assigned while the scope is "selected" is skipped, and one that does not exist fails
        st, _, b = self.pod(f, G_SALES, [])
        self.assertEqual(json.loads(b["key"])["details"]["errorCode"], "NotEffectivelyEntitled")
        self.assertEqual(json.loads(b["key"])["result"], "Skipped")
        st, _, b = self.pod(f, "96000000-0000-4000-8000-0000000000ff", [])
        self.assertEqual(json.loads(b["key"])["result"], "Failure")
        f.control("POST", "/config", {"provision_on_demand_value": "empty"})
        st, _, b = self.pod(f, G_ONPREM_MEMBERS, [])
        self.assertEqual((st, b["value"]), (200, "{}"))

    def test_sync_cycle_applies_scope_mode_and_membership(self):
        f = self.start(fidelity_tenant())
        rep = f.control("POST", "/sync/run", {"job": GROUP_JOB})["jobs"][0]["groups"]
        self.assertEqual(set(rep), {G_ONPREM_MEMBERS, G_CLOUD_MEMBERS})  # selected: the assigned groups only
        self.assertEqual(sorted(rep[G_ONPREM_MEMBERS]["removed"]), sorted([U_BOB, U_CAROL]))
        self.assertTrue(rep[G_ONPREM_MEMBERS]["renamed"])
        f.control("POST", "/sync/config", {"job": GROUP_JOB, "settings": {
            "scope": "all", "provision_membership_to_on_premises_users": True}})
        rep = f.control("POST", "/sync/run", {"job": GROUP_JOB})["jobs"][0]["groups"]
        # every cloud security group now, not the synced Finance group nor the Microsoft 365 group
        self.assertIn(G_SALES, rep)
        self.assertNotIn(G_FINANCE, rep)
        self.assertNotIn("90000000-0000-4000-8000-000000000004", rep)
        self.assertEqual(sorted(rep[G_ONPREM_MEMBERS]["added"]), sorted([U_BOB, U_CAROL]))
        self.assertIn(G_SALES_EU, rep[G_SALES]["members_after"])  # nested cloud group in scope
        self.assertNotIn("d0000000-0000-4000-8000-000000000001", rep[G_SALES]["members_after"])  # no devices
        st, _, _ = f.request("POST", "/_fake/sync/config", {"settings": {"scope": "some"}})
        self.assertEqual(st, 400)

    def test_job_schema_and_settings_as_documented(self):
        f = self.start(fidelity_tenant())
        st, _, j = f.get("/v1.0/servicePrincipals/%s/synchronization/jobs/%s" % (SP_JOB, GROUP_JOB))
        self.assertEqual((st, j["templateId"]), (200, "AAD2ADGroupProvisioning"))
        settings = {kv["name"]: kv["value"] for kv in j["synchronizationJobSettings"]}
        self.assertEqual(settings["ProvisionMembershipToOnPremisesUsers"], "False")  # off by default
        self.assertEqual(settings["SyncAll"], "false")
        st, _, sch = f.get("/v1.0/servicePrincipals/%s/synchronization/jobs/%s/schema" % (SP_JOB, GROUP_JOB))
        rule = sch["synchronizationRules"][0]
        om = rule["objectMappings"][0]
        maps = {m["targetAttributeName"]: m["source"] for m in om["attributeMappings"]}
        self.assertEqual(maps["cn"]["expression"],
                         'Append(Append(Left(Trim([displayName]), 51), "_"), Mid([objectId], 25, 12))')
        self.assertEqual((maps["parentDistinguishedName"]["type"], maps["parentDistinguishedName"]["name"]),
                         ("Constant", "CN=Users,DC=test,DC=example"))
        clauses = [(c["sourceOperandName"], c["operatorName"]) for c in om["scope"]["groups"][0]["clauses"]]
        self.assertEqual(clauses, [("securityEnabled", "IS_TRUE"), ("dirSyncEnabled", "IS_FALSE"),
                                   ("mailEnabled", "IS_FALSE")])
        st, _, d = f.get("/v1.0/servicePrincipals/%s/synchronization/jobs/%s/schema/directories" % (SP_JOB,
                                                                                                   GROUP_JOB))
        self.assertEqual([x["name"] for x in d["value"]], ["Azure Active Directory", "Active Directory"])
        f.control("POST", "/sync/config", {"job": GROUP_JOB, "settings": {
            "target_container": "OU=Cloud,DC=test,DC=example",
            "scope_filters": [[{"attribute": "displayName", "operator": "EQUALS", "value": "Cloud Team"}]]}})
        _, _, sch = f.get("/v1.0/servicePrincipals/%s/synchronization/jobs/%s/schema" % (SP_JOB, GROUP_JOB))
        om = sch["synchronizationRules"][0]["objectMappings"][0]
        self.assertEqual(om["scope"]["groups"][0]["clauses"][-1]["targetOperand"]["values"], ["Cloud Team"])
        rep = f.control("POST", "/sync/run", {"job": GROUP_JOB})["jobs"][0]["groups"]
        self.assertEqual(list(rep), [G_CLOUD_MEMBERS])
        self.assertTrue(rep[G_CLOUD_MEMBERS]["dn"].endswith(",OU=Cloud,DC=test,DC=example"))

    # 2: delta leaves out what was never set; GET renders null

    def test_delta_omits_never_set_properties(self):
        f = self.start(fidelity_tenant())
        sel = "displayName,description,onPremisesSyncEnabled,onPremisesSecurityIdentifier"
        recs, _ = f.all_pages("/v1.0/groups/delta?$select=" + sel)
        eu = [r for r in recs if r["id"] == G_SALES_EU][0]
        self.assertEqual(set(eu), {"id", "displayName", "description"})
        fin = [r for r in recs if r["id"] == G_FINANCE][0]
        self.assertEqual(fin["onPremisesSyncEnabled"], True)
        st, _, g = f.get("/v1.0/groups/%s?$select=%s" % (G_SALES_EU, sel))
        self.assertEqual((g["onPremisesSyncEnabled"], g["onPremisesSecurityIdentifier"]), (None, None))
        link = None
        path = "/v1.0/groups/delta?$select=" + sel
        while path:
            _, _, b = f.get(path)
            path, link = b.get("@odata.nextLink"), b.get("@odata.deltaLink", link)
        f.control("POST", "/mutate", [{"op": "update_group", "id": G_SALES_EU, "set": {"description": None}}])
        _, _, b = f.get(link)
        self.assertEqual(b["value"], [{"id": G_SALES_EU, "displayName": "Sales EU", "description": None}])

    # 3 and 4: permissions and opaque tokens

    def test_permissions_enforced_per_endpoint(self):
        f = self.start(fidelity_tenant(enforce_permissions=True))
        lim = self.as_client(f, C_LIMITED, "limited-secret")
        self.assertEqual(f.request("GET", "/v1.0/groups?$select=id", headers=lim)[0], 200)
        for method, path, body in [("GET", "/v1.0/users", None),
                                   ("GET", "/v1.0/servicePrincipals/%s/appRoleAssignedTo" % SP_JOB, None),
                                   ("POST", "/v1.0/servicePrincipals/%s/appRoleAssignedTo" % SP_JOB,
                                    {"principalId": G_SALES, "resourceId": SP_JOB, "appRoleId": ROLE}),
                                   ("PATCH", "/v1.0/groups/%s/onPremisesSyncBehavior" % G_FINANCE,
                                    {"isCloudManaged": True}),
                                   ("GET", "/beta/groups/%s/onPremisesSyncBehavior" % G_FINANCE, None),
                                   ("GET", "/v1.0/servicePrincipals/%s/synchronization/jobs/%s/schema"
                                    % (SP_JOB, GROUP_JOB), None),
                                   ("GET", "/v1.0/organization", None),
                                   ("GET", "/v1.0/directory/onPremisesSynchronization", None),
                                   ("POST", "/v1.0/applications/ab000000-0000-4000-8000-000000000001/"
                                    "extensionProperties", {"name": "X", "dataType": "String",
                                                            "targetObjects": ["Group"]})]:
            st, _, b = f.request(method, path, body, lim)
            self.assertEqual((st, b["error"]["code"]), (403, "Authorization_RequestDenied"), (method, path))
            self.assertEqual(b["error"]["message"], "Insufficient privileges to complete the operation.")
        st, _, b = f.request("POST", "/v1.0/$batch", {"requests": [
            {"id": "1", "method": "GET", "url": "/groups/%s?$select=id" % G_SALES},
            {"id": "2", "method": "GET", "url": "/users/%s" % U_BOB}]}, lim)
        self.assertEqual({r["id"]: r["status"] for r in b["responses"]}, {"1": 200, "2": 403})
        # Application.ReadWrite.OwnedBy: provisionOnDemand only on the service principal the client owns
        own = self.as_client(f, C_OWNER, "owner-secret")
        self.assertEqual(self.pod(f, G_ONPREM_MEMBERS, [], headers=own)[0], 200)
        self.assertEqual(self.pod(f, G_CONVERTED, [], job=JOB, sp=SP_CS, headers=own)[0], 403)
        st, _, app = f.request("POST", "/v1.0/applications", {"displayName": "Mine"}, own)
        self.assertEqual(st, 201)
        ext = {"name": "GroupDN", "dataType": "String", "targetObjects": ["Group"]}
        self.assertEqual(f.request("POST", "/v1.0/applications/%s/extensionProperties" % app["id"], ext, own)[0],
                         201)
        self.assertEqual(f.request("POST", "/v1.0/applications/ab000000-0000-4000-8000-000000000001/"
                                           "extensionProperties", ext, own)[0], 403)
        # the default: no enforcement, whatever the token says (the roles of C_LIMITED are Group.Read.All)
        g = self.start(fidelity_tenant())
        self.assertEqual(g.request("GET", "/v1.0/users", headers=self.as_client(g, C_LIMITED, "limited-secret"))[0],
                         200)

    def test_app_role_assignment_needs_both_permissions(self):
        doc = fidelity_tenant(enforce_permissions=True)
        doc["clients"] += [{"client_id": "c55e0000-0000-4000-8000-000000000005", "secret": "a",
                            "roles": ["AppRoleAssignment.ReadWrite.All"]},
                           {"client_id": "c66e0000-0000-4000-8000-000000000006", "secret": "b",
                            "roles": ["AppRoleAssignment.ReadWrite.All", "Application.Read.All"]}]
        f = self.start(doc)
        body = {"principalId": G_SALES, "resourceId": SP_JOB, "appRoleId": ROLE}
        url = "/v1.0/servicePrincipals/%s/appRoleAssignedTo" % SP_JOB
        one = self.as_client(f, "c55e0000-0000-4000-8000-000000000005", "a")
        both = self.as_client(f, "c66e0000-0000-4000-8000-000000000006", "b")
        self.assertEqual(f.request("POST", url, body, one)[0], 403)
        self.assertEqual(f.request("POST", url, body, both)[0], 201)

    def test_opaque_tokens(self):
        f = self.start(fidelity_tenant(opaque_tokens=True))
        st, _, b = f.token()
        self.assertEqual(st, 200)
        self.assertNotIn(".", b["access_token"])
        self.assertEqual(f.request("GET", "/v1.0/groups", headers={"Authorization": "Bearer " +
                                                                   b["access_token"]})[0], 200)

    # 5: read-after-write lag

    def test_read_after_write_lag(self):
        f = self.start(fidelity_tenant(read_after_write_lag_ms=600000))
        self.assertEqual(f.call("PATCH", "/v1.0/groups/%s" % G_SALES, {"displayName": "Sales 2"})[0], 204)
        self.assertEqual(f.get("/v1.0/groups/%s?$select=displayName" % G_SALES)[2]["displayName"], "Sales")
        st, _, b = f.call("PATCH", "/v1.0/groups/%s/onPremisesSyncBehavior" % G_FINANCE, {"isCloudManaged": True})
        self.assertEqual((st, b["isCloudManaged"]), (200, True))   # the PATCH reply is current
        self.assertEqual(f.get("/v1.0/groups/%s/onPremisesSyncBehavior" % G_FINANCE)[2]["value"]["isCloudManaged"],
                         False)
        st, _, app = f.call("POST", "/v1.0/applications", {"displayName": "New",
                                                           "identifierUris": ["api://new-one"]})
        self.assertEqual(st, 201)
        q = "/v1.0/applications?$filter=" + urllib.parse.quote("identifierUris/any(u:u eq 'api://new-one')")
        self.assertEqual(f.get(q)[2]["value"], [])
        self.assertEqual(f.get("/v1.0/applications/%s" % app["id"])[0], 404)
        st, _, e = f.call("POST", "/v1.0/applications/ab000000-0000-4000-8000-000000000001/extensionProperties",
                          {"name": "Other", "dataType": "String", "targetObjects": ["Group"]})
        self.assertEqual(st, 201)
        names = [x["name"] for x in f.get("/v1.0/applications/ab000000-0000-4000-8000-000000000001/"
                                          "extensionProperties")[2]["value"]]
        self.assertNotIn(e["name"], names)
        f.control("POST", "/config", {"read_after_write_lag_ms": 0})  # replicas caught up
        self.assertEqual(f.get("/v1.0/groups/%s?$select=displayName" % G_SALES)[2]["displayName"], "Sales 2")
        self.assertEqual([a["id"] for a in f.get(q)[2]["value"]], [app["id"]])

    # 7 and 8: app roles per cloud, directory extension limit

    def test_app_role_of_the_tenants_cloud(self):
        doc = fidelity_tenant(cloud="AzureUSGovernment")
        del doc["servicePrincipals"][-1]["appRoleAssignedTo"]
        f = self.start(doc)
        st, _, sp = f.get("/v1.0/servicePrincipals/%s?$select=id,appRoles" % SP_JOB)
        self.assertEqual([r["id"] for r in sp["appRoles"]], [GOV_ROLE])
        url = "/v1.0/servicePrincipals/%s/appRoleAssignedTo" % SP_JOB
        for role in (ROLE, "00000000-0000-0000-0000-000000000000"):
            st, _, b = f.call("POST", url, {"principalId": G_SALES, "resourceId": SP_JOB, "appRoleId": role})
            self.assertEqual((st, b["error"]["code"]), (400, "Request_BadRequest"), role)
        st, _, b = f.call("POST", url, {"principalId": G_SALES, "resourceId": SP_JOB, "appRoleId": GOV_ROLE})
        self.assertEqual(st, 201, b)

    def test_extension_string_limit(self):
        f = self.start(fidelity_tenant())
        dn = "CN=x," + "OU=" + "a" * 240 + ",DC=test,DC=example"
        st, _, b = f.call("PATCH", "/v1.0/groups/%s" % G_SALES, {EXT: dn})
        self.assertEqual((st, b["error"]["code"]), (400, "Request_BadRequest"))
        self.assertIn("256", b["error"]["message"])
        self.assertEqual(f.call("PATCH", "/v1.0/groups/%s" % G_SALES, {EXT: dn[:256]})[0], 204)

    # 9: every documented shape of an expired token

    def test_expired_delta_and_paging_tokens(self):
        f = self.start(fidelity_tenant())
        for status, code in [(410, "syncStateNotFound"), (400, "syncStateNotFound"), (400, "resyncRequired"),
                             (400, "Directory_ExpiredPageToken")]:
            _, _, b = f.get("/v1.0/groups/delta?$deltatoken=latest")
            link = b["@odata.deltaLink"]
            f.control("POST", "/delta/expire", {"status": status, "code": code})
            st, h, b = f.get(link)
            self.assertEqual((st, b["error"]["code"]), (status, code))
            self.assertEqual("location" in h, status == 410)
        _, _, b = f.get("/v1.0/groups?$select=id&$top=2")
        nxt = b["@odata.nextLink"]
        f.control("POST", "/delta/expire", {"scope": "paging", "status": 400, "code": "Directory_ExpiredPageToken"})
        st, _, b = f.get(nxt)
        self.assertEqual((st, b["error"]["code"]), (400, "Directory_ExpiredPageToken"))
        _, _, b = f.get("/v1.0/groups?$select=id&$top=2")
        self.assertEqual(f.get(b["@odata.nextLink"])[0], 200)  # a new read is not affected

    # 10: onPremisesSyncBehavior on v1.0 and beta; organization

    def test_sync_behavior_on_v1_and_beta_and_organization(self):
        f = self.start(fidelity_tenant())
        for ver in ("v1.0", "beta"):
            st, _, b = f.get("/%s/groups/%s/onPremisesSyncBehavior" % (ver, G_CONVERTED))
            self.assertEqual((st, b["value"]["isCloudManaged"]), (200, True), ver)
        st, _, b = f.call("PATCH", "/v1.0/groups/%s/onPremisesSyncBehavior" % G_CONVERTED, {"isCloudManaged": False})
        self.assertEqual((st, b["@odata.type"], b["isCloudManaged"]),
                         (200, "#microsoft.graph.onPremisesSyncBehavior", False))
        st, _, b = f.get("/v1.0/organization?$select=id")
        self.assertEqual((st, b["value"]), (200, [{"id": TENANT}]))

    # 11: latency, resource-unit budget, concurrency and statistics

    def test_resource_unit_budget_and_statistics(self):
        f = self.start(fidelity_tenant(ru_budget=5, ru_window_seconds=600))
        f.get("/v1.0/groups/%s?$select=id" % G_SALES)  # token + 1 unit
        pcts = [f.get("/v1.0/groups/%s?$select=id" % G_SALES)[1].get("x-ms-throttle-limit-percentage")
                for _ in range(4)]
        self.assertEqual(pcts, [None, None, None, "1.00"])  # only above 0.8 of the budget
        st, h, b = f.get("/v1.0/groups/%s?$select=id" % G_SALES)
        self.assertEqual((st, b["error"]["code"], h["x-ms-throttle-information"]),
                         (429, "TooManyRequests", "ResourceUnitLimitExceeded"))
        self.assertGreaterEqual(int(h["retry-after"]), 1)
        st, _, b = f.call("POST", "/v1.0/$batch", {"requests": [
            {"id": str(i), "method": "GET", "url": "/groups/%s?$select=id" % G_SALES} for i in range(3)]})
        self.assertEqual((st, [r["status"] for r in b["responses"]]), (200, [429, 429, 429]))
        self.assertIn("Retry-After", b["responses"][0]["headers"])
        stats = f.control("GET", "/stats")
        self.assertEqual((stats["units"], stats["throttled_429"], stats["windows"][-1]["units"]), (5, 4, 5))

    def test_concurrent_requests_and_latency(self):
        import threading
        f = self.start(fidelity_tenant(latency_ms=400))
        auth = f.bearer()
        errors = []

        def one():
            try:
                c = http.client.HTTPSConnection(f.host, int(f.port), context=f.ctx, timeout=30)
                c.request("GET", "/v1.0/groups?$select=id", headers=auth)
                errors.append(c.getresponse().status)
                c.close()
            except OSError as e:
                errors.append(repr(e))
        threads = [threading.Thread(target=one) for _ in range(4)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        self.assertEqual(errors, [200] * 4)
        stats = f.control("GET", "/stats")
        self.assertGreaterEqual(stats["peak_in_flight"], 2)  # served at the same time, not one after the other
        self.assertEqual(stats["requests"], 5)  # the token and the four reads

    # 12: a POST that succeeds while the client has given up

    def test_delay_after_creates_the_object(self):
        f = self.start(fidelity_tenant())
        auth = f.bearer()
        f.control("POST", "/faults", {"rules": [{"method": "POST", "path_regex": "/applications$",
                                                 "delay_after_ms": 3000}]})
        c = http.client.HTTPSConnection(f.host, int(f.port), context=f.ctx, timeout=1)
        with self.assertRaises(OSError):
            c.request("POST", "/v1.0/applications", body=json.dumps({"displayName": "Slow",
                                                                      "identifierUris": ["api://slow"]}),
                      headers=dict(auth, **{"Content-Type": "application/json"}))
            c.getresponse().read()
        c.close()
        q = "/v1.0/applications?$filter=" + urllib.parse.quote("identifierUris/any(u:u eq 'api://slow')")
        self.assertEqual(len(f.get(q)[2]["value"]), 1)
        st, _, b = f.call("POST", "/v1.0/applications", {"displayName": "Slow", "identifierUris": ["api://slow"]})
        self.assertEqual(st, 400)  # a blind replay meets the object


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
            # the figures are printed, not asserted: speed lives in make bench, never in a test
            print("\n  load %.2f s (start-up incl. certificate %.2f s)" % (load, start), file=sys.stderr)
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
