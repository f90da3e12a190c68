/* Unit tests of the anchor "Group_<objectId>": built, parsed and recognised by one module (anchor.h). */
#include <criterion/criterion.h>
#include <string.h>

#include "groupbridge/anchor.h"
#include "groupbridge/directory.h"
#include "groupbridge/error.h"

Test(anchor, is_built_from_the_prefix_and_the_object_id)
{
	char a[GB_ANCHOR_MAX];

	cr_assert_eq(gb_anchor_format("6f1c3e2a-0000-4000-8000-000000000001", a, sizeof(a)), 0);
	cr_assert_str_eq(a, "Group_6f1c3e2a-0000-4000-8000-000000000001");
	cr_assert_str_eq(GB_DIRECTORY_ANCHOR_ATTR, "msDS-ExternalDirectoryObjectId");
}

Test(anchor, an_id_that_is_empty_or_does_not_fit_is_refused)
{
	char a[16], big[GB_ANCHOR_MAX + 8];

	memset(big, 'x', sizeof(big) - 1);
	big[sizeof(big) - 1] = '\0';
	cr_assert_eq(gb_anchor_format("0123456789", a, sizeof(a)), GB_EINVAL);
	cr_assert_str_eq(a, "", "nothing half-written");
	cr_assert_eq(gb_anchor_format("", a, sizeof(a)), GB_EINVAL);
	cr_assert_eq(gb_anchor_format(NULL, a, sizeof(a)), GB_EINVAL);
	cr_assert_eq(gb_anchor_format("abc", a, sizeof(a)), 0);
	{
		char b[GB_ANCHOR_MAX];
		cr_assert_eq(gb_anchor_format(big, b, sizeof(b)), GB_EINVAL);
	}
}

Test(anchor, is_parsed_without_magic_offsets)
{
	cr_assert_str_eq(gb_anchor_object_id("Group_abc"), "abc");
	cr_assert_null(gb_anchor_object_id("Group_"), "an anchor that names nothing is not ours");
	cr_assert_null(gb_anchor_object_id("group_abc"), "AD compares the value exactly");
	cr_assert_null(gb_anchor_object_id("Grp_abc"));
	cr_assert_null(gb_anchor_object_id(NULL));
	cr_assert(gb_anchor_is_ours("Group_abc"));
	cr_assert_not(gb_anchor_is_ours("CN=Group_abc"));
	cr_assert(gb_anchor_names("Group_6F1C3E2A", "6f1c3e2a"), "GUIDs compare in any case");
	cr_assert_not(gb_anchor_names("Group_6f1c3e2a", "6f1c3e2b"));
	cr_assert_not(gb_anchor_names("Group_6f1c3e2a", NULL));
}
