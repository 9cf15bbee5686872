/* freebit/actions — one typed function per Freebit endpoint of freebit.md §4
 * (plus the line-opening calls of resolutions §4). Inputs are validated
 * before anything is sent; replies are mapped by src/domain/sim. The
 * 30-minute gap claim (freebit.md §5) is the caller's job (src/app). */
#ifndef PT_FREEBIT_ACTIONS_H
#define PT_FREEBIT_ACTIONS_H

#include "core/err.h"
#include "domain/sim.h"
#include "freebit/client.h"

/* Paths, in one table as the contract asks. */
#define FREEBIT_PATH_AUTH            "/authOem/"
#define FREEBIT_PATH_DETAIL          "/mvno/getDetail/"
#define FREEBIT_PATH_TRAFFIC         "/mvno/getTrafficInfo/"
#define FREEBIT_PATH_TRAFFIC_HISTORY "/mvno/getTrafficHistory/"
#define FREEBIT_PATH_QUOTA_HISTORY   "/mvno/getQuotaHistory/"
#define FREEBIT_PATH_ADD_SPEC        "/master/addSpec/"
#define FREEBIT_PATH_CHANGE_PLAN     "/mvno/changePlan/"
#define FREEBIT_PATH_CONTRACT_LINE   "/mvno/contractline/change/"
#define FREEBIT_PATH_TALK_OPTION     "/mvno/talkoption/changeOrder/"
#define FREEBIT_PATH_CANCEL          "/master/cnclAcnt/"
#define FREEBIT_PATH_ESIM_ADD        "/mvno/esim/addAcnt/"
#define FREEBIT_PATH_ADD_ACCOUNT     "/master/addAcnt/"

int freebit_get_detail(struct freebit_client *c, const char *msisdn, struct domain_sim_line *out,
	struct pt_err *err);
int freebit_get_traffic_info(struct freebit_client *c, const char *msisdn,
	struct domain_sim_traffic *out, struct pt_err *err);
/* from/to "YYYYMMDD" (JST), from <= to. */
int freebit_get_traffic_history(struct freebit_client *c, const char *msisdn, const char *from,
	const char *to, struct domain_usage_list *out, struct pt_err *err);
int freebit_get_quota_history(struct freebit_client *c, const char *msisdn, const char *from,
	const char *to, struct domain_quota_history *out, struct pt_err *err);

/* quota_mb 1..512000; quota_code e.g. "portal-topup-<id>"; expire "YYYYMMDD" or NULL. */
int freebit_add_spec(struct freebit_client *c, const char *msisdn, long quota_mb,
	const char *quota_code, const char *expire, struct pt_err *err);
/* run_time "YYYYMMDD" (the 1st of next month, JST) or NULL = immediate. */
int freebit_change_plan(struct freebit_client *c, const char *msisdn, const char *plan_code,
	const char *run_time, struct pt_err *err);
/* "4G" or "5G". */
int freebit_change_network_type(struct freebit_client *c, const char *msisdn,
	const char *network_type, struct pt_err *err);

/* -1 = leave unchanged, 0 off, 1 on; at least one must be set. */
struct freebit_voice_change {
	int voicemail;
	int call_waiting;
	int call_transfer;
	int international_roaming;
};
int freebit_change_voice_options(struct freebit_client *c, const char *msisdn,
	const struct freebit_voice_change *v, struct pt_err *err);
/* run_date "YYYYMMDD" (month's last day, JST) or NULL = immediate. */
int freebit_cancel_line(struct freebit_client *c, const char *msisdn, const char *run_date,
	struct pt_err *err);
/* Moves an eSIM to a new device (addKind R); current values from getDetail. */
int freebit_reissue_esim(struct freebit_client *c, const struct domain_sim_line *line,
	const char *new_eid, struct pt_err *err);
/* resolutions §4: open a stock line (physical) / a new eSIM profile (addKind N). */
int freebit_open_line(struct freebit_client *c, const char *msisdn, const char *plan_code,
	struct pt_err *err);
int freebit_open_esim(struct freebit_client *c, const char *msisdn, const char *eid,
	const char *plan_code, struct pt_err *err);

#endif
