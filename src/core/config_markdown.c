/* config_markdown — prints the configuration key table as Markdown; its
 * output is docs/configuration.md (`make update-config-doc`). */
#include <stdio.h>

#include "core/config.h"

int main(void)
{
	config_print_markdown(stdout);
	return fflush(stdout) == 0 ? 0 : 1;
}
