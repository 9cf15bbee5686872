/* fuzz_config — the configuration file parser over arbitrary bytes, then
 * typed access and validation of whatever it accepted. */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "core/config.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static int env_cleared;
	struct pt_err err;
	size_t nkeys;
	long n;
	int b;

	if (!env_cleared) {
		/* results must depend on the input only, not on the environment */
		const struct config_key *k = config_keys(&nkeys);
		for (size_t i = 0; i < nkeys; i++)
			unsetenv(k[i].name);
		env_cleared = 1;
	}
	struct pt_config *cfg = config_parse_buffer("fuzz.conf", (const char *)data, size, &err);
	if (!cfg)
		return 0;
	const struct config_key *k = config_keys(&nkeys);
	for (size_t i = 0; i < nkeys; i++) {
		const char *v = config_get(cfg, k[i].name);
		if (v && strlen(v) > 4096)
			__builtin_trap();
		if (k[i].type == 'i')
			config_get_long(cfg, k[i].name, &n, &err);
		if (k[i].type == 'b')
			config_get_bool(cfg, k[i].name, &b, &err);
	}
	config_validate(cfg, NULL, &err);
	config_free(cfg);
	return 0;
}
