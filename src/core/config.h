/* config — KEY = value file (default SYSCONFDIR/portal/portal.conf, or the
 * path in $PORTAL_CONFIG) with the environment overriding the file.
 * One table (config.c) lists every key: its default, type, bounds, whether
 * it is a secret (never printed or logged) and its meaning; docs/configuration.md
 * and `portalctl config check` are derived from it. */
#ifndef PT_CORE_CONFIG_H
#define PT_CORE_CONFIG_H

#include <stdio.h>
#include "core/err.h"

/* Exit status for a bad configuration (EX_CONFIG from sysexits.h). */
#define PT_EXIT_CONFIG 78

struct pt_config;

/* path NULL → $PORTAL_CONFIG, else SYSCONFDIR "/portal/portal.conf".
 * A missing default file is not an error (env-only setups); a missing
 * explicit path, a syntax error or an unknown key is (names file:line). */
struct pt_config *config_load(const char *path, struct pt_err *err);
void config_free(struct pt_config *cfg);

/* env > file > table default; NULL when unset and no default. */
const char *config_get(const struct pt_config *cfg, const char *key);
/* Integer in the table's bounds; falls back to the default. -1 + err if malformed. */
int config_get_long(const struct pt_config *cfg, const char *key, long *out, struct pt_err *err);
/* true/false/yes/no/on/off/1/0. */
int config_get_bool(const struct pt_config *cfg, const char *key, int *out, struct pt_err *err);

/* Checks every key this program needs (NULL-terminated list) is present and
 * well-formed per the table, plus every set key's type. On failure err->detail
 * names the key ("DATABASE_URL: missing"), err->field holds the key name. */
int config_validate(const struct pt_config *cfg, const char *const *required, struct pt_err *err);

/* Key table access, for docs and `portalctl config check`. */
struct config_key {
	const char *name;
	const char *def;       /* default value or NULL */
	char type;             /* 's' string, 'i' integer, 'b' boolean, 'u' URL, 'l' log level,
	                        * 'e' one of `choices` */
	long min, max;         /* for 'i' */
	int secret;            /* never print the value */
	const char *doc;
	const char *choices;   /* for 'e': "LATEST|ALL" */
};
const struct config_key *config_keys(size_t *count);
const struct config_key *config_key_find(const char *name);

/* Writes the key table as Markdown: docs/configuration.md is this output
 * (`make update-config-doc` regenerates it; test_config fails when stale). */
void config_print_markdown(FILE *out);

/* The file parser on its own, for config_load and the fuzz harness: parses
 * len bytes of `KEY = value` lines; name is used in errors ("name:line: …").
 * Lines ≤ 4096 bytes, input ≤ 256 KiB, values optionally double-quoted
 * (\" and \\ escapes inside quotes), '#' starts a comment only at the start
 * of a line. Unknown or repeated keys are errors. */
struct pt_config *config_parse_buffer(const char *name, const char *data, size_t len,
	struct pt_err *err);
#define CONFIG_LINE_MAX 4096
#define CONFIG_FILE_MAX (256 * 1024)

#endif
