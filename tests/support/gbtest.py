#!/usr/bin/env python3
"""Small helpers for the shell integration tests, the scenario runner and the demo (Python 3 standard library).

The shell helpers in tests/integration/lib_ad.sh call this instead of carrying Python heredocs of their own.

  gbtest.py guids                          LDIF (cn, objectGUID) on stdin -> "NAME=GUID" lines, "-" in NAME as "_"
  gbtest.py sid                            LDIF with one objectSid on stdin -> the SID as text (S-1-5-21-...)
  gbtest.py control URL CA METHOD PATH [BODY]
                                           calls the Graph fake's control API (PATH below /_fake), prints the reply;
                                           BODY is JSON text, or @FILE
  gbtest.py tenant new FILE [K=V | K:=JSON]...
                                           a tenant with a fresh id and client (secret "tenant-secret") and no objects;
                                           K=V sets a top-level string, K:=JSON any value (page_size:=2)
  gbtest.py uid NAME                       the Graph id a test's user name stands for (see user_id: u-alice -> a GUID)
  gbtest.py tenant user FILE ID GUID|null [K=V | K:=JSON]...
                                           adds a user; GUID is its onPremisesObjectIdentifier (null: cloud-only);
                                           ID and members= names such as u-alice become GUIDs (user_id)
  gbtest.py tenant group FILE ID NAME [members=A,B,...] [K=V | K:=JSON]...
                                           adds a security group (securityEnabled, not mail-enabled, no groupTypes
                                           unless given) and appends ID to FILE.groups
  gbtest.py tenant of-groups OUT GUIDS PREFIX NAME COUNT [PAGE_SIZE [ROTATE]]
                                           users from the "NAME=GUID" lines of GUIDS (id user_id(u-NAME)) and COUNT groups
                                           PREFIX-0000-4000-8000-<n, 12 digits> named by the printf format NAME with
                                           n, each holding every user (ROTATE r: all but the first n % r); ids to
                                           OUT.groups
  gbtest.py tenant append FILE KEY JSON    appends the JSON value to the tenant's list KEY (clients, devices, ...)
  gbtest.py tenant count-links FILE        the number of member references of the tenant's groups
  gbtest.py json FILE EXPR                 prints the Python expression EXPR evaluated with j = the JSON of FILE
  gbtest.py coexistence-export REPO OUT   copies the Connect Sync export tests/data/connect-sync/contoso-2016-upgraded
                                           of REPO (links followed) to OUT as it looks after the operator's coexistence
                                           script: both coexistence rules added, staging mode on
  gbtest.py objects OU                     LDIF (cn, objectGUID, objectSid) on stdin -> a placeholder map for the
                                           scenario runner: "@GUID:CN@<TAB>guid" and "@SID:CN@<TAB>sid" lines for
                                           entry below OU
  gbtest.py subst MAP [--reverse]          copies stdin to stdout with every placeholder of MAP ("KEY<TAB>VALUE"
                                           lines) replaced by its value, and test user names (u-alice) by their
                                           GUIDs (user_id); --reverse replaces values by their keys, longest first,
                                           the users' GUIDs by their names, and sorts runs of "<GUID=...>" value
                                           lines (normalising output for golden files)
  gbtest.py protect-sd                     a security descriptor (base64, self-relative) on stdin -> the same with
                                           SE_DACL_PROTECTED set (its DACL no longer inherits), base64
  gbtest.py own-anchors                    LDIF (adminDescription, msDS-ExternalDirectoryObjectId) on stdin -> the
                                           number of entries whose two values are equal and set
"""
import base64
import json
import os
import re
import shutil
import ssl
import struct
import sys
import urllib.request
import uuid


def ldif_blocks(text):
    """Entries of an LDIF text as lists of (attribute, value) with base64 values decoded to bytes."""
    text = text.replace("\n ", "")
    out = []
    for block in text.split("\n\n"):
        pairs = []
        for line in block.splitlines():
            m = re.match(r"^([A-Za-z0-9;=.-]+)(::?) ?(.*)$", line)
            if not m:
                continue
            value = base64.b64decode(m.group(3)) if m.group(2) == "::" else m.group(3).encode()
            pairs.append((m.group(1), value))
        if pairs:
            out.append(pairs)
    return out


def first(pairs, name):
    for k, v in pairs:
        if k.lower() == name.lower():
            return v
    return None


def cmd_guids(_args):
    for pairs in ldif_blocks(sys.stdin.read()):
        cn, g = first(pairs, "cn"), first(pairs, "objectGUID")
        if cn is not None and g is not None and len(g) == 16:
            print("%s=%s" % (cn.decode().replace("-", "_"), uuid.UUID(bytes_le=g)))


def sid_text(b):
    auth = int.from_bytes(b[2:8], "big")
    subs = struct.unpack("<%dI" % b[1], b[8:8 + 4 * b[1]])
    return "S-%d-%d-%s" % (b[0], auth, "-".join(map(str, subs)))


def cmd_sid(_args):
    for pairs in ldif_blocks(sys.stdin.read()):
        s = first(pairs, "objectSid")
        if s is not None:
            print(sid_text(s))
            return


