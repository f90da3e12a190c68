#!/usr/bin/env python3
"""graph_fake.py: a Microsoft Graph and Entra ID token endpoint fake for groupbridge's tests and demo.

Python 3 standard library only. It serves one tenant, described by a JSON file, over HTTPS on 127.0.0.1 as
Microsoft Graph documents it (see ../shared/reference/microsoft-behavior.md sections 2 and 4): the OAuth2 token
endpoint, /v1.0 and /beta resources, $select/$filter/$top, @odata.nextLink paging, delta queries, $batch, Graph's
error bodies and headers, and fault injection driven by a control API.

Usage:
    graph_fake.py --tenant FILE --cert PEM --key KEY --ready-file F [--port N] [--env-file F] [--info-file F]
                  [--secret-file F]
The port (0 = chosen by the OS) is written to the ready file once the server listens; --env-file gets shell
assignments (GB_TEST_GRAPH_URL ...), --info-file a JSON summary (port, urls, tenant_id, clients), --secret-file the
first client's secret (mode 0600). SIGTERM and SIGINT stop the server cleanly (exit 0).

Tenant JSON
-----------
{
  "tenant_id": "GUID",                       required; the token endpoint is /{tenant_id}/oauth2/v2.0/token
  "domains": ["test.example"],               other names accepted in place of tenant_id in the token URL
  "page_size": 100,                          default page size of collections (and of delta pages)
  "delta_members_per_record": 100,           members@delta entries per delta record (big groups span records)
  "token_lifetime": 3599,                    seconds, expires_in of new tokens
  "sync_behavior_shape": "value_object",     GET onPremisesSyncBehavior reply: "value_object" {"value":{..}} (the
                                             documented example), "value_array" {"value":[{..}]} or "plain" {..}
  "sync_behavior_patch_reply": "object",     PATCH onPremisesSyncBehavior: "object" (200 + object, as documented)
                                             or "no_content" (204)
  "batch_response_order": "request",         $batch responses in "request", "reverse" or "random" order
  "provision_on_demand_rate": [5, 10],       provisionOnDemand limit (requests, seconds) per job; null: none
  "provision_on_demand_value": "steps",      provisionOnDemand's value: "steps" (the provisioning steps JSON of the
                                             documented examples 1 and 2) or "empty" ("{}", as in example 3)
  "cloud": "AzurePublic",                    AzurePublic, AzureUSGovernment, AzureChinaCloud, AzureUSNatCloud or
                                             AzureUSSecCloud: the group role a Cloud Sync job's service principal
                                             exposes when the tenant file gives it no appRoles (CLOUD_GROUP_ROLE)
  "enforce_permissions": false,              true: every Graph call (and $batch part) needs one of the application
                                             permissions its reference page lists (PERMISSIONS) in the token's
                                             roles, else 403 Authorization_RequestDenied; false: all granted
  "opaque_tokens": false,                    true: access tokens are opaque strings, not JWTs
  "read_after_write_lag_ms": 0,              for this long after a Graph write (PATCH/POST/DELETE) reads of that
                                             object see the state before it; an application, service principal or
                                             extension property just created is not found (0: consistent at once)
  "latency_ms": 0, "latency_jitter_ms": 0,   added to every Graph reply (not the token endpoint or control calls);
                                             jitter: +- uniformly
  "ru_budget": null, "ru_window_seconds": 10,  directory read budget: 1 unit per GET, each GET part of a $batch on
                                             its own; past it 429 + Retry-After (end of the window), Graph's body,
                                             x-ms-throttle-information ResourceUnitLimitExceeded; replies above 0.8
                                             of it carry x-ms-throttle-limit-percentage; null: no budget
  "clients": [ {"client_id": "GUID", "secret": "s3cret", "roles": ["Group.Read.All", ...]},
               {"client_id": "GUID", "certificate": "relative/or/absolute.pem", "private_key": "key.pem"} ],
               roles: the application permissions its tokens carry (JWT-shaped tokens with a "roles" claim; default:
               what groupbridge needs, DEFAULT_ROLES); a client may have a secret, a certificate (or
               "certificates": [..]) or both; private_key is not used
               by the fake (tests read it from --info-file); relative paths are relative to the tenant file
  "users": [ {"id", "displayName", "userPrincipalName", "onPremisesObjectIdentifier": "GUID" or null,
              "onPremisesSyncEnabled": true/null, "onPremisesSecurityIdentifier": "S-1-5-21-...", ...any property} ],
  "groups": [ {"id", "displayName", "description", "securityEnabled", "mailEnabled", "groupTypes": [],
               "onPremisesSyncEnabled", "onPremisesSecurityIdentifier",
               "extension_<appIdNoHyphens>_GroupDN": "CN=..,OU=..",     directory extension values, keyed by name
               "writebackConfiguration": {"isEnabled": true, "onPremisesGroupType": "universalSecurityGroup"},
               "onPremisesSyncBehavior": {"isCloudManaged": false},
               "members": ["object id of any type", ...],
               "generate_members": {"count": 50001, "id_prefix": "aaaaaaaa-0000-4000-8000-", "type": "user",
                                    "on_premises": true | false | "alternate", "name_prefix": "Member"} } ],
               generated members are created as new objects (ids = prefix + zero-padded hex index; a 24-character
               prefix gives GUIDs) and appended after the listed members
  "devices": [ {"id", "displayName", "deviceId", ...} ],
  "orgContacts": [ {"id", "displayName", "mail", ...} ],
  "servicePrincipals": [ {"id", "appId", "displayName", "owners": ["client id", ...],
                          "appRoles": [{"id": "GUID", "value": "...", "displayName": "...", "allowedMemberTypes": [..]}],
                          "appRoleAssignedTo": [{"principalId": "GUID", "appRoleId": "GUID"}],
                          "synchronization": {"jobs": [JOB, ...]} } ],
      JOB = {"id": "AAD2ADGroupProvisioning.xxx" (the template follows from this prefix, or "templateId"),
             "scope": "selected" (groups assigned through appRoleAssignedTo) | "all" (all security groups),
             "provision_membership_to_on_premises_users": false (Microsoft's default),
             "target_container": "CN=Users,DC=<domain>", "cn": DEFAULT_CN_EXPRESSION, "domain": "test.example",
             "rule_id": DEFAULT_GROUP_RULE_ID, "scope_filters": [[{"attribute", "operator", "value"}, ..], ..]
                        (attribute value filters: clauses ANDed, groups ORed; operators SCOPE_OPERATORS),
             "ad": {"groups": [{"id": group id, "cn": "Group_<id>", "container": "OU=..", "members": [ids]}]}
                        (the job's simulated AD view before it runs: groups already in AD and their members),
             "on_demand_result": "Success" (forces provisionOnDemand's result; absent: computed),
             "report_settings": true (false: SyncAll and ProvisionMembershipToOnPremisesUsers are not reported),
             "ad_ldap": {"uri", "bind_dn", "password_file", "base", "ca_file"} (the job also writes its membership
                        decisions to that directory, as the agent does; see Fake.ad_write_through)}
      The job's GET shape, schema and settings: see "the synchronization API" in Fake. Scope mode and the
      membership switch are synchronizationJobSettings "SyncAll" and "ProvisionMembershipToOnPremisesUsers"
      (Microsoft documents no representation; chosen there), the container and cn are attribute mappings.
  "applications": [ {"id", "appId", "displayName", "identifierUris": ["api://..."], "owners": ["client id"],
                     "extensionProperties": [{"name": "GroupDN" or "extension_<..>_GroupDN", "dataType": "String",
                                              "targetObjects": ["Group"]}]} ],
  "onPremisesSynchronization": {"features": {"groupWriteBackEnabled": true, ...}, "configuration": {...}}
                               or null (the tenant reports none); its id is the tenant id
  "generate": {"users":  {"count": 10000, "id_prefix": "...", "on_premises": "alternate"},
               "groups": {"count": 1000, "id_prefix": "...", "members_per_group": 100, "name_prefix": "Group"}}
               bulk data: generated groups take their members round-robin from the generated users
}
Ids need not be GUIDs, but a looked-up id that is neither known nor GUID-shaped gets Graph's 400.

Graph endpoints (under /v1.0 and /beta; every call needs "Authorization: Bearer <token>")
-----------------------------------------------------------------------------------------
  POST /{tenant}/oauth2/v2.0/token          client_credentials with client_secret (form or HTTP Basic) or a JWT
                                            client assertion (RS256 + x5t = SHA-1 thumbprint, or PS256 + x5t#S256 =
                                            SHA-256 thumbprint, PSS salt = 32; aud = the token URL, iss = sub =
                                            client_id, jti, nbf <= now < exp); scope = https://<host:port>/.default
  GET  /users, /groups, /devices, /contacts, /applications, /servicePrincipals   ($select, $top 1..999, $filter,
                                            $count=true with ConsistencyLevel: eventual, $orderby=p [asc|desc], @odata.nextLink paging)
  GET  /users/{id or userPrincipalName}, /groups/{id}, /devices/{id}, /contacts/{id}, /directoryObjects/{id}
  GET  /groups/{id}/members[/microsoft.graph.user|group|device|orgContact|servicePrincipal], /transitiveMembers
  POST /groups/{id}/members/$ref {"@odata.id": ".../directoryObjects/{id}"}; DELETE /groups/{id}/members/{id}/$ref
  GET  /groups/delta, /users/delta          ($select incl. members; $filter=id eq '..' or ..; $deltatoken=latest)
  POST /$batch                              at most 20 requests, dependsOn (424 on a failed dependency)
  PATCH /groups/{id}                        displayName, description, extension_* values, (beta)
                                            writebackConfiguration; a synced group (onPremisesSyncEnabled true)
                                            refuses displayName/description/membership changes like Graph does
  GET/PATCH /groups/{id}/onPremisesSyncBehavior   isCloudManaged; true: onPremisesSyncEnabled becomes null
  GET  /directory/onPremisesSynchronization[/{id}];  PATCH /directory/onPremisesSynchronization/{id} (204)
  GET  /directory/deletedItems/{id}          a soft-deleted object (404 once restored or deleted for good)
  POST /applications, /servicePrincipals; GET/POST /applications/{id}/extensionProperties
  GET/POST /servicePrincipals/{id}/appRoleAssignedTo; DELETE .../appRoleAssignedTo/{assignmentId}
  GET  /servicePrincipals/{id}/synchronization/jobs[/{jobId}[/schema[/directories]]]
  POST /servicePrincipals/{id}/synchronization/jobs/{jobId}/provisionOnDemand   (1 parameter, 1 group subject,
                                            at most 5 members; reply stringKeyStringValuePair: key = the JSON text
                                            {"result": "Success"|"Skipped"|"Failure", "details": {..}}, value = the
                                            provisioning steps JSON or "{}"); the job evaluates the group (scope,
                                            cn, container) and the listed members (membership switch, AD account)
                                            against its AD view: Skipped NotEffectivelyEntitled out of scope,
                                            Skipped RedundantExport when nothing changes, Failure for an unknown
                                            group
  GET  /organization[/{id}]                 the tenant (id = tenant_id, verifiedDomains)
  GET/PATCH /groups/{id}/onPremisesSyncBehavior on /v1.0 and /beta alike
$filter forms: `p eq 'x'`, `p eq true|false|null`, `p in ('a','b')`, `startswith(p,'x')`,
`c/any(x:x eq 'v')` (groupTypes, identifierUris, proxyAddresses), joined with and/or and parentheses;
`ne`, `not(...)` and `endswith` are advanced queries (ConsistencyLevel: eventual and $count=true, else 400).
Errors: {"error":{"code","message","innerError":{"date","request-id","client-request-id"}}}. Every reply carries
request-id and client-request-id (the caller's echoed).

Control API (no authentication; JSON in and out)
-------------------------------------------------
  GET  /_fake/health                         {"ok": true}
  POST /_fake/faults  {"rules": [RULE...], "clear": false, "token_lifetime": S, "expire_all_tokens": true,
                       "throttle_percentage": "0.95" or null}
      RULE = {"method": "GET", "path_regex": "/groups", "status": 429, "retry_after": "1" | "<HTTP-date>",
              "count": 1 (fires; -1 = forever), "every": K (fire on every K-th match), "skip": N (let the first N
              matches pass), "delay_ms": D, "body": "truncated" | "malformed" | "empty",
              "reset_connection": true, "code": "...", "message": "...", "headers": {"Name": "value"},
              "where": "any" | "request" | "batch_part", "delay_after_ms": D}
      delay_ms waits before the request is carried out (a POST creates its object only after the wait);
      delay_after_ms carries the request out first and then holds the reply, so a client with a shorter timeout
      gives up on a POST that did create its object (a blind replay meets it).
      path_regex is searched in the request target (path and query as sent; for $batch parts "/v1.0" + url).
      A rule with only delay_ms slows the normal reply. $batch parts honour status, code, message, headers,
      retry_after and delay_ms only.
  GET  /_fake/faults                         the rules with their counters; DELETE /_fake/faults clears them
  POST /_fake/config  {"page_size", "delta_members_per_record", "sync_behavior_shape", "sync_behavior_patch_reply",
                       "batch_response_order", "token_lifetime", "throttle_percentage", "provision_on_demand_rate",
                       "provision_on_demand_value", "enforce_permissions", "opaque_tokens", "read_after_write_lag_ms"
                       (0 also ends the lag of earlier writes), "latency_ms", "latency_jitter_ms", "ru_budget",
                       "ru_window_seconds"}
  POST /_fake/mutate  {"changes": [CHANGE...]} (or a bare list), applied in order, reported by delta:
      {"op": "add_members" | "remove_members", "group": ID, "members": [ID...]}
      {"op": "create_group" | "create_user" | "create_device" | "create_contact", "object": {...}}
      {"op": "update_group" | "update_user", "id": ID, "set": {"property": value, ...}}
      {"op": "soft_delete_group" | "soft_delete_user", "id": ID}   delta reason "changed" (restorable)
      {"op": "hard_delete_group" | "hard_delete_user" | "delete_object", "id": ID}   delta reason "deleted"
      {"op": "restore_group" | "restore_user", "id": ID}
  POST /_fake/delta/expire {"status": 410 | 400, "code": "syncStateNotFound" | "resyncRequired" |
                            "Directory_ExpiredPageToken", "kind": "groups"|"users", "scope": "delta"|"paging"|"all"}
                             scope delta (default): every delta link and delta paging session issued so far fails
                             with that status/code (410 with a Location header); paging: every $skiptoken of a
                             collection read issued so far; all: both
  POST /_fake/sync/config {"servicePrincipal": ID, "job": ID, "settings": {JOB settings}}   change the settings of
                             the AAD2ADGroupProvisioning jobs named (all when none is named)
  POST /_fake/sync/run {"servicePrincipal": ID, "job": ID}   one cycle of those jobs: every group in scope gets
                             its eligible members in the job's AD view; reply {"jobs": [{"job", "groups": {id:
                             {"result", "action", "cn", "dn", "renamed", "moved", "added", "removed", "skipped",
                             "members_before", "members_after"}}}]}
  GET  /_fake/stats          {"requests", "in_flight", "peak_in_flight", "throttled_429", "units", "ru_budget",
                              "ru_window_seconds", "windows": [{"start", "units", "throttled"}]}; POST
                              /_fake/stats/reset starts them again
  GET  /_fake/log[?since=N]  {"value": [{"n", "time", "method", "path", "status", "client_request_id",
                              "request_id", "fault", "duration_ms", "parts": [..] for $batch}]}; never a
                              header value, a token or a body; POST /_fake/log/clear empties it
  GET  /_fake/state[?id=ID]  the tenant as it is now, in the tenant format (members expanded, "deleted" for
                              soft-deleted objects, "onPremisesSyncBehavior", per job "provisionedOnDemand" (each
                              with its outcome), "settings" and "ad" (the job's simulated AD view))

Reply shapes that follow Microsoft's documentation where the client once set the shape: provisionOnDemand's result
is in key (graph-docs synchronization-synchronizationjob-provisionondemand.md); delta records leave out properties
never set (group-delta.md) while GET renders selected unset properties as null (group-get.md examples).
"""

import argparse
import base64
import bisect
import collections
import email.utils
import hashlib
import http.server
import json
import os
import random
import re
import secrets
import signal
import socket
import socketserver
import ssl
import struct
import subprocess
import sys
import threading
import time
import traceback
import urllib.parse
import uuid

GUID_RE = re.compile(r"^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$")
JSON_CT = "application/json;odata.metadata=minimal;odata.streaming=true;IEEE754Compatible=false;charset=utf-8"
MAX_BODY = 16 * 1024 * 1024
GRAPH_APP_ID = "00000003-0000-0000-c000-000000000000"

# ---- small helpers --------------------------------------------------------------------------------------------


def utc_now_iso():
    return time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime())


def b64url(data):
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def b64url_decode(text):
    if not isinstance(text, str) or not re.fullmatch(r"[A-Za-z0-9_-]*", text):
        raise ValueError("not base64url")
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def is_guid(text):
    return isinstance(text, str) and bool(GUID_RE.match(text))


def new_guid():
    return str(uuid.uuid4())


def gen_id(prefix, index):
    """prefix + index in hex, zero-padded to 36 characters (a GUID when prefix is like 'xxxxxxxx-xxxx-4xxx-8xxx-')."""
    width = max(36 - len(prefix), 1)
    return prefix + format(index, "x").zfill(width)


def derived_prefix(seed):
    h = hashlib.sha1(seed.encode()).hexdigest()
    return "%s-%s-4%s-8%s-" % (h[0:8], h[8:12], h[12:15], h[15:18])


class GraphError(Exception):
    """An error reply in Graph's shape."""

    def __init__(self, status, code, message, headers=None):
        super().__init__(message)
        self.status = status
        self.code = code
        self.message = message
        self.headers = headers or {}


class AadError(Exception):
    """An error reply of the token endpoint in Entra ID's shape."""

    def __init__(self, status, error, aadsts, description):
        super().__init__(description)
        self.status = status
        self.error = error
        self.aadsts = aadsts
        self.description = description


DEFAULT_CODES = {
    400: ("BadRequest", "Bad request."),
    401: ("InvalidAuthenticationToken", "Access token validation failure."),
    403: ("Authorization_RequestDenied", "Insufficient privileges to complete the operation."),
    404: ("Request_ResourceNotFound", "Resource not found."),
    409: ("Conflict", "The request conflicts with the current state."),
    424: ("FailedDependency", "A request this one depends on failed."),
    429: ("TooManyRequests", "Too many requests, please retry after the time given in Retry-After."),
    500: ("generalException", "An internal server error occurred."),
    502: ("badGateway", "Bad gateway."),
    503: ("serviceNotAvailable", "The service is temporarily unavailable, please retry later."),
    504: ("gatewayTimeout", "The gateway timed out."),
}


def default_code(status):
    return DEFAULT_CODES.get(status, ("UnknownError", "Error %d." % status))


# ---- RSA and JWT verification (pure Python) ------------------------------------------------------------------


def der_read(data, pos):
    """One DER TLV at pos: (tag, content start, content end)."""
    tag = data[pos]
    length = data[pos + 1]
    pos += 2
    if length & 0x80:
        n = length & 0x7F
        if n == 0 or n > 4:
            raise ValueError("unsupported DER length")
        length = int.from_bytes(data[pos:pos + n], "big")
        pos += n
    if pos + length > len(data):
        raise ValueError("truncated DER")
    return tag, pos, pos + length


def der_children(data, start, end):
    out = []
    while start < end:
        tag, cs, ce = der_read(data, start)
        out.append((tag, cs, ce))
        start = ce
    return out


def pem_to_der(text):
    m = re.search(r"-----BEGIN CERTIFICATE-----(.*?)-----END CERTIFICATE-----", text, re.S)
    if not m:
        raise ValueError("no CERTIFICATE block")
    return base64.b64decode("".join(m.group(1).split()))


RSA_OID = bytes.fromhex("2a864886f70d010101")


def rsa_public_key_of_cert(der):
    """(n, e) of an X.509 certificate's RSA public key."""
    _, cs, ce = der_read(der, 0)  # Certificate
    tbs_tag, ts, te = der_children(der, cs, ce)[0]
    fields = der_children(der, ts, te)
    if fields and fields[0][0] == 0xA0:  # [0] version
        fields = fields[1:]
    spki = fields[5]  # serial, signature, issuer, validity, subject, subjectPublicKeyInfo
    alg, bits = der_children(der, spki[1], spki[2])
    oid = der_children(der, alg[1], alg[2])[0]
    if der[oid[1]:oid[2]] != RSA_OID:
        raise ValueError("the certificate key is not RSA")
    if der[bits[1]] != 0:
        raise ValueError("bad BIT STRING")
    _, ks, ke = der_read(der, bits[1] + 1)
    n_tlv, e_tlv = der_children(der, ks, ke)
    n = int.from_bytes(der[n_tlv[1]:n_tlv[2]], "big")
    e = int.from_bytes(der[e_tlv[1]:e_tlv[2]], "big")
    return n, e


SHA256_DIGESTINFO = bytes.fromhex("3031300d060960864801650304020105000420")


def verify_rs256(n, e, message, sig):
    k = (n.bit_length() + 7) // 8
    if len(sig) != k:
        return False
    s = int.from_bytes(sig, "big")
    if s >= n:
        return False
    em = pow(s, e, n).to_bytes(k, "big")
    t = SHA256_DIGESTINFO + hashlib.sha256(message).digest()
    if k < len(t) + 11:
        return False
    expected = b"\x00\x01" + b"\xff" * (k - len(t) - 3) + b"\x00" + t
    return secrets.compare_digest(em, expected)


def mgf1_sha256(seed, length):
    out = b""
    counter = 0
    while len(out) < length:
        out += hashlib.sha256(seed + struct.pack(">I", counter)).digest()
        counter += 1
    return out[:length]


