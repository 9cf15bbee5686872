/* config_sample — prints portal.conf.sample from the key table in
 * src/core/config.c, so the installed sample lists every key the programs know
 * with its meaning, type and default. Run at build time (etc/Makemodule.am):
 * the sample cannot fall behind the table. */
#include <stdio.h>
#include <string.h>

#include "core/config.h"

/* Markdown back-quotes read badly in a config file. */
static void put_plain(FILE *out, const char *s, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (s[i] != '`')
			fputc(s[i], out);
}

/* "# " + text wrapped at 78 columns on spaces. */
static void put_wrapped(FILE *out, const char *text)
{
	const char *p = text;
	while (*p) {
		size_t len = strlen(p), cut = len;
		if (len > 76) {
			cut = 76;
			while (cut > 0 && p[cut] != ' ')
				cut--;
			if (cut == 0)
				cut = strcspn(p, " ");
		}
		fputs("# ", out);
		put_plain(out, p, cut);
		fputc('\n', out);
		p += cut;
		while (*p == ' ')
			p++;
	}
}

int main(void)
{
	size_t n = 0;
	const struct config_key *keys = config_keys(&n);

	fputs("# /etc/portal/portal.conf — configuration of the portal's programs\n"
		"# (generated at build time from the key table in src/core/config.c;\n"
		"# docs/configuration.md is the same table as a reference page).\n"
		"#\n"
		"# Copy to /etc/portal/portal.conf (mode 0640, root:portal), uncomment and set\n"
		"# the keys you need. Format: KEY = value, one a line; a line starting with #\n"
		"# is a comment; values may be double-quoted. The environment overrides the\n"
		"# file; $PORTAL_CONFIG names another file. Unknown keys are errors.\n"
		"# A program missing a key it needs names it and exits with status 78.\n", stdout);
	for (size_t i = 0; i < n; i++) {
		const struct config_key *k = &keys[i];
		fputc('\n', stdout);
		put_wrapped(stdout, k->doc ? k->doc : "");
		if (k->type == 'i')
			printf("# Integer %ld..%ld.", k->min, k->max);
		else if (k->type == 'b')
			fputs("# Boolean (true/false).", stdout);
		else if (k->type == 'e' && k->choices)
			printf("# One of %s.", k->choices);
		else if (k->type == 'u')
			fputs("# URL.", stdout);
		else if (k->type == 'l')
			fputs("# Log level.", stdout);
		else
			fputs("# String.", stdout);
		if (k->secret)
			fputs(" Secret: never logged.", stdout);
		if (!k->def)
			fputs(" No default.", stdout);
		fputc('\n', stdout);
		if (k->def && *k->def)
			printf("#%s = %s\n", k->name, k->def);
		else
			printf("#%s =\n", k->name);
	}
	return fflush(stdout) == 0 ? 0 : 1;
}
