#!/usr/bin/env python3
"""scenario.py: data for the provisioning benchmarks (bench/provision.sh). Python 3 standard library only.

    scenario.py users COUNT OU PREFIX          LDIF adding COUNT users CN=PREFIX-NNNNNN,OU (to stdout)
    scenario.py guids PREFIX                   reads `ldapsearch -LLL -o ldif-wrap=no ... cn objectGUID` on stdin,
                                               prints "INDEX GUID" lines for the users named PREFIX-NNNNNN
    scenario.py tenant GUIDS OUT.json STATS.json --groups G --links L --big B --cloud-only C --nested N [--seed S]
        writes a Graph fake tenant: one user per line of GUIDS (their onPremisesObjectIdentifier) plus C cloud-only
        users; G groups holding L membership links in all: group 0 has exactly B members (AD users 0..B-1), the
        other groups' sizes follow a Zipf-like skew (size ~ 1/rank), members drawn at random from every user; N
        groups also hold one or two other groups (nesting; nested groups are leaves). STATS.json gets the sizes and
        the Graph floor (the fewest requests that read the same data with pages of 999).
    scenario.py change TENANT.json SHARE OUT.json [--seed S]
        a /_fake/mutate body changing SHARE (e.g. 0.01) of the memberships of AD users: half removals, half
        additions of AD users not yet members, over random groups other than group 0; prints the number of groups
        changed
    scenario.py floor-ldif RESULT.ldif FROM_OU TO_OU OUT.ldif
        turns `ldapsearch -LLL -o ldif-wrap=no` output of the groups groupbridge wrote (cn, sAMAccountName,
        groupType, description, adminDescription, msDS-ExternalDirectoryObjectId, member) into the minimal LDIF that creates the same groups with the same members
        under TO_OU: one add per group, groups that are members of others first
    scenario.py graph-count LOG.json            counts a /_fake/log reply: requests by kind (JSON on stdout)
"""

import base64
import json
import math
import random
import re
import sys
import uuid

PAGE = 999
GROUP_PREFIX = "0be0c100-0000-4000-8000-"
USER_PREFIX = "0be0c500-0000-4000-8000-"
CLOUD_PREFIX = "0bc10d00-0000-4000-8000-"


def gid(prefix, i):
    return "%s%012x" % (prefix, i)


def cmd_users(count, ou, prefix):
    out = sys.stdout
    for i in range(int(count)):
        name = "%s-%06d" % (prefix, i)
        out.write("dn: CN=%s,%s\nobjectClass: user\nsAMAccountName: %s\n\n" % (name, ou, name))


def cmd_guids(prefix):
    text = sys.stdin.read()
    pat = re.compile(r"^cn: %s-(\d+)$" % re.escape(prefix), re.M)
    found = {}
    for block in text.split("\n\n"):
        m = pat.search(block)
        g = re.search(r"^objectGUID:: (\S+)", block, re.M)
        if m and g:
            found[int(m.group(1))] = str(uuid.UUID(bytes_le=base64.b64decode(g.group(1))))
    for i in sorted(found):
        print(i, found[i])


def opt(args, name, default=None, conv=int):
    if name in args:
        return conv(args[args.index(name) + 1])
    if default is None:
        sys.exit("scenario.py: %s is required" % name)
    return default


