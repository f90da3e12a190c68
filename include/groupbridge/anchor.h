/*
 * anchor.h: the anchor that ties an AD group to its cloud group, "Group_<objectId>". Cloud Sync writes it to
 * msDS-ExternalDirectoryObjectId (the attribute is GB_DIRECTORY_ANCHOR_ATTR in directory.h, and spelled nowhere else)
 * and to adminDescription; Connect Sync's group writeback v2 wrote it to adminDescription. This module is the only
 * place that builds, parses or recognises it: a typo in either would create groups without their anchor, and the
 * next pass would create them again.
 */
#ifndef GROUPBRIDGE_ANCHOR_H
#define GROUPBRIDGE_ANCHOR_H

#include <stdbool.h>
#include <stddef.h>

#define GB_ANCHOR_PREFIX "Group_"
#define GB_ANCHOR_MAX 128 /* bytes, terminator included, of the longest anchor groupbridge builds */

/* "Group_<object_id>" into dst (n bytes). GB_EINVAL when object_id is NULL or empty or the anchor does not fit
 * (nothing is set then but an empty dst). */
int gb_anchor_format(const char *object_id, char *dst, size_t n);

/* The object id an anchor names: borrowed from anchor, after the prefix. NULL when anchor is NULL, lacks the
 * prefix (compared exactly, as AD compares the value), or names nothing. */
const char *gb_anchor_object_id(const char *anchor);

/* Whether anchor is one of ours: the prefix and an object id. */
bool gb_anchor_is_ours(const char *anchor);

/* Whether anchor names object_id (ids compared ASCII case-insensitively, as GUIDs are). */
bool gb_anchor_names(const char *anchor, const char *object_id);

#endif
