/* soql — escaping, id validation, field allow-list and the query builder.
 * Everything that reaches Salesforce as SOQL text passes through here. */
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "salesforce/soql.h"

/* ---- escaping ---------------------------------------------------------- */

/* Length of the valid UTF-8 sequence at s (1..4), or 0 when invalid
 * (overlong, surrogate, > U+10FFFF, truncated). */
static size_t utf8_seq(const unsigned char *s, size_t len)
{
	unsigned c = s[0];
	size_t n;
	unsigned cp;

	if (c < 0x80)
		return 1;
	if (c >= 0xC2 && c <= 0xDF) {
		n = 2;
		cp = c & 0x1F;
	} else if (c >= 0xE0 && c <= 0xEF) {
		n = 3;
		cp = c & 0x0F;
	} else if (c >= 0xF0 && c <= 0xF4) {
		n = 4;
		cp = c & 0x07;
	} else {
		return 0;
	}
	if (len < n)
		return 0;
	for (size_t i = 1; i < n; i++) {
		if ((s[i] & 0xC0) != 0x80)
			return 0;
		cp = (cp << 6) | (s[i] & 0x3F);
	}
	if ((n == 3 && (cp < 0x800 || (cp >= 0xD800 && cp <= 0xDFFF))) ||
	    (n == 4 && (cp < 0x10000 || cp > 0x10FFFF)))
		return 0;
	return n;
}

/* The escape for an ASCII byte, "" when it passes as is, NULL when refused. */
static const char *escape_of(unsigned char c, int like)
{
	switch (c) {
	case '\\': return "\\\\";
	case '\'': return "\\'";
	case '"':  return "\\\"";
	case '\n': return "\\n";
	case '\r': return "\\r";
	case '\t': return "\\t";
	case '\b': return "\\b";
	case '\f': return "\\f";
	case '%':  return like ? "\\%" : "";
	case '_':  return like ? "\\_" : "";
	default:
		return (c < 0x20 || c == 0x7F) ? NULL : "";
	}
}

static int escape_into(struct buf *out, const char *s, size_t len, int like)
{
	size_t start = out->len;
	const unsigned char *u = (const unsigned char *)s;

	if (!s || len > SF_SOQL_LITERAL_MAX)
		return -1;
	for (size_t i = 0; i < len;) {
		size_t n = utf8_seq(u + i, len - i);
		const char *esc = n == 1 ? escape_of(u[i], like) : "";
		int rc;

		if (n == 0 || !esc)
			goto fail;
		rc = *esc ? buf_puts(out, esc) : buf_append(out, s + i, n);
		if (rc != 0)
			goto fail;
		i += n;
	}
	return 0;
fail:
	out->len = start;
	if (out->data)
		out->data[start] = '\0';
	return -1;
}

int sf_soql_escape(struct buf *out, const char *s, size_t len)
{
	return escape_into(out, s, len, 0);
}

int sf_soql_escape_like(struct buf *out, const char *s, size_t len)
{
	return escape_into(out, s, len, 1);
}

/* ---- ids ----------------------------------------------------------------- */