def cmd_tenant(guids_file, out_file, stats_file, args):
    groups = opt(args, "--groups")
    links = opt(args, "--links")
    big = opt(args, "--big")
    cloud_only = opt(args, "--cloud-only", 0)
    nested = opt(args, "--nested", 0)
    rng = random.Random(opt(args, "--seed", 1))
    guids = [line.split()[1] for line in open(guids_file) if line.strip()]
    if big > len(guids):
        sys.exit("scenario.py: the big group needs %d AD users, %s has %d" % (big, guids_file, len(guids)))
    users = [{"id": gid(USER_PREFIX, i), "displayName": "Bench User %d" % i,
              "userPrincipalName": "bench%d@test.example" % i, "onPremisesObjectIdentifier": g,
              "onPremisesSyncEnabled": True} for i, g in enumerate(guids)]
    users += [{"id": gid(CLOUD_PREFIX, i), "displayName": "Cloud User %d" % i,
               "userPrincipalName": "cloud%d@test.example" % i, "onPremisesObjectIdentifier": None,
               "onPremisesSyncEnabled": None} for i in range(cloud_only)]
    ids = [u["id"] for u in users]
    # sizes: group 0 = big; the rest share links - big with weights 1/rank, each at most the number of users
    rest = links - big
    weights = [1.0 / (r + 1) for r in range(groups - 1)]
    total = sum(weights)
    sizes = [min(len(ids), int(rest * w / total)) for w in weights]
    short = rest - sum(sizes)
    i = 0
    while short > 0 and groups > 1:
        if sizes[i % len(sizes)] < len(ids):
            sizes[i % len(sizes)] += 1
            short -= 1
        i += 1
    sizes = [big] + sizes
    out_groups = []
    for n in range(groups):
        if n == 0:
            members = ids[:big]
        else:
            members = rng.sample(ids, sizes[n])
        out_groups.append({"id": gid(GROUP_PREFIX, n), "displayName": "Bench Group %04d" % n,
                           "description": "bench group %d" % n, "securityEnabled": True, "mailEnabled": False,
                           "groupTypes": [], "members": members})
    # nesting: the last `nested` groups before the leaves hold one or two of the smallest groups (leaves)
    leaves = list(range(groups - 1, max(0, groups - 1 - 2 * nested), -1))
    holders = list(range(1, 1 + nested))
    nested_links = 0
    for h in holders:
        for leaf in rng.sample(leaves, min(len(leaves), 1 + h % 2)):
            if leaf != h:
                out_groups[h]["members"].append(gid(GROUP_PREFIX, leaf))
                nested_links += 1
    tenant = {"tenant_id": "0be0c101-2222-4333-8444-555555555555",
              "clients": [{"client_id": "0be0c102-2222-4333-8444-555555555555", "secret": "bench-secret"}],
              "page_size": 100, "users": users, "groups": out_groups}
    with open(out_file, "w") as f:
        json.dump(tenant, f)
    member_pages = sum(max(1, math.ceil(len(g["members"]) / PAGE)) for g in out_groups)
    stats = {"groups": groups, "ad_users": len(guids), "cloud_only_users": cloud_only,
             "links": sum(len(g["members"]) for g in out_groups), "nested_links": nested_links,
             "big_group_members": big, "largest_other_group": max(sizes[1:]) if groups > 1 else 0,
             "graph_floor_requests": math.ceil(groups / PAGE) + member_pages,
             "graph_floor_detail": "%d group pages + %d member pages (999 a page, one at least per group)"
                                   % (math.ceil(groups / PAGE), member_pages)}
    with open(stats_file, "w") as f:
        json.dump(stats, f)


def cmd_change(tenant_file, share, out_file, args):
    rng = random.Random(opt(args, "--seed", 2))
    t = json.load(open(tenant_file))
    ad = [u["id"] for u in t["users"] if u.get("onPremisesObjectIdentifier")]
    ad_set = set(ad)
    candidates = [g for g in t["groups"][1:]]
    total = sum(1 for g in t["groups"] for m in g["members"] if m in ad_set)
    n = max(2, int(round(total * float(share))))
    changes = {}
    for k in range(n):
        g = rng.choice(candidates)
        c = changes.setdefault(g["id"], {"add": set(), "remove": set()})
        current = set(g["members"])
        if k % 2 == 0:
            pool = [m for m in g["members"] if m in ad_set and m not in c["remove"]]
            if pool:
                c["remove"].add(rng.choice(pool))
                continue
        while True:
            m = rng.choice(ad)
            if m not in current and m not in c["add"]:
                c["add"].add(m)
                break
    body = []
    for g, c in changes.items():
        if c["add"]:
            body.append({"op": "add_members", "group": g, "members": sorted(c["add"])})
        if c["remove"]:
            body.append({"op": "remove_members", "group": g, "members": sorted(c["remove"])})
    with open(out_file, "w") as f:
        json.dump({"changes": body}, f)
    print(len(changes), sum(len(c["add"]) + len(c["remove"]) for c in changes.values()))


