/* version.h: the version of groupbridge. */
#ifndef GROUPBRIDGE_VERSION_H
#define GROUPBRIDGE_VERSION_H

#define GB_VERSION "0.1.0"

#endif