def cmd_control(args):
    url, ca, method, path = args[:4]
    body = args[4] if len(args) > 4 else ""
    if body.startswith("@"):
        body = open(body[1:]).read()
    ctx = ssl.create_default_context(cafile=ca)
    req = urllib.request.Request(url + path, data=body.encode() if body else None, method=method,
                                 headers={"Content-Type": "application/json"})
    sys.stdout.write(urllib.request.urlopen(req, context=ctx, timeout=600).read().decode())
    sys.stdout.write("\n")


def assignments(items):
    """K=V (a string) and K:=JSON pairs."""
    out = {}
    for item in items:
        k, sep, v = item.partition("=")
        if not sep or not k:
            sys.exit("gbtest.py: %r is not K=V or K:=JSON" % item)
        if k.endswith(":"):
            out[k[:-1]] = json.loads(v)
        else:
            out[k] = v
    return out


def load(path):
    return json.load(open(path))


def save(path, tenant):
    tmp = path + ".tmp"
    with open(tmp, "w") as f:
        json.dump(tenant, f, indent=1)
    os.replace(tmp, path)


def new_tenant():
    return {"tenant_id": "fffffff0-2222-4333-8444-555555555555",
            "clients": [{"client_id": "fffffff1-2222-4333-8444-555555555555", "secret": "tenant-secret"}],
            "users": [], "groups": []}


GUID = re.compile(r"^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$")


def user_id(name):
    """Graph object ids are GUIDs (groupbridge refuses others), so a test's short user name such as u-alice becomes one:
    a GUID stays as it is; u-NAME with NAME of at most 6 characters becomes 0000eeee-0000-4000-8000-<NAME in hex>,
    readable in a failing test's output; any other name becomes uuid5(OID, name). Other ids (devices) are left alone."""
    if GUID.match(name) or not name.startswith("u-"):
        return name
    short = name[2:]
    if len(short) <= 6:
        return "0000eeee-0000-4000-8000-" + short.encode().hex().zfill(12)
    return str(uuid.uuid5(uuid.NAMESPACE_OID, name))


def user_name(guid):
    """user_id's inverse for its readable form: 0000eeee-0000-4000-8000-00616c696365 -> u-alice."""
    h = guid[-12:]
    while h.startswith("00"):
        h = h[2:]
    return "u-" + bytes.fromhex(h).decode()


def security_group(gid, name, members):
    return {"id": gid, "displayName": name, "securityEnabled": True, "mailEnabled": False, "groupTypes": [],
            "members": members}


def add_group_id(path, gid):
    with open(path + ".groups", "a") as f:
        f.write(gid + "\n")


def cmd_tenant(args):
    what, path, rest = args[0], args[1], args[2:]
    if what == "new":
        t = new_tenant()
        t.update(assignments(rest))
        save(path, t)
        open(path + ".groups", "w").close()
    elif what == "user":
        t = load(path)
        u = {"id": user_id(rest[0]), "onPremisesObjectIdentifier": None if rest[1] == "null" else rest[1]}
        u.update(assignments(rest[2:]))
        t.setdefault("users", []).append(u)
        save(path, t)
    elif what == "group":
        t = load(path)
        extra = assignments(rest[2:])
        members = extra.pop("members", "")
        if isinstance(members, str):
            members = [user_id(m) for m in members.split(",") if m]
        g = security_group(rest[0], rest[1], members)
        g.update(extra)
        t.setdefault("groups", []).append(g)
        save(path, t)
        add_group_id(path, rest[0])
    elif what == "of-groups":
        guids, prefix, name, count = rest[:4]
        page = int(rest[4]) if len(rest) > 4 else 999
        rotate = int(rest[5]) if len(rest) > 5 else 0
        users = [{"id": user_id("u-%s" % l.split("=")[0]), "onPremisesObjectIdentifier": l.split("=")[1].strip()}
                 for l in open(guids) if "=" in l]
        ids = [u["id"] for u in users]
        t = new_tenant()
        t["page_size"] = page
        t["users"] = users
        t["groups"] = [security_group("%s-0000-4000-8000-%012d" % (prefix, n), name % n,
                                      ids[n % rotate:] if rotate else ids)
                       for n in range(1, int(count) + 1)]
        save(path, t)
        with open(path + ".groups", "w") as f:
            f.write("".join(g["id"] + "\n" for g in t["groups"]))
    elif what == "append":
        t = load(path)
        t.setdefault(rest[0], []).append(json.loads(rest[1]))
        save(path, t)
    elif what == "count-links":
        print(sum(len(g.get("members", [])) for g in load(path).get("groups", [])))
    else:
        sys.exit("gbtest.py: unknown tenant command %s" % what)


def cmd_json(args):
    j = load(args[0])
    print(eval(args[1], {"j": j, "json": json}))


def cmd_own_anchors(_args):
    n = 0
    for pairs in ldif_blocks(sys.stdin.read()):
        a, b = first(pairs, "adminDescription"), first(pairs, "msDS-ExternalDirectoryObjectId")
        if a and a == b:
            n += 1
    print(n)


