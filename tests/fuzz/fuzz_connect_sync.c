/* fuzz_connect_sync.c: libFuzzer target for the Connect Sync export importer.
 *
 * Each input is parsed as every kind of document the export folder holds (connector, MV.xml, sync rule,
 * PersistedState.xml, and "any": the root element decides) into one export, which is then analysed and written as
 * JSON, so the walkers, the classification of rules, the findings and the JSON writer all see hostile data.
 * Run with `make fuzz` (FUZZ_SECONDS per target); seeds are in tests/fuzz/corpus/connect_sync/.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>

#include "groupbridge/connect_sync.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const gb_cs_doc_kind kinds[] = {GB_CS_DOC_CONNECTOR, GB_CS_DOC_GLOBAL, GB_CS_DOC_RULE,
	                                       GB_CS_DOC_PERSISTED, GB_CS_DOC_ANY};
	gb_cs_export *exp = NULL;
	gb_error err;
	char *json = NULL;
	size_t i;

	if (gb_cs_export_new(&exp, &err) != 0)
		return 0;
	for (i = 0; i < sizeof(kinds) / sizeof(kinds[0]); i++)
		(void)gb_cs_add_document(exp, kinds[i], "fuzz.xml", data, size, &err);
	if (gb_cs_analyze(exp, &err) == 0 && gb_cs_to_json(exp, false, &json, &err) == 0)
		free(json);
	gb_cs_export_free(exp);
	return 0;
}
