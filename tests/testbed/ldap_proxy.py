#!/usr/bin/env python3
"""The Windows personality of the test bed: an LDAP proxy in front of a Samba AD DC that answers as a Windows Server
DC does where Samba does not (Python 3 standard library only). See README.md, "The Windows personality".

  ldap_proxy.py --upstream IP --ca CA.pem --cert CERT.pem --key KEY.pem --ready-file F [--listen IP]
                [--env-file F --prefix GB_TEST_DC1] [--max-val-range N] [--max-page-size N] [--member-limit K]
                [--referral SUFFIX DOMAIN]... [--refuse-starttls] [--rodc WRITABLE] [--dsa-name DN]
                [--max-connections N] [--delay-ms MS] [--busy-base PREFIX N] [--log F]

It listens on four ports of its own (the OS picks them; they go to the ready file as JSON, and to the env file as
PREFIX_GB_LDAPS_URI, PREFIX_GB_LDAP_URI, PREFIX_GB_GC_URI and PREFIX_GB_GCS_URI):
  ldaps  TLS from the first byte             -> the DC's 636 over TLS
  ldap   plain, StartTLS mirrored            -> the DC's 389, plain until the client's StartTLS succeeds upstream
  gc     plain, StartTLS mirrored            -> the DC's 3268
  gcs    TLS from the first byte             -> the DC's 3269
TLS: each leg is a TLS session of its own. Towards the client the proxy presents --cert/--key (a certificate from the
test CA for the listen address); towards Samba it verifies the DC's certificate against --ca. A StartTLS request is
forwarded to Samba; when Samba accepts it, the proxy upgrades its upstream leg, passes the success on and upgrades the
client's leg. So a client that binds before StartTLS meets Samba's own plain-text policy (strongerAuthRequired with
"ldap server require strong auth = allow_sasl_over_tls"), exactly as without the proxy.

What it changes, each switch off when 0 or absent:
  --max-val-range N   MaxValRange: an answer "attr;range=L-H" or "attr;range=L-*" with more than N values keeps the
                      first N, renamed "attr;range=L-(L+N-1)"; a plain attribute with more than N values becomes an
                      empty "attr" plus "attr;range=0-(N-1)" (not in the root DSE)
  --max-page-size N   MaxPageSize: a paged search asks Samba for at most N entries a page; a search without the paged
                      control that finds more ends after N entries with sizeLimitExceeded (4)
  --member-limit K    a modify or add carrying more than K values of member gets adminLimitExceeded (11) and Windows'
                      "00002024: SvcErr: DSID-031A1217, problem 5008 (ADMIN_LIMIT_EXCEEDED), data 0" (the threshold
                      is not documented by Microsoft; K is the test's)
  --referral SUFFIX DOMAIN
                      a request on an object at or below SUFFIX (a DN, as another domain's naming context) gets
                      referral (10) with "0000202B: RefErr: DSID-0310082F, data 0, 1 access points\\n\\tref 1:
                      'DOMAIN'" and the URI ldap://DOMAIN/<dn>; a subtree search above SUFFIX gets a continuation
                      reference to it, as a DC of a forest with a child domain answers
  --refuse-starttls   StartTLS gets unavailable (52) with "Error initializing SSL/TLS", as a DC without a certificate
  --rodc WRITABLE     a read-only DC: the root DSE's supportedCapabilities gains LDAP_CAP_ACTIVE_DIRECTORY_PARTIAL_
                      SECRETS_OID (1.2.840.113556.1.4.1920), and every add, modify, delete and modify DN gets referral
                      (10) with the RefErr text and the URI ldap://WRITABLE/<dn>, as an RODC refers writes to a
                      writable DC (MS-ADTS 3.1.1.3.4.3.4; the NTDS settings' msDS-isRODC stays Samba's FALSE)
  --dsa-name DN       the root DSE's dsServiceName becomes DN, so the proxy passes for another DC of the domain (a
                      URI list that names several DCs); every write it forwards is noted in the log ("write ...")
  --max-connections N after N client connections, each port stops listening: a later connection is refused, and a
                      client with a URI list goes on to its next URI
  --delay-ms MS       every message waits MS milliseconds in each direction (a DC across a site link; the order and
                      the pipelining of messages are kept)
  --busy-base PREFIX N
                      the first N base-scope searches whose base DN starts with PREFIX (case-insensitive) get busy
                      (51) with Windows' "problem 5001 (BUSY)" text, as a DC under load answers for a moment
"""
import argparse
import asyncio
import json
import os
import signal
import ssl
import sys
import time

