#!/usr/bin/env python3
"""demo_tenant.py USERS.LDIF TENANT.JSON: the demo tenant for `make demo`.

Users synced from the demo forest carry their AD objectGUID as onPremisesObjectIdentifier (read from USERS.LDIF, an
ldapsearch of cn and objectGUID). The groups cover the cases provisioning must tell apart: on-premises members,
cloud-only members, a user of another forest, a nested group, a group synced from AD, a mail-enabled group, a
Microsoft 365 group and a device. groups.txt (the selected scope) is written beside TENANT.JSON.
"""
import base64
import json
import os
import re
import sys
import uuid


def uid(name):
    """A user's object id: Graph's ids are GUIDs (groupbridge refuses others), derived from the name."""
    return str(uuid.uuid5(uuid.NAMESPACE_OID, "groupbridge-demo-user-" + name))


def read_users(path):
    text = open(path).read().replace("\n ", "")
    users = {}
    for block in text.split("\n\n"):
        cn = re.search(r"^cn: (\S+)", block, re.M)
        guid = re.search(r"^objectGUID:: (\S+)", block, re.M)
        if cn and guid:
            users[cn.group(1)] = str(uuid.UUID(bytes_le=base64.b64decode(guid.group(1))))
    return users


def main():
    ldif, out = sys.argv[1], sys.argv[2]
    guids = read_users(ldif)
    if len(guids) < 8:
        sys.exit("demo_tenant.py: expected 8 users in %s, found %d" % (ldif, len(guids)))
    users = [{"id": uid(cn), "displayName": cn.capitalize(), "userPrincipalName": cn + "@contoso.example",
              "onPremisesObjectIdentifier": g, "onPremisesSyncEnabled": True} for cn, g in sorted(guids.items())]
    users += [
        {"id": uid("ext-auditor"), "displayName": "External Auditor", "userPrincipalName": "auditor@contoso.example",
         "onPremisesObjectIdentifier": None},
        {"id": uid("partner"), "displayName": "Partner (fabrikam forest)", "userPrincipalName": "p@fabrikam.example",
         "onPremisesObjectIdentifier": "0f0f0f0f-1111-4222-8333-444444444444", "onPremisesSyncEnabled": True},
    ]

    def gid(n):
        return "f1a00000-0000-4000-8000-%012d" % n

    sec = {"securityEnabled": True, "mailEnabled": False, "groupTypes": []}
    groups = [
        dict(sec, id=gid(1), displayName="Finance Approvers", description="Approves invoices over 10,000 EUR",
             members=[uid("adele"), uid("grady"), uid("ext-auditor")]),
        dict(sec, id=gid(2), displayName="Sales EMEA", description="Sales, Europe & Middle East",
             members=[uid("alex"), uid("diego"), uid("johanna"), uid("partner")]),
        dict(sec, id=gid(3), displayName="Engineering", members=[uid("isaiah"), uid("lee")]),
        dict(sec, id=gid(4), displayName="All Staff", description="Every department",
             members=[gid(1), gid(2), gid(3), gid(6)]),
        dict(sec, id=gid(5), displayName="Board Mail", mailEnabled=True, members=[uid("megan")]),
        dict(sec, id=gid(6), displayName="HR (synced from AD)", onPremisesSyncEnabled=True,
             onPremisesSecurityIdentifier="S-1-5-21-1-2-3-1104", members=[uid("johanna")]),
        dict(sec, id=gid(7), displayName="Project Falcon", groupTypes=["Unified"], mailEnabled=True,
             members=[uid("lee")]),
        dict(sec, id=gid(8), displayName="Contractors", members=[uid("ext-auditor"), "device-kiosk"]),
    ]
    # Groups Connect Sync group writeback v2 wrote to AD as CN=Group_<objectId> (demo-run.sh creates their AD side).
    wb = dict(sec, writebackConfiguration={"isEnabled": True, "onPremisesGroupType": "universalSecurityGroup"})
    groups += [
        dict(wb, id="0b000000-0000-4000-8000-000000000001", displayName="Legacy Finance", members=[uid("adele"), uid("ext-auditor")]),
        dict(wb, id="0b000000-0000-4000-8000-000000000002", displayName="Legacy Sales", members=[uid("alex"), uid("diego")]),
        dict(wb, id="0b000000-0000-4000-8000-000000000003", displayName="Legacy Newsletter", mailEnabled=True, members=[]),
    ]
    tenant = {
        "tenant_id": "c0ffee00-0000-4000-8000-00000000d3a0",
        "domains": ["contoso.example"],
        "clients": [{"client_id": "9b0a0000-0000-4000-8000-00000000c11e", "secret": "demo-client-secret-0123456789"}],
        "page_size": 100,
        "users": users,
        "groups": groups,
        "devices": [{"id": "device-kiosk", "displayName": "Lobby kiosk"}],
    }
    with open(out, "w") as f:
        json.dump(tenant, f, indent=1)
    with open(os.path.join(os.path.dirname(out), "groups.txt"), "w") as f:
        f.write("# the groups the demo provisions (the selected scope)\n")
        for g in groups:  # the writeback groups come in through the migration, not the selected scope
            if "writebackConfiguration" not in g:
                f.write("%s  # %s\n" % (g["id"], g["displayName"]))


if __name__ == "__main__":
    main()