def verify_ps256(n, e, message, sig, salt_len=32):
    """RSASSA-PSS with SHA-256 and MGF1-SHA-256, salt length 32 as RFC 7518 section 3.5 requires for PS256."""
    mod_bits = n.bit_length()
    k = (mod_bits + 7) // 8
    if len(sig) != k:
        return False
    s = int.from_bytes(sig, "big")
    if s >= n:
        return False
    em_bits = mod_bits - 1
    em_len = (em_bits + 7) // 8
    em = pow(s, e, n).to_bytes(k, "big")[-em_len:]
    h_len = 32
    if em_len < h_len + salt_len + 2 or em[-1] != 0xBC:
        return False
    masked_db, h = em[:em_len - h_len - 1], em[em_len - h_len - 1:-1]
    unused = 8 * em_len - em_bits
    if masked_db[0] & (0xFF << (8 - unused)) & 0xFF:
        return False
    db = bytes(a ^ b for a, b in zip(masked_db, mgf1_sha256(h, len(masked_db))))
    db = bytes([db[0] & (0xFF >> unused)]) + db[1:]
    ps_len = em_len - h_len - salt_len - 2
    if any(db[:ps_len]) or db[ps_len] != 1:
        return False
    salt = db[ps_len + 1:]
    m_hash = hashlib.sha256(message).digest()
    h2 = hashlib.sha256(b"\x00" * 8 + m_hash + salt).digest()
    return secrets.compare_digest(h, h2)


class ClientCert:
    def __init__(self, path):
        self.path = path
        with open(path, encoding="ascii") as f:
            der = pem_to_der(f.read())
        self.n, self.e = rsa_public_key_of_cert(der)
        self.x5t = b64url(hashlib.sha1(der).digest())
        self.x5t_s256 = b64url(hashlib.sha256(der).digest())


# ---- the tenant -----------------------------------------------------------------------------------------------

TYPES = ("user", "group", "device", "orgContact", "servicePrincipal", "application")
ODATA_TYPE = {t: "#microsoft.graph." + t for t in TYPES}
COLLECTION_TYPE = {"users": "user", "groups": "group", "devices": "device", "contacts": "orgContact",
                   "servicePrincipals": "servicePrincipal", "applications": "application"}
TENANT_KEY = {"user": "users", "group": "groups", "device": "devices", "orgContact": "orgContacts",
              "servicePrincipal": "servicePrincipals", "application": "applications"}

KNOWN_PROPS = {
    "user": ["id", "displayName", "userPrincipalName", "mail", "mailNickname", "givenName", "surname", "jobTitle",
             "businessPhones", "mobilePhone", "officeLocation", "preferredLanguage", "accountEnabled", "userType",
             "createdDateTime", "onPremisesObjectIdentifier", "onPremisesSyncEnabled",
             "onPremisesSecurityIdentifier", "onPremisesImmutableId", "onPremisesSamAccountName",
             "onPremisesDistinguishedName", "onPremisesDomainName", "onPremisesUserPrincipalName",
             "onPremisesLastSyncDateTime", "securityIdentifier", "proxyAddresses", "employeeId", "department"],
    "group": ["id", "displayName", "description", "mail", "mailEnabled", "mailNickname", "securityEnabled",
              "groupTypes", "onPremisesSyncEnabled", "onPremisesSecurityIdentifier", "onPremisesSamAccountName",
              "onPremisesDomainName", "onPremisesNetBiosName", "onPremisesLastSyncDateTime",
              "onPremisesProvisioningErrors", "securityIdentifier", "createdDateTime", "visibility",
              "membershipRule", "membershipRuleProcessingState", "proxyAddresses", "isAssignableToRole",
              "classification", "renewedDateTime", "expirationDateTime"],
    "device": ["id", "displayName", "deviceId", "operatingSystem", "operatingSystemVersion", "accountEnabled",
               "onPremisesSyncEnabled", "onPremisesSecurityIdentifier", "trustType", "createdDateTime"],
    "orgContact": ["id", "displayName", "mail", "mailNickname", "givenName", "surname", "companyName",
                   "onPremisesSyncEnabled", "onPremisesLastSyncDateTime", "proxyAddresses"],
    "servicePrincipal": ["id", "appId", "displayName", "appDisplayName", "servicePrincipalType", "appRoles",
                         "accountEnabled", "tags", "servicePrincipalNames", "createdDateTime"],
    "application": ["id", "appId", "displayName", "identifierUris", "signInAudience", "createdDateTime",
                    "publisherDomain", "tags"],
}
BETA_ONLY = {"group": ["writebackConfiguration"]}
DEFAULT_PROPS = {
    "user": ["businessPhones", "displayName", "givenName", "jobTitle", "mail", "mobilePhone", "officeLocation",
             "preferredLanguage", "surname", "userPrincipalName", "id"],
    "group": KNOWN_PROPS["group"],
    "device": KNOWN_PROPS["device"],
    "orgContact": KNOWN_PROPS["orgContact"],
    "servicePrincipal": KNOWN_PROPS["servicePrincipal"],
    "application": KNOWN_PROPS["application"],
}
# keys of the tenant file that are structure, not properties
STRUCTURAL = {"members", "generate_members", "appRoleAssignedTo", "synchronization", "extensionProperties",
              "onPremisesSyncBehavior", "owners"}
EXT_RE = re.compile(r"^extension_[0-9a-fA-F]{32}_[A-Za-z0-9_]+$")
SYNC_FEATURES = ["blockCloudObjectTakeoverThroughHardMatchEnabled", "blockSoftMatchEnabled",
                 "bypassDirSyncOverridesEnabled", "cloudPasswordPolicyForPasswordSyncedUsersEnabled",
                 "concurrentCredentialUpdateEnabled", "concurrentOrgIdProvisioningEnabled",
                 "deviceWritebackEnabled", "directoryExtensionsEnabled", "fopeConflictResolutionEnabled",
                 "groupWriteBackEnabled", "passwordSyncEnabled", "passwordWritebackEnabled",
                 "quarantineUponProxyAddressesConflictEnabled", "quarantineUponUpnConflictEnabled",
                 "softMatchOnUpnEnabled", "synchronizeUpnForManagedUsersEnabled", "unifiedGroupWritebackEnabled",
                 "userForcePasswordChangeOnLogonEnabled", "userWritebackEnabled"]
GROUP_TYPES_WB = ("universalDistributionGroup", "universalSecurityGroup", "universalMailEnabledSecurityGroup")

# The app role that assigns a group to the Cloud Sync "provision groups to AD" job, per cloud: entra-docs
# docs/identity/hybrid/cloud-sync/concept-deployment-options-provision-to-active-directory.md, "Expanded group
# selection via API", table "App role IDs by cloud" (copied in shared/reference/microsoft-behavior.md section 3.4).
CLOUD_GROUP_ROLE = {
    "AzurePublic": "1a0abf4d-b9fa-4512-a3a2-51ee82c6fd9f",
    "AzureChinaCloud": "15af7fd5-1a3f-4034-8ea1-1afa3d5ecf63",
    "AzureUSGovernment": "d8fa317e-0713-4930-91d8-1dbeb150978f",
    "AzureUSNatCloud": "50a55e47-aae2-425c-8dcb-ed711147a39f",
    "AzureUSSecCloud": "52e862b9-0b95-43fe-9340-54f51248314f",
}
GROUP_JOB_TEMPLATE = "AAD2ADGroupProvisioning"
# The Cloud Sync default cn mapping (entra-docs how-to-configure-entra-to-active-directory.md, group attribute
# mappings; migrate-group-writeback.md "naming convention").
DEFAULT_CN_EXPRESSION = 'Append(Append(Left(Trim([displayName]), 51), "_"), Mid([objectId], 25, 12))'
# The ruleId of graph-docs synchronization-synchronizationjob-provisionondemand.md Example 3 (a group and two of
# its members). The real AAD2ADGroupProvisioning rule id is not documented; a job may name its own ("rule_id").
DEFAULT_GROUP_RULE_ID = "33f7c90d-bf71-41b1-bda6-aaf0ddbee5d8#V2"


class TenantError(Exception):
    pass


NO_OWNERS = frozenset()


def ever_set(o):
    """The properties of o that ever had a value (computed from its values the first time, then kept up to date by
    Tenant.update)."""
    if o["_ever_set"] is None:
        o["_ever_set"] = {k for k, v in o.items() if v is not None} - INTERNAL_KEYS
    return o["_ever_set"]


INTERNAL_KEYS = frozenset(("_type", "_created_seq", "_members", "_member_set", "_cloud_managed", "_assignments",
                           "_jobs", "_ext", "_owners", "_ever_set"))


def dn_escape(value):
    """An RDN value escaped as RFC 4514 asks (what the agent's LDAP add would send)."""
    out = "".join("\\" + c if c in ',+"\\<>;=' else c for c in value)
    if out.startswith((" ", "#")):
        out = "\\" + out
    if out.endswith(" ") and not out.endswith("\\ "):
        out = out[:-1] + "\\ "
    return out


# scopeOperatorType names of filterClause.operatorName (graph-docs api-reference/v1.0/resources/
# synchronization-filterclause.md); the Cloud Sync scoping wizard offers these (how-to-configure-entra-to-active-
# directory.md, "Attribute value filtering": EQUALS, NOT EQUALS, IS TRUE, IS FALSE, IS NULL, IS NOT NULL, REGEX MATCH,
# NOT REGEX MATCH, GREATER_THAN, GREATER_THAN_OR_EQUALS).
SCOPE_OPERATORS = ("EQUALS", "NOT_EQUALS", "IS_TRUE", "IS_FALSE", "IS_NULL", "IS_NOT_NULL", "REGEX_MATCH",
                   "NOT_REGEX_MATCH", "GREATER_THAN", "GREATER_THAN_OR_EQUALS")


def scope_clause_matches(obj, clause):
    """One scoping clause on a Graph object (attribute names as Graph spells them; dirSyncEnabled is
    onPremisesSyncEnabled, as the default clause of the Cloud Sync job names it)."""
    attr = clause["attribute"]
    v = obj.get("onPremisesSyncEnabled") if attr == "dirSyncEnabled" else obj.get(attr)
    op = clause["operator"]
    want = clause.get("value")
    if op == "IS_TRUE":
        return v is True
    if op == "IS_FALSE":
        return v is not True
    if op == "IS_NULL":
        return v is None or v == ""
    if op == "IS_NOT_NULL":
        return v is not None and v != ""
    if op in ("EQUALS", "NOT_EQUALS"):  # case-sensitive, as documented
        eq = v is not None and str(v) == str(want)
        return eq if op == "EQUALS" else not eq
    if op in ("REGEX_MATCH", "NOT_REGEX_MATCH"):
        if v is None or v == "":
            return False  # "NOT REGEX returns FALSE for null/empty"
        m = re.search(str(want), str(v)) is not None
        return m if op == "REGEX_MATCH" else not m
    try:
        a, b = int(v), int(want)
    except (TypeError, ValueError):
        return False
    return a > b if op == "GREATER_THAN" else a >= b


class Expr:
    """The part of Cloud Sync's mapping expression language the default mappings use: Append, Left, Mid, Trim,
    ToLower, ToUpper, Join, "string" literals (backslash escapes) and [attribute] references (entra-docs
    docs/identity/hybrid/cloud-sync/reference-expressions.md: Mid is 1-based and stops at the end of the string;
    Left of a null is "")."""

    TOKEN = re.compile(r'\s*(?:(\[[^\]]+\])|("(?:[^"\\]|\\.)*")|([A-Za-z]+)|([(),])|(-?\d+))')
    FUNCS = {"Append": 2, "Left": 2, "Mid": 3, "Trim": 1, "ToLower": 1, "ToUpper": 1}

    def __init__(self, text):
        self.text = text
        self.toks = []
        pos = 0
        text = text.strip()
        while pos < len(text):
            m = self.TOKEN.match(text, pos)
            if not m or m.end() == pos:
                raise ValueError("cannot read the expression at position %d" % pos)
            self.toks.append(m.groups())
            pos = m.end()
            while pos < len(text) and text[pos].isspace():
                pos += 1
        self.i = 0
        self.tree = self.parse()
        if self.i != len(self.toks):
            raise ValueError("unexpected text after the expression")

    def parse(self):
        if self.i >= len(self.toks):
            raise ValueError("the expression ends early")
        attr, lit, name, punct, num = self.toks[self.i]
        self.i += 1
        if num:
            return ("lit", num)
        if attr:
            return ("attr", attr[1:-1])
        if lit:
            return ("lit", re.sub(r"\\(.)", r"\1", lit[1:-1]))
        if name in self.FUNCS or name == "Join":
            if self.i >= len(self.toks) or self.toks[self.i][3] != "(":
                raise ValueError("%s needs its arguments" % name)
            self.i += 1
            args = [self.parse()]
            while self.i < len(self.toks) and self.toks[self.i][3] == ",":
                self.i += 1
                args.append(self.parse())
            if self.i >= len(self.toks) or self.toks[self.i][3] != ")":
                raise ValueError("%s: missing )" % name)
            self.i += 1
            if name != "Join" and len(args) != self.FUNCS[name]:
                raise ValueError("%s takes %d arguments" % (name, self.FUNCS[name]))
            return ("call", name, args)
        raise ValueError("unsupported function or token %r" % (name or punct))

    def evaluate(self, obj):
        def ev(node):
            if node[0] == "lit":
                return node[1]
            if node[0] == "attr":
                v = obj.get("id") if node[1] == "objectId" else obj.get(node[1])
                return None if v is None else str(v)
            name, args = node[1], [ev(a) for a in node[2]]
            if name == "Append":
                return (args[0] or "") + (args[1] or "")
            if name == "Trim":
                return None if args[0] is None else args[0].strip()
            if name in ("ToLower", "ToUpper"):
                return None if args[0] is None else (args[0].lower() if name == "ToLower" else args[0].upper())
            if name == "Left":
                n = int(args[1])
                return "" if args[0] is None else (args[0] if n < 0 else args[0][:n])
            if name == "Mid":
                start, n = int(args[1]), int(args[2])
                return "" if args[0] is None else args[0][start - 1:start - 1 + n]
            return (args[0] or "").join(a for a in args[1:] if a)
        return ev(self.tree)