STARTTLS_OID = b"1.3.6.1.4.1.1466.20037"
RODC_CAPABILITY = b"1.2.840.113556.1.4.1920"
PAGED_OID = b"1.2.840.113556.1.4.319"
MAX_MESSAGE = 64 * 1024 * 1024

# protocolOp tags (RFC 4511, APPLICATION n; constructed unless noted)
BIND_REQ, UNBIND_REQ, SEARCH_REQ, SEARCH_ENTRY, SEARCH_DONE = 0x60, 0x42, 0x63, 0x64, 0x65
MODIFY_REQ, MODIFY_RES, ADD_REQ, ADD_RES, DEL_REQ, DEL_RES = 0x66, 0x67, 0x68, 0x69, 0x4A, 0x6B
MODDN_REQ, MODDN_RES, COMPARE_REQ, COMPARE_RES = 0x6C, 0x6D, 0x6E, 0x6F
SEARCH_REF, EXT_REQ, EXT_RES = 0x73, 0x77, 0x78
RESPONSE_OF = {SEARCH_REQ: SEARCH_DONE, MODIFY_REQ: MODIFY_RES, ADD_REQ: ADD_RES, DEL_REQ: DEL_RES,
               MODDN_REQ: MODDN_RES, COMPARE_REQ: COMPARE_RES, EXT_REQ: EXT_RES}

ADMIN_LIMIT_TEXT = b"00002024: SvcErr: DSID-031A1217, problem 5008 (ADMIN_LIMIT_EXCEEDED), data 0\n\x00"
BUSY_TEXT = b"0000200E: SvcErr: DSID-03380FFE, problem 5001 (BUSY), data 0\n\x00"
STARTTLS_REFUSED_TEXT = b"00000000: LdapErr: DSID-0C090F86, comment: Error initializing SSL/TLS, data 0, v4563\x00"


# ---- BER (the subset LDAP uses: one-byte tags, definite lengths) ----

def read_tlv(buf, off=0):
    """(tag, value bytes, offset after) of the TLV at off."""
    tag = buf[off]
    n = buf[off + 1]
    off += 2
    if n & 0x80:
        k = n & 0x7F
        n = int.from_bytes(buf[off:off + k], "big")
        off += k
    return tag, bytes(buf[off:off + n]), off + n


def items(value):
    """The TLVs inside a constructed value, as (tag, value) pairs."""
    out, off = [], 0
    while off < len(value):
        tag, v, off = read_tlv(value, off)
        out.append((tag, v))
    return out