def cmd_coexistence_export(args):
    repo, out = args
    cs = os.path.join(repo, "tests", "data", "connect-sync")
    shutil.copytree(os.path.join(cs, "contoso-2016-upgraded"), out)  # symlinks=False: the linked files are copied
    rules = os.path.join(out, "SynchronizationRules")
    for name, guid in (("coex-inbound", "e4eae1c9-b9bc-4328-ade9-df871cdd3027"),
                       ("coex-outbound", "419fda18-75bb-4e23-b947-8b06e7246551")):
        shutil.copy(os.path.join(cs, "fixtures", "rules", name + ".xml"),
                    os.path.join(rules, "SynchronizationRule_{%s}.xml" % guid))
    mv = os.path.join(out, "GlobalSettings", "MV.xml")
    text = open(mv, encoding="utf-8", newline="").read()
    key = '"Microsoft.Synchronize.StagingMode" type="string" use="SynchronizationGlobal" dataType="String">'
    if key + "False" not in text:
        sys.exit("gbtest.py: %s does not hold staging mode False" % mv)
    open(mv, "w", encoding="utf-8", newline="").write(text.replace(key + "False", key + "True"))


def cmd_objects(args):
    for pairs in ldif_blocks(sys.stdin.read()):
        cn, g, s = first(pairs, "cn"), first(pairs, "objectGUID"), first(pairs, "objectSid")
        if cn is None:
            continue
        name = cn.decode()
        if g is not None and len(g) == 16:
            print("@GUID:%s@\t%s" % (name, uuid.UUID(bytes_le=g)))
        if s is not None:
            print("@SID:%s@\t%s" % (name, sid_text(s)))


def sort_value_runs(text):
    """Sorts each run of consecutive member-value lines ("  <GUID=...>"), whose order follows random GUIDs."""
    out, run = [], []
    for line in text.split("\n"):
        if re.match(r"^\s+<(GUID|SID)=", line):
            run.append(line)
            continue
        out.extend(sorted(run))
        run = []
        out.append(line)
    out.extend(sorted(run))
    return "\n".join(out)


def cmd_subst(args):
    pairs = [l.rstrip("\n").split("\t", 1) for l in open(args[0]) if "\t" in l]
    text = sys.stdin.read()
    if len(args) > 1 and args[1] == "--reverse":
        for key, value in sorted(pairs, key=lambda kv: -len(kv[1])):
            if len(value) >= 8:  # a short value (@TAG@, a pid) could stand inside other numbers
                text = re.sub(re.escape(value), lambda _m, k=key: k, text, flags=re.I)
        text = re.sub(r"0000eeee-0000-4000-8000-[0-9a-f]{12}", lambda m: user_name(m.group(0)), text)
        text = sort_value_runs(text)
    else:
        for key, value in pairs:
            text = text.replace(key, value)
        text = re.sub(r"(?<![\w-])u-[a-z0-9_]{1,6}(?![\w-])", lambda m: user_id(m.group(0)), text)
        left = re.findall(r"@[A-Z]+(?::[^@\n]*)?@", text)
        if left:
            sys.exit("gbtest.py subst: no value for %s" % ", ".join(sorted(set(left))))
    sys.stdout.write(text)


def cmd_protect_sd(_args):
    """SE_DACL_PROTECTED set, and the ACEs the DACL inherited (INHERITED_ACE) dropped, as SDProp leaves a protected
    object: only its own ACEs, none from above. Handles the DACL-only descriptors an SD_FLAGS read gives."""
    sd = bytearray(base64.b64decode(sys.stdin.read().strip()))
    control = struct.unpack_from("<H", sd, 2)[0] | 0x1000  # SE_DACL_PROTECTED
    struct.pack_into("<H", sd, 2, control)
    owner, group, sacl, dacl = struct.unpack_from("<IIII", sd, 4)
    if dacl and max(owner, group, sacl) < dacl:
        rev, _sbz, size, count = struct.unpack_from("<BBHH", sd, dacl)
        off, kept = dacl + 8, []
        for _ in range(count):
            flags, ace_size = sd[off + 1], struct.unpack_from("<H", sd, off + 2)[0]
            if not flags & 0x10:  # INHERITED_ACE
                kept.append(bytes(sd[off:off + ace_size]))
            off += ace_size
        body = b"".join(kept)
        acl = struct.pack("<BBHHH", rev, 0, 8 + len(body), len(kept), 0) + body
        sd = sd[:dacl] + acl
    print(base64.b64encode(bytes(sd)).decode())


def cmd_uid(args):
    print(user_id(args[0]))


COMMANDS = {"uid": cmd_uid, "protect-sd": cmd_protect_sd, "objects": cmd_objects, "subst": cmd_subst, "coexistence-export": cmd_coexistence_export, "guids": cmd_guids, "sid": cmd_sid, "control": cmd_control, "tenant": cmd_tenant, "json": cmd_json,
            "own-anchors": cmd_own_anchors}

if __name__ == "__main__":
    if len(sys.argv) < 2 or sys.argv[1] not in COMMANDS:
        sys.exit(__doc__)
    COMMANDS[sys.argv[1]](sys.argv[2:])