class Tenant:
    """All objects of the tenant, the change log that delta queries read, tokens and delta state."""

    def __init__(self, path):
        self.path = path
        self.base_dir = os.path.dirname(os.path.abspath(path))
        with open(path, encoding="utf-8") as f:
            try:
                doc = json.load(f)
            except json.JSONDecodeError as e:
                raise TenantError("%s:%d: %s" % (path, e.lineno, e.msg))
        if not isinstance(doc, dict) or not isinstance(doc.get("tenant_id"), str):
            raise TenantError("%s: the tenant needs a string tenant_id" % path)
        self.tenant_id = doc["tenant_id"]
        self.domains = [d.lower() for d in doc.get("domains", [])]
        self.settings = {
            "page_size": int(doc.get("page_size", 100)),
            "delta_members_per_record": int(doc.get("delta_members_per_record", 100)),
            "token_lifetime": int(doc.get("token_lifetime", 3599)),
            "sync_behavior_shape": doc.get("sync_behavior_shape", "value_object"),
            "sync_behavior_patch_reply": doc.get("sync_behavior_patch_reply", "object"),
            "batch_response_order": doc.get("batch_response_order", "request"),
            "provision_on_demand_rate": doc.get("provision_on_demand_rate", [5, 10]),
            "throttle_percentage": None,
            "provision_on_demand_value": doc.get("provision_on_demand_value", "steps"),
            "enforce_permissions": bool(doc.get("enforce_permissions", False)),
            "opaque_tokens": bool(doc.get("opaque_tokens", False)),
            "read_after_write_lag_ms": int(doc.get("read_after_write_lag_ms", 0)),
            "latency_ms": int(doc.get("latency_ms", 0)),
            "latency_jitter_ms": int(doc.get("latency_jitter_ms", 0)),
            "ru_budget": doc.get("ru_budget"),
            "ru_window_seconds": float(doc.get("ru_window_seconds", 10)),
        }
        self.cloud = doc.get("cloud", "AzurePublic")
        if self.cloud not in CLOUD_GROUP_ROLE:
            raise TenantError("%s: cloud must be one of %s" % (path, ", ".join(sorted(CLOUD_GROUP_ROLE))))
        self.objects = {}        # id -> object (live)
        self.types = {}          # id -> type, kept after deletion
        self.coll = {t: {} for t in TYPES}   # type -> {id: object}, insertion order
        self.deleted = {}        # soft-deleted id -> object
        self.hard_deleted = set()
        self.extra_props = {t: set() for t in TYPES}
        self.declared_ext = set()
        self.seq = 0
        self.changes = []        # (seq, type, id, kind, detail)
        self.change_seqs = []
        self.clients = {}
        self.tokens = {}         # access token -> {"client_id", "expires"}
        self.delta_tokens = {}   # token -> state
        self.delta_sessions = collections.OrderedDict()
        self.on_demand_calls = {}  # job id -> [times]
        self.lag = {}            # id -> (monotonic time until which reads see the snapshot, snapshot or None)
        self.paging_serial = 0   # $skiptokens of collections carry the serial they were issued at
        self.paging_expired = None  # (serial, status, code): collection $skiptokens issued before serial fail
        self._load_clients(doc.get("clients", []))
        for t in ("user", "device", "orgContact", "application", "servicePrincipal"):
            for o in doc.get(TENANT_KEY[t], []) or []:
                self.add_object(t, o, log=False)
        gen = doc.get("generate") or {}
        gen_users = self._generate_users(gen.get("users")) if gen.get("users") else []
        for g in doc.get("groups", []) or []:
            self.add_object("group", g, log=False)
        if gen.get("groups"):
            self._generate_groups(gen["groups"], gen_users)
        for g in self.coll["group"].values():
            missing = [m for m in g["_members"] if m not in self.objects]
            if missing:
                raise TenantError("%s: group %s has unknown members: %s" % (path, g["id"], ", ".join(missing[:5])))
        for sp in self.coll["servicePrincipal"].values():
            for a in sp["_assignments"]:
                if a["principalId"] not in self.objects:
                    raise TenantError("%s: appRoleAssignedTo of %s names unknown principal %s"
                                      % (path, sp["id"], a["principalId"]))
                self._complete_assignment(sp, a)
        ops = doc.get("onPremisesSynchronization", None)
        if ops is None:
            self.sync = None
        else:
            self.sync = {"id": self.tenant_id, "configuration": ops.get("configuration", {}),
                         "features": {k: False for k in SYNC_FEATURES}}
            self.sync["features"].update(ops.get("features", {}))

    # -- loading --

    def _load_clients(self, clients):
        for c in clients:
            cid = c.get("client_id")
            if not isinstance(cid, str):
                raise TenantError("%s: a client lacks client_id" % self.path)
            paths = list(c.get("certificates", []))
            if c.get("certificate"):
                paths.append(c["certificate"])
            certs = []
            for p in paths:
                full = p if os.path.isabs(p) else os.path.join(self.base_dir, p)
                try:
                    certs.append(ClientCert(full))
                except (OSError, ValueError) as e:
                    raise TenantError("%s: client %s: certificate %s: %s" % (self.path, cid, full, e))
            key = c.get("private_key")
            if key and not os.path.isabs(key):
                key = os.path.join(self.base_dir, key)
            roles = c.get("roles", DEFAULT_ROLES)
            if not isinstance(roles, list) or not all(isinstance(r, str) for r in roles):
                raise TenantError("%s: client %s: roles must be a list of permission names" % (self.path, cid))
            self.clients[cid] = {"client_id": cid, "secret": c.get("secret"), "certs": certs,
                                 "certificate_path": certs[0].path if certs else None, "private_key_path": key,
                                 "roles": roles}

    def add_object(self, otype, src, log=True):
        if not isinstance(src, dict):
            raise TenantError("%s: a %s is not an object" % (self.path, otype))
        o = {k: v for k, v in src.items() if k not in STRUCTURAL}
        oid = o.get("id") or new_guid()
        o["id"] = oid
        if oid in self.types:
            raise TenantError("%s: duplicate object id %s" % (self.path, oid))
        o["_type"] = otype
        o["_created_seq"] = self.seq + 1 if log else 0
        if otype == "group":
            o.setdefault("groupTypes", [])
            o.setdefault("securityEnabled", True)
            o.setdefault("mailEnabled", False)
            o.setdefault("onPremisesSyncEnabled", None)
            o.setdefault("writebackConfiguration", {"isEnabled": None, "onPremisesGroupType": None})
            o["_members"] = list(src.get("members", []))
            gm = src.get("generate_members")
            if gm:
                o["_members"].extend(self._generate_members(oid, gm))
            o["_member_set"] = set(o["_members"])
            if len(o["_member_set"]) != len(o["_members"]):
                raise TenantError("%s: group %s lists a member twice" % (self.path, oid))
            o["_cloud_managed"] = bool((src.get("onPremisesSyncBehavior") or {}).get("isCloudManaged", False))
        if otype in ("user", "group", "device", "orgContact"):
            o.setdefault("onPremisesSyncEnabled", None)
        if otype == "servicePrincipal":
            o.setdefault("appId", new_guid())
            o.setdefault("appRoles", [])
            o["_assignments"] = [dict(a) for a in src.get("appRoleAssignedTo", [])]
            o["_jobs"] = collections.OrderedDict()
            for j in (src.get("synchronization") or {}).get("jobs", []):
                self._add_job(o, j)
            if "appRoles" not in src and any(j["templateId"] == GROUP_JOB_TEMPLATE for j in o["_jobs"].values()):
                # the Cloud Sync job's service principal exposes the group role of its cloud
                o["appRoles"] = [{"id": CLOUD_GROUP_ROLE[self.cloud], "value": "Group", "displayName": "Group",
                                  "description": "Group provisioning to Active Directory",
                                  "allowedMemberTypes": ["User"], "isEnabled": True, "origin": "Application"}]
        if otype == "application":
            o.setdefault("appId", new_guid())
            o.setdefault("identifierUris", [])
            o["_ext"] = []
            for e in src.get("extensionProperties", []):
                self._add_extension(o, e)
        o.setdefault("createdDateTime", utc_now_iso() + "Z")
        # owners (client ids): Application.ReadWrite.OwnedBy manages only these objects
        o["_owners"] = set(src["owners"]) if src.get("owners") else NO_OWNERS
        # the properties that ever had a value (group-delta.md leaves the others out of delta records): computed
        # on first use, see ever_set()
        o["_ever_set"] = None
        for k in o:
            if not k.startswith("_"):
                if EXT_RE.match(k):
                    self.declared_ext.add(k.lower())
                elif k not in KNOWN_PROPS[otype] and not (otype == "group" and k == "writebackConfiguration"):
                    self.extra_props[otype].add(k)
        self.objects[oid] = o
        self.types[oid] = otype
        self.coll[otype][oid] = o
        if log:
            self.log_change(otype, oid, "create")
        return o

    def _generate_members(self, gid, spec):
        count = int(spec.get("count", 0))
        prefix = spec.get("id_prefix") or derived_prefix(gid)
        mtype = spec.get("type", "user")
        if mtype not in ("user", "group", "device", "orgContact", "servicePrincipal"):
            raise TenantError("%s: generate_members of %s: unknown type %s" % (self.path, gid, mtype))
        onprem = spec.get("on_premises", False)
        name = spec.get("name_prefix", "Member")
        ids = []
        for i in range(count):
            oid = gen_id(prefix, i)
            self._gen_object(mtype, oid, "%s %d" % (name, i), i, onprem)
            ids.append(oid)
        return ids

    def _gen_object(self, mtype, oid, name, i, onprem):
        o = {"id": oid, "displayName": name}
        synced = onprem is True or (onprem == "alternate" and i % 2 == 0)
        if mtype == "user":
            o["userPrincipalName"] = "%s@%s" % (name.replace(" ", ".").lower(), (self.domains or ["test.example"])[0])
            if synced:
                o["onPremisesObjectIdentifier"] = str(uuid.uuid5(uuid.NAMESPACE_OID, oid))
                o["onPremisesSyncEnabled"] = True
                o["onPremisesSecurityIdentifier"] = "S-1-5-21-1004336348-1177238915-682003330-%d" % (2000 + i)
            else:
                o["onPremisesObjectIdentifier"] = None
        elif mtype == "group":
            o.update({"securityEnabled": True, "mailEnabled": False})
        self.add_object(mtype, o, log=False)

    def _generate_users(self, spec):
        count = int(spec.get("count", 0))
        prefix = spec.get("id_prefix") or derived_prefix("generated-users")
        name = spec.get("name_prefix", "User")
        ids = []
        for i in range(count):
            oid = gen_id(prefix, i)
            self._gen_object("user", oid, "%s %d" % (name, i), i, spec.get("on_premises", False))
            ids.append(oid)
        return ids

    def _generate_groups(self, spec, pool):
        count = int(spec.get("count", 0))
        per = int(spec.get("members_per_group", 0))
        if per and not pool:
            raise TenantError("%s: generate.groups needs generate.users for its members" % self.path)
        prefix = spec.get("id_prefix") or derived_prefix("generated-groups")
        name = spec.get("name_prefix", "Group")
        n = len(pool)
        for i in range(count):
            start = (i * per) % n if n else 0
            members = [pool[(start + j) % n] for j in range(min(per, n))]
            self.add_object("group", {"id": gen_id(prefix, i), "displayName": "%s %d" % (name, i),
                                      "securityEnabled": True, "mailEnabled": False, "members": members},
                            log=False)

    JOB_SETTINGS = ("scope", "provision_membership_to_on_premises_users", "target_container", "cn", "rule_id",
                    "domain", "scope_filters", "report_settings", "ad_ldap")

    def _add_job(self, sp, j):
        jid = j.get("id") or "AD2AADProvisioning.%s.%s" % (uuid.uuid4().hex, uuid.uuid4().hex[:8])
        template = j.get("templateId") or (GROUP_JOB_TEMPLATE if jid.startswith(GROUP_JOB_TEMPLATE)
                                           else "AD2AADProvisioning")
        domain = j.get("domain") or (self.domains or ["test.example"])[0]
        job = {"id": jid, "templateId": template,
               "schedule": j.get("schedule", {"expiration": None, "interval": "PT20M", "state": "Active"}),
               "status": j.get("status", {"code": "Active"}),
               # the result forced by the tenant file (the fake's first model); None: computed from the settings
               "_result": j.get("on_demand_result"), "_provisioned": [],
               "_settings": {"scope": "selected", "provision_membership_to_on_premises_users": False,
                             "target_container": "CN=Users," + ",".join("DC=" + p for p in domain.split(".")),
                             "cn": DEFAULT_CN_EXPRESSION, "rule_id": DEFAULT_GROUP_RULE_ID, "domain": domain,
                             "scope_filters": [], "report_settings": True, "ad_ldap": None},
               "_ad": collections.OrderedDict()}
        self.set_job(job, {k: v for k, v in j.items() if k in self.JOB_SETTINGS})
        for a in (j.get("ad") or {}).get("groups", []):
            if not isinstance(a, dict) or not isinstance(a.get("id"), str):
                raise TenantError("%s: job %s: every ad.groups entry needs an id" % (self.path, jid))
            cn = a.get("cn") or "Group_" + a["id"]
            container = a.get("container") or job["_settings"]["target_container"]
            job["_ad"][a["id"]] = {"cn": cn, "container": container, "dn": "CN=%s,%s" % (dn_escape(cn), container),
                                   "anchor": "Group_" + a["id"], "members": list(a.get("members", []))}
        sp["_jobs"][jid] = job

    def set_job(self, job, settings):
        """Changes a job's settings (tenant file or /_fake/sync/config); raises TenantError on a bad value."""
        s = job["_settings"]
        for k, v in settings.items():
            if k not in self.JOB_SETTINGS:
                raise TenantError("job %s: unknown setting %s" % (job["id"], k))
            if k == "scope" and v not in ("selected", "all"):
                raise TenantError("job %s: scope must be selected or all" % job["id"])
            if k == "provision_membership_to_on_premises_users" and not isinstance(v, bool):
                raise TenantError("job %s: %s must be true or false" % (job["id"], k))
            if k == "report_settings" and not isinstance(v, bool):
                raise TenantError("job %s: %s must be true or false" % (job["id"], k))
            if k == "ad_ldap" and v is not None and not (isinstance(v, dict) and all(
                    isinstance(v.get(x), str) for x in ("uri", "bind_dn", "password_file", "base"))):
                raise TenantError("job %s: ad_ldap needs uri, bind_dn, password_file and base" % job["id"])
            if k in ("target_container", "cn", "rule_id", "domain") and not isinstance(v, str):
                raise TenantError("job %s: %s must be a string" % (job["id"], k))
            if k == "cn":
                try:
                    Expr(v)
                except ValueError as e:
                    raise TenantError("job %s: cn: %s" % (job["id"], e))
            if k == "scope_filters":
                if not isinstance(v, list) or not all(isinstance(g, list) and all(
                        isinstance(c, dict) and c.get("operator") in SCOPE_OPERATORS and
                        isinstance(c.get("attribute"), str) for c in g) for g in v):
                    raise TenantError("job %s: scope_filters is a list of lists of {attribute, operator, value} "
                                      "with operator one of %s" % (job["id"], ", ".join(SCOPE_OPERATORS)))
            s[k] = v

    def _add_extension(self, app, e):
        name = e.get("name", "")
        short = name
        if EXT_RE.match(name):
            short = name.split("_", 2)[2]
        full = "extension_%s_%s" % (app["appId"].replace("-", "").lower(), short)
        ext = {"id": e.get("id") or new_guid(), "name": full, "dataType": e.get("dataType", "String"),
               "isMultiValued": bool(e.get("isMultiValued", False)),
               "targetObjects": list(e.get("targetObjects", ["Group"])),
               "appDisplayName": app.get("displayName", ""), "isSyncedFromOnPremises": False}
        app["_ext"].append(ext)
        self.declared_ext.add(full.lower())
        return ext

    def _complete_assignment(self, sp, a):
        principal = self.objects[a["principalId"]]
        a.setdefault("id", b64url(os.urandom(24)))
        a.setdefault("appRoleId", "00000000-0000-0000-0000-000000000000")
        a["principalType"] = {"user": "User", "group": "Group"}.get(principal["_type"], "ServicePrincipal")
        a["principalDisplayName"] = principal.get("displayName")
        a["resourceId"] = sp["id"]
        a["resourceDisplayName"] = sp.get("displayName")
        a.setdefault("createdDateTime", utc_now_iso() + "Z")
        a.setdefault("deletedDateTime", None)

    # -- changes --

    def log_change(self, otype, oid, kind, detail=None):
        self.seq += 1
        self.changes.append((self.seq, otype, oid, kind, detail))
        self.change_seqs.append(self.seq)

    def changes_since(self, seq):
        i = bisect.bisect_right(self.change_seqs, seq)
        return self.changes[i:]

    def add_member(self, g, mid):
        if mid not in self.objects:
            raise GraphError(404, "Request_ResourceNotFound",
                             "Resource '%s' does not exist or one of its queried reference-property objects are "
                             "not present." % mid)
        if mid in g["_member_set"]:
            raise GraphError(400, "Request_BadRequest",
                             "One or more added object references already exist for the following modified "
                             "properties: 'members'.")
        g["_members"].append(mid)
        g["_member_set"].add(mid)
        self.log_change("group", g["id"], "member", mid)

    def remove_member(self, g, mid):
        if mid not in g["_member_set"]:
            raise GraphError(404, "Request_ResourceNotFound",
                             "Resource '%s' does not exist or one of its queried reference-property objects are "
                             "not present." % mid)
        g["_members"].remove(mid)
        g["_member_set"].discard(mid)
        self.log_change("group", g["id"], "member", mid)

    def update(self, o, props):
        ever = ever_set(o)
        for k, v in props.items():
            if k == "id" or k.startswith("_") or k in STRUCTURAL:
                raise GraphError(400, "Request_BadRequest", "Property '%s' cannot be updated." % k)
            o[k] = v
            if v is not None:
                ever.add(k)
            if EXT_RE.match(k):
                self.declared_ext.add(k.lower())
        self.log_change(o["_type"], o["id"], "props", set(props))

    def delete(self, oid, hard):
        o = self.objects.pop(oid, None)
        if o is None:
            o = self.deleted.get(oid)
            if o is None or not hard:
                raise GraphError(404, "Request_ResourceNotFound", "Resource '%s' does not exist or one of its "
                                 "queried reference-property objects are not present." % oid)
            del self.deleted[oid]
        else:
            del self.coll[o["_type"]][oid]
            # membership of the deleted object disappears from every group (and is reported by group delta)
            for g in self.coll["group"].values():
                if oid in g["_member_set"]:
                    g["_members"].remove(oid)
                    g["_member_set"].discard(oid)
                    self.log_change("group", g["id"], "member", oid)
            if hard:
                self.hard_deleted.add(oid)
            else:
                self.deleted[oid] = o
        if hard:
            self.hard_deleted.add(oid)
        self.log_change(o["_type"], oid, "remove", "deleted" if hard else "changed")

    def restore(self, oid):
        o = self.deleted.pop(oid, None)
        if o is None:
            raise GraphError(404, "Request_ResourceNotFound", "Resource '%s' does not exist in deleted items." % oid)
        self.objects[oid] = o
        self.coll[o["_type"]][oid] = o
        o["_created_seq"] = self.seq + 1
        self.log_change(o["_type"], oid, "create")

    # -- read-after-write lag (eventual consistency) --

    def note_write(self, oid, created=False):
        """Before a Graph write to oid: for read_after_write_lag_ms, reads keep seeing the state before it (or no
        object at all when it is being created), as Entra's replicas do ("Designing for eventual consistency",
        graph-docs concepts/... and the serviceprincipal-list-approleassignments note quoted in the Graph review)."""
        lag = self.settings["read_after_write_lag_ms"]
        if lag <= 0:
            return
        now = time.monotonic()
        until = now + lag / 1000.0
        old = self.lag.get(oid)
        if old is not None and old[0] > now:
            self.lag[oid] = (until, old[1])   # the state before the first write of the burst stays visible
            return
        o = None if created else self.objects.get(oid)
        snap = None
        if o is not None:
            snap = dict(o)
            for k in ("_members", "_ext", "_assignments"):
                if k in o:
                    snap[k] = list(o[k])
            if "_member_set" in o:
                snap["_member_set"] = set(o["_member_set"])
            snap["_ever_set"] = set(ever_set(o))
        self.lag[oid] = (until, snap)

    def seen(self, o):
        """What a read sees of the live object o: itself, its state before a recent write, or None (created a
        moment ago)."""
        if not self.lag:
            return o
        if self.settings["read_after_write_lag_ms"] <= 0:  # set to 0: the replicas have caught up
            self.lag.clear()
            return o
        e = self.lag.get(o["id"])
        if e is None:
            return o
        if e[0] <= time.monotonic():
            del self.lag[o["id"]]
            return o
        return e[1]

    # -- state export --

    def export_object(self, o):
        out = {k: v for k, v in o.items() if not k.startswith("_")}
        t = o["_type"]
        if o["_owners"]:
            out["owners"] = sorted(o["_owners"])
        if t == "group":
            out["members"] = list(o["_members"])
            out["onPremisesSyncBehavior"] = {"isCloudManaged": o["_cloud_managed"]}
        elif t == "servicePrincipal":
            out["appRoleAssignedTo"] = [dict(a) for a in o["_assignments"]]
            out["synchronization"] = {"jobs": [
                dict({k: v for k, v in j.items() if not k.startswith("_")}, on_demand_result=j["_result"],
                     provisionedOnDemand=list(j["_provisioned"]), settings=dict(j["_settings"]),
                     ad={"groups": [dict(v, id=k) for k, v in j["_ad"].items()]})
                for j in o["_jobs"].values()]}
        elif t == "application":
            out["extensionProperties"] = [dict(e) for e in o["_ext"]]
        return out

    def export(self):
        doc = {"tenant_id": self.tenant_id, "domains": self.domains}
        doc.update({k: v for k, v in self.settings.items()})
        for t in TYPES:
            doc[TENANT_KEY[t]] = [self.export_object(o) for o in self.coll[t].values()]
        doc["deleted"] = [dict(self.export_object(o), **{"@odata.type": ODATA_TYPE[o["_type"]]})
                          for o in self.deleted.values()]
        doc["onPremisesSynchronization"] = self.sync
        doc["clients"] = [{"client_id": c["client_id"], "has_secret": bool(c["secret"]),
                           "certificate": c["certificate_path"]} for c in self.clients.values()]
        return doc


# ---- OData: $select, $filter ----------------------------------------------------------------------------------

FILTER_TOKEN = re.compile(r"\s*(?:('(?:[^']|'')*')|([()\[\],:])|([A-Za-z_$@][A-Za-z0-9_./@$-]*)|(-?\d+(?:\.\d+)?))")


class FilterError(Exception):
    pass


# The application permissions a client's tokens carry when the tenant file names none: what groupbridge needs.
DEFAULT_ROLES = ["Group.ReadWrite.All", "User.Read.All", "Group-OnPremisesSyncBehavior.ReadWrite.All",
                 "Application.ReadWrite.All", "AppRoleAssignment.ReadWrite.All", "Synchronization.ReadWrite.All",
                 "Directory.Read.All"]


# ---- permissions ---------------------------------------------------------------------------------------------
# Application permissions per endpoint, from the "Permissions" table of each Microsoft Graph reference page (graph-
# docs api-reference/v1.0/api/<page>.md, the permissions include of the same name): a call is allowed when the
# token's roles hold one of the alternatives (each alternative: every permission in it). The least privileged
# alternative comes first. Pages: group-list, group-get, group-list-members, group-list-transitivemembers,
# group-delta (GroupMember.Read.All least), group-update, group-post-members, group-delete-members, user-list,
# user-get, user-delta, device-list/-get, orgcontact-list/-get, directoryobject-get, application-list/-get,
# application-post-applications, application-list-extensionproperty, application-post-extensionproperty,
# serviceprincipal-list/-get, serviceprincipal-post-serviceprincipals, serviceprincipal-list-approleassignedto
# (Application.Read.All), serviceprincipal-post-approleassignedto ("AppRoleAssignment.ReadWrite.All and
# Application.Read.All"), serviceprincipal-delete-approleassignedto, onpremisessyncbehavior-get/-update
# (Group-OnPremisesSyncBehavior.ReadWrite.All only, beta and v1.0), synchronization-synchronization-list-jobs,
# synchronization-synchronizationjob-get, synchronization-synchronizationschema-get,
# synchronization-synchronizationschema-list-directories, synchronization-synchronizationjob-provisionondemand
# (Application.ReadWrite.OwnedBy least, Synchronization.ReadWrite.All), onpremisesdirectorysynchronization-get/-list
# (OnPremDirectorySynchronization.Read.All) and -update (OnPremDirectorySynchronization.ReadWrite.All),
# organization-list/-get (Organization.Read.All), directory-deleteditems-get (by the type of the item).
# Application.ReadWrite.OwnedBy manages only the applications and service principals the caller owns
# (permissions reference); the fake checks ownership for writes and provisionOnDemand.


def _alts(*groups):
    return [frozenset(g.split("+")) for g in groups]


_GROUP_READ = ("GroupMember.Read.All", "Group.Read.All", "Directory.Read.All", "Group.ReadWrite.All",
               "GroupMember.ReadWrite.All", "Directory.ReadWrite.All", "Group-NestingSupport.ReadWrite.All")
_USER_READ = ("User.Read.All", "User.ReadBasic.All", "User.ReadWrite.All", "Directory.Read.All",
              "Directory.ReadWrite.All")
_APP_READ = ("Application.Read.All", "Application.ReadWrite.OwnedBy", "Application.ReadWrite.All",
             "Directory.Read.All", "Directory.ReadWrite.All")
_SYNC_READ = ("Synchronization.Read.All", "Application.ReadWrite.OwnedBy", "Synchronization.ReadWrite.All")
PERMISSIONS = [
    # (method, path regex under the version, alternatives, owned: which path group names the owned object)
    ("GET", r"/groups/delta", _alts(*_GROUP_READ[:4], _GROUP_READ[5]), None),
    ("GET", r"/users/delta", _alts(*_USER_READ[:1], *_USER_READ[2:]), None),
    ("GET", r"/groups(/[^/]+(/(members|transitiveMembers)(/.*)?)?)?", _alts(*_GROUP_READ), None),
    ("PATCH", r"/groups/[^/]+", _alts("Group.ReadWrite.All", "Directory.ReadWrite.All"), None),
    ("POST", r"/groups/[^/]+/members/\$ref", _alts("GroupMember.ReadWrite.All", "Group.ReadWrite.All",
                                                   "Directory.ReadWrite.All"), None),
    ("DELETE", r"/groups/[^/]+/members/[^/]+/\$ref", _alts("GroupMember.ReadWrite.All", "Group.ReadWrite.All",
                                                          "Directory.ReadWrite.All"), None),
    ("GET", r"/groups/[^/]+/onPremisesSyncBehavior", _alts("Group-OnPremisesSyncBehavior.ReadWrite.All"), None),
    ("PATCH", r"/groups/[^/]+/onPremisesSyncBehavior", _alts("Group-OnPremisesSyncBehavior.ReadWrite.All"), None),
    ("GET", r"/users(/[^/]+)?", _alts(*_USER_READ), None),
    ("GET", r"/devices(/[^/]+)?", _alts("Device.Read.All", "Directory.Read.All", "Directory.ReadWrite.All"), None),
    ("GET", r"/contacts(/[^/]+)?", _alts("OrgContact.Read.All", "Directory.Read.All", "Directory.ReadWrite.All"),
     None),
    ("GET", r"/directoryObjects/[^/]+", _alts("Directory.Read.All", "Directory.ReadWrite.All"), None),
    ("GET", r"/applications(/[^/]+(/extensionProperties)?)?", _alts(*_APP_READ), None),
    ("POST", r"/applications", _alts("Application.ReadWrite.OwnedBy", "Application.ReadWrite.All"), None),
    ("POST", r"/applications/(?P<owned>[^/]+)/extensionProperties",
     _alts("Application.ReadWrite.OwnedBy", "Application.ReadWrite.All", "Directory.ReadWrite.All"), "owned"),
    ("GET", r"/servicePrincipals(/[^/]+(/appRoleAssignedTo)?)?", _alts(*_APP_READ), None),
    ("POST", r"/servicePrincipals", _alts("Application.ReadWrite.OwnedBy", "Application.ReadWrite.All",
                                          "Directory.ReadWrite.All"), None),
    ("POST", r"/servicePrincipals/[^/]+/appRoleAssignedTo",
     _alts("AppRoleAssignment.ReadWrite.All+Application.Read.All",
           "AppRoleAssignment.ReadWrite.All+Application.ReadWrite.All",
           "AppRoleAssignment.ReadWrite.All+Directory.Read.All",
           "AppRoleAssignment.ReadWrite.All+Directory.ReadWrite.All"), None),
    ("DELETE", r"/servicePrincipals/[^/]+/appRoleAssignedTo/[^/]+", _alts("AppRoleAssignment.ReadWrite.All"), None),
    ("GET", r"/servicePrincipals/[^/]+/synchronization/jobs(/[^/]+(/schema(/directories)?)?)?", _alts(*_SYNC_READ),
     None),
    ("POST", r"/servicePrincipals/(?P<owned>[^/]+)/synchronization/jobs/[^/]+/provisionOnDemand",
     _alts("Application.ReadWrite.OwnedBy", "Synchronization.ReadWrite.All"), "owned"),
    ("GET", r"/directory/onPremisesSynchronization(/[^/]+)?",
     _alts("OnPremDirectorySynchronization.Read.All", "OnPremDirectorySynchronization.ReadWrite.All",
           "Directory.Read.All", "Directory.ReadWrite.All"), None),
    ("PATCH", r"/directory/onPremisesSynchronization/[^/]+", _alts("OnPremDirectorySynchronization.ReadWrite.All"),
     None),
    ("GET", r"/organization(/[^/]+)?", _alts("Organization.Read.All", "Directory.Read.All",
                                            "Organization.ReadWrite.All", "Directory.ReadWrite.All"), None),
]
PERMISSIONS = [(m, re.compile("^" + rx + "/?$"), alts, owned) for m, rx, alts, owned in PERMISSIONS]
# directory-deleteditems-get: the permission follows the type of the deleted item
DELETED_ITEM_PERMISSIONS = {
    "group": _alts(*_GROUP_READ[1:3], "Group.ReadWrite.All", "Directory.ReadWrite.All"),
    "user": _alts("User.Read.All", "User.ReadWrite.All", "Directory.Read.All", "Directory.ReadWrite.All"),
    "application": _alts(*_APP_READ),
    "servicePrincipal": _alts(*_APP_READ),
}


