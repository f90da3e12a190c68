/* anchor.c: "Group_<objectId>" built, parsed and recognised in one place (anchor.h). */
#include "groupbridge/anchor.h"

#include <stdio.h>
#include <string.h>

#include "groupbridge/error.h"
#include "groupbridge/util.h"

int gb_anchor_format(const char *object_id, char *dst, size_t n)
{
	int w;

	if (n)
		dst[0] = '\0';
	if (!object_id || !*object_id || !n)
		return GB_EINVAL;
	w = snprintf(dst, n, "%s%s", GB_ANCHOR_PREFIX, object_id);
	if (w < 0 || (size_t)w >= n) {
		dst[0] = '\0';
		return GB_EINVAL;
	}
	return 0;
}

const char *gb_anchor_object_id(const char *anchor)
{
	size_t len = strlen(GB_ANCHOR_PREFIX);

	if (!anchor || strncmp(anchor, GB_ANCHOR_PREFIX, len) != 0 || !anchor[len])
		return NULL;
	return anchor + len;
}

bool gb_anchor_is_ours(const char *anchor)
{
	return gb_anchor_object_id(anchor) != NULL;
}

bool gb_anchor_names(const char *anchor, const char *object_id)
{
	const char *id = gb_anchor_object_id(anchor);

	return id && object_id && gb_str_iequal(id, object_id);
}
