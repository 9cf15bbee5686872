/* soql — the only way SOQL text is made. String literals are escaped by one
 * function (salesforce-rest.md §8), ids are validated by one function (§7:
 * 15/18 chars, checksum, key prefix), and field/object names come from one
 * allow-list (salesforce-org.md); sf_soql_build() composes them through typed
 * placeholders so that no query text is ever pasted from input. */
#ifndef PT_SALESFORCE_SOQL_H
#define PT_SALESFORCE_SOQL_H

#include <stddef.h>
#include "core/buf.h"
#include "core/err.h"

#define SF_ID_LEN15 15
#define SF_ID_LEN18 18
/* Longest string literal we put into a query (SOQL text cap is 100k chars). */
#define SF_SOQL_LITERAL_MAX 4000

/* Appends the escaped body of a SOQL string literal (no surrounding quotes):
 * \ ' " LF CR TAB BS FF become \\ \' \" \n \r \t \b \f. Other C0 controls,
 * DEL, NUL and invalid UTF-8 are refused (Salesforce rejects unknown escapes,
 * and there is no reason a customer's text needs them): -1, out unchanged. */
int sf_soql_escape(struct buf *out, const char *s, size_t len);
/* The same for the text of a LIKE pattern: additionally % → \% and _ → \_,
 * so customer text matches literally. */
int sf_soql_escape_like(struct buf *out, const char *s, size_t len);

/* THE id validator: [A-Za-z0-9]{15} or {18} whose suffix matches the §7
 * checksum (case-insensitive), and — when expected_prefix is not NULL — whose
 * first 3 chars equal it ("001" Account, "801" Order…). On success writes the
 * canonical 18-char form into out18 (may be NULL) and returns 0; else -1 with
 * PT_VALIDATION_FAILED (err may be NULL). */
int sf_soql_id_check(const char *id, const char *expected_prefix,
	char out18[SF_ID_LEN18 + 1], struct pt_err *err);
/* 1 if valid per sf_soql_id_check, else 0. */
int sf_soql_id_valid(const char *id, const char *expected_prefix);
/* 15 → 18 (an 18-char id is re-checked and normalised). 0 / -1. */
int sf_soql_id_to18(const char *id, char out18[SF_ID_LEN18 + 1]);

/* Allow-list (salesforce-org.md + salesforce-rest.md §9): 1 if the portal may
 * name this object / this field of this object. Relationship paths such as
 * "Account.Name" or "Product2.WH_Product_ID__c" are allowed when the
 * relationship and the target field are. Names are case-sensitive. */
int sf_soql_object_allowed(const char *object);
int sf_soql_field_allowed(const char *object, const char *field);

/* Appends a query to out. fmt is trusted text (a string literal in our code);
 * every value goes through a typed placeholder:
 *   %S  const char *         escaped string literal, quoted: 'O\'Brien'
 *   %L  const char *         LIKE "contains" pattern of customer text: '%50\%%'
 *   %I  const char *         validated id, quoted, normalised to 18 chars
 *   %d  int, %l long         decimal integer
 *   %B  int                  true / false
 *   %T  const char *         date literal YYYY-MM-DD (validated, unquoted)
 *   %O  const char *         object name from the allow-list
 *   %F  const char *obj, const char *field   field name from the allow-list
 *   %%                       a percent sign
 * Returns 0, or -1 with PT_VALIDATION_FAILED for a bad id / string / date
 * (input), PT_INTERNAL for an unknown placeholder or a field or object not
 * in the allow-list (our bug). out is left as it was on failure. */
int sf_soql_build(struct buf *out, struct pt_err *err, const char *fmt, ...);

#endif