def tokenize_filter(text):
    pos = 0
    toks = []
    text = text.strip()
    while pos < len(text):
        m = FILTER_TOKEN.match(text, pos)
        if not m or m.end() == pos:
            raise FilterError("syntax error at position %d" % pos)
        pos = m.end()
        if m.group(1) is not None:
            toks.append(("str", m.group(1)[1:-1].replace("''", "'")))
        elif m.group(2) is not None:
            toks.append(("punct", m.group(2)))
        elif m.group(3) is not None:
            toks.append(("ident", m.group(3)))
        else:
            toks.append(("num", m.group(4)))
        while pos < len(text) and text[pos].isspace():
            pos += 1
    return toks


def fold(v):
    return v.lower() if isinstance(v, str) else v


class FilterParser:
    """A small OData $filter subset, compiled to a predicate over objects. Sets .advanced when an advanced query
    (ne, not, endswith) was used, and .ids when the filter is only id eq/in comparisons joined by or."""

    def __init__(self, text):
        self.toks = tokenize_filter(text)
        self.i = 0
        self.advanced = False
        self.props = set()
        self.only_id_eq = True
        self.ids = []

    def peek(self, kind=None, value=None):
        if self.i >= len(self.toks):
            return None
        t = self.toks[self.i]
        if kind and t[0] != kind:
            return None
        if value is not None and (t[1].lower() if t[0] == "ident" else t[1]) != value:
            return None
        return t

    def take(self, kind=None, value=None):
        t = self.peek(kind, value)
        if t is None:
            got = self.toks[self.i][1] if self.i < len(self.toks) else "the end"
            raise FilterError("expected %s, found %s" % (value or kind, got))
        self.i += 1
        return t

    def parse(self):
        pred = self.or_expr()
        if self.i != len(self.toks):
            raise FilterError("unexpected '%s'" % self.toks[self.i][1])
        return pred

    def or_expr(self):
        preds = [self.and_expr()]
        while self.peek("ident", "or"):
            self.i += 1
            preds.append(self.and_expr())
        return preds[0] if len(preds) == 1 else (lambda o, ps=preds: any(p(o) for p in ps))

    def and_expr(self):
        preds = [self.unary()]
        while self.peek("ident", "and"):
            self.i += 1
            self.only_id_eq = False
            preds.append(self.unary())
        return preds[0] if len(preds) == 1 else (lambda o, ps=preds: all(p(o) for p in ps))

    def unary(self):
        if self.peek("ident", "not"):
            self.i += 1
            self.advanced = True
            self.only_id_eq = False
            inner = self.unary()
            return lambda o: not inner(o)
        return self.primary()

    def literal(self):
        t = self.take()
        if t[0] == "str":
            return t[1]
        if t[0] == "num":
            return float(t[1]) if "." in t[1] else int(t[1])
        if t[0] == "ident" and t[1].lower() in ("true", "false", "null"):
            return {"true": True, "false": False, "null": None}[t[1].lower()]
        if t[0] == "ident" and is_guid(t[1]):
            return t[1]
        raise FilterError("expected a literal, found %s" % t[1])

    def primary(self):
        if self.peek("punct", "("):
            self.i += 1
            p = self.or_expr()
            self.take("punct", ")")
            return p
        t = self.take("ident")
        name = t[1]
        low = name.lower()
        if low in ("startswith", "endswith") and self.peek("punct", "("):
            self.only_id_eq = False
            if low == "endswith":
                self.advanced = True
            self.i += 1
            prop = self.take("ident")[1]
            self.take("punct", ",")
            val = self.literal()
            self.take("punct", ")")
            self.props.add(prop)
            if not isinstance(val, str):
                raise FilterError("%s needs a string" % low)
            v = val.lower()
            if low == "startswith":
                return lambda o: isinstance(o.get(prop), str) and o[prop].lower().startswith(v)
            return lambda o: isinstance(o.get(prop), str) and o[prop].lower().endswith(v)
        if low.endswith("/any") and self.peek("punct", "("):
            self.only_id_eq = False
            prop = name[:-4]
            self.props.add(prop)
            self.i += 1
            var = self.take("ident")[1]
            self.take("punct", ":")
            ref = self.take("ident")[1]
            if ref != var:
                raise FilterError("lambda variable %s is not %s" % (ref, var))
            op = self.take("ident")[1].lower()
            if op not in ("eq", "startswith"):
                raise FilterError("only eq is supported inside any()")
            val = fold(self.literal())
            self.take("punct", ")")
            return lambda o: any(fold(x) == val for x in (o.get(prop) or []))
        prop = name
        self.props.add(prop)
        op = self.take("ident")[1].lower()
        if op == "in":
            self.take("punct", "(")
            vals = [self.literal()]
            while self.peek("punct", ","):
                self.i += 1
                vals.append(self.literal())
            self.take("punct", ")")
            if prop == "id":
                self.ids.extend(vals)
            else:
                self.only_id_eq = False
            fv = [fold(v) for v in vals]
            return lambda o: fold(o.get(prop)) in fv
        if op not in ("eq", "ne", "ge", "le", "gt", "lt"):
            raise FilterError("unsupported operator %s" % op)
        val = self.literal()
        if op == "eq" and prop == "id":
            self.ids.append(val)
        else:
            self.only_id_eq = False
        if op == "ne":
            self.advanced = True
        fval = fold(val)
        if op == "eq":
            return lambda o: fold(o.get(prop)) == fval
        if op == "ne":
            return lambda o: fold(o.get(prop)) != fval
        cmp = {"ge": lambda a, b: a >= b, "le": lambda a, b: a <= b, "gt": lambda a, b: a > b,
               "lt": lambda a, b: a < b}[op]
        return lambda o: o.get(prop) is not None and type(fold(o.get(prop))) is type(fval) and cmp(fold(o[prop]), fval)


# ---- requests, replies, faults --------------------------------------------------------------------------------


class Request:
    def __init__(self, method, target, headers, body, client_request_id=None):
        self.method = method.upper()
        self.target = target
        parts = urllib.parse.urlsplit(target)
        self.path = urllib.parse.unquote(parts.path)
        self.raw_query = parts.query
        self.query = {}
        for k, v in urllib.parse.parse_qsl(parts.query, keep_blank_values=True):
            self.query[k.lower()] = v
        self.headers = {k.lower(): v for k, v in headers.items()}
        self.body = body
        self.request_id = new_guid()
        self.client_request_id = client_request_id or self.headers.get("client-request-id") or self.request_id

    def json(self):
        if not self.body:
            raise GraphError(400, "BadRequest", "Empty Payload. JSON content expected.")
        try:
            return json.loads(self.body)
        except (ValueError, UnicodeDecodeError):
            raise GraphError(400, "BadRequest", "Unable to read JSON request payload. Please ensure Content-Type "
                             "header is set and payload is of valid JSON format.")


class Reply:
    def __init__(self, status, body=None, headers=None, raw=None):
        self.status = status
        self.body = body
        self.headers = dict(headers or {})
        self.raw = raw  # bytes instead of JSON

    def payload(self):
        if self.raw is not None:
            return self.raw
        if self.body is None:
            return b""
        return json.dumps(self.body, separators=(",", ":")).encode("utf-8")


class FaultRule:
    FIELDS = {"method", "path_regex", "status", "retry_after", "count", "every", "skip", "delay_ms", "body",
              "reset_connection", "code", "message", "headers", "where", "delay_after_ms"}

    def __init__(self, spec):
        unknown = set(spec) - self.FIELDS
        if unknown:
            raise ValueError("unknown rule fields: %s" % ", ".join(sorted(unknown)))
        self.spec = dict(spec)
        self.method = spec.get("method")
        self.regex = re.compile(spec.get("path_regex", ""))
        self.status = spec.get("status")
        self.retry_after = spec.get("retry_after")
        self.count = int(spec.get("count", 1))
        self.every = int(spec.get("every", 1))
        self.skip = int(spec.get("skip", 0))
        self.delay_ms = int(spec.get("delay_ms", 0))
        # delay_after_ms: the request is carried out first (a POST creates its object), then the reply waits, so a
        # client whose timeout is shorter gives up on a request that succeeded (a replay would meet the object)
        self.delay_after_ms = int(spec.get("delay_after_ms", 0))
        self.body = spec.get("body")
        self.reset = bool(spec.get("reset_connection", False))
        self.where = spec.get("where", "any")
        if self.body not in (None, "truncated", "malformed", "empty"):
            raise ValueError("body must be truncated, malformed or empty")
        if self.where not in ("any", "request", "batch_part"):
            raise ValueError("where must be any, request or batch_part")
        if self.every < 1:
            raise ValueError("every must be at least 1")
        self.matched = 0
        self.fired = 0

    def try_fire(self, method, target, where):
        if self.count >= 0 and self.fired >= self.count:
            return False
        if self.where != "any" and self.where != where:
            return False
        if self.method and self.method.upper() != method:
            return False
        if not self.regex.search(target):
            return False
        self.matched += 1
        if self.matched <= self.skip or (self.matched - self.skip) % self.every:
            return False
        self.fired += 1
        return True

    def describe(self):
        return dict(self.spec, matched=self.matched, fired=self.fired)


# ---- control API ----------------------------------------------------------------------------------------------


class ControlAPI:
    """The /_fake/ endpoints of Fake: faults, settings, mutations, delta expiry, the log and the state."""

    def control(self, req):
        def ok(body=None, status=200):
            return Reply(status, body if body is not None else {"ok": True})

        path = req.path.rstrip("/")
        try:
            body = req.json() if req.method in ("POST", "PUT") and req.body else {}
        except GraphError as e:
            return self.error_reply(e, req)
        t = self.t
        try:
            with self.lock:
                if path == "/_fake/health" and req.method == "GET":
                    return ok()
                if path == "/_fake/faults":
                    if req.method == "GET":
                        return ok({"rules": [r.describe() for r in self.rules],
                                   "throttle_percentage": t.settings["throttle_percentage"]})
                    if req.method == "DELETE":
                        self.rules = []
                        return ok()
                    if req.method == "POST":
                        new = [FaultRule(r) for r in body.get("rules", [])]
                        if body.get("clear"):
                            self.rules = []
                        self.rules.extend(new)
                        if "token_lifetime" in body:
                            t.settings["token_lifetime"] = int(body["token_lifetime"])
                        if body.get("expire_all_tokens"):
                            for tok in t.tokens.values():
                                tok["expires"] = 0
                        if "throttle_percentage" in body:
                            v = body["throttle_percentage"]
                            t.settings["throttle_percentage"] = None if v is None else str(v)
                        return ok({"ok": True, "rules": len(self.rules)})
                if path == "/_fake/config" and req.method == "POST":
                    for k, v in body.items():
                        if k not in t.settings:
                            raise ValueError("unknown setting %s" % k)
                        t.settings[k] = v
                    return ok({"ok": True, "settings": t.settings})
                if path == "/_fake/mutate" and req.method == "POST":
                    changes = body if isinstance(body, list) else body.get("changes", [])
                    for i, c in enumerate(changes):
                        try:
                            self.mutate(c)
                        except GraphError as e:
                            raise ValueError("change %d (%s): %s" % (i, c.get("op"), e.message))
                    return ok({"ok": True, "seq": t.seq})
                if path == "/_fake/delta/expire" and req.method == "POST":
                    status = int(body.get("status", 410))
                    code = body.get("code", "syncStateNotFound")
                    kind = body.get("kind")
                    scope = body.get("scope", "delta")
                    if scope not in ("delta", "paging", "all"):
                        raise ValueError("scope must be delta, paging or all")
                    n = 0
                    if scope in ("delta", "all"):
                        for st in list(t.delta_tokens.values()) + list(t.delta_sessions.values()):
                            if kind is None or COLLECTION_TYPE.get(kind) == st["type"]:
                                st["expired"] = (status, code)
                                n += 1
                    if scope in ("paging", "all"):
                        t.paging_expired = (t.paging_serial + 1, status, code)
                        t.paging_serial += 1
                    return ok({"ok": True, "expired": n})
                if path == "/_fake/sync/run" and req.method == "POST":
                    return ok({"ok": True, "jobs": self.sync_run(body)})
                if path == "/_fake/sync/config" and req.method == "POST":
                    n = 0
                    for sp in t.coll["servicePrincipal"].values():
                        for j in sp["_jobs"].values():
                            if (body.get("servicePrincipal") in (None, sp["id"]) and
                                    body.get("job") in (None, j["id"]) and j["templateId"] == GROUP_JOB_TEMPLATE):
                                try:
                                    t.set_job(j, body.get("settings") or {})
                                except TenantError as e:
                                    raise ValueError(str(e))
                                n += 1
                    if not n:
                        raise ValueError("no %s job matches" % GROUP_JOB_TEMPLATE)
                    return ok({"ok": True, "jobs": n})
                if path == "/_fake/stats" and req.method == "GET":
                    return ok(self.stats_report())
                if path == "/_fake/stats/reset" and req.method == "POST":
                    self.stats_reset()
                    return ok()
                if path == "/_fake/log" and req.method == "GET":
                    since = int(req.query.get("since", "0"))
                    return ok({"value": [e for e in self.log if e["n"] > since]})
                if path == "/_fake/log/clear" and req.method == "POST":
                    self.log = []
                    return ok()
                if path == "/_fake/state" and req.method == "GET":
                    oid = req.query.get("id")
                    if oid:
                        o = t.objects.get(oid) or t.deleted.get(oid)
                        if o is None:
                            return Reply(404, {"error": "no object %s" % oid})
                        return ok(dict(t.export_object(o), **{"@odata.type": ODATA_TYPE[o["_type"]],
                                                              "deleted": oid in t.deleted}))
                    return ok(t.export())
        except (ValueError, TypeError, KeyError, AttributeError, re.error) as e:
            return Reply(400, {"error": "bad control request: %s" % e})
        return Reply(404, {"error": "no control endpoint %s %s" % (req.method, path)})


    def mutate(self, c):
        t = self.t
        op = c.get("op")
        kinds = {"group": "group", "user": "user", "device": "device", "contact": "orgContact"}
        if op in ("add_members", "remove_members"):
            g = t.objects.get(c.get("group"))
            if g is None or g["_type"] != "group":
                raise GraphError(404, "Request_ResourceNotFound", "no group %s" % c.get("group"))
            for m in c.get("members", []):
                (t.add_member if op == "add_members" else t.remove_member)(g, m)
        elif op and op.startswith("create_") and op[7:] in kinds:
            missing = [m for m in (c.get("object") or {}).get("members", []) if m not in t.objects]
            if missing:
                raise GraphError(404, "Request_ResourceNotFound", "unknown members %s" % ", ".join(missing))
            try:
                t.add_object(kinds[op[7:]], c.get("object") or {})
            except TenantError as e:
                raise GraphError(400, "BadRequest", str(e))
        elif op in ("update_group", "update_user", "update_object"):
            o = t.objects.get(c.get("id"))
            if o is None:
                raise GraphError(404, "Request_ResourceNotFound", "no object %s" % c.get("id"))
            s = dict(c.get("set") or {})
            if "onPremisesSyncBehavior" in s and o["_type"] == "group":
                o["_cloud_managed"] = bool((s.pop("onPremisesSyncBehavior") or {}).get("isCloudManaged"))
            if s:
                t.update(o, s)
            else:
                t.log_change(o["_type"], o["id"], "props", {"onPremisesSyncBehavior"})
        elif op in ("soft_delete_group", "soft_delete_user", "soft_delete_object"):
            t.delete(c.get("id"), hard=False)
        elif op in ("hard_delete_group", "hard_delete_user", "delete_object"):
            t.delete(c.get("id"), hard=True)
        elif op in ("restore_group", "restore_user", "restore_object"):
            t.restore(c.get("id"))
        else:
            raise GraphError(400, "BadRequest", "unknown op %s" % op)


