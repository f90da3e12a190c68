#!/usr/bin/python3
"""Part of the DC template (samba-dc.sh): the delegated account groupbridge binds as, its rights, and one group that
AdminSDHolder protects. Runs on the stopped template's sam.ldb with Debian's python3 and its samba module.

  dc_delegate.py TEMPLATE_DIR ACCOUNT PASSWORD

The account is CN=ACCOUNT,CN=Users (password never expires: the template outlives the default 42 days). Its rights
are access control entries on the domain root, inherited:
  - by every organizational unit: create and delete group objects (CC, DC on the group class)
  - by every group: write member, groupType, cn, name, description, displayName, sAMAccountName, adminDescription and
    msDS-ExternalDirectoryObjectId (WP on each attribute)
and nothing else (it reads what Authenticated Users read). The group CN=gb-protected-group,CN=Users has adminCount 1
and AdminSDHolder's security descriptor with its DACL protected from inheritance, as SDProp leaves a protected group
on Windows: the inherited rights above do not reach it.
"""
import sys

import ldb
from samba.auth import system_session
from samba import NTSTATUSError
from samba.dcerpc import security
from samba.ndr import ndr_pack, ndr_unpack
from samba.param import LoadParm
from samba.samdb import SamDB
from samba.sd_utils import SDUtils

GROUP_CLASS = "bf967a9c-0de6-11d0-a285-00aa003049e2"
OU_CLASS = "bf967aa5-0de6-11d0-a285-00aa003049e2"
WRITABLE = {
    "member": "bf9679c0-0de6-11d0-a285-00aa003049e2",
    "groupType": "9a9a021e-4a5b-11d1-a9c3-0000f80367c1",
    "cn": "bf96793f-0de6-11d0-a285-00aa003049e2",
    "name": "bf967a0e-0de6-11d0-a285-00aa003049e2",
    "description": "bf967950-0de6-11d0-a285-00aa003049e2",
    "displayName": "bf967953-0de6-11d0-a285-00aa003049e2",
    "sAMAccountName": "3e0abfd0-126a-11d0-a060-00aa006c33ed",
    "adminDescription": "bf967919-0de6-11d0-a285-00aa003049e2",
    "msDS-ExternalDirectoryObjectId": "bd29bf90-66ad-40e1-887b-10df070419a6",
}
PROTECTED = "gb-protected-group"


def main():
    tpl, account, password = sys.argv[1:4]
    lp = LoadParm()
    lp.load(tpl + "/etc/smb.conf")
    db = SamDB(url=tpl + "/private/sam.ldb", session_info=system_session(), lp=lp)
    base = str(db.get_default_basedn())
    db.newuser(account, password)
    db.setexpiry("(sAMAccountName=%s)" % ldb.binary_encode(account), 0, no_expiry_req=True)
    res = db.search(base="CN=%s,CN=Users,%s" % (account, base), scope=ldb.SCOPE_BASE, attrs=["objectSid"])
    sid = str(ndr_unpack(security.dom_sid, res[0]["objectSid"][0]))
    # the protected group first, with AdminSDHolder's own ACEs (before the delegation is inherited by it)
    dn = "CN=%s,CN=Users,%s" % (PROTECTED, base)
    db.add({"dn": dn, "objectClass": "group", "groupType": "-2147483640", "adminCount": "1",
            "description": "protected by AdminSDHolder: the delegated account cannot write it"})
    holder = db.search(base="CN=AdminSDHolder,CN=System," + base, scope=ldb.SCOPE_BASE,
                       attrs=["nTSecurityDescriptor"])
    sd = ndr_unpack(security.descriptor, holder[0]["nTSecurityDescriptor"][0])
    sd.type |= security.SEC_DESC_DACL_PROTECTED
    for ace in list(sd.dacl.aces):
        if ace.flags & security.SEC_ACE_FLAG_INHERITED_ACE:
            try:
                sd.dacl_del_ace(ace)
            except NTSTATUSError:
                pass  # an identical ACE, removed with the one before
    SDUtils(db).modify_sd_on_dn(dn, sd, controls=["sd_flags:1:%d" % security.SECINFO_DACL])

    aces = "(OA;CIIO;CCDC;%s;%s;%s)" % (GROUP_CLASS, OU_CLASS, sid)
    aces += "".join("(OA;CIIO;WP;%s;%s;%s)" % (guid, GROUP_CLASS, sid) for guid in WRITABLE.values())
    SDUtils(db).dacl_add_ace(base, aces)
    print(sid)
    return 0


if __name__ == "__main__":
    sys.exit(main())