def enc_len(n):
    if n < 0x80:
        return bytes([n])
    b = n.to_bytes((n.bit_length() + 7) // 8, "big")
    return bytes([0x80 | len(b)]) + b


def tlv(tag, value):
    return bytes([tag]) + enc_len(len(value)) + value


def enc_int(tag, v):
    n = max(1, (v.bit_length() + 8) // 8)
    return tlv(tag, v.to_bytes(n, "big", signed=True))


def dec_int(b):
    return int.from_bytes(b, "big", signed=True)


def message(msgid, op_tag, op_value, controls=None):
    body = enc_int(0x02, msgid) + tlv(op_tag, op_value)
    if controls is not None:
        body += tlv(0xA0, controls)
    return tlv(0x30, body)


def result(code, diag=b"", matched=b"", referrals=None):
    v = enc_int(0x0A, code) + tlv(0x04, matched) + tlv(0x04, diag)
    if referrals:
        v += tlv(0xA3, b"".join(tlv(0x04, r) for r in referrals))
    return v


# ---- DNs ----

def dn_key(dn):
    """A comparable form of a DN: RDNs lower-cased with blanks around separators dropped (enough for AD's ASCII
    names in the test bed)."""
    parts, cur, esc = [], [], False
    for ch in dn.decode("utf-8", "replace"):
        if esc:
            cur.append(ch)
            esc = False
        elif ch == "\\":
            cur.append(ch)
            esc = True
        elif ch == ",":
            parts.append("".join(cur))
            cur = []
        else:
            cur.append(ch)
    parts.append("".join(cur))
    out = []
    for p in parts:
        if "=" in p:
            t, v = p.split("=", 1)
            out.append(t.strip().lower() + "=" + v.strip().lower())
        elif p.strip():
            out.append(p.strip().lower())
    return tuple(out)


def under(dn, suffix_key):
    k = dn_key(dn)
    return len(k) >= len(suffix_key) and k[len(k) - len(suffix_key):] == suffix_key


# ---- the proxy ----

class Options:
    def __init__(self, a):
        self.upstream = a.upstream
        self.max_val_range = a.max_val_range
        self.max_page_size = a.max_page_size
        self.member_limit = a.member_limit
        self.referrals = [(dn_key(s.encode()), s.encode(), d.encode()) for s, d in (a.referral or [])]
        self.refuse_starttls = a.refuse_starttls
        self.rodc = a.rodc.encode() if a.rodc else None
        self.dsa_name = a.dsa_name.encode() if a.dsa_name else None
        self.max_connections = a.max_connections
        self.connections = 0
        self.delay = a.delay_ms / 1000.0
        self.busy_prefix = a.busy_base[0].encode().lower() if a.busy_base else None
        self.busy_left = int(a.busy_base[1]) if a.busy_base else 0
        self.client_ctx = ssl.create_default_context(cafile=a.ca)
        self.server_ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        self.server_ctx.minimum_version = ssl.TLSVersion.TLSv1_2
        self.server_ctx.load_cert_chain(a.cert, a.key)
        self.log = open(a.log, "a", buffering=1) if a.log else None

    def note(self, text):
        if self.log:
            self.log.write("%s %s\n" % (time.strftime("%H:%M:%S"), text))


class Conn:
    """One client connection and its upstream connection: two pipelines (client to DC, DC to client), each a
    reader that parses and rewrites whole messages and a writer that sends them when their delay has passed."""

    def __init__(self, opt, creader, cwriter, upstream_port, upstream_tls):
        self.opt = opt
        self.cr, self.cw = creader, cwriter
        self.upstream_port = upstream_port
        self.upstream_tls = upstream_tls
        self.ur = self.uw = None
        self.to_dc = asyncio.Queue()
        self.to_client = asyncio.Queue()
        self.searches = {}        # msgid -> state of a search in progress
        self.starttls_id = None   # msgid of a StartTLS forwarded to the DC

    async def run(self):
        try:
            self.ur, self.uw = await asyncio.open_connection(
                self.opt.upstream, self.upstream_port,
                ssl=self.opt.client_ctx if self.upstream_tls else None,
                server_hostname=self.opt.upstream if self.upstream_tls else None)
        except OSError as e:
            self.opt.note("upstream %s:%d: %s" % (self.opt.upstream, self.upstream_port, e))
            self.cw.close()
            return
        self.opt.note("connection to the DC's %d%s" % (self.upstream_port, " (TLS)" if self.upstream_tls else ""))
        tasks = [asyncio.create_task(t) for t in (self.read_client(), self.write_dc(), self.read_dc(),
                                                  self.write_client())]
        await asyncio.wait(tasks, return_when=asyncio.FIRST_COMPLETED)
        await asyncio.sleep(0)
        for t in tasks:
            t.cancel()
        for w in (self.cw, self.uw):
            try:
                w.close()
            except Exception:
                pass

    @staticmethod
    async def read_message(reader):
        head = await reader.readexactly(2)
        n = head[1]
        extra = b""
        if n & 0x80:
            extra = await reader.readexactly(n & 0x7F)
            n = int.from_bytes(extra, "big")
        if n > MAX_MESSAGE:
            raise ConnectionError("message of %d bytes" % n)
        return head + extra + await reader.readexactly(n)

    def due(self):
        return asyncio.get_running_loop().time() + self.opt.delay

    async def pump_out(self, queue, writer_of):
        while True:
            item = await queue.get()
            if item is None:
                return
            when, data, hooks = item
            wait = when - asyncio.get_running_loop().time()
            if wait > 0:
                await asyncio.sleep(wait)
            if hooks:
                await hooks[0]()
            w = writer_of()
            w.write(data)
            await w.drain()
            if hooks:
                await hooks[1]()

    async def write_dc(self):
        await self.pump_out(self.to_dc, lambda: self.uw)

    async def write_client(self):
        await self.pump_out(self.to_client, lambda: self.cw)

    async def read_client(self):
        try:
            while True:
                data = await self.read_message(self.cr)
                for direction, out in self.from_client(data):
                    (self.to_dc if direction == "dc" else self.to_client).put_nowait((self.due(), out, None))
        except (asyncio.IncompleteReadError, ConnectionError, OSError):
            pass
        self.to_dc.put_nowait(None)
        await asyncio.sleep(self.opt.delay + 0.05)

    async def read_dc(self):
        try:
            while True:
                data = await self.read_message(self.ur)
                for out, hooks in self.from_dc(data):
                    self.to_client.put_nowait((self.due(), out, hooks))
        except (asyncio.IncompleteReadError, ConnectionError, OSError):
            pass
        self.to_client.put_nowait(None)
        await asyncio.sleep(self.opt.delay + 0.05)

    # -- client to DC --

    def referral_for(self, dn):
        for key, _suffix, domain in self.opt.referrals:
            if under(dn, key):
                return domain
        return None

    def refer(self, msgid, op_tag, dn, domain):
        text = b"0000202B: RefErr: DSID-0310082F, data 0, 1 access points\n\tref 1: '" + domain + b"'\n\x00"
        self.opt.note("referral for %s (%s)" % (dn.decode("utf-8", "replace"), domain.decode()))
        return message(msgid, RESPONSE_OF[op_tag], result(10, text, referrals=[b"ldap://" + domain + b"/" + dn]))

    def from_client(self, data):
        """The messages a client's message becomes: ("dc", bytes) to forward, ("client", bytes) answered here."""
        _t, body, _ = read_tlv(data)
        parts = items(body)
        msgid = dec_int(parts[0][1])
        op_tag, op = parts[1]
        controls = parts[2][1] if len(parts) > 2 and parts[2][0] == 0xA0 else None
        if op_tag == SEARCH_REQ:
            return self.search_request(data, msgid, op, controls)
        if op_tag in (MODIFY_REQ, ADD_REQ, DEL_REQ, MODDN_REQ) and (self.opt.rodc or self.opt.dsa_name):
            dn = op if op_tag == DEL_REQ else items(op)[0][1]
            if self.opt.rodc:
                return [("client", self.refer(msgid, op_tag, dn, self.opt.rodc))]
            self.opt.note("write %s" % dn.decode("utf-8", "replace"))
        if op_tag in (MODIFY_REQ, ADD_REQ):
            f = items(op)
            dn = f[0][1]
            domain = self.referral_for(dn)
            if domain:
                return [("client", self.refer(msgid, op_tag, dn, domain))]
            n = self.member_values(op_tag, f[1][1])
            if self.opt.member_limit and n > self.opt.member_limit:
                self.opt.note("%s %s with %d member values: adminLimitExceeded" %
                              ("modify" if op_tag == MODIFY_REQ else "add", dn.decode("utf-8", "replace"), n))
                return [("client", message(msgid, RESPONSE_OF[op_tag], result(11, ADMIN_LIMIT_TEXT)))]
        elif op_tag in (DEL_REQ, MODDN_REQ, COMPARE_REQ):
            dn = op if op_tag == DEL_REQ else items(op)[0][1]
            domain = self.referral_for(dn)
            if domain:
                return [("client", self.refer(msgid, op_tag, dn, domain))]
        elif op_tag == EXT_REQ:
            name = items(op)[0][1]
            if name == STARTTLS_OID:
                if self.opt.refuse_starttls:
                    self.opt.note("starttls refused (52)")
                    return [("client", message(msgid, EXT_RES, result(52, STARTTLS_REFUSED_TEXT)))]
                self.starttls_id = msgid
        return [("dc", data)]

    @staticmethod
    def member_values(op_tag, seq):
        """The number of member values in a modify's changes or an add's attributes."""
        n = 0
        for _t, item in items(seq):
            if op_tag == MODIFY_REQ:
                item = items(item)[1][1]  # change: SEQUENCE { operation, modification }
            typ, vals = items(item)[:2]
            if typ[1].lower() == b"member":
                n += len(items(vals[1]))
        return n

    def search_request(self, data, msgid, op, controls):
        f = items(op)
        base, scope = f[0][1], dec_int(f[1][1])
        domain = self.referral_for(base) if base else None
        if domain:
            return [("client", self.refer(msgid, SEARCH_REQ, base, domain))]
        if scope == 0 and self.opt.busy_left > 0 and base.lower().startswith(self.opt.busy_prefix):
            self.opt.busy_left -= 1
            self.opt.note("busy for a base search of %s" % base.decode("utf-8", "replace"))
            return [("client", message(msgid, SEARCH_DONE, result(51, BUSY_TEXT)))]
        paged = False
        if controls is not None:
            new, paged = self.cap_page_control(controls)
            if new != controls:
                data = message(msgid, SEARCH_REQ, op, new)
        refs = []
        if scope == 2:
            refs = [b"ldap://" + d + b"/" + s for key, s, d in self.opt.referrals
                    if len(dn_key(base)) < len(key) and under(s, dn_key(base))]
        self.searches[msgid] = {"rootdse": base == b"" and scope == 0, "paged": paged, "count": 0,
                                "dropped": 0, "refs": refs}
        return [("dc", data)]

    def cap_page_control(self, controls):
        """(controls with the paged-results size capped at MaxPageSize, whether there is a paged control)."""
        out, found = [], False
        for _t, c in items(controls):
            f = items(c)  # controlType, criticality (optional), controlValue (optional)
            if f[0][1] == PAGED_OID and len(f) >= 2 and f[-1][0] == 0x04:
                found = True
                size_t, cookie_t = items(read_tlv(f[-1][1])[1])[:2]
                if self.opt.max_page_size and dec_int(size_t[1]) > self.opt.max_page_size:
                    value = tlv(0x30, enc_int(0x02, self.opt.max_page_size) + tlv(0x04, cookie_t[1]))
                    c = b"".join(tlv(t, v) for t, v in f[:-1]) + tlv(0x04, value)
            out.append(tlv(0x30, c))
        return b"".join(out), found

    # -- DC to client --

    def from_dc(self, data):
        """The messages a DC's message becomes, each with (before, after) coroutines around its sending, or None."""
        _t, body, _ = read_tlv(data)
        parts = items(body)
        msgid = dec_int(parts[0][1])
        op_tag, op = parts[1]
        if op_tag == SEARCH_ENTRY:
            s = self.searches.get(msgid)
            if s is not None and not s["paged"] and self.opt.max_page_size:
                s["count"] += 1
                if s["count"] > self.opt.max_page_size:
                    s["dropped"] += 1
                    return []
            new = self.cap_values(op, s is not None and s["rootdse"])
            if s is not None and s["rootdse"] and self.opt.rodc:
                new = self.rodc_capability(new if new is not None else op)
            if s is not None and s["rootdse"] and self.opt.dsa_name:
                new = self.replace_values(new if new is not None else op, b"dsservicename", [self.opt.dsa_name])
            if new is not None:
                rest = parts[2:]
                data = tlv(0x30, b"".join(tlv(t, v) for t, v in [parts[0], (SEARCH_ENTRY, new)] + rest))
            return [(data, None)]
        if op_tag == SEARCH_DONE:
            s = self.searches.pop(msgid, None)
            out = []
            if s is not None:
                for r in s["refs"]:
                    out.append((message(msgid, SEARCH_REF, tlv(0x04, r)), None))
                if s["dropped"]:
                    self.opt.note("search %d: %d entries beyond MaxPageSize: sizeLimitExceeded" % (msgid, s["dropped"]))
                    data = message(msgid, SEARCH_DONE, result(4, b"00000004: LdapErr: DSID-0C090A12, comment: "
                                                                  b"Error processing control, data 0, v4563\x00"))
            out.append((data, None))
            return out
        if op_tag == EXT_RES and msgid == self.starttls_id:
            self.starttls_id = None
            if dec_int(items(op)[0][1]) == 0:
                # the DC's leg first (nothing else is in flight: a client sends nothing while StartTLS is pending),
                # then the success to the client, then the client's leg
                return [(data, (self.upgrade_dc, self.upgrade_client))]
        return [(data, None)]

    async def upgrade_dc(self):
        await self.uw.start_tls(self.opt.client_ctx, server_hostname=self.opt.upstream)
        self.opt.note("starttls: the DC's leg upgraded")

    async def upgrade_client(self):
        await self.cw.start_tls(self.opt.server_ctx)
        self.opt.note("starttls: the client's leg upgraded")

    @staticmethod
    def rodc_capability(entry):
        """The root DSE's SearchResultEntry value with the RODC capability added to supportedCapabilities."""
        f = items(entry)
        out = []
        for _t, a in items(f[1][1]):
            typ, vals = items(a)[:2]
            if typ[1].lower() == b"supportedcapabilities":
                a = tlv(0x04, typ[1]) + tlv(0x31, vals[1] + tlv(0x04, RODC_CAPABILITY))
            out.append(tlv(0x30, a))
        return tlv(0x04, f[0][1]) + tlv(0x30, b"".join(out))

    @staticmethod
    def replace_values(entry, name, values):
        """The SearchResultEntry value with attribute name's (lower case) values replaced."""
        f = items(entry)
        out = []
        for _t, a in items(f[1][1]):
            typ = items(a)[0]
            if typ[1].lower() == name:
                a = tlv(0x04, typ[1]) + tlv(0x31, b"".join(tlv(0x04, v) for v in values))
            out.append(tlv(0x30, a))
        return tlv(0x04, f[0][1]) + tlv(0x30, b"".join(out))

    def cap_values(self, entry, rootdse):
        """The SearchResultEntry value with ranged answers capped at MaxValRange (None when nothing changes)."""
        n = self.opt.max_val_range
        if not n:
            return None
        f = items(entry)
        name, attrs = f[0][1], items(f[1][1])
        out, changed = [], False
        for _t, a in attrs:
            typ, vals = items(a)[:2]
            t, values = typ[1], items(vals[1])
            low, is_ranged = None, False
            lt = t.lower()
            i = lt.find(b";range=")
            if i >= 0:
                is_ranged = True
                spec = t[i + 7:]
                try:
                    low = int(spec.split(b"-", 1)[0])
                except ValueError:
                    low = None
            if is_ranged and low is not None and len(values) > n:
                t2 = t[:i] + b";range=%d-%d" % (low, low + n - 1)
                out.append(tlv(0x30, tlv(0x04, t2) + tlv(0x31, b"".join(tlv(0x04, v) for _x, v in values[:n]))))
                changed = True
            elif not is_ranged and not rootdse and len(values) > n:
                out.append(tlv(0x30, tlv(0x04, t) + tlv(0x31, b"")))
                t2 = t + b";range=0-%d" % (n - 1)
                out.append(tlv(0x30, tlv(0x04, t2) + tlv(0x31, b"".join(tlv(0x04, v) for _x, v in values[:n]))))
                changed = True
            else:
                out.append(tlv(0x30, a))
        if not changed:
            return None
        self.opt.note("entry %s: values capped at %d" % (name.decode("utf-8", "replace"), n))
        return tlv(0x04, name) + tlv(0x30, b"".join(out))


# ---- main ----

async def serve(args):
    opt = Options(args)
    listen = args.listen or args.upstream
    # name: (the client's leg is TLS from the first byte, the DC's port, the DC's leg is TLS from the first byte)
    routes = {"ldaps": (True, 636, True), "ldap": (False, 389, False), "gcs": (True, 3269, True),
              "gc": (False, 3268, False)}
    servers, ports = [], {}
    for name, (client_tls, port, dc_tls) in routes.items():
        def handler(r, w, port=port, dc_tls=dc_tls):
            opt.connections += 1
            if opt.max_connections and opt.connections >= opt.max_connections:
                opt.note("%d connections: no longer listening" % opt.connections)
                for srv in servers:
                    srv.close()
            return Conn(opt, r, w, port, dc_tls).run()
        srv = await asyncio.start_server(handler, listen, 0, ssl=opt.server_ctx if client_tls else None)
        servers.append(srv)
        ports[name] = srv.sockets[0].getsockname()[1]
    if args.env_file:
        p = args.prefix
        lines = ["%s_GB_LDAPS_URI='ldaps://%s:%d'" % (p, listen, ports["ldaps"]),
                 "%s_GB_LDAP_URI='ldap://%s:%d'" % (p, listen, ports["ldap"]),
                 "%s_GB_GC_URI='ldap://%s:%d'" % (p, listen, ports["gc"]),
                 "%s_GB_GCS_URI='ldaps://%s:%d'" % (p, listen, ports["gcs"])]
        with open(args.env_file + ".tmp", "w") as f:
            f.write("\n".join(lines) + "\n")
        os.replace(args.env_file + ".tmp", args.env_file)
    with open(args.ready_file + ".tmp", "w") as f:
        json.dump(ports, f)
    os.replace(args.ready_file + ".tmp", args.ready_file)
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stop.set)
    opt.note("listening on %s: %s" % (listen, json.dumps(ports)))
    await stop.wait()
    for srv in servers:
        srv.close()


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--upstream", required=True, help="the DC's IP address")
    ap.add_argument("--listen", help="the address to listen on (default: the DC's)")
    ap.add_argument("--ca", required=True, help="the CA that signed the DC's certificate")
    ap.add_argument("--cert", required=True, help="the proxy's certificate (for the listen address)")
    ap.add_argument("--key", required=True)
    ap.add_argument("--ready-file", required=True, help="the ports as JSON, once the proxy listens")
    ap.add_argument("--env-file", help="shell assignments of the proxy's URIs")
    ap.add_argument("--prefix", default="GB_TEST_DC1")
    ap.add_argument("--max-val-range", type=int, default=0)
    ap.add_argument("--max-page-size", type=int, default=0)
    ap.add_argument("--member-limit", type=int, default=0)
    ap.add_argument("--referral", nargs=2, action="append", metavar=("SUFFIX", "DOMAIN"))
    ap.add_argument("--refuse-starttls", action="store_true")
    ap.add_argument("--rodc", metavar="WRITABLE", help="answer as a read-only DC that refers writes to WRITABLE")
    ap.add_argument("--dsa-name", metavar="DN", help="the dsServiceName the root DSE reports")
    ap.add_argument("--max-connections", type=int, default=0)
    ap.add_argument("--delay-ms", type=int, default=0)
    ap.add_argument("--busy-base", nargs=2, metavar=("PREFIX", "N"))
    ap.add_argument("--log")
    args = ap.parse_args()
    try:
        asyncio.run(serve(args))
    except KeyboardInterrupt:
        pass
    return 0


if __name__ == "__main__":
    sys.exit(main())