class Fake(ControlAPI):
    """The whole fake: tenant, faults, log, and the request router."""

    def __init__(self, tenant):
        self.t = tenant
        self.lock = threading.RLock()
        self.rules = []
        self.log = []
        self.log_n = 0
        self.base_url = None  # https://127.0.0.1:PORT, set once listening
        self.routes = []
        self._build_routes()
        self.stats_lock = threading.Lock()
        self.stats_reset()

    # -- statistics and the resource-unit budget --

    def stats_reset(self):
        with self.stats_lock:
            self.stats = {"in_flight": 0, "peak_in_flight": 0, "requests": 0, "throttled_429": 0,
                          "units": 0, "windows": []}

    def stats_report(self):
        with self.stats_lock:
            st = dict(self.stats)
            st["windows"] = [dict(w) for w in self.stats["windows"]]
        st["ru_budget"] = self.t.settings["ru_budget"]
        st["ru_window_seconds"] = self.t.settings["ru_window_seconds"]
        return st

    def enter(self):
        with self.stats_lock:
            self.stats["in_flight"] += 1
            self.stats["requests"] += 1
            self.stats["peak_in_flight"] = max(self.stats["peak_in_flight"], self.stats["in_flight"])

    def leave(self):
        with self.stats_lock:
            self.stats["in_flight"] -= 1

    def charge(self, units=1):
        """Spends units of the directory read budget (ru_budget per ru_window_seconds; tumbling windows). Returns
        (None, percentage or None) when spent, or (Retry-After seconds, None) when the window's budget is used up:
        the call is then refused with 429 and costs nothing (graph-docs concepts/throttling.md and
        throttling-limits.md: identity and access limits are resource units per 10 s per app and tenant;
        x-ms-throttle-limit-percentage "Returned only when the application consumed more than 0.8 of its limit")."""
        budget = self.t.settings["ru_budget"]
        with self.stats_lock:
            now = time.monotonic()
            size = max(0.1, float(self.t.settings["ru_window_seconds"]))
            wins = self.stats["windows"]
            if not wins or now >= wins[-1]["_end"]:
                start = now if not wins else wins[-1]["_end"] + size * int((now - wins[-1]["_end"]) // size)
                wins.append({"start": time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(time.time() - (now - start)))
                             + "Z", "units": 0, "throttled": 0, "_end": start + size})
                del wins[:-1000]
            w = wins[-1]
            if budget is not None and w["units"] + units > int(budget):
                w["throttled"] += 1
                self.stats["throttled_429"] += 1
                return max(1, int(w["_end"] - now + 0.999)), None
            w["units"] += units
            self.stats["units"] += units
            if budget is not None and int(budget) > 0 and w["units"] / float(budget) > 0.8:
                return None, "%.2f" % (w["units"] / float(budget))
            return None, None

    def throttled_reply(self, req, retry_after):
        """Graph's 429 for a spent resource-unit window: Retry-After, x-ms-throttle-scope and
        x-ms-throttle-information ResourceUnitLimitExceeded (throttling-limits.md, "Identity and access service
        limits"), and the TooManyRequests error body (throttling.md)."""
        return self.error_reply(GraphError(429, "TooManyRequests", "Too many requests, please retry after the time "
                                           "given in Retry-After.", {
                                               "Retry-After": str(retry_after),
                                               "x-ms-throttle-scope": "Tenant_Application/ReadWrite/%s/%s" % (
                                                   GRAPH_APP_ID, self.t.tenant_id),
                                               "x-ms-throttle-information": "ResourceUnitLimitExceeded"}), req)

    # -- faults --

    def pick_fault(self, method, target, where):
        with self.lock:
            for r in self.rules:
                if r.try_fire(method, target, where):
                    return r
        return None

    def fault_reply(self, rule, req, token_endpoint=False):
        status = rule.status
        headers = dict(rule.spec.get("headers") or {})
        if rule.retry_after is not None:
            headers["Retry-After"] = str(rule.retry_after)
        if status == 429:
            headers.setdefault("x-ms-throttle-scope", "Tenant_Application/ReadWrite/%s/%s" % (
                GRAPH_APP_ID, self.t.tenant_id))
            headers.setdefault("x-ms-throttle-information", "ResourceUnitLimitExceeded")
        code, message = default_code(status)
        code = rule.spec.get("code", code)
        message = rule.spec.get("message", message)
        if token_endpoint:
            error = rule.spec.get("code", "temporarily_unavailable" if status >= 429 else "invalid_request")
            return Reply(status, self.aad_error_body(AadError(status, error, 90033, message)), headers)
        return self.error_reply(GraphError(status, code, message, headers), req)

    # -- bodies --

    def error_body(self, e, req):
        return {"error": {"code": e.code, "message": e.message, "innerError": {
            "date": utc_now_iso(), "request-id": req.request_id, "client-request-id": req.client_request_id}}}

    def error_reply(self, e, req):
        return Reply(e.status, self.error_body(e, req), e.headers)

    def aad_error_body(self, e):
        return {"error": e.error, "error_description": "AADSTS%d: %s Trace ID: %s Correlation ID: %s Timestamp: %s"
                % (e.aadsts, e.description, new_guid(), new_guid(), time.strftime("%Y-%m-%d %H:%M:%SZ", time.gmtime())),
                "error_codes": [e.aadsts], "timestamp": time.strftime("%Y-%m-%d %H:%M:%SZ", time.gmtime()),
                "trace_id": new_guid(), "correlation_id": new_guid()}

    def add_log(self, entry):
        with self.lock:
            self.log_n += 1
            entry["n"] = self.log_n
            self.log.append(entry)

    # -- entry point for one HTTP request or one $batch part --

    def handle(self, req, where="request", auth_done=False):
        """Returns a Reply (or raises nothing). Faults for whole requests are applied by the HTTP layer."""
        try:
            if req.path.startswith("/_fake/"):
                return self.control(req)
            m = re.match(r"^/([^/]+)/oauth2/v2\.0/token/?$", req.path)
            if m:
                return self.token_endpoint(req, m.group(1))
            m = re.match(r"^/(v1\.0|beta)(/.*)?$", req.path)
            if not m:
                seg = req.path.strip("/").split("/")[0]
                raise GraphError(404, "Request_ResourceNotFound",
                                 "Invalid version: '%s'. Use v1.0 or beta." % seg if seg else "Resource not found.")
            if not auth_done:
                self.authenticate(req)
            with self.lock:
                return self.dispatch(req, m.group(1), m.group(2) or "/")
        except GraphError as e:
            return self.error_reply(e, req)
        except Exception as e:  # a bug of the fake: say so in the reply and in fake.log rather than hang up
            traceback.print_exc()
            return self.error_reply(GraphError(500, "generalException", "graph_fake.py failed on %s %s: %r"
                                               % (req.method, req.target, e)), req)

    # -- authentication --

    def authenticate(self, req):
        auth = req.headers.get("authorization", "")
        www = {"WWW-Authenticate": 'Bearer realm="", authorization_uri="%s/common/oauth2/authorize", client_id="%s"'
               % (self.base_url, GRAPH_APP_ID)}
        if not auth.lower().startswith("bearer ") or not auth[7:].strip():
            raise GraphError(401, "InvalidAuthenticationToken", "Access token is empty.", www)
        with self.lock:
            tok = self.t.tokens.get(auth[7:].strip())
        if tok is None:
            raise GraphError(401, "InvalidAuthenticationToken", "Access token validation failure. Invalid audience.",
                             www)
        if time.time() >= tok["expires"]:
            raise GraphError(401, "InvalidAuthenticationToken", "Lifetime validation failed, the token is expired.",
                             www)
        req.client_id = tok["client_id"]
        req.roles = set(tok["roles"])

    def authorize(self, req, path):
        """With enforce_permissions, refuses a call whose documented permissions the token's roles all miss, with
        Graph's 403 Authorization_RequestDenied (see PERMISSIONS)."""
        if not self.t.settings["enforce_permissions"]:
            return
        roles = getattr(req, "roles", set())
        denied = GraphError(403, "Authorization_RequestDenied", "Insufficient privileges to complete the operation.")
        m = re.match(r"^/directory/deletedItems/([^/]+)/?$", path)
        if m and req.method == "GET":
            otype = self.t.types.get(m.group(1))
            alts = DELETED_ITEM_PERMISSIONS.get(otype, _alts("Directory.Read.All", "Directory.ReadWrite.All"))
            if not any(a <= roles for a in alts):
                raise denied
            return
        for method, rx, alts, owned in PERMISSIONS:
            mm = rx.match(path)
            if not mm or method != req.method:
                continue
            ok = [a for a in alts if a <= roles]
            if not ok:
                raise denied
            if owned and all("Application.ReadWrite.OwnedBy" in a for a in ok):
                target = self.t.objects.get(mm.group(owned))
                if target is not None and req.client_id not in target["_owners"]:
                    raise denied
            return

    def token_endpoint(self, req, tenant):
        try:
            if req.method != "POST":
                raise AadError(405, "invalid_request", 900561, "The endpoint only accepts POST requests.")
            if tenant.lower() != self.t.tenant_id.lower() and tenant.lower() not in self.t.domains:
                raise AadError(400, "invalid_request", 90002, "Tenant '%s' not found. Check to make sure you have "
                               "the correct tenant ID and are signing into the correct cloud." % tenant)
            ctype = req.headers.get("content-type", "")
            if "application/x-www-form-urlencoded" not in ctype:
                raise AadError(400, "invalid_request", 900144, "The request body must contain the following "
                               "parameter: 'grant_type'.")
            try:
                form = dict(urllib.parse.parse_qsl(req.body.decode("utf-8"), keep_blank_values=True))
            except UnicodeDecodeError:
                raise AadError(400, "invalid_request", 900144, "The request body is not valid form data.")
            auth = req.headers.get("authorization", "")
            if auth.lower().startswith("basic "):
                try:
                    user, _, pw = base64.b64decode(auth[6:].strip()).decode("utf-8").partition(":")
                except (ValueError, UnicodeDecodeError):
                    raise AadError(401, "invalid_client", 7000215, "Invalid client secret provided.")
                form.setdefault("client_id", urllib.parse.unquote_plus(user))
                form.setdefault("client_secret", urllib.parse.unquote_plus(pw))
            if form.get("grant_type") != "client_credentials":
                raise AadError(400, "unsupported_grant_type", 70003, "The app requested an unsupported grant type "
                               "'%s'." % form.get("grant_type", ""))
            cid = form.get("client_id", "")
            client = self.t.clients.get(cid)
            if client is None:
                raise AadError(400, "unauthorized_client", 700016, "Application with identifier '%s' was not found "
                               "in the directory '%s'." % (cid, self.t.tenant_id))
            scopes = [b + "/.default" for b in self.bases(req)]
            if form.get("scope") not in scopes:
                raise AadError(400, "invalid_scope", 70011, "The provided value for the input parameter 'scope' is "
                               "not valid. The scope %s is not valid." % form.get("scope", ""))
            if "client_secret" in form:
                if not client["secret"] or not secrets.compare_digest(form["client_secret"].encode(),
                                                                      client["secret"].encode()):
                    raise AadError(401, "invalid_client", 7000215, "Invalid client secret provided. Ensure the "
                                   "secret being sent in the request is the client secret value, not the client "
                                   "secret ID, for a secret added to app '%s'." % cid)
            elif "client_assertion" in form:
                if form.get("client_assertion_type") != "urn:ietf:params:oauth:client-assertion-type:jwt-bearer":
                    raise AadError(400, "invalid_request", 70002, "The client_assertion_type is not supported.")
                self.check_assertion(client, form["client_assertion"], req, tenant)
            else:
                raise AadError(401, "invalid_client", 7000218, "The request body must contain the following "
                               "parameter: 'client_assertion' or 'client_secret'.")
            with self.lock:
                life = self.t.settings["token_lifetime"]
                now = time.time()
                # JWT-shaped, as Entra issues app-only tokens: clients may read the roles (application permissions)
                # granted; the signature is random (only the issuer checks it, here by looking the token up).
                claims = {"aud": self.base_url, "iss": "https://sts.fake/%s/" % self.t.tenant_id,
                          "tid": self.t.tenant_id, "appid": cid, "roles": client["roles"],
                          "iat": int(now), "nbf": int(now), "exp": int(now + life), "uti": b64url(os.urandom(9))}
                if self.t.settings["opaque_tokens"]:
                    # "Tokens that a Microsoft API receives might not always be a JWT that can be decoded"
                    # (entra-docs docs/identity-platform/access-tokens.md): one opaque string, no dots.
                    token = "EwB" + b64url(os.urandom(96))
                else:
                    token = ".".join([b64url(json.dumps({"typ": "JWT", "alg": "RS256"}).encode()),
                                      b64url(json.dumps(claims).encode()), b64url(os.urandom(32))])
                self.t.tokens = {k: v for k, v in self.t.tokens.items() if v["expires"] > now - 3600}
                self.t.tokens[token] = {"client_id": cid, "expires": now + life, "roles": list(client["roles"])}
            return Reply(200, {"token_type": "Bearer", "expires_in": life, "ext_expires_in": life,
                               "access_token": token}, {"Content-Type": "application/json; charset=utf-8"})
        except AadError as e:
            return Reply(e.status, self.aad_error_body(e), {"Content-Type": "application/json; charset=utf-8"})

    def bases(self, req):
        """The fake's base URL, also as the client named it in its Host header (https://localhost:PORT)."""
        out = [self.base_url]
        host = req.headers.get("host")
        if host and "https://" + host != self.base_url:
            out.append("https://" + host)
        return out

    def check_assertion(self, client, jwt, req, tenant):
        def bad(code, text):
            raise AadError(401 if code != 50027 else 400, "invalid_client" if code != 50027 else "invalid_request",
                           code, text)
        parts = jwt.split(".")
        if len(parts) != 3:
            bad(50027, "JWT token is invalid or malformed.")
        try:
            header = json.loads(b64url_decode(parts[0]))
            claims = json.loads(b64url_decode(parts[1]))
            sig = b64url_decode(parts[2])
        except ValueError:
            bad(50027, "JWT token is invalid or malformed.")
        if not isinstance(header, dict) or not isinstance(claims, dict):
            bad(50027, "JWT token is invalid or malformed.")
        alg = header.get("alg")
        if alg == "RS256":
            thumb, attr = header.get("x5t"), "x5t"
        elif alg == "PS256":
            thumb, attr = header.get("x5t#S256"), "x5t_s256"
        else:
            bad(700027, "Client assertion contains an unsupported algorithm '%s'." % alg)
        if not thumb:
            bad(700027, "Client assertion lacks the certificate thumbprint header (%s)." %
                ("x5t" if alg == "RS256" else "x5t#S256"))
        cert = next((c for c in client["certs"] if getattr(c, attr) == thumb), None)
        if cert is None:
            bad(700027, "The certificate with identifier used to sign the client assertion is not registered on "
                "application. [Reason - The key was not found., Thumbprint of key used by client: '%s']" % thumb)
        signed = (parts[0] + "." + parts[1]).encode("ascii")
        ok = verify_rs256(cert.n, cert.e, signed, sig) if alg == "RS256" else verify_ps256(cert.n, cert.e, signed, sig)
        if not ok:
            bad(700027, "Client assertion failed signature validation.")
        auds = ["%s/%s/oauth2/v2.0/token" % (b, t) for t in (tenant, self.t.tenant_id) for b in self.bases(req)]
        if claims.get("aud") not in auds:
            bad(50012, "Client assertion audience claim does not match Realm issuer.")
        cid = client["client_id"]
        if claims.get("iss") != cid or claims.get("sub") != cid:
            bad(700021, "Client assertion application identifier doesn't match 'client_id' parameter.")
        if not isinstance(claims.get("jti"), str) or not claims["jti"]:
            bad(50027, "JWT token is invalid or malformed: the jti claim is missing.")
        now = time.time()
        nbf, exp = claims.get("nbf"), claims.get("exp")
        if not isinstance(exp, (int, float)) or (nbf is not None and not isinstance(nbf, (int, float))):
            bad(50027, "JWT token is invalid or malformed: nbf and exp must be numbers.")
        if (nbf is not None and nbf > now + 300) or exp <= now - 300:
            bad(700024, "Client assertion is not within its valid time range. Current time: %s, assertion valid "
                "from %s, expiry time of assertion %s." % (int(now), nbf, exp))

    # -- routing --

    def _build_routes(self):
        G = r"(?P<id>[^/]+)"
        r = [
            ("GET", r"/(?P<coll>users|groups)/delta", self.delta),
            ("GET", r"/(?P<coll>users|groups|devices|contacts|applications|servicePrincipals)", self.list_coll),
            ("POST", r"/applications", self.create_application),
            ("POST", r"/servicePrincipals", self.create_sp),
            ("GET", r"/groups/" + G + r"/(?P<rel>members|transitiveMembers)(?:/microsoft\.graph\.(?P<cast>\w+))?",
             self.list_members),
            ("POST", r"/groups/" + G + r"/members/\$ref", self.add_member_ref),
            ("DELETE", r"/groups/" + G + r"/members/(?P<mid>[^/]+)/\$ref", self.remove_member_ref),
            ("GET", r"/groups/" + G + r"/onPremisesSyncBehavior", self.get_osb),
            ("PATCH", r"/groups/" + G + r"/onPremisesSyncBehavior", self.patch_osb),
            ("PATCH", r"/groups/" + G, self.patch_group),
            ("GET", r"/(?P<coll>users|groups|devices|contacts|applications|servicePrincipals|directoryObjects)/" + G,
             self.get_one),
            ("GET", r"/directory/onPremisesSynchronization", self.get_sync_list),
            ("GET", r"/directory/onPremisesSynchronization/" + G, self.get_sync_one),
            ("PATCH", r"/directory/onPremisesSynchronization/" + G, self.patch_sync),
            ("GET", r"/directory/deletedItems/" + G, self.get_deleted_item),
            ("GET", r"/applications/" + G + r"/extensionProperties", self.list_ext),
            ("POST", r"/applications/" + G + r"/extensionProperties", self.create_ext),
            ("GET", r"/servicePrincipals/" + G + r"/appRoleAssignedTo", self.list_assignments),
            ("POST", r"/servicePrincipals/" + G + r"/appRoleAssignedTo", self.create_assignment),
            ("DELETE", r"/servicePrincipals/" + G + r"/appRoleAssignedTo/(?P<aid>[^/]+)", self.delete_assignment),
            ("GET", r"/servicePrincipals/" + G + r"/synchronization/jobs", self.list_jobs),
            ("GET", r"/servicePrincipals/" + G + r"/synchronization/jobs/(?P<job>[^/]+)", self.get_job),
            ("GET", r"/servicePrincipals/" + G + r"/synchronization/jobs/(?P<job>[^/]+)/schema", self.get_schema),
            ("GET", r"/servicePrincipals/" + G + r"/synchronization/jobs/(?P<job>[^/]+)/schema/directories",
             self.list_directories),
            ("GET", r"/organization", self.list_org),
            ("GET", r"/organization/" + G, self.get_org),
            ("POST", r"/servicePrincipals/" + G + r"/synchronization/jobs/(?P<job>[^/]+)/provisionOnDemand",
             self.provision_on_demand),
            ("POST", r"/\$batch", self.batch),
        ]
        self.routes = [(m, re.compile("^" + p + "/?$"), h) for m, p, h in r]

    def dispatch(self, req, ver, path):
        allowed = False
        for method, rx, handler in self.routes:
            m = rx.match(path)
            if m:
                if method == req.method:
                    self.authorize(req, path.rstrip("/") or "/")
                    return handler(req, ver, **m.groupdict())
                allowed = True
        if allowed:
            raise GraphError(405, "Request_BadRequest", "Specified HTTP method is not allowed for the request "
                             "target.")
        seg = [s for s in path.split("/") if s]
        raise GraphError(404, "Request_ResourceNotFound", "Resource not found for the segment '%s'." %
                         (seg[-1] if seg else ""))

    # -- helpers for resources --

    def seen_or_404(self, o):
        v = self.t.seen(o)
        if v is None:
            raise GraphError(404, "Request_ResourceNotFound", "Resource '%s' does not exist or one of its queried "
                             "reference-property objects are not present." % o["id"])
        return v

    def obj(self, oid, otype=None):
        o = self.t.objects.get(oid)
        if o is None or (otype and o["_type"] != otype):
            if not is_guid(oid) and otype != "application":
                raise GraphError(400, "Request_BadRequest", "Invalid object identifier '%s'." % oid)
            raise GraphError(404, "Request_ResourceNotFound", "Resource '%s' does not exist or one of its queried "
                             "reference-property objects are not present." % oid)
        return o

    def known(self, otype, ver):
        k = set(KNOWN_PROPS[otype]) | self.t.extra_props[otype]
        if ver == "beta":
            k |= set(BETA_ONLY.get(otype, []))
        return k

    def parse_select(self, req, otype, ver, extra=()):
        sel = req.query.get("$select")
        if sel is None:
            return None
        props = [p.strip() for p in sel.split(",") if p.strip()]
        known = self.known(otype, ver) | set(extra)
        for p in props:
            if p not in known and not EXT_RE.match(p):
                raise GraphError(400, "BadRequest", "Could not find a property named '%s' on type "
                                 "'microsoft.graph.%s'." % (p, otype))
        return props

    def render(self, o, ver, select, with_type=False, omit_unset=False):
        """o as Graph returns it. A GET renders a selected property that has no value as null (graph-docs
        api-reference/v1.0/api/group-get.md, example responses: "onPremisesSyncEnabled": null and the like); a delta
        record (omit_unset) leaves out a property that was never set (group-delta.md, "Default: return the same
        properties as initial delta request": "If the property has never been set before it will not be included
        in the response at all") and keeps one set to null since."""
        t = o["_type"]
        props = select if select is not None else DEFAULT_PROPS[t] + (BETA_ONLY.get(t, []) if ver == "beta" else [])
        out = {}
        if with_type:
            out["@odata.type"] = ODATA_TYPE[t]
        out["id"] = o["id"]
        for p in props:
            if p == "id":
                continue
            if EXT_RE.match(p):
                key = next((k for k in o if k.lower() == p.lower()), None)
                if key is not None and o[key] is not None:
                    out[p] = o[key]
                continue
            if p not in self.known(t, ver):
                continue  # a property of another type in a polymorphic list
            if p == "writebackConfiguration" and ver != "beta":
                continue
            if omit_unset and p not in ever_set(o):
                continue
            out[p] = o.get(p)
        return out

    def page_size(self, req, default=None):
        top = req.query.get("$top")
        if top is None:
            return default or self.t.settings["page_size"]
        if not re.fullmatch(r"\d+", top) or not 1 <= int(top) <= 999:
            raise GraphError(400, "Request_UnsupportedQuery", "Invalid page size specified: '%s'. Must be between 1 "
                             "and 999 inclusive." % top)
        return int(top)

    def skip_of(self, req):
        tok = req.query.get("$skiptoken")
        if tok is None:
            return 0
        try:
            d = json.loads(b64url_decode(tok))
            off, serial = int(d["o"]), int(d.get("s", 0))
        except (ValueError, KeyError, TypeError):
            raise GraphError(400, "Request_BadRequest", "The specified page token value has expired or is invalid.")
        pe = self.t.paging_expired
        if pe is not None and serial < pe[0]:
            # an expired paging token: 400 Directory_ExpiredPageToken is what Entra is seen to send (the Graph
            # review, finding 4: community material, not a Microsoft reference page); the status and code are the
            # ones /_fake/delta/expire {"scope": "paging"} chose
            raise GraphError(pe[1], pe[2], "The specified page token value has expired and can no longer be "
                             "included in your request.")
        return off

    def next_link(self, req, offset):
        q = [(k, v) for k, v in urllib.parse.parse_qsl(req.raw_query, keep_blank_values=True)
             if k.lower() != "$skiptoken"]
        tok = b64url(json.dumps({"o": offset, "s": self.t.paging_serial, "r": secrets.token_hex(4)}).encode())
        q.append(("$skiptoken", tok))
        return self.base_url + urllib.parse.quote(req.path) + "?" + urllib.parse.urlencode(q, safe="$,()'/:")

    def page(self, req, items, render, context, default_size=None):
        size = self.page_size(req, default_size)
        start = self.skip_of(req)
        chunk = items[start:start + size]
        body = {"@odata.context": "%s/%s/$metadata#%s" % (self.base_url, req.path.split("/")[1], context)}
        if req.query.get("$count", "").lower() == "true":
            if req.headers.get("consistencylevel", "").lower() != "eventual":
                raise GraphError(400, "Request_BadRequest", "$count is only supported with the ConsistencyLevel "
                                 "header set to eventual.")
            if start == 0:
                body["@odata.count"] = len(items)
        if start + size < len(items):
            body["@odata.nextLink"] = self.next_link(req, start + size)
        body["value"] = [render(o) for o in chunk]
        return Reply(200, body)

    def apply_filter(self, req, otype, items):
        f = req.query.get("$filter")
        if f is None:
            return items
        try:
            fp = FilterParser(f)
            pred = fp.parse()
        except FilterError as e:
            raise GraphError(400, "BadRequest", "Invalid filter clause: %s." % e)
        for p in fp.props:
            if p not in self.known(otype, "beta") and not EXT_RE.match(p):
                raise GraphError(400, "BadRequest", "Could not find a property named '%s' on type "
                                 "'microsoft.graph.%s'." % (p, otype))
        if fp.advanced and (req.headers.get("consistencylevel", "").lower() != "eventual" or
                            req.query.get("$count", "").lower() != "true"):
            raise GraphError(400, "Request_UnsupportedQuery", "Unsupported or invalid query filter clause specified "
                             "for property '%s' of resource '%s'." % (sorted(fp.props)[0] if fp.props else "",
                                                                      otype[0].upper() + otype[1:]))
        return [o for o in items if pred(o)]

    # -- collections and objects --

    def list_coll(self, req, ver, coll):
        otype = COLLECTION_TYPE[coll]
        select = self.parse_select(req, otype, ver)
        items = [v for v in (self.t.seen(o) for o in self.t.coll[otype].values()) if v is not None]
        items = self.apply_filter(req, otype, items)
        order = req.query.get("$orderby")
        if order:
            m = re.fullmatch(r"\s*(\w+)(?:\s+(asc|desc))?\s*", order, re.I)
            if not m or m.group(1) not in self.known(otype, ver):
                raise GraphError(400, "Request_UnsupportedQuery", "Sorting by '%s' is not supported." % order)
            key = m.group(1)
            items.sort(key=lambda o: (o.get(key) is None, fold(o.get(key)) if o.get(key) is not None else ""),
                       reverse=(m.group(2) or "").lower() == "desc")
        return self.page(req, items, lambda o: self.render(o, ver, select), coll)

    def get_one(self, req, ver, coll, id):
        if coll == "directoryObjects":
            o = self.obj(id)
            select = self.parse_select(req, o["_type"], ver)
            return Reply(200, self.render(o, ver, select, with_type=True))
        otype = COLLECTION_TYPE[coll]
        if otype == "user" and "@" in id:  # users are addressable by userPrincipalName too
            o = next((u for u in self.t.coll["user"].values()
                      if (u.get("userPrincipalName") or "").lower() == id.lower()), None)
            if o is None:
                raise GraphError(404, "Request_ResourceNotFound", "Resource '%s' does not exist or one of its "
                                 "queried reference-property objects are not present." % id)
        else:
            o = self.obj(id, otype)
        o = self.seen_or_404(o)
        select = self.parse_select(req, otype, ver)
        body = {"@odata.context": "%s/%s/$metadata#%s/$entity" % (self.base_url, ver, coll)}
        body.update(self.render(o, ver, select))
        if otype == "application" and select is None:
            body["extensionProperties@odata.navigationLink"] = "applications/%s/extensionProperties" % id
        return Reply(200, body)

    def member_types_select(self, req, ver):
        sel = req.query.get("$select")
        if sel is None:
            return None
        props = [p.strip() for p in sel.split(",") if p.strip()]
        known = set()
        for t in TYPES:
            known |= self.known(t, ver)
        for p in props:
            if p not in known and not EXT_RE.match(p):
                raise GraphError(400, "BadRequest", "Could not find a property named '%s' on type "
                                 "'microsoft.graph.directoryObject'." % p)
        return props

    def transitive(self, g):
        seen, out, stack = {g["id"]}, [], list(reversed(g["_members"]))
        while stack:
            mid = stack.pop()
            if mid in seen:
                continue
            seen.add(mid)
            out.append(mid)
            m = self.t.objects.get(mid)
            if m is not None and m["_type"] == "group":
                stack.extend(reversed(m["_members"]))
        return out

    def list_members(self, req, ver, id, rel, cast=None):
        g = self.seen_or_404(self.obj(id, "group"))
        if cast and cast not in ("user", "group", "device", "orgContact", "servicePrincipal"):
            raise GraphError(400, "BadRequest", "Type 'microsoft.graph.%s' is not a valid cast." % cast)
        select = self.member_types_select(req, ver)
        ids = g["_members"] if rel == "members" else self.transitive(g)
        objs = self.t.objects
        if cast:
            ids = [i for i in ids if objs[i]["_type"] == cast]
        items = [objs[i] for i in ids]
        if req.query.get("$filter") is not None:
            items = self.apply_filter(req, cast or "user", items)
        return self.page(req, items, lambda o: self.render(o, ver, select, with_type=True), "directoryObjects")

    def ref_target(self, req):
        body = req.json()
        ref = body.get("@odata.id") if isinstance(body, dict) else None
        if not isinstance(ref, str):
            raise GraphError(400, "BadRequest", "The request body must contain @odata.id.")
        return ref.rstrip("/").split("/")[-1]

    def check_writable(self, g):
        if g.get("onPremisesSyncEnabled") is True and not g["_cloud_managed"]:
            raise GraphError(400, "Request_BadRequest", "Unable to update the specified properties for on-premises "
                             "mastered Directory Sync objects or objects currently undergoing migration.")

    def add_member_ref(self, req, ver, id):
        g = self.obj(id, "group")
        mid = self.ref_target(req)
        self.check_writable(g)
        self.t.note_write(g["id"])
        self.t.add_member(g, mid)
        return Reply(204)

    def remove_member_ref(self, req, ver, id, mid):
        g = self.obj(id, "group")
        self.check_writable(g)
        self.t.note_write(g["id"])
        self.t.remove_member(g, mid)
        return Reply(204)

    def patch_group(self, req, ver, id):
        g = self.obj(id, "group")
        body = req.json()
        if not isinstance(body, dict) or not body:
            raise GraphError(400, "BadRequest", "The request body must be a non-empty JSON object.")
        changes = {}
        for k, v in body.items():
            if k == "@odata.type":
                continue
            if EXT_RE.match(k):
                if k.lower() not in self.t.declared_ext:
                    raise GraphError(400, "Request_BadRequest", "Property '%s' does not exist as a declared "
                                     "property or extension property." % k)
                if v is not None and not isinstance(v, (str, bool, int)):
                    raise GraphError(400, "Request_BadRequest", "Invalid value for property '%s'." % k)
                # "String - 256 characters maximum" (graph-docs api-reference/v1.0/resources/extensionproperty.md,
                # dataType); the exact text of Graph's refusal is not documented
                ext = self.ext_def(k)
                if ext is not None and ext["dataType"] == "String" and isinstance(v, str) and len(v) > 256:
                    raise GraphError(400, "Request_BadRequest", "The value of extension property '%s' is %d "
                                     "characters long; a String extension value may hold at most 256." % (k, len(v)))
                key = next((x for x in g if x.lower() == k.lower()), k)
                changes[key] = v
            elif k == "writebackConfiguration":
                if ver != "beta":
                    raise GraphError(400, "BadRequest", "Could not find a property named 'writebackConfiguration' "
                                     "on type 'microsoft.graph.group'.")
                if not isinstance(v, dict) or set(v) - {"isEnabled", "onPremisesGroupType", "@odata.type"}:
                    raise GraphError(400, "BadRequest", "Invalid writebackConfiguration.")
                wb = dict(g.get("writebackConfiguration") or {})
                if "isEnabled" in v:
                    if v["isEnabled"] is not None and not isinstance(v["isEnabled"], bool):
                        raise GraphError(400, "BadRequest", "isEnabled must be a boolean.")
                    wb["isEnabled"] = v["isEnabled"]
                if "onPremisesGroupType" in v:
                    t = v["onPremisesGroupType"]
                    if t is not None and t not in GROUP_TYPES_WB:
                        raise GraphError(400, "Request_BadRequest", "Invalid value '%s' for onPremisesGroupType." % t)
                    if t not in (None, "universalSecurityGroup") and "Unified" not in g.get("groupTypes", []):
                        raise GraphError(400, "Request_BadRequest", "Security groups can only be written back as "
                                         "universalSecurityGroup.")
                    wb["onPremisesGroupType"] = t
                changes["writebackConfiguration"] = wb
            elif k in ("displayName", "description", "mailNickname", "visibility", "classification"):
                self.check_writable(g)
                if k == "displayName" and (not isinstance(v, str) or not v):
                    raise GraphError(400, "Request_BadRequest", "Invalid value specified for property 'displayName'.")
                changes[k] = v
            elif k in KNOWN_PROPS["group"] or k in self.t.extra_props["group"]:
                raise GraphError(400, "Request_BadRequest", "Property '%s' is read-only and cannot be set." % k)
            else:
                raise GraphError(400, "BadRequest", "Could not find a property named '%s' on type "
                                 "'microsoft.graph.group'." % k)
        if changes:
            self.t.note_write(g["id"])
            self.t.update(g, changes)
        return Reply(204)

    def ext_def(self, name):
        for a in self.t.coll["application"].values():
            for e in a["_ext"]:
                if e["name"].lower() == name.lower():
                    return e
        return None

    # -- onPremisesSyncBehavior --

    def osb(self, g):
        return {"@odata.type": "#microsoft.graph.onPremisesSyncBehavior", "id": g["id"],
                "isCloudManaged": g["_cloud_managed"]}

    def get_osb(self, req, ver, id):
        g = self.seen_or_404(self.obj(id, "group"))
        o = self.osb(g)
        shape = self.t.settings["sync_behavior_shape"]
        if shape == "plain":
            body = dict({"@odata.context": "%s/%s/$metadata#groups('%s')/onPremisesSyncBehavior/$entity"
                         % (self.base_url, ver, id)}, **o)
        elif shape == "value_array":
            body = {"value": [o]}
        else:
            body = {"value": o}
        return Reply(200, body)

    def patch_osb(self, req, ver, id):
        g = self.obj(id, "group")
        body = req.json()
        if not isinstance(body, dict) or "isCloudManaged" not in body:
            raise GraphError(400, "BadRequest", "The request body must set isCloudManaged.")
        v = body["isCloudManaged"]
        if isinstance(v, str) and v.lower() in ("true", "false"):
            v = v.lower() == "true"
        if not isinstance(v, bool) or set(body) - {"isCloudManaged", "@odata.type"}:
            raise GraphError(400, "BadRequest", "Cannot convert the literal '%s' to the expected type 'Edm.Boolean'."
                             % body.get("isCloudManaged"))
        changed = set()
        if v != g["_cloud_managed"]:
            self.t.note_write(g["id"])
            g["_cloud_managed"] = v
            # Source of authority table (SOA-CFG): converting a synced group gives onPremisesSyncEnabled null;
            # rolling back leaves it null until the sync client takes the object over.
            if v and g.get("onPremisesSyncEnabled") is not None:
                ever_set(g)  # it was set: delta keeps reporting it, now as null
                g["onPremisesSyncEnabled"] = None
                changed.add("onPremisesSyncEnabled")
            self.t.log_change("group", id, "props", changed | {"onPremisesSyncBehavior"})
        if self.t.settings["sync_behavior_patch_reply"] == "no_content":
            return Reply(204)
        return Reply(200, self.osb(g))

    # -- directory/deletedItems: soft-deleted objects stay here until restored or deleted for good --

    def get_deleted_item(self, req, ver, id):
        o = self.t.deleted.get(id)
        if o is None:
            o = next((v for k, v in self.t.deleted.items() if k.lower() == id.lower()), None)
        if o is None:
            raise GraphError(404, "Request_ResourceNotFound", "Resource '%s' does not exist or one of its queried "
                             "reference-property objects are not present." % id)
        body = {"@odata.context": "%s/%s/$metadata#directoryObjects/$entity" % (self.base_url, ver)}
        body.update(self.render(o, ver, None, with_type=True))
        return Reply(200, body)

    # -- directory/onPremisesSynchronization --

    def sync_obj(self, ver):
        s = self.t.sync
        return {"id": s["id"], "configuration": s["configuration"], "features": s["features"]}

    def get_sync_list(self, req, ver):
        value = [self.sync_obj(ver)] if self.t.sync else []
        return Reply(200, {"@odata.context": "%s/%s/$metadata#directory/onPremisesSynchronization"
                           % (self.base_url, ver), "value": value})

    def get_sync_one(self, req, ver, id):
        if not self.t.sync or id.lower() != self.t.tenant_id.lower():
            raise GraphError(404, "Request_ResourceNotFound", "Resource '%s' does not exist." % id)
        return Reply(200, self.sync_obj(ver))

    def patch_sync(self, req, ver, id):
        if not self.t.sync or id.lower() != self.t.tenant_id.lower():
            raise GraphError(404, "Request_ResourceNotFound", "Resource '%s' does not exist." % id)
        body = req.json()
        if not isinstance(body, dict) or set(body) - {"features", "configuration", "@odata.type"}:
            raise GraphError(400, "BadRequest", "Only features and configuration can be updated.")
        feats = body.get("features") or {}
        for k, v in feats.items():
            if k not in SYNC_FEATURES:
                raise GraphError(400, "BadRequest", "Could not find a property named '%s' on type "
                                 "'microsoft.graph.onPremisesDirectorySynchronizationFeature'." % k)
            if not isinstance(v, bool):
                raise GraphError(400, "BadRequest", "Feature '%s' must be a boolean." % k)
            if k == "passwordWritebackEnabled":
                raise GraphError(400, "Request_BadRequest", "Updating passwordWritebackEnabled is not supported.")
        self.t.sync["features"].update(feats)
        self.t.sync["configuration"].update(body.get("configuration") or {})
        return Reply(204)

    # -- applications, service principals --

    def create_application(self, req, ver):
        body = req.json()
        if not isinstance(body, dict) or not isinstance(body.get("displayName"), str) or not body["displayName"]:
            raise GraphError(400, "Request_BadRequest", "Property 'displayName' is required.")
        uris = body.get("identifierUris", [])
        if not isinstance(uris, list) or not all(isinstance(u, str) for u in uris):
            raise GraphError(400, "Request_BadRequest", "identifierUris must be a list of strings.")
        for a in self.t.coll["application"].values():
            if {u.lower() for u in a["identifierUris"]} & {u.lower() for u in uris}:
                raise GraphError(400, "Request_BadRequest", "Another object with the same value for property "
                                 "identifierUris already exists.")
        allowed = set(KNOWN_PROPS["application"]) - {"id", "appId", "createdDateTime"}
        extra = set(body) - allowed - {"@odata.type"}
        if extra:
            raise GraphError(400, "BadRequest", "Could not find a property named '%s' on type "
                             "'microsoft.graph.application'." % sorted(extra)[0])
        src = {k: v for k, v in body.items() if k in allowed}
        src.setdefault("signInAudience", "AzureADMyOrg")
        src["publisherDomain"] = (self.t.domains or ["test.example"])[0]
        src["owners"] = [req.client_id] if getattr(req, "client_id", None) else []
        a = self.t.add_object("application", src)
        self.t.note_write(a["id"], created=True)
        out = {"@odata.context": "%s/%s/$metadata#applications/$entity" % (self.base_url, ver)}
        out.update(self.render(a, ver, None))
        return Reply(201, out, {"Location": "%s/%s/applications/%s" % (self.base_url, ver, a["id"])})

    def create_sp(self, req, ver):
        body = req.json()
        app_id = body.get("appId") if isinstance(body, dict) else None
        if not isinstance(app_id, str):
            raise GraphError(400, "Request_BadRequest", "Property 'appId' is required.")
        app = next((a for a in self.t.coll["application"].values() if a["appId"].lower() == app_id.lower()), None)
        if app is None:
            raise GraphError(400, "Request_BadRequest", "The appId '%s' of the service principal does not reference "
                             "a valid application object." % app_id)
        if any(s["appId"].lower() == app_id.lower() for s in self.t.coll["servicePrincipal"].values()):
            raise GraphError(409, "Request_MultipleObjectsWithSameKeyValue", "The service principal cannot be "
                             "created, updated, or restored because the service principal name %s is already in "
                             "use." % app_id)
        sp = self.t.add_object("servicePrincipal", {"appId": app["appId"], "displayName": app.get("displayName"),
                                                    "appDisplayName": app.get("displayName"),
                                                    "servicePrincipalType": "Application", "accountEnabled": True,
                                                    "servicePrincipalNames": [app["appId"]] + app["identifierUris"],
                                                    "owners": sorted(app["_owners"])})
        self.t.note_write(sp["id"], created=True)
        out = {"@odata.context": "%s/%s/$metadata#servicePrincipals/$entity" % (self.base_url, ver)}
        out.update(self.render(sp, ver, None))
        return Reply(201, out)

    def list_ext(self, req, ver, id):
        a = self.seen_or_404(self.obj(id, "application"))
        return self.page(req, a["_ext"], lambda e: e, "applications('%s')/extensionProperties" % id)

    def create_ext(self, req, ver, id):
        a = self.obj(id, "application")
        body = req.json()
        if not isinstance(body, dict) or not isinstance(body.get("name"), str) or \
                not re.fullmatch(r"[A-Za-z][A-Za-z0-9_]{0,119}", body["name"]):
            raise GraphError(400, "Request_BadRequest", "Property 'name' is required and must be alphanumeric.")
        dt = body.get("dataType")
        if dt not in ("Binary", "Boolean", "DateTime", "Integer", "LargeInteger", "String"):
            raise GraphError(400, "Request_BadRequest", "Invalid value '%s' for property 'dataType'." % dt)
        targets = body.get("targetObjects")
        valid = {"User", "Group", "AdministrativeUnit", "Application", "Device", "Organization"}
        if not isinstance(targets, list) or not targets or not set(targets) <= valid:
            raise GraphError(400, "Request_BadRequest", "Invalid value for property 'targetObjects'.")
        full = "extension_%s_%s" % (a["appId"].replace("-", "").lower(), body["name"])
        if any(e["name"].lower() == full.lower() for e in a["_ext"]):
            raise GraphError(400, "Request_BadRequest", "An extension property exists with the name %s." % full)
        self.t.note_write(a["id"])
        e = self.t._add_extension(a, {"name": body["name"], "dataType": dt, "targetObjects": targets,
                                      "isMultiValued": body.get("isMultiValued", False)})
        return Reply(201, dict({"@odata.context": "%s/%s/$metadata#applications('%s')/extensionProperties/$entity"
                                % (self.base_url, ver, id)}, **e))

    def list_assignments(self, req, ver, id):
        sp = self.seen_or_404(self.obj(id, "servicePrincipal"))
        return self.page(req, sp["_assignments"], lambda a: a, "servicePrincipals('%s')/appRoleAssignedTo" % id)

    def create_assignment(self, req, ver, id):
        sp = self.obj(id, "servicePrincipal")
        body = req.json()
        if not isinstance(body, dict) or not all(isinstance(body.get(k), str) for k in
                                                 ("principalId", "resourceId", "appRoleId")):
            raise GraphError(400, "Request_BadRequest", "principalId, resourceId and appRoleId are required.")
        if body["resourceId"].lower() != id.lower():
            raise GraphError(400, "Request_BadRequest", "The resourceId must be the service principal of the URL.")
        # the default role 00000000-... only when the resource declares no app roles (graph-docs
        # api-reference/v1.0/resources/approleassignment.md, appRoleId)
        roles = {r.get("id", "").lower() for r in sp.get("appRoles", [])} or {"00000000-0000-0000-0000-000000000000"}
        if body["appRoleId"].lower() not in roles:
            raise GraphError(400, "Request_BadRequest", "Permission being assigned was not found on application "
                             "'%s'." % sp["appId"])
        if body["principalId"] not in self.t.objects:
            raise GraphError(404, "Request_ResourceNotFound", "Resource '%s' does not exist or one of its queried "
                             "reference-property objects are not present." % body["principalId"])
        for a in sp["_assignments"]:
            if a["principalId"] == body["principalId"] and a["appRoleId"].lower() == body["appRoleId"].lower():
                raise GraphError(400, "Request_BadRequest", "Permission being assigned already exists on the object")
        a = {"principalId": body["principalId"], "appRoleId": body["appRoleId"]}
        self.t.note_write(sp["id"])
        self.t._complete_assignment(sp, a)
        sp["_assignments"].append(a)
        return Reply(201, dict({"@odata.context": "%s/%s/$metadata#servicePrincipals('%s')/appRoleAssignedTo/$entity"
                                % (self.base_url, ver, id)}, **a))

    def delete_assignment(self, req, ver, id, aid):
        sp = self.obj(id, "servicePrincipal")
        for i, a in enumerate(sp["_assignments"]):
            if a["id"] == aid:
                self.t.note_write(sp["id"])
                del sp["_assignments"][i]
                return Reply(204)
        raise GraphError(404, "Request_ResourceNotFound", "Resource '%s' does not exist." % aid)

    # -- the synchronization API: jobs, their schema, provisionOnDemand --
    # Shapes: graph-docs api-reference/v1.0/resources/synchronization-synchronizationjob.md (id, templateId,
    # schedule, status, synchronizationJobSettings: keyValuePair collection), synchronization-synchronizationschema.md
    # and -get.md (directories, synchronizationRules), synchronization-synchronizationrule.md (id, name,
    # sourceDirectoryName, targetDirectoryName, objectMappings, metadata, editable), synchronization-objectmapping.md
    # (attributeMappings, enabled, flowTypes, name, scope, sourceObjectName, targetObjectName),
    # synchronization-attributemapping.md and -attributemappingsource.md (source {expression, name, parameters,
    # type: Attribute|Constant|Function}, targetAttributeName, flowBehavior, flowType, matchingPriority),
    # synchronization-filter.md, -filtergroup.md, -filterclause.md, -filteroperand.md (scope: groups of clauses with
    # operatorName, sourceOperandName, targetOperand {values}), synchronization-directorydefinition.md.
    # The job's settings as the Cloud Sync docs describe them (entra-docs docs/identity/hybrid/cloud-sync/
    # how-to-configure-entra-to-active-directory.md; how-provisioning-to-active-directory-works.md):
    # - scope mode ("All security groups" or "Selected security groups"): Microsoft documents no Graph
    #   representation for the AAD2AD job. The fake uses synchronizationJobSettings {"name": "SyncAll"} ("true":
    #   all security groups; "false", the default: groups assigned through appRoleAssignedTo), the name of the
    #   documented synchronizationSecret value SyncAll that scopes application provisioning the same way.
    # - "Provision membership to on-premises users" (off by default, as documented): no documented representation;
    #   the fake uses synchronizationJobSettings {"name": "ProvisionMembershipToOnPremisesUsers", "value": "False"}.
    # - the target container: the documented parentDistinguishedName mapping (Constant, default
    #   CN=Users,<domain>), and cn: the documented Expression mapping (DEFAULT_CN_EXPRESSION).
    # - attribute value filters: objectMapping.scope, after the documented default clause securityEnabled IS TRUE,
    #   dirSyncEnabled IS FALSE, mailEnabled IS FALSE.

    def job_of(self, id, job):
        sp = self.seen_or_404(self.obj(id, "servicePrincipal"))
        j = sp["_jobs"].get(job)
        if j is None:
            raise GraphError(404, "Request_ResourceNotFound", "The synchronization job '%s' was not found." % job)
        return sp, j

    def job_body(self, j):
        out = {k: v for k, v in j.items() if not k.startswith("_")}
        if j["templateId"] == GROUP_JOB_TEMPLATE:
            st = j["_settings"]
            out["synchronizationJobSettings"] = [
                {"name": "SyncAll", "value": "true" if st["scope"] == "all" else "false"},
                {"name": "ProvisionMembershipToOnPremisesUsers",
                 "value": "True" if st["provision_membership_to_on_premises_users"] else "False"},
                {"name": "Domain", "value": json.dumps({"domain": st["domain"]})}]
            if not st["report_settings"]:  # a job that reports neither (Microsoft documents no representation)
                out["synchronizationJobSettings"] = out["synchronizationJobSettings"][2:]
        else:
            out["synchronizationJobSettings"] = []
        return out

    def list_jobs(self, req, ver, id):
        sp = self.seen_or_404(self.obj(id, "servicePrincipal"))
        jobs = [self.job_body(j) for j in sp["_jobs"].values()]
        return Reply(200, {"@odata.context": "%s/%s/$metadata#servicePrincipals('%s')/synchronization/jobs"
                           % (self.base_url, ver, id), "value": jobs})

    def get_job(self, req, ver, id, job):
        _, j = self.job_of(id, job)
        return Reply(200, dict({"@odata.context": "%s/%s/$metadata#servicePrincipals('%s')/synchronization/jobs/"
                                "$entity" % (self.base_url, ver, id)}, **self.job_body(j)))

    def directories(self, j):
        def attrs(*names):
            return [{"name": n, "type": "String", "anchor": n in ("objectId", "objectGUID"), "multivalued": False,
                     "required": False, "flowNullValues": False, "caseExact": False, "defaultValue": None,
                     "metadata": [], "mutability": "ReadWrite", "referencedObjects": [], "apiExpressions": []}
                    for n in names]
        return [
            {"id": "66e4a8cc-1b7b-435e-95f8-f06cea133828", "name": "Azure Active Directory",
             "discoverabilities": "None", "discoveryDateTime": None, "readOnly": True, "version": None,
             "objects": [{"name": "Group", "attributes": attrs("objectId", "displayName", "description",
                                                               "securityEnabled", "mailEnabled", "members"),
                          "metadata": [], "supportedApis": []}]},
            {"id": "8ffa6169-f354-4751-9b77-9c00765be92d", "name": "Active Directory",
             "discoverabilities": "None", "discoveryDateTime": None, "readOnly": False, "version": None,
             "objects": [{"name": "group", "attributes": attrs(
                 "objectGUID", "cn", "description", "displayName", "member", "adminDescription",
                 "msDS-ExternalDirectoryObjectId", "parentDistinguishedName", "isSecurityGroup", "UniversalScope"),
                 "metadata": [], "supportedApis": []}]}]

    def schema_body(self, j):
        st = j["_settings"]

        def mapping(target, kind, expression, name=None, flow="Always"):
            return {"defaultValue": None, "exportMissingReferences": False, "flowBehavior": "FlowWhenChanged",
                    "flowType": flow, "matchingPriority": 0, "targetAttributeName": target,
                    "source": {"expression": expression, "name": name or expression, "parameters": [],
                               "type": kind}}

        def clause(attr, op, values=()):
            return {"operatorName": op, "sourceOperandName": attr, "targetOperand": {"values": list(values)}}
        security = [clause("securityEnabled", "IS_TRUE"), clause("dirSyncEnabled", "IS_FALSE"),
                    clause("mailEnabled", "IS_FALSE")]
        groups = [{"name": "Scoping filter %d" % (i + 1), "clauses": security + [
            clause(c["attribute"], c["operator"], [] if c.get("value") is None else [str(c["value"])])
            for c in g]} for i, g in enumerate(st["scope_filters"])] or [{"name": "Default", "clauses": security}]
        cn_name = re.match(r"\s*(\w+)", st["cn"])
        maps = [
            mapping("adminDescription", "Function", 'Append("Group_", [objectId])', "Append"),
            mapping("cn", "Function", st["cn"], cn_name.group(1) if cn_name else None),
            mapping("description", "Function", "Left(Trim([description]), 448)", "Left"),
            mapping("displayName", "Attribute", "[displayName]", "displayName"),
            mapping("isSecurityGroup", "Constant", '"True"', "True"),
            mapping("member", "Attribute", "[members]", "members"),
            mapping("msDS-ExternalDirectoryObjectId", "Function", 'Append("Group_", [objectId])', "Append"),
            mapping("parentDistinguishedName", "Constant", json.dumps(st["target_container"]),
                    st["target_container"]),
            mapping("UniversalScope", "Constant", '"True"', "True"),
        ]
        for m in maps:  # msDS-ExternalDirectoryObjectId is the join anchor (how-provisioning-...-works.md)
            if m["targetAttributeName"] == "msDS-ExternalDirectoryObjectId":
                m["matchingPriority"] = 1
        return {"id": j["id"], "version": "Date:%s~ID:%s" % (utc_now_iso(), j["id"]),
                "directories": self.directories(j),
                "synchronizationRules": [{
                    "id": st["rule_id"], "name": GROUP_JOB_TEMPLATE, "editable": True, "metadata": [],
                    "priority": 1, "sourceDirectoryName": "Azure Active Directory",
                    "targetDirectoryName": "Active Directory", "containerFilter": {"includedContainers": []},
                    "groupFilter": {"includedGroups": []},
                    "objectMappings": [{
                        "name": "Provision Microsoft Entra ID Groups", "enabled": True,
                        "flowTypes": "Add, Update, Delete", "metadata": [], "sourceObjectName": "Group",
                        "targetObjectName": "group", "attributeMappings": maps,
                        "scope": {"categoryFilterGroups": [], "inputFilterGroups": [], "groups": groups}}]}]}

    def get_schema(self, req, ver, id, job):
        _, j = self.job_of(id, job)
        if j["templateId"] != GROUP_JOB_TEMPLATE:
            raise GraphError(404, "Request_ResourceNotFound", "The fake models the schema of %s jobs only."
                             % GROUP_JOB_TEMPLATE)
        return Reply(200, dict({"@odata.context": "%s/%s/$metadata#servicePrincipals('%s')/synchronization/jobs('%s')"
                                "/schema/$entity" % (self.base_url, ver, id, job)}, **self.schema_body(j)))

    def list_directories(self, req, ver, id, job):
        _, j = self.job_of(id, job)
        return Reply(200, {"@odata.context": "%s/%s/$metadata#servicePrincipals('%s')/synchronization/jobs('%s')"
                           "/schema/directories" % (self.base_url, ver, id, job), "value": self.directories(j)})

    # -- what the job would do: a simulated AD view per job --

    def group_in_scope(self, sp, j, g):
        """(True, "") or (False, why): the default security clause, the scope mode and the attribute filters."""
        st = j["_settings"]
        if g is None or g["_type"] != "group":
            return False, "not a group"
        if g.get("securityEnabled") is not True or g.get("mailEnabled") is True:
            return False, "only security groups that are not mail-enabled are provisioned"
        if g.get("onPremisesSyncEnabled") is True and not g["_cloud_managed"]:
            return False, "the group is synchronized from Active Directory (its source of authority is on premises)"
        if st["scope"] == "selected" and not any(a["principalId"] == g["id"] for a in sp["_assignments"]):
            return False, "the group is not assigned to the job (scope: selected security groups)"
        if st["scope_filters"] and not any(all(scope_clause_matches(g, c) for c in grp)
                                           for grp in st["scope_filters"]):
            return False, "no scoping filter matches the group"
        return True, ""

    def member_reference(self, sp, j, mid):
        """(True, AD reference) or (False, why) for one member, after how-provisioning-to-active-directory-works.md
        ("Group membership SOA scenarios", "Nested group membership behavior")."""
        m = self.t.objects.get(mid)
        if m is None:
            return False, "the member does not exist"
        if m["_type"] == "user":
            if not m.get("onPremisesObjectIdentifier"):
                return False, "a cloud-managed user has no AD account in a groups-only configuration"
            if not j["_settings"]["provision_membership_to_on_premises_users"]:
                return False, "provisioning membership to on-premises users is off"
            return True, m["onPremisesObjectIdentifier"]
        if m["_type"] == "group":
            if m.get("onPremisesSyncEnabled") is True and not m["_cloud_managed"]:
                return False, "references to synchronized AD DS groups are not provisioned"
            ok, why = self.group_in_scope(sp, j, m)
            return (True, "Group_" + mid) if ok else (False, "the member group is not in scope: " + why)
        return False, "%s members are not provisioned" % m["_type"]

    def job_apply(self, sp, j, g, listed=None, full=False):
        """Applies the job to group g in its AD view. listed: the member ids of a provisionOnDemand request (only
        they are evaluated: "On-demand provisioning of groups supports updating up to five members at a time");
        full: a cycle, where the AD membership becomes the eligible members. Returns (result, details, outcome)."""
        ok, why = self.group_in_scope(sp, j, g)
        if not ok:
            return "Skipped", {"errorCode": "NotEffectivelyEntitled", "errorMessage": why}, {"action": "Other",
                                                                                            "reason": why}
        st = j["_settings"]
        try:
            cn = Expr(st["cn"]).evaluate(g) or ""
        except (ValueError, TypeError) as e:
            return "Failure", {"errorCode": "ExpressionEvaluationFailure", "errorMessage": str(e)}, {"action": "Other"}
        container = st["target_container"]
        old = j["_ad"].get(g["id"])
        members = list(old["members"]) if old else []
        skipped, added, removed, eligible = [], [], [], []
        candidates = g["_members"] if full else (listed or [])
        for mid in candidates:
            ok, ref = self.member_reference(sp, j, mid) if mid in g["_member_set"] else \
                (False, "not a member of the group in Microsoft Entra ID")
            if ok:
                eligible.append(mid)
            if ok and mid not in members:
                members.append(mid)
                added.append(mid)
            elif not ok:
                skipped.append({"id": mid, "reason": ref})
                if mid in members:
                    members.remove(mid)
                    removed.append(mid)
        if full:
            for mid in list(members):
                if mid not in g["_member_set"]:
                    members.remove(mid)
                    removed.append(mid)
        new = {"cn": cn, "container": container, "dn": "CN=%s,%s" % (dn_escape(cn), container),
               "anchor": "Group_" + g["id"], "members": members}
        self.ad_write_through(j, g, eligible, [x["id"] for x in skipped])
        outcome = {"action": "Create" if old is None else "Update", "cn": cn, "dn": new["dn"],
                   "renamed": bool(old and old["cn"] != cn), "moved": bool(old and old["container"] != container),
                   "added": added, "removed": removed, "skipped": skipped,
                   "members_before": list(old["members"]) if old else [], "members_after": list(members)}
        if old is not None and not added and not removed and not outcome["renamed"] and not outcome["moved"]:
            outcome["action"] = "Other"
            j["_ad"][g["id"]] = new
            return "Skipped", {"errorCode": "RedundantExport", "errorMessage": "The state of the group in both the "
                               "source and target systems already match."}, outcome
        j["_ad"][g["id"]] = new
        return "Success", {}, outcome

    def ad_write_through(self, j, g, eligible, ineligible):
        """JOB ad_ldap: the job also writes to a real directory, as the provisioning agent does ("writes via the agent,
        which translates the request to a Lightweight Directory Access Protocol (LDAP) operation",
        how-provisioning-to-active-directory-works.md): the AD group whose msDS-ExternalDirectoryObjectId is
        Group_<id> gets the reference of each eligible member and loses the reference of each member the job does not
        provision ("A member reference is written only when that member has an AD account"; with membership to
        on-premises users off, none is). Members are found by onPremisesObjectIdentifier (objectGUID)."""
        cfg = j["_settings"].get("ad_ldap")
        if not cfg:
            return
        env = dict(os.environ)
        if cfg.get("ca_file"):
            env["LDAPTLS_CACERT"] = cfg["ca_file"]
        conn = ["-x", "-H", cfg["uri"], "-D", cfg["bind_dn"], "-y", cfg["password_file"]]

        def dn_of(filt):
            r = subprocess.run(["ldapsearch", "-LLL", "-o", "ldif-wrap=no"] + conn + ["-b", cfg["base"], filt, "1.1"],
                               env=env, capture_output=True, text=True, timeout=30)
            for line in r.stdout.splitlines():
                if line.startswith("dn:: "):
                    return base64.b64decode(line[5:]).decode()
                if line.startswith("dn: "):
                    return line[4:]
            return None
        gdn = dn_of("(msDS-ExternalDirectoryObjectId=Group_%s)" % g["id"])
        if not gdn:
            return
        b64 = lambda v: base64.b64encode(v.encode()).decode()  # noqa: E731
        ldif = []
        for mid, op in [(m, "add") for m in eligible] + [(m, "delete") for m in ineligible]:
            guid = (self.t.objects.get(mid) or {}).get("onPremisesObjectIdentifier")
            try:
                filt = "(objectGUID=%s)" % "".join("\\%02x" % b for b in uuid.UUID(guid).bytes_le)
            except (TypeError, ValueError):
                continue
            mdn = dn_of(filt)
            if mdn:
                ldif.append("dn:: %s\nchangetype: modify\n%s: member\nmember:: %s\n-\n" % (b64(gdn), op, b64(mdn)))
        if ldif:  # -c: a reference already there (or already gone) is not an error of the others
            subprocess.run(["ldapmodify", "-c"] + conn, input="\n".join(ldif), env=env, capture_output=True,
                           text=True, timeout=60)

    def steps_value(self, g, subject, result, details, outcome):
        """The provisioning steps of a provisionOnDemand reply, in the shape of the documented examples 1 and 2
        (graph-docs synchronization-synchronizationjob-provisionondemand.md): action, modifiedProperties,
        provisioningSteps [{name, type, status, description, timestamp, details}], statusInfo, source/target."""
        now = utc_now_iso() + "Z"
        name = (g or {}).get("displayName") or subject["objectId"]
        steps = [{"name": "EntryImport", "type": "Import", "status": "Success" if g else "Failure",
                  "description": "Retrieved Group '%s' from Microsoft Entra ID" % name if g else
                  "The group %s was not found in Microsoft Entra ID" % subject["objectId"],
                  "timestamp": now, "details": {"objectId": subject["objectId"]}}]
        modified = []
        if g is not None:
            in_scope = details.get("errorCode") != "NotEffectivelyEntitled"
            steps.append({"name": "EntrySynchronizationScoping", "type": "Scoping",
                          "status": "Success" if in_scope else "Skipped",
                          "description": "Determine if Group in scope by evaluating against each scoping filter",
                          "timestamp": now, "details": {"Scoping filter evaluation passed": str(in_scope),
                                                        "Reason": outcome.get("reason", "")}})
            if in_scope and "dn" in outcome:
                steps.append({"name": "EntryImport", "type": "Matching", "status": "Success",
                              "description": ("Matched Group '%s' in Active Directory by msDS-ExternalDirectoryObjectId"
                                              if outcome["action"] != "Create" else
                                              "No Group '%s' was found in Active Directory") % name,
                              "timestamp": now, "details": {"msDS-ExternalDirectoryObjectId": "Group_" + g["id"]}})
                refs = {"MembersAdded": ", ".join(outcome["added"]), "MembersRemoved": ", ".join(outcome["removed"]),
                        "MembersSkipped": "; ".join("%s: %s" % (s["id"], s["reason"]) for s in outcome["skipped"])}
                steps.append({"name": "EntryExportUpdate" if outcome["action"] == "Update" else
                              "EntryExportAdd" if outcome["action"] == "Create" else "EntrySynchronizationSkip",
                              "type": "Export", "status": result,
                              "description": "Group '%s' was %s in Active Directory" % (
                                  name, {"Create": "created", "Update": "updated"}.get(outcome["action"],
                                                                                     "left unchanged")),
                              "timestamp": now, "details": refs})
                modified = [{"displayName": "cn", "oldValue": None, "newValue": outcome["cn"]},
                            {"displayName": "distinguishedName", "oldValue": None, "newValue": outcome["dn"]},
                            {"displayName": "member", "oldValue": ", ".join(outcome["members_before"]),
                             "newValue": ", ".join(outcome["members_after"])}]
        return {"action": outcome.get("action", "Other"), "changeId": new_guid(), "startTime": now, "endTime": now,
                "modifiedProperties": modified, "provisioningSteps": steps, "reportableIdentifier": name,
                "sourceIdentity": {"id": subject["objectId"], "type": "Group", "displayName": name, "details": None},
                "sourceSystem": {"id": None, "name": "Azure Active Directory", "details": None},
                "statusInfo": {"status": result, "errorCode": details.get("errorCode"),
                               "reason": details.get("errorMessage")},
                "targetIdentity": {"id": outcome.get("dn"), "type": "group", "displayName": outcome.get("cn"),
                                   "details": None},
                "targetSystem": {"id": None, "name": "Active Directory", "details": None}}

    def provision_on_demand(self, req, ver, id, job):
        sp, j = self.job_of(id, job)
        rate = self.t.settings["provision_on_demand_rate"]
        now = time.time()
        if rate:
            calls = [c for c in self.t.on_demand_calls.get(job, []) if c > now - rate[1]]
            if len(calls) >= rate[0]:
                wait = max(1, int(calls[0] + rate[1] - now + 0.999))
                raise GraphError(429, "TooManyRequests", "The rate limit for this API is %d requests per %d seconds."
                                 % (rate[0], rate[1]), {"Retry-After": str(wait)})
            calls.append(now)
            self.t.on_demand_calls[job] = calls
        body = req.json()
        params = body.get("parameters") if isinstance(body, dict) else None
        if not isinstance(params, list) or len(params) != 1 or not isinstance(params[0], dict):
            raise GraphError(400, "BadRequest", "The request needs exactly one entry in parameters.")
        p = params[0]
        subjects = p.get("subjects")
        if not isinstance(p.get("ruleId"), str) or not p["ruleId"]:
            raise GraphError(400, "BadRequest", "The parameter needs a ruleId.")
        if not isinstance(subjects, list) or not subjects:
            raise GraphError(400, "BadRequest", "The parameter needs subjects.")
        groups = [s for s in subjects if isinstance(s, dict) and s.get("objectTypeName") == "Group"]
        if len(groups) > 1:
            raise GraphError(400, "BadRequest", "Only one group can be provisioned on demand at a time.")
        for s in subjects:
            if not isinstance(s, dict) or not isinstance(s.get("objectId"), str) or \
                    not isinstance(s.get("objectTypeName"), str):
                raise GraphError(400, "BadRequest", "Every subject needs objectId and objectTypeName.")
            members = ((s.get("links") or {}).get("members")) or []
            if not isinstance(members, list) or len(members) > 5:
                raise GraphError(400, "BadRequest", "A group can be provisioned on demand with at most 5 members.")
            for m in members:
                if not isinstance(m, dict) or not isinstance(m.get("objectId"), str):
                    raise GraphError(400, "BadRequest", "Every member link needs objectId and objectTypeName.")
        subject = subjects[0]
        listed = [m["objectId"] for m in ((subject.get("links") or {}).get("members") or [])]
        g = self.t.objects.get(subject["objectId"])
        if g is None or g["_type"] != "group" or j["templateId"] != GROUP_JOB_TEMPLATE:
            result = "Failure"
            details = {"errorCode": "EntryNotFound" if g is None else "UnsupportedObject",
                       "errorMessage": "The object %s was not found in the source." % subject["objectId"]
                       if g is None else "The job provisions groups only."}
            outcome = {"action": "Other"}
            g = g if g is not None and g["_type"] == "group" else None
        else:
            result, details, outcome = self.job_apply(sp, j, g, listed=listed)
        if j["_result"]:  # the tenant file forces the result
            result = j["_result"]
            details = {} if result == "Success" else details
        j["_provisioned"].append({"ruleId": p["ruleId"], "subjects": subjects, "result": result,
                                  "outcome": {k: v for k, v in outcome.items() if k != "reason"}})
        # The documented reply: stringKeyStringValuePair whose key is the JSON text {"result", "details"} and whose
        # value is the provisioning steps (Examples 1 and 2) or "{}" (Example 3, a group and two of its members).
        value = "{}" if self.t.settings["provision_on_demand_value"] == "empty" else \
            json.dumps(self.steps_value(g, subject, result, details, outcome), separators=(",", ":"))
        return Reply(200, {"@odata.context": "%s/%s/$metadata#microsoft.graph.stringKeyStringValuePair"
                           % (self.base_url, ver),
                           "key": json.dumps({"result": result, "details": details}, separators=(",", ":")),
                           "value": value})

    def sync_run(self, body):
        """POST /_fake/sync/run: one cycle of every AAD2ADGroupProvisioning job (or of the one named): each group in
        scope gets its full eligible membership in the job's AD view."""
        report = []
        for sp in self.t.coll["servicePrincipal"].values():
            if body.get("servicePrincipal") and sp["id"] != body["servicePrincipal"]:
                continue
            for j in sp["_jobs"].values():
                if j["templateId"] != GROUP_JOB_TEMPLATE or (body.get("job") and j["id"] != body["job"]):
                    continue
                groups = {}
                for g in list(self.t.coll["group"].values()):
                    ok, _ = self.group_in_scope(sp, j, g)
                    if not ok:
                        continue
                    result, details, outcome = self.job_apply(sp, j, g, full=True)
                    groups[g["id"]] = dict({k: v for k, v in outcome.items() if k != "reason"}, result=result,
                                           details=details)
                report.append({"servicePrincipal": sp["id"], "job": j["id"], "groups": groups})
        return report

    # -- organization --

    def org_obj(self):
        # graph-docs api-reference/v1.0/resources/organization.md (id = the tenant id, verifiedDomains, ...)
        doms = self.t.domains or ["test.example"]
        return {"id": self.t.tenant_id, "displayName": doms[0], "onPremisesSyncEnabled":
                True if self.t.sync else None, "verifiedDomains": [
                    {"name": d, "isDefault": i == 0, "isInitial": i == 0, "type": "Managed", "capabilities": "None"}
                    for i, d in enumerate(doms)]}

    def list_org(self, req, ver):
        return Reply(200, {"@odata.context": "%s/%s/$metadata#organization" % (self.base_url, ver),
                           "value": [self.select_plain(req, self.org_obj())]})

    def get_org(self, req, ver, id):
        if id.lower() != self.t.tenant_id.lower():
            raise GraphError(404, "Request_ResourceNotFound", "Resource '%s' does not exist." % id)
        return Reply(200, dict({"@odata.context": "%s/%s/$metadata#organization/$entity" % (self.base_url, ver)},
                               **self.select_plain(req, self.org_obj())))

    def select_plain(self, req, obj):
        sel = req.query.get("$select")
        if sel is None:
            return obj
        props = [p.strip() for p in sel.split(",") if p.strip()]
        return {k: obj.get(k) for k in ["id"] + [p for p in props if p != "id"]}

    # -- delta --

    def delta(self, req, ver, coll):
        otype = COLLECTION_TYPE[coll]
        for q in ("$top", "$orderby", "$expand"):
            if q in req.query:
                raise GraphError(400, "Request_UnsupportedQuery", "The query option %s is not supported with delta "
                                 "queries." % q)
        tok = req.query.get("$deltatoken")
        skip = req.query.get("$skiptoken")
        if skip is not None:
            return self.delta_page(req, ver, coll, skip)
        if tok is not None and tok != "" and tok.lower() != "latest":
            state = self.t.delta_tokens.get(tok)
            if state is None or state["type"] != otype:
                raise self.delta_gone(req, ver, coll, 410, "syncStateNotFound")
            if state["expired"]:
                raise self.delta_gone(req, ver, coll, *state["expired"])
            select, members, ids, since = state["select"], state["members"], state["ids"], state["seq"]
        else:
            select, members = self.delta_select(req, otype, ver)
            ids = self.delta_ids(req)
            since = None
        if tok is not None and tok.lower() == "latest":
            return Reply(200, {"@odata.context": "%s/%s/$metadata#%s" % (self.base_url, ver, coll), "value": [],
                               "@odata.deltaLink": self.delta_link(ver, coll, otype, select, members, ids)})
        records = self.delta_records(otype, members, ids, since, select)
        sid = secrets.token_hex(12)
        self.t.delta_sessions[sid] = {"type": otype, "select": select, "members": members, "ids": ids,
                                      "seq": self.t.seq, "records": records, "expired": None}
        while len(self.t.delta_sessions) > 500:
            self.t.delta_sessions.popitem(last=False)
        return self.delta_page(req, ver, coll, b64url(json.dumps([sid, 0]).encode()))

    def delta_gone(self, req, ver, coll, status, code):
        """An expired delta or paging token. delta-query-overview.md ("Synchronization reset", "Token duration"):
        410 Gone with a Location header to restart from, or "a 40X-series error with error codes such as
        syncStateNotFound"; resyncRequired and Directory_ExpiredPageToken (400) are the other shapes the reviews list."""
        loc = "%s/%s/%s/delta" % (self.base_url, ver, coll)
        msg = ("The specified page token value has expired and can no longer be included in your request."
               if code == "Directory_ExpiredPageToken" else
               "The delta token has expired or is no longer valid; a full synchronization is required.")
        return GraphError(status, code, msg, {"Location": loc} if status == 410 else {})

    def delta_select(self, req, otype, ver):
        sel = req.query.get("$select")
        if sel is None:
            return None, False
        props = [p.strip() for p in sel.split(",") if p.strip()]
        members = "members" in props and otype == "group"
        props = [p for p in props if p != "members"]
        for p in props:
            if p not in self.known(otype, ver) and not EXT_RE.match(p):
                raise GraphError(400, "BadRequest", "Could not find a property named '%s' on type "
                                 "'microsoft.graph.%s'." % (p, otype))
        return props, members

    def delta_ids(self, req):
        f = req.query.get("$filter")
        if f is None:
            return None
        try:
            fp = FilterParser(f)
            fp.parse()
        except FilterError as e:
            raise GraphError(400, "BadRequest", "Invalid filter clause: %s." % e)
        if not fp.only_id_eq or not fp.ids:
            raise GraphError(400, "Request_UnsupportedQuery", "Delta queries support only $filter=id eq '...' "
                             "combined with or.")
        if len(fp.ids) > 50:
            raise GraphError(400, "Request_UnsupportedQuery", "Delta queries filter at most 50 objects.")
        return [i.lower() for i in fp.ids]

    def delta_link(self, ver, coll, otype, select, members, ids, seq=None):
        tok = b64url(os.urandom(24))
        self.t.delta_tokens[tok] = {"type": otype, "select": select, "members": members, "ids": ids,
                                    "seq": self.t.seq if seq is None else seq, "expired": None}
        return "%s/%s/%s/delta?$deltatoken=%s" % (self.base_url, ver, coll, tok)

    def delta_records(self, otype, members, ids, since, select):
        """A list of record specs: ("obj", id, added member ids, removed member ids) or ("removed", id, reason)."""
        per = max(1, self.t.settings["delta_members_per_record"])
        out = []

        def add(oid, added, removed, full):
            entries = [(m, False) for m in added] + [(m, True) for m in removed]
            if not entries:
                out.append(("obj", oid, [], full))
            for i in range(0, len(entries), per):
                out.append(("obj", oid, entries[i:i + per], full))

        wanted = (lambda oid: oid.lower() in ids) if ids is not None else (lambda oid: True)
        if since is None:
            for o in self.t.coll[otype].values():
                if wanted(o["id"]):
                    add(o["id"], list(o["_members"]) if members else [], [], True)
            return out
        touched = collections.OrderedDict()
        for seq, t, oid, kind, detail in self.t.changes_since(since):
            if t != otype or not wanted(oid):
                continue
            e = touched.setdefault(oid, {"props": False, "members": set(), "removed": None, "created": False})
            if kind == "member":
                e["members"].add(detail)
            elif kind == "props":
                if select is None or detail & set(select):
                    e["props"] = True
            elif kind == "create":
                e["created"] = True
                e["removed"] = None
            elif kind == "remove":
                e["removed"] = detail
        for oid, e in touched.items():
            o = self.t.objects.get(oid)
            if o is None:
                reason = "deleted" if oid in self.t.hard_deleted else (e["removed"] or "changed")
                out.append(("removed", oid, reason))
                continue
            if e["created"]:
                add(oid, list(o["_members"]) if members else [], [], True)
                continue
            if members and e["members"]:
                added = [m for m in o["_members"] if m in e["members"]]
                removed = [m for m in e["members"] if m not in o["_member_set"]]
                add(oid, added, removed, False)
            elif e["props"]:
                add(oid, [], [], False)
        return out

    def delta_page(self, req, ver, coll, skip):
        try:
            sid, pos = json.loads(b64url_decode(skip))
            sess = self.t.delta_sessions[sid]
        except (ValueError, KeyError, TypeError):
            raise self.delta_gone(req, ver, coll, 410, "syncStateNotFound")
        if sess["expired"]:
            raise self.delta_gone(req, ver, coll, *sess["expired"])
        size = self.t.settings["page_size"]
        recs = sess["records"][pos:pos + size]
        value = []
        for r in recs:
            if r[0] == "removed":
                value.append({"@odata.type": ODATA_TYPE[sess["type"]], "id": r[1], "@removed": {"reason": r[2]}})
                continue
            o = self.t.objects.get(r[1])
            if o is None:  # removed after the session started: the next round reports it
                continue
            item = self.render(o, ver, sess["select"], omit_unset=True)
            if sess["members"] and (r[2] or r[3]):
                md = []
                for mid, gone in r[2]:
                    mt = self.t.types.get(mid, "user")
                    e = {"@odata.type": ODATA_TYPE[mt], "id": mid}
                    if gone:
                        e["@removed"] = {"reason": "deleted"}
                    md.append(e)
                item["members@delta"] = md
            value.append(item)
        body = {"@odata.context": "%s/%s/$metadata#%s" % (self.base_url, ver, coll)}
        if pos + size < len(sess["records"]):
            body["@odata.nextLink"] = "%s/%s/%s/delta?$skiptoken=%s" % (
                self.base_url, ver, coll, b64url(json.dumps([sid, pos + size]).encode()))
        else:
            # the link covers what happened since the session began
            body["@odata.deltaLink"] = self.delta_link(ver, coll, sess["type"], sess["select"], sess["members"],
                                                       sess["ids"], sess["seq"])
        body["value"] = value
        return Reply(200, body)

    # -- $batch --

    def batch(self, req, ver):
        body = req.json()
        reqs = body.get("requests") if isinstance(body, dict) else None
        if not isinstance(reqs, list) or not reqs:
            raise GraphError(400, "BadRequest", "Invalid batch payload format.")
        if len(reqs) > 20:
            raise GraphError(400, "BadRequest", "The number of batch requests (%d) exceeds the limit of 20." %
                             len(reqs))
        ids = set()
        for r in reqs:
            if not isinstance(r, dict) or not isinstance(r.get("id"), str) or not r["id"] or \
                    not isinstance(r.get("method"), str) or not isinstance(r.get("url"), str):
                raise GraphError(400, "BadRequest", "Invalid batch payload format: every request needs id, method "
                                 "and url.")
            if r["id"].lower() in ids:
                raise GraphError(400, "BadRequest", "Batch request ids must be unique: '%s' is repeated." % r["id"])
            ids.add(r["id"].lower())
            if re.match(r"^[a-z]+://", r["url"], re.I):
                raise GraphError(400, "BadRequest", "Batch request urls must be relative: '%s'." % r["url"])
            if "body" in r and not any(k.lower() == "content-type" for k in (r.get("headers") or {})):
                raise GraphError(400, "BadRequest", "Write request id : %s does not contain Content-Type header or "
                                 "body." % r["id"])
        for r in reqs:
            for d in r.get("dependsOn") or []:
                if not isinstance(d, str) or d.lower() not in ids or d.lower() == r["id"].lower():
                    raise GraphError(400, "BadRequest", "Request %s depends on an unknown request '%s'." %
                                     (r["id"], d))
        return BatchJob(self, req, ver, reqs)


