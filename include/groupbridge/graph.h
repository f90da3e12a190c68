/*
 * graph.h: the Microsoft Graph client, all of it. This umbrella header includes the headers by concern, so that a
 * caller may include just the one it needs:
 *   graph_client.h     the client: authentication, requests, retries and throttling, paging, pure helpers
 *   graph_read.h       groups, members and users into model objects; many at once
 *   graph_delta.h      delta queries with the deltaLink kept in the state store
 *   graph_batch.h      JSON batching
 *   graph_resources.h  the migration's resources: source of authority, the GroupDN extension, Cloud Sync handoff
 */
#ifndef GROUPBRIDGE_GRAPH_H
#define GROUPBRIDGE_GRAPH_H

#include "groupbridge/graph_client.h"
#include "groupbridge/graph_read.h"
#include "groupbridge/graph_delta.h"
#include "groupbridge/graph_batch.h"
#include "groupbridge/graph_resources.h"

#endif
