/* version.c: `groupbridge version`. */
#include <curl/curl.h>
#include <jansson.h>
#include <ldap.h>
#include <libxml/xmlversion.h>
#include <openssl/crypto.h>
#define PCRE2_CODE_UNIT_WIDTH 8
#include <pcre2.h>
#include <sqlite3.h>
#include <stdio.h>

#include "cli/cli.h"

int gb_cmd_version(gb_cli *cli, int argc, char **argv)
{
	(void)cli;
	if (gb_cli_wants_help(argc, argv)) {
		puts("usage: groupbridge version\n\nPrints groupbridge's version and the versions of the libraries it runs "
		     "with (for bug reports).");
		return GB_EXIT_OK;
	}
	printf("groupbridge %s\n", GB_VERSION);
	printf("  libcurl %s, jansson %s, OpenLDAP %d.%d.%d, libxml2 %s, %s, SQLite %s, PCRE2 %d.%d\n",
	       curl_version_info(CURLVERSION_NOW)->version, jansson_version_str(), LDAP_VENDOR_VERSION_MAJOR, LDAP_VENDOR_VERSION_MINOR, LDAP_VENDOR_VERSION_PATCH,
	       LIBXML_DOTTED_VERSION, OpenSSL_version(OPENSSL_VERSION), sqlite3_libversion(), PCRE2_MAJOR, PCRE2_MINOR);
	return GB_EXIT_OK;
}