def parse_ldif(path):
    entries = []
    for block in open(path).read().split("\n\n"):
        dn = None
        attrs = []
        for line in block.splitlines():
            if not line or line.startswith("#") or ":" not in line:
                continue
            name, _, value = line.partition(":")
            if name == "dn":
                dn = value.strip()
                if value.startswith(":"):
                    dn = base64.b64decode(value[1:].strip()).decode()
            else:
                attrs.append((name, value))
        if dn:
            entries.append((dn, attrs))
    return entries


def cmd_floor_ldif(result, from_ou, to_ou, out_file):
    entries = parse_ldif(result)
    low = from_ou.lower()

    def move(dn):
        if dn.lower().endswith(low):
            return dn[:len(dn) - len(low)] + to_ou
        return dn
    groups = {dn.lower() for dn, _ in entries}
    # groups that are members of other groups go first
    inner = set()
    for dn, attrs in entries:
        for name, value in attrs:
            if name.lower() == "member" and value.strip().lower() in groups:
                inner.add(value.strip().lower())
    ordered = [e for e in entries if e[0].lower() in inner] + [e for e in entries if e[0].lower() not in inner]
    with open(out_file, "w") as f:
        for dn, attrs in ordered:
            f.write("dn: %s\nobjectClass: group\n" % move(dn))
            for name, value in attrs:
                if name.lower() == "objectclass":
                    continue
                if name.lower() == "member":
                    f.write("member: %s\n" % move(value.strip()))
                elif name.lower() == "samaccountname":
                    # unique in the domain: the floor's copy gets a name of its own of the same length
                    f.write("sAMAccountName: F%s\n" % value.strip()[1:])
                elif name.lower() in ("admindescription", "msds-externaldirectoryobjectid"):
                    # another anchor of the same length, so that groupbridge's later passes do not find the copies
                    f.write("%s: %s\n" % (name, value.strip().replace(GROUP_PREFIX[:8], "0be0cf00")))
                else:
                    f.write("%s:%s\n" % (name, value))
            f.write("\n")


def cmd_graph_count(log_file):
    log = json.load(open(log_file))["value"]
    kinds = {"token": 0, "delta": 0, "groups": 0, "members": 0, "users": 0, "batch": 0, "other": 0}
    parts = 0
    for r in log:
        p = r["path"]
        if "oauth2/v2.0/token" in p:
            kinds["token"] += 1
        elif "/delta" in p:
            kinds["delta"] += 1
        elif "$batch" in p:
            kinds["batch"] += 1
            parts += len(r.get("parts") or [])
        elif re.search(r"/groups/[^/?]+/(transitiveM|m)embers", p):
            kinds["members"] += 1
        elif re.search(r"/groups(\?|/|$)", p):
            kinds["groups"] += 1
        elif "/users" in p or "/directoryObjects" in p:
            kinds["users"] += 1
        else:
            kinds["other"] += 1
    kinds["graph"] = len(log) - kinds["token"]
    kinds["batch_parts"] = parts
    print(json.dumps(kinds))


def main(argv):
    if len(argv) < 2:
        sys.exit(__doc__)
    cmd, rest = argv[1], argv[2:]
    if cmd == "users" and len(rest) == 3:
        cmd_users(*rest)
    elif cmd == "guids" and len(rest) == 1:
        cmd_guids(rest[0])
    elif cmd == "tenant" and len(rest) >= 3:
        cmd_tenant(rest[0], rest[1], rest[2], rest[3:])
    elif cmd == "change" and len(rest) >= 3:
        cmd_change(rest[0], rest[1], rest[2], rest[3:])
    elif cmd == "floor-ldif" and len(rest) == 4:
        cmd_floor_ldif(*rest)
    elif cmd == "graph-count" and len(rest) == 1:
        cmd_graph_count(rest[0])
    else:
        sys.exit(__doc__)


if __name__ == "__main__":
    main(sys.argv)
