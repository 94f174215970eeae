/*
 * json_tree.h - a small strict JSON parser for the fuzz targets: RFC 8259 grammar, strings
 * must be valid UTF-8 with no raw control characters, no NaN/Infinity, no trailing commas,
 * nothing after the value. Builds a tree the invariant checks walk.
 */
#ifndef LT_FUZZ_JSON_TREE_H
#define LT_FUZZ_JSON_TREE_H

#include <stddef.h>

enum jt_type { JT_NULL, JT_BOOL, JT_INT, JT_DOUBLE, JT_STRING, JT_ARRAY, JT_OBJECT };

struct jt_node {
	enum jt_type type;
	long long i;           /* JT_INT, JT_BOOL */
	double d;              /* JT_INT and JT_DOUBLE: the value as a double */
	char *str;             /* JT_STRING: decoded, owned (may hold NUL bytes: see len) */
	size_t len;            /* JT_STRING: bytes in str */
	char *key;             /* member name when inside an object, owned; NULL otherwise */
	struct jt_node *child; /* first element/member (JT_ARRAY, JT_OBJECT) */
	struct jt_node *next;  /* next sibling */
};

/*
 * jt_parse - parses buf[0..len). Returns the root, or NULL when the text is not one valid
 * JSON value; then *err_off (if not NULL) receives the offset of the first error.
 */
struct jt_node *jt_parse(const char *buf, size_t len, size_t *err_off);

/* jt_free - frees a tree from jt_parse. NULL is accepted. */
void jt_free(struct jt_node *n);

/* jt_get - the member `key` of object `obj`, or NULL (also when obj is not an object). */
const struct jt_node *jt_get(const struct jt_node *obj, const char *key);

/* jt_num - the numeric value of n (int or double), or `dflt` when n is not a number. */
double jt_num(const struct jt_node *n, double dflt);

#endif