class BatchJob:
    """A $batch run outside the tenant lock: parts are dispatched one by one (each part takes the lock)."""

    def __init__(self, fake, req, ver, reqs):
        self.fake, self.req, self.ver, self.reqs = fake, req, ver, reqs
        self.parts_log = []
        self.percentage = None

    def run(self):
        done = {}
        pending = list(self.reqs)
        responses = []
        while pending:
            progressed = False
            for r in list(pending):
                deps = [d.lower() for d in (r.get("dependsOn") or [])]
                if any(d not in done for d in deps):
                    continue
                pending.remove(r)
                progressed = True
                if any(done[d] >= 400 for d in deps):
                    resp = self.part_error(r, GraphError(424, "FailedDependency", "A request this one depends on "
                                                         "failed."))
                else:
                    resp = self.run_part(r)
                done[r["id"].lower()] = resp["status"]
                responses.append(resp)
            if not progressed:  # a dependency cycle
                for r in pending:
                    resp = self.part_error(r, GraphError(424, "FailedDependency", "Circular dependsOn."))
                    done[r["id"].lower()] = 424
                    responses.append(resp)
                pending = []
        order = self.fake.t.settings["batch_response_order"]
        if order == "reverse":
            responses.reverse()
        elif order == "random":
            random.shuffle(responses)
        return Reply(200, {"responses": responses})

    def part_error(self, r, e):
        preq = Request(r["method"], "/" + self.ver + "/" + r["url"].lstrip("/"), {}, b"",
                       client_request_id=self.req.client_request_id)
        self.parts_log.append({"id": r["id"], "method": r["method"].upper(), "url": r["url"], "status": e.status})
        return {"id": r["id"], "status": e.status, "headers": {"Content-Type": "application/json"},
                "body": self.fake.error_body(e, preq)}

    def run_part(self, r):
        headers = dict(self.req.headers)
        headers.update({k.lower(): v for k, v in (r.get("headers") or {}).items()})
        body = r.get("body")
        if isinstance(body, (dict, list)):
            raw = json.dumps(body).encode()
        elif isinstance(body, str):
            try:
                raw = base64.urlsafe_b64decode(body + "=" * (-len(body) % 4))
            except ValueError:
                raw = body.encode()
        else:
            raw = b""
        target = "/" + self.ver + "/" + r["url"].lstrip("/")
        preq = Request(r["method"], target, headers, raw)
        preq.client_request_id = self.req.client_request_id
        preq.client_id = getattr(self.req, "client_id", None)
        preq.roles = getattr(self.req, "roles", set())
        rule = self.fake.pick_fault(preq.method, target, "batch_part")
        if rule is not None and rule.delay_ms:
            time.sleep(rule.delay_ms / 1000.0)
        retry = None
        if preq.method == "GET" and not (rule is not None and rule.status):
            # "Requests in a batch are evaluated individually against the applicable throttling limits"
            # (graph-docs concepts/json-batching.md): each part spends its own unit
            retry, pct = self.fake.charge(1)
            self.percentage = pct or self.percentage
        if retry is not None:
            rep = self.fake.throttled_reply(preq, retry)
        elif rule is not None and rule.status:
            rep = self.fake.fault_reply(rule, preq)
        elif preq.path.endswith("/$batch"):
            rep = self.fake.error_reply(GraphError(400, "BadRequest", "Nested batch requests are not supported."),
                                        preq)
        else:
            rep = self.fake.handle(preq, where="batch_part", auth_done=True)
            if isinstance(rep, BatchJob):
                rep = self.fake.error_reply(GraphError(400, "BadRequest", "Nested batch requests are not "
                                                       "supported."), preq)
        hdrs = dict(rep.headers)
        hdrs.setdefault("Content-Type", "application/json")
        hdrs["request-id"] = preq.request_id
        hdrs["client-request-id"] = preq.client_request_id
        out = {"id": r["id"], "status": rep.status, "headers": hdrs}
        if rep.body is not None:
            out["body"] = rep.body
        self.parts_log.append({"id": r["id"], "method": preq.method, "url": r["url"], "status": rep.status,
                               "fault": (rule is not None and bool(rule.status)) or retry is not None})
        return out




