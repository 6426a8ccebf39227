/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * The API schema at run time.  api/ defines every method of dse-dpud and
 * dse-hostd (api/README.md); scripts/apigen.py turns it at build time into
 * tables of the structs below (dse_api.h, dse_api_<program>.c) and one args
 * struct per method.  dse_api_decode() is the one decoder of params: the
 * JSON-RPC server (jsonrpc.c) runs it before every handler, so a handler
 * receives typed, checked values in call->args, and an unknown, missing or
 * ill-typed param is refused with an error that names it.
 */
#ifndef DSE_API_H
#define DSE_API_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* What a value is, and so how it lands in an args struct. */
enum dse_api_kind {
	DSE_API_STRING,	    /* const char * (the request's; valid while the call runs) */
	DSE_API_INTEGER,    /* long long */
	DSE_API_NUMBER,	    /* double (an integer is taken too) */
	DSE_API_BOOLEAN,    /* bool */
	DSE_API_ENUM,	    /* int: the value's number (its index when the schema lists names) */
	DSE_API_MAC,	    /* uint8_t[6] */
	DSE_API_IPV4,	    /* uint32_t, network byte order */
	DSE_API_IP,	    /* struct dse_api_ip */
	DSE_API_PREFIX,	    /* struct dse_api_prefix */
	DSE_API_PORT_RANGE, /* struct dse_api_port_range */
	DSE_API_ARRAY,	    /* json_t * (borrowed), every item checked */
	DSE_API_OBJECT,	    /* json_t * (borrowed), its fields checked when the type lists them */
	DSE_API_ANY,	    /* json_t * (borrowed), any JSON value */
};

struct dse_api_ip {
	int family; /* AF_INET or AF_INET6 */
	uint8_t addr[16];
};

struct dse_api_prefix {
	int family; /* AF_INET or AF_INET6; AF_UNSPEC (length 0) for "any" */
	uint8_t len;
	uint8_t addr[16]; /* host bits zero */
};

struct dse_api_port_range {
	uint16_t lo, hi;
};

struct dse_api_enum_value {
	const char *name;
	int value;
};

struct dse_api_param;

/* A type: one of the kinds with its constraints. */
struct dse_api_type {
	const char *name; /* in api/types.json; NULL for a type written inline */
	enum dse_api_kind kind;
	const char *help; /* what a value looks like, for error messages */
	/* INTEGER: the range.  STRING: the length in bytes.  ARRAY: the number of items. */
	long long min, max;
	double num_min, num_max; /* NUMBER */
	const char
	    *charset; /* STRING: ranges and characters allowed ("A-Za-z0-9_.-"), NULL: printable */
	const char *reserved_prefix;		 /* STRING: refused as a prefix, in any case */
	bool unicast;				 /* MAC: no multicast or zero address */
	const struct dse_api_enum_value *values; /* ENUM */
	unsigned n_values;
	bool enum_integer;		    /* ENUM: a number in [min, max] is taken too */
	const struct dse_api_type *items;   /* ARRAY */
	const struct dse_api_param *fields; /* OBJECT: its members; NULL: any */
	unsigned n_fields;
	size_t size; /* OBJECT with fields: sizeof its decoded struct */
};

/* A param of a method, or a field of an object. */
struct dse_api_param {
	const char *name;
	const struct dse_api_type *type;
	bool required;
	bool has_default;
	long long def_int;   /* INTEGER, BOOLEAN, ENUM */
	double def_num;	     /* NUMBER */
	const char *def_str; /* STRING */
	size_t offset;	     /* of the value in the args struct */
	size_t has_offset;   /* of its 'bool has_<name>' (true when given) */
};

#define DSE_API_LOCAL	   0x1 /* only on the Unix socket; over TLS it does not exist */
#define DSE_API_TEST_CLOCK 0x2 /* served only with --test-clock (dse-dpud) */

/* A method of a program. */
struct dse_api_method {
	const char *name;
	const char *help; /* one line */
	const struct dse_api_param *params;
	unsigned n_params;
	size_t args_size;	    /* sizeof its args struct */
	unsigned flags;		    /* DSE_API_* */
	const char *const *aliases; /* old names it still answers to, NULL-terminated; NULL: none */
};

/* A program's methods, as generated. */
struct dse_api_program {
	const char *name; /* "dse-dpud" */
	const struct dse_api_method *methods;
	unsigned n_methods;
};

/* Returns the method 'name' of 'prog' or of one of its aliases, NULL if none. */
const struct dse_api_method *dse_api_find(const struct dse_api_program *prog, const char *name);

/*
 * Decodes the params object 'params' of 'm' into 'args' (m->args_size
 * bytes, zeroed here): every param checked against its type, defaults
 * filled in, unknown ones refused.  Returns 0, or -EINVAL after writing a
 * message for a person that names the param to 'err' (at most 'len' bytes).
 */
int dse_api_decode(const struct dse_api_method *m, json_t *params, void *args, char *err,
		   size_t len);

/*
 * Decodes the object 'v' of type 't' (an OBJECT with fields) into 'out'
 * (t->size bytes), as dse_api_decode() does params; 'where' names it in
 * messages ("rules[3]").  For the items of an array param: they were
 * checked when the call was decoded, so this fails only on a value that
 * did not come through the decoder.
 */
int dse_api_decode_object(const struct dse_api_type *t, json_t *v, void *out, const char *where,
			  char *err, size_t len);

/* Returns the name of value 'value' of enum 't', NULL when it has none. */
const char *dse_api_enum_name(const struct dse_api_type *t, int value);

/*
 * Parses value 'v' against the enum 't' (a name, in any case, or a number
 * when the enum takes them).  Returns 0 and sets '*ret', or -EINVAL.
 */
int dse_api_enum_parse(const struct dse_api_type *t, json_t *v, int *ret);

#endif