static int id_char(char c)
{
	return (c >= '0' && c <= '9') || (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z');
}

static void id_suffix(const char *id15, char sfx[3])
{
	static const char alphabet[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZ012345";

	for (int chunk = 0; chunk < 3; chunk++) {
		unsigned n = 0;
		for (int j = 0; j < 5; j++) {
			char c = id15[chunk * 5 + j];
			if (c >= 'A' && c <= 'Z')
				n |= 1u << j;
		}
		sfx[chunk] = alphabet[n];
	}
}

static char up(char c)
{
	return (c >= 'a' && c <= 'z') ? (char)(c - 'a' + 'A') : c;
}

int sf_soql_id_check(const char *id, const char *expected_prefix,
	char out18[SF_ID_LEN18 + 1], struct pt_err *err)
{
	char sfx[3];
	size_t len;

	if (!id)
		return pt_err_set(err, PT_VALIDATION_FAILED, "salesforce id missing");
	len = strnlen(id, SF_ID_LEN18 + 1);
	if (len != SF_ID_LEN15 && len != SF_ID_LEN18)
		return pt_err_set(err, PT_VALIDATION_FAILED, "salesforce id: bad length");
	for (size_t i = 0; i < len; i++)
		if (!id_char(id[i]))
			return pt_err_set(err, PT_VALIDATION_FAILED, "salesforce id: bad character");
	id_suffix(id, sfx);
	if (len == SF_ID_LEN18)
		for (int i = 0; i < 3; i++)
			if (up(id[15 + i]) != sfx[i])
				return pt_err_set(err, PT_VALIDATION_FAILED,
					"salesforce id: checksum mismatch");
	if (expected_prefix && strncmp(id, expected_prefix, 3) != 0)
		return pt_err_set(err, PT_VALIDATION_FAILED,
			"salesforce id: not a %.3s id", expected_prefix);
	if (out18) {
		memcpy(out18, id, SF_ID_LEN15);
		memcpy(out18 + SF_ID_LEN15, sfx, 3);
		out18[SF_ID_LEN18] = '\0';
	}
	return 0;
}

int sf_soql_id_valid(const char *id, const char *expected_prefix)
{
	return sf_soql_id_check(id, expected_prefix, NULL, NULL) == 0;
}

int sf_soql_id_to18(const char *id, char out18[SF_ID_LEN18 + 1])
{
	return sf_soql_id_check(id, NULL, out18, NULL);
}

/* ---- allow-list ---------------------------------------------------------- */

struct sf_object_fields {
	const char *object;
	const char *const *fields;
};

struct sf_relationship {
	const char *object;   /* where the lookup lives */
	const char *name;     /* relationship name in SOQL */
	const char *target;   /* object it points to */
};

#define FIELDS(...) (const char *const[]){ __VA_ARGS__, NULL }

/* The one table of what the portal may name (salesforce-org.md, §9, and
 * resolutions §4). Adding a field here is a reviewed change. */
static const struct sf_object_fields sf_allow[] = {
	{ "Account", FIELDS("Id", "Name", "Customer_Number__c", "Email__c",
		"Portal_Status__c", "WHMCS_Client_ID__c", "Internet_Eligibility__c",
		"SIM_Family_Discount__c", "BillingStreet", "BillingCity", "BillingState",
		"BillingPostalCode", "BillingCountry", "Phone", "CreatedDate",
		"LastModifiedDate") },
	{ "Contact", FIELDS("Id", "AccountId", "FirstName", "LastName", "Name", "Email",
		"Phone", "CreatedDate") },
	{ "Product2", FIELDS("Id", "Name", "ProductCode", "StockKeepingUnit",
		"Description", "IsActive", "Portal_Catalog__c", "Portal_Category__c",
		"Item_Class__c", "Eligibility_Group__c", "Portal_Features__c",
		"WH_Product_ID__c", "Billing_Cycle__c", "Family_Discount_Price__c",
		"Freebit_Plan_Code__c", "LastModifiedDate") },
	{ "Pricebook2", FIELDS("Id", "Name", "IsActive", "IsStandard") },
	{ "PricebookEntry", FIELDS("Id", "Pricebook2Id", "Product2Id", "UnitPrice",
		"IsActive", "UseStandardPrice") },
	{ "Order", FIELDS("Id", "AccountId", "EffectiveDate", "Status", "StatusCode",
		"Pricebook2Id", "OrderNumber", "TotalAmount", "Name", "Description", "Type",
		"ActivatedDate", "CreatedDate", "LastModifiedDate", "ShippingStreet",
		"ShippingCity", "ShippingState", "ShippingPostalCode", "ShippingCountry",
		"Activation_Status__c", "Activation_Error_Code__c",
		"Activation_Error_Message__c", "Activation_Last_Attempt__c",
		"WHMCS_Order_ID__c", "Portal_Idempotency_Key__c", "Order_Type__c",
		"SIM_Type__c", "SIM_MSISDN__c", "SIM_EID__c") },
	{ "OrderItem", FIELDS("Id", "OrderId", "PricebookEntryId", "Product2Id",
		"Quantity", "UnitPrice", "ListPrice", "TotalPrice", "OrderItemNumber",
		"ServiceDate", "EndDate", "Description", "CreatedDate") },
	{ "Case", FIELDS("Id", "CaseNumber", "Subject", "Description", "Status",
		"Priority", "Origin", "Type", "Reason", "AccountId", "ContactId", "IsClosed",
		"ClosedDate", "IsEscalated", "CreatedDate", "LastModifiedDate") },
	{ "CaseComment", FIELDS("Id", "ParentId", "CommentBody", "IsPublished",
		"CreatedDate", "CreatedById", "LastModifiedDate") },
};

static const struct sf_relationship sf_rels[] = {
	{ "Case", "Account", "Account" },
	{ "Order", "Account", "Account" },
	{ "PricebookEntry", "Product2", "Product2" },
	{ "OrderItem", "Product2", "Product2" },
	{ "OrderItem", "PricebookEntry", "PricebookEntry" },
	{ "OrderItem", "Order", "Order" },
	{ "CaseComment", "Parent", "Case" },
};

static const struct sf_object_fields *allow_find(const char *object)
{
	for (size_t i = 0; object && i < sizeof sf_allow / sizeof sf_allow[0]; i++)
		if (strcmp(sf_allow[i].object, object) == 0)
			return &sf_allow[i];
	return NULL;
}

int sf_soql_object_allowed(const char *object)
{
	return allow_find(object) != NULL;
}

int sf_soql_field_allowed(const char *object, const char *field)
{
	const struct sf_object_fields *o = allow_find(object);
	const char *dot;

	if (!o || !field)
		return 0;
	dot = strchr(field, '.');
	if (dot) {
		size_t n = (size_t)(dot - field);
		for (size_t i = 0; i < sizeof sf_rels / sizeof sf_rels[0]; i++)
			if (strcmp(sf_rels[i].object, object) == 0 &&
			    strlen(sf_rels[i].name) == n &&
			    strncmp(sf_rels[i].name, field, n) == 0)
				return sf_soql_field_allowed(sf_rels[i].target, dot + 1);
		return 0;
	}
	for (const char *const *f = o->fields; *f; f++)
		if (strcmp(*f, field) == 0)
			return 1;
	return 0;
}

/* ---- builder ------------------------------------------------------------- */

static int put_literal(struct buf *out, const char *s, int like, struct pt_err *err)
{
	if (!s)
		return pt_err_set(err, PT_INTERNAL, "soql: NULL string value");
	if (buf_putc(out, '\'') || (like && buf_putc(out, '%')))
		return pt_err_set(err, PT_INTERNAL, "soql: query too long");
	if ((like ? sf_soql_escape_like : sf_soql_escape)(out, s, strlen(s)) != 0)
		return pt_err_set(err, PT_VALIDATION_FAILED,
			"soql: text value not allowed in a query");
	if ((like && buf_putc(out, '%')) || buf_putc(out, '\''))
		return pt_err_set(err, PT_INTERNAL, "soql: query too long");
	return 0;
}

static int put_date(struct buf *out, const char *s, struct pt_err *err)
{
	static const char shape[] = "dddd-dd-dd";

	if (!s || strlen(s) != sizeof shape - 1)
		return pt_err_set(err, PT_VALIDATION_FAILED, "soql: bad date");
	for (size_t i = 0; shape[i]; i++)
		if (shape[i] == 'd' ? (s[i] < '0' || s[i] > '9') : s[i] != '-')
			return pt_err_set(err, PT_VALIDATION_FAILED, "soql: bad date");
	if (buf_puts(out, s))
		return pt_err_set(err, PT_INTERNAL, "soql: query too long");
	return 0;
}

static int put_one(struct buf *out, char spec, va_list *ap, struct pt_err *err)
{
	char id18[SF_ID_LEN18 + 1];
	const char *a, *b;

	switch (spec) {
	case 'S':
		return put_literal(out, va_arg(*ap, const char *), 0, err);
	case 'L':
		return put_literal(out, va_arg(*ap, const char *), 1, err);
	case 'I':
		if (sf_soql_id_check(va_arg(*ap, const char *), NULL, id18, err))
			return -1;
		return buf_printf(out, "'%s'", id18) ? pt_err_set(err, PT_INTERNAL, "soql: too long") : 0;
	case 'd':
		return buf_printf(out, "%d", va_arg(*ap, int)) ? pt_err_set(err, PT_INTERNAL, "soql: too long") : 0;
	case 'l':
		return buf_printf(out, "%ld", va_arg(*ap, long)) ? pt_err_set(err, PT_INTERNAL, "soql: too long") : 0;
	case 'B':
		return buf_puts(out, va_arg(*ap, int) ? "true" : "false") ? pt_err_set(err, PT_INTERNAL, "soql: too long") : 0;
	case 'T':
		return put_date(out, va_arg(*ap, const char *), err);
	case 'O':
		a = va_arg(*ap, const char *);
		if (!sf_soql_object_allowed(a))
			return pt_err_set(err, PT_INTERNAL, "soql: object not allow-listed");
		return buf_puts(out, a) ? pt_err_set(err, PT_INTERNAL, "soql: too long") : 0;
	case 'F':
		a = va_arg(*ap, const char *);
		b = va_arg(*ap, const char *);
		if (!sf_soql_field_allowed(a, b))
			return pt_err_set(err, PT_INTERNAL, "soql: field %s.%s not allow-listed",
				a ? a : "?", b ? b : "?");
		return buf_puts(out, b) ? pt_err_set(err, PT_INTERNAL, "soql: too long") : 0;
	case '%':
		return buf_putc(out, '%') ? pt_err_set(err, PT_INTERNAL, "soql: too long") : 0;
	default:
		return pt_err_set(err, PT_INTERNAL, "soql: unknown placeholder %%%c", spec ? spec : '0');
	}
}

int sf_soql_build(struct buf *out, struct pt_err *err, const char *fmt, ...)
{
	size_t start = out->len;
	va_list ap;
	int rc = 0;

	va_start(ap, fmt);
	for (const char *p = fmt; *p && rc == 0; p++) {
		if (*p != '%') {
			if (buf_putc(out, *p))
				rc = pt_err_set(err, PT_INTERNAL, "soql: query too long");
			continue;
		}
		p++;
		rc = put_one(out, *p, &ap, err);
		if (!*p)
			break;
	}
	va_end(ap);
	if (rc != 0) {
		out->len = start;
		if (out->data)
			out->data[start] = '\0';
	}
	return rc;
}