# ---- HTTP -----------------------------------------------------------------------------------------------------


class Handler(http.server.BaseHTTPRequestHandler):
    # Headers and body go out in separate writes: without TCP_NODELAY every reply stalls ~40 ms on delayed ACK.
    disable_nagle_algorithm = True
    protocol_version = "HTTP/1.1"
    server_version = "graph-fake"
    sys_version = ""
    timeout = 120

    def log_message(self, fmt, *args):  # the fake keeps its own log
        pass

    def read_body(self):
        if self.headers.get("Transfer-Encoding", "").lower() == "chunked":
            data = b""
            while True:
                line = self.rfile.readline(100)
                n = int(line.split(b";")[0].strip() or b"0", 16)
                if n == 0:
                    self.rfile.readline(100)
                    return data
                data += self.rfile.read(n)
                self.rfile.readline(100)
                if len(data) > MAX_BODY:
                    raise ValueError("body too large")
        n = int(self.headers.get("Content-Length") or 0)
        if n > MAX_BODY:
            raise ValueError("body too large")
        return self.rfile.read(n) if n else b""

    def do_any(self):
        fake = self.server.fake
        started = time.time()
        try:
            body = self.read_body()
        except ValueError:
            self.close_connection = True
            self.send_error(413)
            return
        req = Request(self.command, self.path, dict(self.headers.items()), body)
        is_control = req.path.startswith("/_fake/")
        if is_control:
            self.serve(fake, req, started, None, True, False)
            return
        fake.enter()
        try:
            self.serve(fake, req, started, fake.pick_fault(req.method, self.path, "request"), False,
                       bool(re.match(r"^/[^/]+/oauth2/", req.path)))
        finally:
            fake.leave()

    def serve(self, fake, req, started, rule, is_control, token_ep):
        if rule is not None and rule.delay_ms:
            time.sleep(rule.delay_ms / 1000.0)
        if rule is not None and rule.reset:
            self.log_entry(req, 0, started, True)
            self.reset()
            return
        parts = None
        percentage = None
        graph = not is_control and not token_ep
        if graph:
            lat, jit = fake.t.settings["latency_ms"], fake.t.settings["latency_jitter_ms"]
            if lat > 0 or jit > 0:
                time.sleep(max(0, lat + (random.uniform(-jit, jit) if jit else 0)) / 1000.0)
        retry = None
        if graph and req.method == "GET" and not (rule is not None and rule.status):
            retry, percentage = fake.charge(1)
        if retry is not None:
            rep = fake.throttled_reply(req, retry)
        elif rule is not None and rule.status:
            rep = fake.fault_reply(rule, req, token_ep)
        else:
            rep = fake.handle(req)
            if isinstance(rep, BatchJob):
                job = rep
                rep = job.run()
                parts = job.parts_log
                percentage = job.percentage or percentage
        if rule is not None and rule.delay_after_ms:
            time.sleep(rule.delay_after_ms / 1000.0)
        payload = rep.payload()
        if rule is not None and rule.body == "malformed":
            payload = payload[:max(1, len(payload) // 2)] + b"}{\"" if payload else b"{\"value\": ["
        elif rule is not None and rule.body == "empty":
            payload = b""
        headers = {"Content-Type": JSON_CT}
        if not is_control and not token_ep:
            headers["request-id"] = req.request_id
            headers["client-request-id"] = req.client_request_id
            headers["x-ms-ags-diagnostic"] = '{"ServerInfo":{"DataCenter":"Loopback","Slice":"E","Ring":"1",' \
                                             '"ScaleUnit":"000","RoleInstance":"graph-fake"}}'
            tp = fake.t.settings["throttle_percentage"] or percentage
            if tp is not None:
                headers["x-ms-throttle-limit-percentage"] = tp
        elif token_ep:
            headers["x-ms-request-id"] = req.request_id
            headers["client-request-id"] = req.client_request_id
        headers.update(rep.headers)
        if not is_control:
            # Logged before the reply goes out: a client that reads /_fake/log right after its reply must find it.
            entry = self.log_entry(req, rep.status, started, rule is not None, record=False)
            if parts is not None:
                entry["parts"] = parts
            fake.add_log(entry)
        self.send_response(rep.status)
        for k, v in headers.items():
            self.send_header(k, v)
        self.send_header("Content-Length", str(len(payload)))
        if rule is not None and rule.body == "truncated":
            self.send_header("Connection", "close")
        self.end_headers()
        if rule is not None and rule.body == "truncated":
            self.wfile.write(payload[:len(payload) // 2])
            self.wfile.flush()
            self.close_connection = True
        elif self.command != "HEAD":
            self.wfile.write(payload)

    def log_entry(self, req, status, started, fault, record=True):
        entry = {"time": time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(started)) + ".%03dZ" %
                 int((started % 1) * 1000), "method": req.method, "path": self.path, "status": status,
                 "client_request_id": req.headers.get("client-request-id"), "request_id": req.request_id,
                 "fault": fault, "duration_ms": int((time.time() - started) * 1000)}
        if record:
            self.server.fake.add_log(entry)
        return entry

    def reset(self):
        self.close_connection = True
        try:
            raw = self.connection
            raw.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
            if isinstance(raw, ssl.SSLSocket):
                sock = socket.socket(fileno=raw.detach())
                sock.close()
            else:
                raw.close()
        except OSError:
            pass

    do_GET = do_POST = do_PATCH = do_DELETE = do_PUT = do_any


class Server(http.server.ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True
    request_queue_size = 64

    def __init__(self, addr, fake, ctx):
        super().__init__(addr, Handler)
        self.fake = fake
        self.ctx = ctx

    def finish_request(self, request, client_address):
        # the TLS handshake runs in the connection's thread, so a slow client never blocks accept()
        try:
            request.settimeout(Handler.timeout)
            tls = self.ctx.wrap_socket(request, server_side=True)
        except (OSError, ssl.SSLError):
            return
        try:
            self.RequestHandlerClass(tls, client_address, self)
        finally:
            try:
                tls.close()
            except OSError:
                pass

    def handle_error(self, request, client_address):
        pass  # connections closed by clients (or by fault rules) are normal here


def main(argv=None):
    ap = argparse.ArgumentParser(description="Microsoft Graph fake for groupbridge tests")
    ap.add_argument("--tenant", required=True)
    ap.add_argument("--cert", required=True)
    ap.add_argument("--key", required=True)
    ap.add_argument("--ready-file", required=True)
    ap.add_argument("--port", type=int, default=0)
    ap.add_argument("--env-file")
    ap.add_argument("--info-file")
    ap.add_argument("--secret-file")
    args = ap.parse_args(argv)
    t0 = time.time()
    try:
        tenant = Tenant(args.tenant)
    except (OSError, TenantError) as e:
        print("graph_fake: %s" % e, file=sys.stderr)
        return 2
    load_s = time.time() - t0
    fake = Fake(tenant)
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    ctx.load_cert_chain(args.cert, args.key)
    server = Server(("127.0.0.1", args.port), fake, ctx)
    port = server.server_address[1]
    fake.base_url = "https://127.0.0.1:%d" % port
    first = next(iter(tenant.clients.values()), None)
    if args.secret_file and first and first["secret"]:
        fd = os.open(args.secret_file, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "w") as f:
            f.write(first["secret"])
    if args.env_file:
        lines = ["GB_TEST_GRAPH_URL='%s'" % fake.base_url, "GB_TEST_AUTHORITY_URL='%s'" % fake.base_url,
                 "GB_TEST_GRAPH_CONTROL='%s/_fake'" % fake.base_url, "GB_TEST_GRAPH_TENANT_ID='%s'" % tenant.tenant_id,
                 "GB_TEST_GRAPH_CLIENT_ID='%s'" % (first["client_id"] if first else ""),
                 "GB_TEST_GRAPH_SECRET_FILE='%s'" % (os.path.abspath(args.secret_file)
                                                     if args.secret_file and first and first["secret"] else "")]
        with open(args.env_file + ".tmp", "w") as f:
            f.write("\n".join(lines) + "\n")
        os.rename(args.env_file + ".tmp", args.env_file)
    if args.info_file:
        info = {"port": port, "url": fake.base_url, "tenant_id": tenant.tenant_id, "load_seconds": load_s,
                "clients": [{"client_id": c["client_id"], "has_secret": bool(c["secret"]),
                             "certificate": c["certificate_path"], "private_key": c["private_key_path"]}
                            for c in tenant.clients.values()]}
        with open(args.info_file + ".tmp", "w") as f:
            json.dump(info, f)
        os.rename(args.info_file + ".tmp", args.info_file)
    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    signal.signal(signal.SIGINT, lambda *_: stop.set())
    th = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.1}, daemon=True)
    th.start()
    with open(args.ready_file + ".tmp", "w") as f:
        f.write("%d\n" % port)
    os.rename(args.ready_file + ".tmp", args.ready_file)
    while not stop.wait(0.1):
        pass
    server.shutdown()
    server.server_close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
