/* fuzz_freebit_json — any Freebit reply body through the result-code check
 * and every SIM domain mapper and renderer. */
#include <stddef.h>
#include <stdint.h>

#include "domain/sim.h"
#include "freebit/client.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct json_object *r = NULL;
	struct pt_err err = { 0 };
	struct domain_sim_line l;
	struct domain_sim_traffic t;
	struct domain_usage_list u;
	struct domain_quota_history q;

	if (freebit_parse_reply(200, (const char *)data, size, &r, &err) != 0)
		return 0;
	if (domain_sim_line_from_freebit(r, &l, &err) == 0)
		json_object_put(domain_sim_line_json(&l));
	if (domain_sim_traffic_from_freebit(r, &t, &err) == 0)
		json_object_put(domain_sim_traffic_json(&t));
	if (domain_usage_from_freebit(r, &u, &err) == 0) {
		json_object_put(domain_usage_list_json(&u));
		domain_usage_list_clear(&u);
	}
	if (domain_quota_history_from_freebit(r, &q, &err) == 0) {
		json_object_put(domain_quota_history_json(&q));
		domain_quota_history_clear(&q);
	}
	json_object_put(r);
	return 0;
}
