/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * dsectl: the operator's CLI.  'dsectl NOUN VERB [ARGS]' calls one method of
 * dse-hostd on its Unix socket and prints the answer as a table for people
 * or, with -j, as JSON for scripts.  Every error says what to do; the exit
 * status says what kind of error it was (EXIT_*).
 */
#include <errno.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "cfgfile.h"
#include "jsonrpc.h"
#include "paths.h"
#include "rpc_client.h"
#include "table.h"
#include "version.h"

#define DEFAULT_SOCKET  DSE_HOSTD_SOCKET_DEFAULT
#define LAB_CURRENT     "/run/dse-lab/current" /* the state directory of the lab that is up */
#define CONNECT_TIMEOUT 5000
#define CALL_TIMEOUT    30000
#define APPLY_TIMEOUT   300000

enum {
	EXIT_OK = 0,
	EXIT_REFUSED = 1,     /* dse-hostd refused the request */
	EXIT_USAGE = 2,       /* bad command line or file */
	EXIT_UNREACHABLE = 3, /* dse-hostd could not be reached or did not answer */
};

struct ctl {
	const char *socket;   /* dse-hostd's socket */
	bool json;            /* -j: JSON for scripts */
	struct dse_rpc_client *client;
	const char *cmd;      /* "dsectl switch add", for messages */
};

struct verb;
typedef int (*verb_fn)(struct ctl *c, const struct verb *v, int argc, char **argv);

/* One command: its noun and verb, the line of usage, a summary and the details. */
struct verb {
	const char *noun;
	const char *verb;
	const char *usage;
	const char *summary;
	const char *help;
	verb_fn fn;
};

static const struct verb verbs[];

/* ---- errors ---- */

static int error_out(struct ctl *c, int code, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

/*
 * Prints an error for a person on stderr (and, with -j, as {"error": ...}
 * on stdout so a script that reads stdout sees it) and returns 'code'.
 */
static int error_out(struct ctl *c, int code, const char *fmt, ...)
{
	char msg[2048];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	fprintf(stderr, "%s: %s\n", c->cmd, msg);
	if (c->json) {
		json_t *o = json_pack("{s:{s:s, s:i}}", "error", "message", msg, "exit", code);

		json_dumpf(o, stdout, JSON_INDENT(2));
		fputc('\n', stdout);
		json_decref(o);
	}
	return code;
}

static int usage_error(struct ctl *c, const struct verb *v, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

static int usage_error(struct ctl *c, const struct verb *v, const char *fmt, ...)
{
	char msg[1024];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	if (v)
		return error_out(c, EXIT_USAGE, "%s\nusage: dsectl %s (dsectl %s%s%s --help)", msg,
				 v->usage, v->noun, v->verb ? " " : "", v->verb ? v->verb : "");
	return error_out(c, EXIT_USAGE, "%s (dsectl --help)", msg);
}

/* ---- talking to dse-hostd ---- */

/*
 * Writes a hint for a missing socket: when a lab is up (dse-lab records its
 * state directory in LAB_CURRENT), where its hosts' sockets are.
 */
static void lab_hint(char *buf, size_t len)
{
	char dir[1024];
	FILE *f = fopen(LAB_CURRENT, "re");

	buf[0] = '\0';
	if (f == NULL)
		return;
	if (fgets(dir, sizeof(dir), f) != NULL) {
		dir[strcspn(dir, "\n")] = '\0';
		if (dir[0] == '/')
			snprintf(buf, len,
				 ".  A lab is up in %s: its host H serves %s/hH/hostd.sock "
				 "(dsectl -s %s/h1/hostd.sock ...)",
				 dir, dir, dir);
	}
	fclose(f);
}

static int connect_hostd(struct ctl *c)
{
	char hint[3200];
	int r;

	if (c->client)
		return 0;
	r = dse_rpc_client_unix(c->socket, CONNECT_TIMEOUT, &c->client);
	if (r == 0)
		return 0;
	lab_hint(hint, sizeof(hint));
	switch (r) {
	case -ENOENT:
		return error_out(c, EXIT_UNREACHABLE,
				 "cannot reach dse-hostd at %s: no such socket: is it running? "
				 "(dse-lab status; or start it: dse-hostd --state DIR).  Another "
				 "socket: -s PATH or DSE_HOSTD_SOCKET%s",
				 c->socket, hint);
	case -ECONNREFUSED:
		return error_out(c, EXIT_UNREACHABLE,
				 "cannot reach dse-hostd at %s: nobody serves the socket, "
				 "dse-hostd is not running: start it (dse-lab status)",
				 c->socket);
	case -EACCES:
	case -EPERM:
		return error_out(c, EXIT_UNREACHABLE,
				 "cannot reach dse-hostd at %s: permission denied: dsectl needs "
				 "root (run it with sudo)",
				 c->socket);
	case -ETIMEDOUT:
		return error_out(c, EXIT_UNREACHABLE,
				 "dse-hostd at %s did not accept the connection within %d s: it "
				 "may be stuck; see its log",
				 c->socket, CONNECT_TIMEOUT / 1000);
	default:
		return error_out(c, EXIT_UNREACHABLE, "cannot reach dse-hostd at %s: %s",
				 c->socket, strerror(-r));
	}
}

/*
 * Calls 'method' with 'params' (borrowed).  Returns EXIT_OK with
 * '*ret_result' set, EXIT_REFUSED with '*ret_error' set (the error object),
 * or EXIT_UNREACHABLE after printing why.
 */
static int call(struct ctl *c, const char *method, json_t *params, int timeout_ms,
		json_t **ret_result, json_t **ret_error)
{
	int r = connect_hostd(c);

	if (r != EXIT_OK)
		return r;
	r = dse_rpc_client_call(c->client, method, params, timeout_ms, ret_result, ret_error);
	if (r == 0)
		return EXIT_OK;
	if (r == -EREMOTEIO)
		return EXIT_REFUSED;
	if (r == -ETIMEDOUT)
		return error_out(c, EXIT_UNREACHABLE,
				 "dse-hostd did not answer %s within %d s: it may be busy or "
				 "stuck (see its log); a change may still complete, so check with "
				 "a list command before retrying",
				 method, timeout_ms / 1000);
	return error_out(c, EXIT_UNREACHABLE,
			 "dse-hostd closed the connection during %s (%s): it may have stopped "
			 "(dse-lab status); check with a list command whether a change was made",
			 method, strerror(-r));
}

/* Calls 'method' and prints a refusal as it is.  Returns an EXIT_* code. */
static int simple_call(struct ctl *c, const char *method, json_t *params, json_t **ret)
{
	json_t *error = NULL;
	int r = call(c, method, params, CALL_TIMEOUT, ret, &error);

	if (r == EXIT_REFUSED) {
		r = error_out(c, EXIT_REFUSED, "%s",
			      json_string_value(json_object_get(error, "message")));
		json_decref(error);
	}
	return r;
}

static void print_json(json_t *v)
{
	json_dumpf(v, stdout, JSON_INDENT(2) | JSON_ENCODE_ANY);
	fputc('\n', stdout);
}

/* Prints the changes a command made (or, for a dry run, would make). */
static void print_changes(json_t *changes, bool dry_run)
{
	static const char *const done[][2] = {
		{"add", "added"}, {"change", "changed"}, {"delete", "deleted"}};
	json_t *ch;
	size_t i;

	json_array_foreach(changes, i, ch) {
		const char *action = json_string_value(json_object_get(ch, "action"));
		const char *word = action;
		json_t *fields = json_object_get(ch, "fields");

		for (int k = 0; k < 3 && !dry_run; k++)
			if (strcmp(done[k][0], action) == 0)
				word = done[k][1];
		printf("%s%s %s %s", dry_run ? "would " : "", word,
		       json_string_value(json_object_get(ch, "kind")),
		       json_string_value(json_object_get(ch, "name")));
		if (json_array_size(fields)) {
			char buf[256];

			table_cell(fields, buf, sizeof(buf));
			printf(" (%s)", buf);
		}
		putchar('\n');
	}
}

/* ---- argument parsing ---- */

/* One option of a verb. */
struct opt {
	const char *name;   /* long name without "--" */
	char short_name;    /* 0 for none */
	bool has_arg;
	bool list;          /* may repeat: values collected in 'values' */
	const char *value;  /* the value (or "" for a flag that was given) */
	json_t *values;     /* for list options: the values (a JSON list of strings) */
};

enum { PARSE_OK = -1, PARSE_HELP = -2 };

static void verb_help(const struct verb *v, FILE *f)
{
	fprintf(f, "Usage: dsectl %s\n\n%s.\n%s%s", v->usage, v->summary, v->help[0] ? "\n" : "",
		v->help);
	fprintf(f, "\nCommon options: -j/--json (JSON for scripts), -s/--socket PATH, "
		   "-h/--help.\n");
}

/*
 * Parses the arguments of verb 'v' into 'opts' (terminated by a NULL name)
 * and the 'n_pos' positional arguments (named in 'pos_names') into 'pos'.
 * Returns PARSE_OK, PARSE_HELP (help was printed) or an EXIT_* code.
 */
static int parse_args(struct ctl *c, const struct verb *v, int argc, char **argv,
		      struct opt *opts, const char **pos, const char *const *pos_names, int n_pos)
{
	int n = 0;
	bool only_pos = false;

	for (int i = 0; i < argc; i++) {
		const char *a = argv[i], *val = NULL;
		struct opt *o = NULL;
		char name[64];

		if (only_pos || a[0] != '-' || a[1] == '\0') {
			if (n == n_pos)
				return usage_error(c, v, "unexpected argument '%s'", a);
			pos[n++] = a;
			continue;
		}
		if (strcmp(a, "--") == 0) {
			only_pos = true;
			continue;
		}
		if (a[1] == '-') {
			const char *eq = strchr(a + 2, '=');
			size_t len = eq ? (size_t)(eq - a - 2) : strlen(a + 2);

			snprintf(name, sizeof(name), "%.*s", (int)len, a + 2);
			if (eq)
				val = eq + 1;
		} else {
			if (a[2] != '\0')
				val = a + 2; /* -fFILE */
			name[0] = '\0';
		}
		/* Options every verb takes. */
		if ((a[1] == '-' && !strcmp(name, "help")) || !strcmp(a, "-h")) {
			verb_help(v, stdout);
			return PARSE_HELP;
		}
		if ((a[1] == '-' && !strcmp(name, "json")) || !strcmp(a, "-j")) {
			c->json = true;
			continue;
		}
		if ((a[1] == '-' && !strcmp(name, "socket")) || !strncmp(a, "-s", 2)) {
			if (val == NULL && i + 1 < argc)
				val = argv[++i];
			if (val == NULL)
				return usage_error(c, v, "%s needs a value: the socket's path", a);
			c->socket = val;
			continue;
		}
		for (struct opt *k = opts; k && k->name; k++)
			if ((a[1] == '-' && strcmp(k->name, name) == 0) ||
			    (a[1] != '-' && k->short_name && a[1] == k->short_name))
				o = k;
		if (o == NULL)
			return usage_error(c, v, "unknown option '%s'", a);
		if (!o->has_arg) {
			if (val)
				return usage_error(c, v, "--%s takes no value", o->name);
			o->value = "";
			continue;
		}
		if (val == NULL) {
			if (i + 1 >= argc)
				return usage_error(c, v, "--%s needs a value", o->name);
			val = argv[++i];
		}
		if (o->list) {
			if (o->values == NULL)
				o->values = json_array();
			json_array_append_new(o->values, json_string(val));
		} else if (o->value) {
			return usage_error(c, v, "--%s is given twice: give it once", o->name);
		} else {
			o->value = val;
		}
	}
	if (n < n_pos)
		return usage_error(c, v, "%s is missing", pos_names[n]);
	return PARSE_OK;
}

static void free_opts(struct opt *opts)
{
	for (struct opt *k = opts; k->name; k++)
		json_decref(k->values);
}

/* Reads a whole number in min..max from option 'name'. */
static int parse_number(struct ctl *c, const struct verb *v, const char *name, const char *s,
			long long min, long long max, long long *ret)
{
	char *end;
	long long x;

	errno = 0;
	x = strtoll(s, &end, 10);
	if (errno || end == s || *end != '\0' || x < min || x > max)
		return usage_error(c, v, "--%s takes a number from %lld to %lld, not '%s'", name,
				   min, max, s);
	*ret = x;
	return PARSE_OK;
}

/* ---- dpu ---- */

static const char *str(json_t *o, const char *key)
{
	const char *s = json_string_value(json_object_get(o, key));

	return s ? s : "-";
}

static int cmd_dpu_list(struct ctl *c, const struct verb *v, int argc, char **argv)
{
	static const struct table_col cols[] = {
		{"NAME", "name"},     {"LINK", "link"},       {"STATE", "state"},
		{"ROLE", "role"},     {"SWITCH", "switch"},   {"VENDOR", "vendor"},
		{"MODEL", "model"},   {"HW", "hw_version"},   {"FW", "fw_version"},
		{"VERSION", "version"}, {"CONFIG", "config"},
	};
	json_t *res, *d;
	size_t i;
	int r = parse_args(c, v, argc, argv, NULL, NULL, NULL, 0);

	if (r != PARSE_OK)
		return r == PARSE_HELP ? EXIT_OK : r;
	if ((r = simple_call(c, "dpu.list", NULL, &res)) != EXIT_OK)
		return r;
	if (c->json) {
		print_json(res);
	} else if (json_array_size(res) == 0) {
		printf("No DPUs: the host has no internal links (int-*) and no switch names a "
		       "DPU.\n");
	} else {
		/* A long sync shows how far it is. */
		json_array_foreach(res, i, d) {
			json_t *sy = json_object_get(d, "sync");
			char buf[64];

			if (!json_is_object(sy))
				continue;
			snprintf(buf, sizeof(buf), "syncing %lld/%lld",
				 (long long)json_integer_value(json_object_get(sy, "calls_done")),
				 (long long)(json_integer_value(json_object_get(sy, "calls_done")) +
					     json_integer_value(json_object_get(sy, "calls_left"))));
			json_object_set_new(d, "config", json_string(buf));
		}
		table_print(stdout, res, cols, sizeof(cols) / sizeof(cols[0]));
		json_array_foreach(res, i, d)
			if (json_is_string(json_object_get(d, "error")))
				printf("\n%s: %s", json_is_string(json_object_get(d, "name"))
							   ? str(d, "name")
							   : str(d, "link"),
				       str(d, "error"));
		json_array_foreach(res, i, d)
			if (json_is_string(json_object_get(d, "error"))) {
				putchar('\n');
				break;
			}
	}
	json_decref(res);
	return EXIT_OK;
}

static void show_line(const char *key, const char *value)
{
	printf("%-12s %s\n", key, value);
}

static int cmd_dpu_show(struct ctl *c, const struct verb *v, int argc, char **argv)
{
	static const char *const pos_names[] = {"NAME"};
	static const char *const fields[] = {"vendor",	   "model",  "hw_version", "fw_version",
					     "serial",	   "pci",    "version",	   NULL};
	const char *name;
	json_t *res, *params, *desired, *x;
	char buf[1024];
	size_t i;
	int r = parse_args(c, v, argc, argv, NULL, &name, pos_names, 1);

	if (r != PARSE_OK)
		return r == PARSE_HELP ? EXIT_OK : r;
	params = json_pack("{s:s}", "name", name);
	r = simple_call(c, "dpu.show", params, &res);
	json_decref(params);
	if (r != EXIT_OK)
		return r;
	if (c->json) {
		print_json(res);
		json_decref(res);
		return EXIT_OK;
	}
	show_line("name:", str(res, "name"));
	snprintf(buf, sizeof(buf), "%s (DPU at %s)", str(res, "link"), str(res, "address"));
	show_line("link:", buf);
	show_line("state:", str(res, "state"));
	snprintf(buf, sizeof(buf), "%s%s%s", str(res, "role"),
		 json_is_string(json_object_get(res, "switch")) ? " of switch " : "",
		 json_is_string(json_object_get(res, "switch")) ? str(res, "switch") : "");
	show_line("role:", buf);
	show_line("config:", str(res, "config"));
	for (const char *const *f = fields; *f; f++) {
		snprintf(buf, sizeof(buf), "%s:", *f);
		show_line(buf, str(res, *f));
	}
	table_cell(json_object_get(res, "generation"), buf, sizeof(buf));
	show_line("generation:", buf);
	x = json_object_get(res, "last_seen");
	if (json_is_integer(x)) {
		time_t t = (time_t)json_integer_value(x);
		struct tm tm;

		strftime(buf, sizeof(buf), "%Y-%m-%d %H:%M:%S %Z", localtime_r(&t, &tm));
		show_line("last seen:", buf);
	}
	x = json_object_get(json_object_get(res, "heartbeat"), "rtt");
	if (json_is_object(x)) {
		json_t *hb = json_object_get(res, "heartbeat");

		snprintf(buf, sizeof(buf),
			 "every %lld ms, unreachable after %lld silent: %lld answered, %lld missed",
			 (long long)json_integer_value(json_object_get(hb, "interval_ms")),
			 (long long)json_integer_value(json_object_get(hb, "misses_allowed")),
			 (long long)json_integer_value(json_object_get(x, "count")),
			 (long long)json_integer_value(json_object_get(x, "misses")));
		show_line("heartbeat:", buf);
		if (json_is_integer(json_object_get(x, "p50_us"))) {
			snprintf(buf, sizeof(buf),
				 "p50 %.2f ms, p90 %.2f ms, p99 %.2f ms, max %.2f ms (last %lld)",
				 json_integer_value(json_object_get(x, "p50_us")) / 1000.0,
				 json_integer_value(json_object_get(x, "p90_us")) / 1000.0,
				 json_integer_value(json_object_get(x, "p99_us")) / 1000.0,
				 json_integer_value(json_object_get(x, "max_us")) / 1000.0,
				 (long long)json_integer_value(json_object_get(x, "window")));
			show_line("round trip:", buf);
		}
	}
	x = json_object_get(res, "live");
	if (json_is_object(x)) {
		json_t *lk;
		size_t i, off = 0;

		snprintf(buf, sizeof(buf), "%s%s%s: %lld records, %lld lost", str(x, "stream"),
			 json_is_string(json_object_get(x, "error")) ? " (" : "",
			 json_is_string(json_object_get(x, "error")) ? str(x, "error") : "",
			 (long long)json_integer_value(json_object_get(x, "events")),
			 (long long)json_integer_value(json_object_get(x, "lost")));
		if (json_is_string(json_object_get(x, "error")))
			snprintf(buf + strlen(buf), sizeof(buf) - strlen(buf), ")");
		show_line("events:", buf);
		buf[0] = '\0';
		json_array_foreach(json_object_get(x, "links"), i, lk)
			if (off < sizeof(buf))
				off += (size_t)snprintf(buf + off, sizeof(buf) - off, "%s%s %s",
							i ? ", " : "", str(lk, "port"),
							json_is_true(json_object_get(lk, "up")) ? "up"
												 : "down");
		show_line("links:", buf[0] ? buf : "no ports");
		snprintf(buf, sizeof(buf), "%lld learned, %lld static",
			 (long long)json_integer_value(
				 json_object_get(json_object_get(x, "macs"), "learned")),
			 (long long)json_integer_value(
				 json_object_get(json_object_get(x, "macs"), "static")));
		show_line("MACs:", buf);
		snprintf(buf, sizeof(buf), "%lld",
			 (long long)json_integer_value(json_object_get(x, "conns")));
		show_line("connections:", buf);
	}
	if (json_is_string(json_object_get(res, "error")))
		show_line("problem:", str(res, "error"));
	desired = json_object_get(res, "desired");
	if (json_is_string(json_object_get(desired, "refused")))
		show_line("refused:", str(desired, "refused"));
	printf("\nWhat the host wants it to hold:\n");
	if (json_array_size(json_object_get(desired, "segments"))) {
		static const struct table_col sc[] = {
			{"SEGMENT", "name"}, {"VLAN", "vlan"}, {"VNI", "vni"}, {"PEERS", "peers"}};

		table_print(stdout, json_object_get(desired, "segments"), sc, 4);
	} else {
		printf("no segments\n");
	}
	if (json_array_size(json_object_get(desired, "ports"))) {
		static const struct table_col pc[] = {{"PORT", "name"},
						      {"INTERFACE", "iface"},
						      {"MODE", "mode"},
						      {"SEGMENT", "segment"},
						      {"SEGMENTS", "segments"}};

		putchar('\n');
		table_print(stdout, json_object_get(desired, "ports"), pc, 5);
	} else {
		printf("no ports\n");
	}
	x = json_object_get(desired, "tep");
	if (json_is_object(x))
		printf("\nTEP %s on %s\n", str(x, "ip"), str(x, "uplink"));
	json_array_foreach(json_object_get(desired, "notes"), i, x)
		printf("note: %s\n", json_string_value(x));
	json_decref(res);
	return EXIT_OK;
}

static int cmd_dpu_forget(struct ctl *c, const struct verb *v, int argc, char **argv)
{
	static const char *const pos_names[] = {"NAME"};
	const char *name;
	json_t *res, *params;
	int r = parse_args(c, v, argc, argv, NULL, &name, pos_names, 1);

	if (r != PARSE_OK)
		return r == PARSE_HELP ? EXIT_OK : r;
	params = json_pack("{s:s}", "name", name);
	r = simple_call(c, "dpu.forget", params, &res);
	json_decref(params);
	if (r != EXIT_OK)
		return r;
	if (c->json) {
		json_t *empty = json_object();

		print_json(empty);
		json_decref(empty);
	} else {
		printf("forgot DPU %s: the host records it again when it connects\n", name);
	}
	json_decref(res);
	return EXIT_OK;
}

/* ---- switches, segments, ports ---- */

/* Prints the warnings of a change (what dse-hostd took but wants said) to stderr. */
static void print_warnings(const struct ctl *c, json_t *res)
{
	json_t *w;
	size_t i;

	json_array_foreach(json_object_get(res, "warnings"), i, w)
		fprintf(stderr, "%s: warning: %s\n", c->cmd, json_string_value(w));
}

/* Calls an add or del method and prints the changes. */
static int change_call(struct ctl *c, const char *method, json_t *params)
{
	json_t *res;
	int r = simple_call(c, method, params, &res);

	json_decref(params);
	if (r != EXIT_OK)
		return r;
	if (c->json)
		print_json(res);
	else
		print_changes(json_object_get(res, "changes"), false);
	print_warnings(c, res);
	json_decref(res);
	return EXIT_OK;
}

static int cmd_switch_add(struct ctl *c, const struct verb *v, int argc, char **argv)
{
	static const char *const pos_names[] = {"NAME"};
	struct opt opts[] = {
		{.name = "mode", .short_name = 'm', .has_arg = true},
		{.name = "dpu", .short_name = 'd', .has_arg = true, .list = true},
		{.name = "uplink", .short_name = 'u', .has_arg = true, .list = true},
		{.name = "tep", .has_arg = true},
		{.name = "dpu-mode", .has_arg = true},
		{0},
	};
	const char *name;
	json_t *params;
	int r = parse_args(c, v, argc, argv, opts, &name, pos_names, 1);

	if (r != PARSE_OK)
		goto out;
	/* --dpu-mode is the same as --mode. */
	if (opts[4].value && opts[0].value && strcmp(opts[0].value, opts[4].value) != 0) {
		r = usage_error(c, v, "--mode and --dpu-mode are one option: give it once");
		goto out;
	}
	if (opts[0].value == NULL)
		opts[0].value = opts[4].value;
	if (opts[0].value == NULL) {
		r = usage_error(c, v, "--mode is missing: single, active-standby or independent");
		goto out;
	}
	if (opts[1].values == NULL) {
		r = usage_error(c, v, "--dpu is missing: name the DPU (dsectl dpu list shows "
				      "them); twice for active-standby");
		goto out;
	}
	params = json_pack("{s:s, s:s, s:O, s:o}", "name", name, "mode", opts[0].value, "dpus",
			   opts[1].values, "uplinks",
			   opts[2].values ? json_incref(opts[2].values) : json_array());
	if (opts[3].value)
		json_object_set_new(params, "tep", json_pack("{s:s}", "ip", opts[3].value));
	r = change_call(c, "switch.add", params);
out:
	free_opts(opts);
	return r == PARSE_HELP ? EXIT_OK : r;
}

static int cmd_segment_add(struct ctl *c, const struct verb *v, int argc, char **argv)
{
	static const char *const pos_names[] = {"NAME"};
	struct opt opts[] = {
		{.name = "vlan", .has_arg = true},
		{.name = "vni", .has_arg = true},
		{.name = "switch", .short_name = 'S', .has_arg = true},
		{.name = "peer", .has_arg = true, .list = true},
		{0},
	};
	const char *name;
	long long n = 0;
	json_t *params;
	int r = parse_args(c, v, argc, argv, opts, &name, pos_names, 1);

	if (r != PARSE_OK)
		goto out;
	if (!opts[0].value == !opts[1].value) {
		r = usage_error(c, v, "give either --vlan N (1-4094) or --vni N (1-16777215)%s",
				opts[0].value ? ", not both" : "");
		goto out;
	}
	if (opts[2].value == NULL) {
		r = usage_error(c, v, "--switch is missing: the switch the segment belongs to "
				      "(dsectl switch list shows them)");
		goto out;
	}
	if ((r = parse_number(c, v, opts[0].value ? "vlan" : "vni",
			      opts[0].value ? opts[0].value : opts[1].value, 1,
			      opts[0].value ? 4094 : 16777215, &n)) != PARSE_OK)
		goto out;
	if (opts[3].values && opts[0].value) {
		r = usage_error(c, v, "--peer goes with --vni: a VLAN segment has no peers");
		goto out;
	}
	params = json_pack("{s:s, s:s, s:I}", "name", name, "switch", opts[2].value,
			   opts[0].value ? "vlan" : "vni", (json_int_t)n);
	if (opts[3].values)
		json_object_set(params, "peers", opts[3].values);
	r = change_call(c, "segment.add", params);
out:
	free_opts(opts);
	return r == PARSE_HELP ? EXIT_OK : r;
}

static int cmd_segment_set(struct ctl *c, const struct verb *v, int argc, char **argv)
{
	static const char *const pos_names[] = {"NAME"};
	struct opt opts[] = {
		{.name = "peer", .has_arg = true, .list = true},
		{.name = "no-peers"},
		{0},
	};
	const char *name;
	json_t *params;
	int r = parse_args(c, v, argc, argv, opts, &name, pos_names, 1);

	if (r != PARSE_OK)
		goto out;
	if (!opts[0].values == !opts[1].value) {
		r = usage_error(c, v, "give the peers (--peer ADDRESS, once for each) or "
				      "--no-peers%s",
				opts[1].value ? ", not both" : "");
		goto out;
	}
	params = json_pack("{s:s, s:o}", "name", name, "peers",
			   opts[0].values ? json_incref(opts[0].values) : json_array());
	r = change_call(c, "segment.set", params);
out:
	free_opts(opts);
	return r == PARSE_HELP ? EXIT_OK : r;
}

static int cmd_switch_set(struct ctl *c, const struct verb *v, int argc, char **argv)
{
	static const char *const pos_names[] = {"NAME"};
	struct opt opts[] = {
		{.name = "uplink", .short_name = 'u', .has_arg = true, .list = true},
		{.name = "no-uplinks"},
		{.name = "tep", .has_arg = true},
		{.name = "no-tep"},
		{0},
	};
	const char *name;
	json_t *params;
	int r = parse_args(c, v, argc, argv, opts, &name, pos_names, 1);

	if (r != PARSE_OK)
		goto out;
	if (opts[0].values && opts[1].value) {
		r = usage_error(c, v, "give the uplinks (--uplink, once for each) or --no-uplinks, "
				      "not both");
		goto out;
	}
	if (opts[2].value && opts[3].value) {
		r = usage_error(c, v, "give --tep IP or --no-tep, not both");
		goto out;
	}
	if (!opts[0].values && !opts[1].value && !opts[2].value && !opts[3].value) {
		r = usage_error(c, v, "nothing to change: give --uplink, --no-uplinks, --tep or "
				      "--no-tep");
		goto out;
	}
	params = json_pack("{s:s}", "name", name);
	if (opts[0].values || opts[1].value)
		json_object_set_new(params, "uplinks",
				    opts[0].values ? json_incref(opts[0].values) : json_array());
	if (opts[2].value)
		json_object_set_new(params, "tep", json_pack("{s:s}", "ip", opts[2].value));
	if (opts[3].value)
		json_object_set_new(params, "no_tep", json_true());
	r = change_call(c, "switch.set", params);
out:
	free_opts(opts);
	return r == PARSE_HELP ? EXIT_OK : r;
}

static int cmd_port_set(struct ctl *c, const struct verb *v, int argc, char **argv)
{
	static const char *const pos_names[] = {"NAME"};
	struct opt opts[] = {
		{.name = "segment", .has_arg = true},
		{.name = "mac", .has_arg = true},
		{0},
	};
	const char *name;
	json_t *params;
	int r = parse_args(c, v, argc, argv, opts, &name, pos_names, 1);

	if (r != PARSE_OK)
		goto out;
	if (!opts[0].value && !opts[1].value) {
		r = usage_error(c, v, "nothing to change: give --segment or --mac");
		goto out;
	}
	params = json_pack("{s:s}", "name", name);
	if (opts[0].value)
		json_object_set_new(params, "segment", json_string(opts[0].value));
	if (opts[1].value)
		json_object_set_new(params, "mac", json_string(opts[1].value));
	r = change_call(c, "port.set", params);
out:
	free_opts(opts);
	return r == PARSE_HELP ? EXIT_OK : r;
}

static int cmd_port_add(struct ctl *c, const struct verb *v, int argc, char **argv)
{
	static const char *const pos_names[] = {"NAME"};
	static const char *const what[] = {
		"the VM's MAC address, like 02:00:00:00:01:01",
		"the segment (dsectl segment list shows them)",
		"the VM's name (its representor on the DPU is rep-VM)",
	};
	struct opt opts[] = {
		{.name = "mac", .has_arg = true},
		{.name = "segment", .has_arg = true},
		{.name = "vm", .has_arg = true},
		{0},
	};
	const char *name;
	json_t *params;
	int r = parse_args(c, v, argc, argv, opts, &name, pos_names, 1);

	if (r != PARSE_OK)
		goto out;
	for (int i = 0; i < 3; i++)
		if (opts[i].value == NULL) {
			r = usage_error(c, v, "--%s is missing: %s", opts[i].name, what[i]);
			goto out;
		}
	params = json_pack("{s:s, s:s, s:s, s:s}", "name", name, "mac", opts[0].value, "segment",
			   opts[1].value, "vm", opts[2].value);
	r = change_call(c, "port.add", params);
out:
	free_opts(opts);
	return r == PARSE_HELP ? EXIT_OK : r;
}

static int cmd_del(struct ctl *c, const struct verb *v, int argc, char **argv)
{
	static const char *const pos_names[] = {"NAME"};
	char method[32];
	const char *name;
	int r = parse_args(c, v, argc, argv, NULL, &name, pos_names, 1);

	if (r != PARSE_OK)
		return r == PARSE_HELP ? EXIT_OK : r;
	snprintf(method, sizeof(method), "%s.del", v->noun);
	return change_call(c, method, json_pack("{s:s}", "name", name));
}

/* Adds "tep_ip" (the address of "tep") to each object of 'list', for a table; returns 'list'. */
static json_t *with_tep_ip(json_t *list)
{
	json_t *o;
	size_t i;

	json_array_foreach(list, i, o) {
		json_t *ip = json_object_get(json_object_get(o, "tep"), "ip");

		if (ip)
			json_object_set(o, "tep_ip", ip);
	}
	return list;
}

/*
 * The VM ports with where they are and how (dse-hostd asks their DPUs):
 * the table, then each port's problem on a line of its own.
 */
static void print_ports(json_t *ports, const struct table_col *cols, size_t n)
{
	json_t *p;
	size_t i;
	bool first = true;

	json_array_foreach(ports, i, p) {
		json_t *st = json_object_get(p, "stats");

		json_object_set(p, "rx_packets", json_object_get(st, "rx_packets"));
		json_object_set(p, "tx_packets", json_object_get(st, "tx_packets"));
	}
	table_print(stdout, ports, cols, n);
	json_array_foreach(ports, i, p)
		if (json_is_string(json_object_get(p, "error"))) {
			printf("%s%s: %s\n", first ? "\n" : "", str(p, "name"), str(p, "error"));
			first = false;
		}
}

static int cmd_list(struct ctl *c, const struct verb *v, int argc, char **argv)
{
	static const struct table_col sw[] = {{"NAME", "name"},	    {"MODE", "mode"},
					      {"DPUS", "dpus"},	    {"UPLINKS", "uplinks"},
					      {"TEP", "tep_ip"},    {"SEGMENTS", "segments"}};
	static const struct table_col seg[] = {{"NAME", "name"}, {"SWITCH", "switch"},
					       {"VLAN", "vlan"}, {"VNI", "vni"},
					       {"PEERS", "peers"}, {"PORTS", "ports"}};
	static const struct table_col port[] = {
		{"NAME", "name"},   {"MAC", "mac"},	  {"SEGMENT", "segment"}, {"VM", "vm"},
		{"DPU", "dpu"},	    {"STATE", "state"}, {"RX", "rx_packets"},   {"TX", "tx_packets"}};
	char method[32];
	json_t *res;
	int r = parse_args(c, v, argc, argv, NULL, NULL, NULL, 0);

	if (r != PARSE_OK)
		return r == PARSE_HELP ? EXIT_OK : r;
	snprintf(method, sizeof(method), "%s.list", v->noun);
	if ((r = simple_call(c, method, NULL, &res)) != EXIT_OK)
		return r;
	if (c->json)
		print_json(res);
	else if (strcmp(v->noun, "switch") == 0)
		table_print(stdout, with_tep_ip(res), sw, 6);
	else if (strcmp(v->noun, "segment") == 0)
		table_print(stdout, res, seg, 6);
	else
		print_ports(res, port, sizeof(port) / sizeof(port[0]));
	json_decref(res);
	return EXIT_OK;
}

/* ---- the firewall ---- */

/* Prints the DPUs of a fan-out answer that were not reached or refused. */
static void print_dpu_problems(json_t *dpus, const char *what)
{
	json_t *d;
	size_t i;
	int n = 0;

	json_array_foreach(dpus, i, d)
		if (json_is_string(json_object_get(d, "error"))) {
			if (n++ == 0)
				putchar('\n');
			printf("%s (%s): %s\n", str(d, "name"), str(d, "state"), str(d, "error"));
		}
	if (n)
		printf("%s without %d DPU%s.\n", what, n, n == 1 ? "" : "s");
}

/* Checks that 'value' of option 'name' is one of the NULL-terminated 'words'. */
static int one_of(struct ctl *c, const struct verb *v, const char *name, const char *value,
		  const char *const *words)
{
	char list[128] = "";

	for (const char *const *w = words; *w; w++) {
		size_t n = strlen(list);

		if (strcmp(value, *w) == 0)
			return PARSE_OK;
		snprintf(list + n, sizeof(list) - n, "%s%s", n ? ", " : "", *w);
	}
	return usage_error(c, v, "%s takes %s, not '%s'", name, list, value);
}

/* A port option: a number goes as a number, a range "A-B" as text. */
static json_t *port_value(const char *s)
{
	size_t n = strlen(s);

	if (n > 0 && n <= 5 && strspn(s, "0123456789") == n)
		return json_integer(atoi(s));
	return json_string(s);
}

static int cmd_fw_rule_add(struct ctl *c, const struct verb *v, int argc, char **argv)
{
	static const char *const pos_names[] = {"ID"};
	static const char *const actions[] = {"allow", "drop", "reject", NULL};
	static const char *const dirs[] = {"in", "out", "any", NULL};
	enum { ACTION, PRIO, SRC, DST, PROTO, SPORT, DPORT, ICMP, DIR, SEG, PORT };
	struct opt opts[] = {
		[ACTION] = {.name = "action", .short_name = 'a', .has_arg = true},
		[PRIO] = {.name = "priority", .short_name = 'p', .has_arg = true},
		[SRC] = {.name = "src", .has_arg = true},
		[DST] = {.name = "dst", .has_arg = true},
		[PROTO] = {.name = "proto", .has_arg = true},
		[SPORT] = {.name = "sport", .has_arg = true},
		[DPORT] = {.name = "dport", .has_arg = true},
		[ICMP] = {.name = "icmp-type", .has_arg = true},
		[DIR] = {.name = "direction", .short_name = 'd', .has_arg = true},
		[SEG] = {.name = "segment", .has_arg = true},
		[PORT] = {.name = "port", .has_arg = true},
		{0},
	};
	const char *id_text;
	long long id = 0, n = 0;
	json_t *params;
	int r = parse_args(c, v, argc, argv, opts, &id_text, pos_names, 1);

	if (r != PARSE_OK)
		goto out;
	if ((r = parse_number(c, v, "id", id_text, 1, 2147483647, &id)) != PARSE_OK)
		goto out;
	if (opts[ACTION].value == NULL) {
		r = usage_error(c, v, "--action is missing: allow, drop or reject");
		goto out;
	}
	if ((r = one_of(c, v, "--action", opts[ACTION].value, actions)) != PARSE_OK ||
	    (opts[DIR].value &&
	     (r = one_of(c, v, "--direction", opts[DIR].value, dirs)) != PARSE_OK))
		goto out;
	params = json_pack("{s:I, s:s}", "id", (json_int_t)id, "action", opts[ACTION].value);
	if (opts[PRIO].value) {
		if ((r = parse_number(c, v, "priority", opts[PRIO].value, INT32_MIN, INT32_MAX,
				      &n)) != PARSE_OK) {
			json_decref(params);
			goto out;
		}
		json_object_set_new(params, "priority", json_integer(n));
	}
	if (opts[ICMP].value) {
		if ((r = parse_number(c, v, "icmp-type", opts[ICMP].value, 0, 255, &n)) !=
		    PARSE_OK) {
			json_decref(params);
			goto out;
		}
		json_object_set_new(params, "icmp_type", json_integer(n));
	}
	if (opts[SPORT].value)
		json_object_set_new(params, "sport", port_value(opts[SPORT].value));
	if (opts[DPORT].value)
		json_object_set_new(params, "dport", port_value(opts[DPORT].value));
	for (int k = SRC; k <= PORT; k++)
		if (opts[k].value && k != SPORT && k != DPORT && k != ICMP)
			json_object_set_new(params, opts[k].name, json_string(opts[k].value));
	r = change_call(c, "fw.rule.add", params);
out:
	free_opts(opts);
	return r == PARSE_HELP ? EXIT_OK : r;
}

static int cmd_fw_rule_del(struct ctl *c, const struct verb *v, int argc, char **argv)
{
	static const char *const pos_names[] = {"ID"};
	const char *id_text;
	long long id = 0;
	int r = parse_args(c, v, argc, argv, NULL, &id_text, pos_names, 1);

	if (r != PARSE_OK)
		return r == PARSE_HELP ? EXIT_OK : r;
	if ((r = parse_number(c, v, "id", id_text, 1, 2147483647, &id)) != PARSE_OK)
		return r;
	return change_call(c, "fw.rule.del", json_pack("{s:I}", "id", (json_int_t)id));
}

static int cmd_fw_rule_list(struct ctl *c, const struct verb *v, int argc, char **argv)
{
	static const struct table_col cols[] = {
		{"ID", "id"},	       {"PRIO", "priority"}, {"SEGMENT", "segment"},
		{"PORT", "port"},      {"DIR", "direction"}, {"SRC", "src"},
		{"DST", "dst"},	       {"PROTO", "proto"},   {"SPORT", "sport"},
		{"DPORT", "dport"},    {"ICMP", "icmp_type"}, {"ACTION", "action"},
		{"HITS", "hits"},      {"BY DPU", "by_dpu"},
	};
	json_t *res, *rules, *r;
	size_t i;
	int rc = parse_args(c, v, argc, argv, NULL, NULL, NULL, 0);

	if (rc != PARSE_OK)
		return rc == PARSE_HELP ? EXIT_OK : rc;
	if ((rc = simple_call(c, "fw.rule.list", NULL, &res)) != EXIT_OK)
		return rc;
	rules = json_object_get(res, "rules");
	if (c->json) {
		print_json(res);
	} else if (json_array_size(rules) == 0) {
		printf("No firewall rules (dsectl fw rule add ID --action ACTION adds one).\n");
	} else {
		json_array_foreach(rules, i, r) {
			json_t *per = json_object_get(r, "dpus"), *h;
			const char *dpu;
			char buf[512] = "";
			size_t off = 0;

			json_object_foreach(per, dpu, h)
				if (off < sizeof(buf))
					off += (size_t)snprintf(buf + off, sizeof(buf) - off,
								"%s%s=%lld", off ? "," : "", dpu,
								(long long)json_integer_value(h));
			json_object_set_new(r, "by_dpu", json_string(off ? buf : "-"));
		}
		table_print(stdout, rules, cols, sizeof(cols) / sizeof(cols[0]));
		print_dpu_problems(json_object_get(res, "dpus"), "Hits counted");
	}
	json_decref(res);
	return EXIT_OK;
}

static int cmd_fw_policy_set(struct ctl *c, const struct verb *v, int argc, char **argv)
{
	static const char *const pos_names[] = {"SEGMENT", "allow|deny|off"};
	static const char *const defaults[] = {"allow", "deny", "off", NULL};
	const char *pos[2];
	int r = parse_args(c, v, argc, argv, NULL, pos, pos_names, 2);

	if (r != PARSE_OK)
		return r == PARSE_HELP ? EXIT_OK : r;
	if ((r = one_of(c, v, "the policy", pos[1], defaults)) != PARSE_OK)
		return r;
	r = change_call(c, "fw.policy.set",
			json_pack("{s:s, s:s}", "segment", pos[0], "default", pos[1]));
	return r;
}

static int cmd_fw_policy_list(struct ctl *c, const struct verb *v, int argc, char **argv)
{
	static const struct table_col cols[] = {{"SEGMENT", "segment"}, {"DEFAULT", "default"}};
	json_t *res;
	int r = parse_args(c, v, argc, argv, NULL, NULL, NULL, 0);

	if (r != PARSE_OK)
		return r == PARSE_HELP ? EXIT_OK : r;
	if ((r = simple_call(c, "fw.policy.list", NULL, &res)) != EXIT_OK)
		return r;
	if (c->json)
		print_json(res);
	else if (json_array_size(res) == 0)
		printf("No segment has a firewall (dsectl fw policy set SEGMENT deny turns it "
		       "on).\n");
	else
		table_print(stdout, res, cols, 2);
	json_decref(res);
	return EXIT_OK;
}

/*
 * Reads the connection filters of fw conn list / flush into '*ret_params'
 * ('limit': also --limit).
 */
static int conn_params(struct ctl *c, const struct verb *v, int argc, char **argv, bool limit,
		       json_t **ret_params)
{
	enum { SEG, PROTO, ADDR, PORT, STATE, LIMIT };
	struct opt opts[] = {
		[SEG] = {.name = "segment", .has_arg = true},
		[PROTO] = {.name = "proto", .has_arg = true},
		[ADDR] = {.name = "addr", .has_arg = true},
		[PORT] = {.name = "port", .has_arg = true},
		[STATE] = {.name = "state", .has_arg = true},
		[LIMIT] = {.name = limit ? "limit" : NULL, .has_arg = true},
		{0},
	};
	json_t *params = json_object();
	long long n = 0;
	int r = parse_args(c, v, argc, argv, opts, NULL, NULL, 0);

	if (r != PARSE_OK)
		goto out;
	if (opts[PORT].value) {
		if ((r = parse_number(c, v, "port", opts[PORT].value, 0, 65535, &n)) != PARSE_OK)
			goto out;
		json_object_set_new(params, "port", json_integer(n));
	}
	if (limit && opts[LIMIT].value) {
		if ((r = parse_number(c, v, "limit", opts[LIMIT].value, 1, 1000000, &n)) !=
		    PARSE_OK)
			goto out;
		json_object_set_new(params, "limit", json_integer(n));
	}
	for (int k = SEG; k <= STATE; k++)
		if (opts[k].value && k != PORT)
			json_object_set_new(params, opts[k].name, json_string(opts[k].value));
	*ret_params = params;
	params = NULL;
out:
	json_decref(params);
	free_opts(opts);
	return r;
}

static int cmd_fw_conn_list(struct ctl *c, const struct verb *v, int argc, char **argv)
{
	static const struct table_col cols[] = {
		{"DPU", "dpu"},	    {"SEGMENT", "segment"}, {"PROTO", "proto"},
		{"SRC", "src"},	    {"SPORT", "sport"},	    {"DST", "dst"},
		{"DPORT", "dport"}, {"STATE", "state"},	    {"AGE", "age"},
		{"IDLE", "idle"},   {"TIMEOUT", "timeout"}, {"PACKETS", "packets"},
		{"BYTES", "bytes"}, {"RULE", "rule"},
	};
	json_t *params = NULL, *res, *conns;
	int r = conn_params(c, v, argc, argv, true, &params);

	if (r != PARSE_OK)
		return r == PARSE_HELP ? EXIT_OK : r;
	r = simple_call(c, "fw.conn.list", params, &res);
	json_decref(params);
	if (r != EXIT_OK)
		return r;
	conns = json_object_get(res, "conns");
	if (c->json) {
		print_json(res);
	} else {
		if (json_array_size(conns))
			table_print(stdout, conns, cols, sizeof(cols) / sizeof(cols[0]));
		printf("%s%zu of %lld connection%s shown (PACKETS and BYTES: original, reply)\n",
		       json_array_size(conns) ? "\n" : "", json_array_size(conns),
		       (long long)json_integer_value(json_object_get(res, "total")),
		       json_integer_value(json_object_get(res, "total")) == 1 ? "" : "s");
		print_dpu_problems(json_object_get(res, "dpus"), "Connections listed");
	}
	json_decref(res);
	return EXIT_OK;
}

static int cmd_fw_conn_flush(struct ctl *c, const struct verb *v, int argc, char **argv)
{
	json_t *params = NULL, *res;
	int r = conn_params(c, v, argc, argv, false, &params);

	if (r != PARSE_OK)
		return r == PARSE_HELP ? EXIT_OK : r;
	r = simple_call(c, "fw.conn.flush", params, &res);
	json_decref(params);
	if (r != EXIT_OK)
		return r;
	if (c->json) {
		print_json(res);
	} else {
		long long n = (long long)json_integer_value(json_object_get(res, "removed"));

		printf("removed %lld connection%s\n", n, n == 1 ? "" : "s");
		print_dpu_problems(json_object_get(res, "dpus"), "Connections removed");
	}
	json_decref(res);
	return EXIT_OK;
}

/* ---- what the DPUs hold: FDB, TEPs, drops ---- */

/*
 * Calls a fan-out 'method' of dse-hostd with 'params' (taken) and prints
 * the list 'key' of its answer as a table of 'cols' (after 'prep', when
 * given, adds the cells it needs), or 'none' when empty, then the DPUs
 * that did not answer.
 */
static int dpus_table(struct ctl *c, const char *method, json_t *params, const char *key,
		      const struct table_col *cols, size_t n, const char *none,
		      json_t *(*prep)(json_t *list))
{
	json_t *res;
	int r = simple_call(c, method, params, &res);

	json_decref(params);
	if (r != EXIT_OK)
		return r;
	if (c->json) {
		print_json(res);
	} else {
		json_t *list = json_object_get(res, key);

		if (json_array_size(list))
			table_print(stdout, prep ? prep(list) : list, cols, n);
		else
			printf("%s\n", none);
		print_dpu_problems(json_object_get(res, "dpus"), "Listed");
	}
	json_decref(res);
	return EXIT_OK;
}

static int cmd_fdb_list(struct ctl *c, const struct verb *v, int argc, char **argv)
{
	static const struct table_col cols[] = {
		{"DPU", "dpu"},	  {"SEGMENT", "segment"}, {"MAC", "mac"},
		{"PORT", "port"}, {"STATIC", "static"},	  {"AGE", "age"},
	};
	struct opt opts[] = {
		{.name = "segment", .has_arg = true},
		{.name = "port", .has_arg = true},
		{0},
	};
	json_t *params;
	int r = parse_args(c, v, argc, argv, opts, NULL, NULL, 0);

	if (r != PARSE_OK)
		return r == PARSE_HELP ? EXIT_OK : r;
	params = json_object();
	if (opts[0].value)
		json_object_set_new(params, "segment", json_string(opts[0].value));
	if (opts[1].value)
		json_object_set_new(params, "port", json_string(opts[1].value));
	return dpus_table(c, "fdb.list", params, "entries", cols, sizeof(cols) / sizeof(cols[0]),
			  "No FDB entries on the DPUs.", NULL);
}

/* The peers of each TEP as one cell: "198.19.2.1 (02:..)". */
static json_t *with_peer_cells(json_t *teps)
{
	json_t *t, *p;
	size_t i, k;

	json_array_foreach(teps, i, t) {
		char buf[1024] = "";
		size_t len = 0;

		json_array_foreach(json_object_get(t, "peers"), k, p)
			if (len < sizeof(buf))
				len += (size_t)snprintf(buf + len, sizeof(buf) - len, "%s%s%s%s%s",
							len ? ", " : "", str(p, "ip"),
							json_is_string(json_object_get(p, "mac")) ? " (" : "",
							json_is_string(json_object_get(p, "mac"))
							    ? str(p, "mac")
							    : "",
							json_is_string(json_object_get(p, "mac")) ? ")" : "");
		json_object_set_new(t, "peer_cell", json_string(buf));
	}
	return teps;
}

static int cmd_tep_list(struct ctl *c, const struct verb *v, int argc, char **argv)
{
	static const struct table_col cols[] = {
		{"DPU", "dpu"},	    {"IP", "ip"},   {"MAC", "mac"},
		{"UPLINK", "uplink"}, {"MTU", "mtu"}, {"PEERS (MAC once resolved)", "peer_cell"},
	};
	int r = parse_args(c, v, argc, argv, NULL, NULL, NULL, 0);

	if (r != PARSE_OK)
		return r == PARSE_HELP ? EXIT_OK : r;
	return dpus_table(c, "tep.list", NULL, "teps", cols, 6, "No DPU has a tunnel endpoint.",
			  with_peer_cells);
}

static int cmd_drop_list(struct ctl *c, const struct verb *v, int argc, char **argv)
{
	static const struct table_col cols[] = {
		{"DPU", "dpu"}, {"REASON", "reason"}, {"COUNT", "count"}};
	int r = parse_args(c, v, argc, argv, NULL, NULL, NULL, 0);

	if (r != PARSE_OK)
		return r == PARSE_HELP ? EXIT_OK : r;
	return dpus_table(c, "drop.list", NULL, "drops", cols, 3, "The DPUs dropped nothing.",
			  NULL);
}

/* ---- high availability ---- */

/* "crash from h1-d1 to h1-d2 at 2026-12-02 10:00:00 UTC, found in 208 ms" */
static void ha_event_text(json_t *e, char *buf, size_t len)
{
	time_t t = (time_t)json_integer_value(json_object_get(e, "at"));
	char when[64], found[64] = "";
	struct tm tm;

	strftime(when, sizeof(when), "%Y-%m-%d %H:%M:%S %Z", localtime_r(&t, &tm));
	if (json_is_integer(json_object_get(e, "detect_ms")))
		snprintf(found, sizeof(found), ", found %lld ms after its last answer",
			 (long long)json_integer_value(json_object_get(e, "detect_ms")));
	snprintf(buf, len, "%s from %s to %s at %s%s", str(e, "kind"),
		 json_is_string(json_object_get(e, "from")) ? str(e, "from") : "-", str(e, "to"),
		 when, found);
}

/* Parses the options 'opts' of an ha verb (the first is --switch) into 'params'. */
static int switch_params(struct ctl *c, const struct verb *v, int argc, char **argv,
			 struct opt *opts, json_t **params)
{
	int r = parse_args(c, v, argc, argv, opts, NULL, NULL, 0);

	if (r != PARSE_OK)
		return r;
	*params = json_object();
	if (opts[0].value)
		json_object_set_new(*params, "switch", json_string(opts[0].value));
	return PARSE_OK;
}

/* The DPUs of the switches of ha.show's answer 'res': role, hold and state sync. */
static void ha_dpus_print(json_t *res)
{
	static const struct table_col cols[] = {
		{"DPU", "name"},   {"ROLE", "role"},   {"HOLD", "hold"},  {"SYNC", "sync_cell"},
		{"READY", "ready"}, {"LAG", "lag_cell"}, {"CONNS", "conns"}, {"MACS", "fdb"},
		{"BULKS", "bulks"}, {"LAST BULK", "bulk_cell"},
	};
	json_t *rows = json_array(), *e, *d;
	size_t i, k;

	json_array_foreach(res, i, e)
		json_array_foreach(json_object_get(e, "dpus"), k, d) {
			json_t *sy = json_object_get(d, "sync"), *lb, *row;
			char cell[96];

			row = json_pack("{s:O, s:s, s:s}", "name", json_object_get(d, "name"), "role",
					json_is_string(json_object_get(d, "role"))
					    ? str(d, "role")
					    : str(d, "link"),
					"hold",
					json_is_string(json_object_get(d, "hold")) ? str(d, "hold")
										   : "-");
			if (json_is_object(sy)) {
				snprintf(cell, sizeof(cell), "%s %s", str(sy, "side"), str(sy, "state"));
				json_object_set_new(row, "sync_cell", json_string(cell));
				json_object_set_new(row, "ready",
						    json_string(strcmp(str(sy, "side"), "sender") == 0
								    ? "-"
								: json_is_true(json_object_get(sy, "ready"))
								    ? "yes"
								    : "no"));
				snprintf(cell, sizeof(cell), "%lld msgs, %lld ms",
					 (long long)json_integer_value(json_object_get(sy, "lag_msgs")),
					 (long long)json_integer_value(json_object_get(sy, "lag_ms")));
				json_object_set_new(row, "lag_cell", json_string(cell));
				json_object_set(row, "conns", json_object_get(sy, "conns"));
				json_object_set(row, "fdb", json_object_get(sy, "fdb"));
				json_object_set(row, "bulks", json_object_get(sy, "bulks"));
				lb = json_object_get(sy, "last_bulk");
				if (json_is_object(lb))
					snprintf(cell, sizeof(cell), "%lld records in %lld ms",
						 (long long)json_integer_value(json_object_get(lb, "records")),
						 (long long)json_integer_value(json_object_get(lb, "ms")));
				else
					snprintf(cell, sizeof(cell), "-");
				json_object_set_new(row, "bulk_cell", json_string(cell));
			} else {
				json_object_set_new(row, "sync_cell", json_string("-"));
			}
			json_array_append_new(rows, row);
		}
	if (json_array_size(rows)) {
		putchar('\n');
		table_print(stdout, rows, cols, sizeof(cols) / sizeof(cols[0]));
	}
	json_decref(rows);
}

static int cmd_ha_status(struct ctl *c, const struct verb *v, int argc, char **argv)
{
	static const struct table_col cols[] = {
		{"SWITCH", "switch"}, {"ACTIVE", "active"}, {"STANDBY", "standby"},
		{"READY", "ready"},   {"LAST FAILOVER", "last_cell"},
	};
	struct opt opts[] = {{.name = "switch", .has_arg = true}, {0}};
	json_t *res, *params, *e;
	size_t i;
	int r = switch_params(c, v, argc, argv, opts, &params);

	if (r != PARSE_OK)
		return r == PARSE_HELP ? EXIT_OK : r;
	r = simple_call(c, "ha.show", params, &res);
	json_decref(params);
	if (r != EXIT_OK)
		return r;
	if (c->json) {
		print_json(res);
	} else if (json_array_size(res) == 0) {
		printf("No active-standby switch.\n");
	} else {
		bool any = false;

		json_array_foreach(res, i, e) {
			char buf[300] = "none";

			if (json_is_object(json_object_get(e, "last")))
				ha_event_text(json_object_get(e, "last"), buf, sizeof(buf));
			json_object_set_new(e, "last_cell", json_string(buf));
		}
		table_print(stdout, res, cols, sizeof(cols) / sizeof(cols[0]));
		ha_dpus_print(res);
		json_array_foreach(res, i, e)
			if (json_is_string(json_object_get(e, "problem"))) {
				printf("\n%s: not ready: %s", str(e, "switch"), str(e, "problem"));
				any = true;
			}
		if (any)
			putchar('\n');
	}
	json_decref(res);
	return EXIT_OK;
}

static int cmd_ha_events(struct ctl *c, const struct verb *v, int argc, char **argv)
{
	struct opt opts[] = {{.name = "switch", .has_arg = true}, {.name = "limit", .has_arg = true},
			     {0}};
	json_t *res, *params, *e;
	size_t i;
	int r = switch_params(c, v, argc, argv, opts, &params);

	if (r != PARSE_OK)
		return r == PARSE_HELP ? EXIT_OK : r;
	if (opts[1].value) {
		char *end;
		long n = strtol(opts[1].value, &end, 10);

		if (*end || end == opts[1].value || n < 1) {
			json_decref(params);
			return error_out(c, EXIT_USAGE, "--limit takes a number of at least 1, not '%s'",
					 opts[1].value);
		}
		json_object_set_new(params, "limit", json_integer(n));
	}
	r = simple_call(c, "ha.event.list", params, &res);
	json_decref(params);
	if (r != EXIT_OK)
		return r;
	if (c->json) {
		print_json(res);
	} else if (json_array_size(res) == 0) {
		printf("No failovers.\n");
	} else {
		json_array_foreach(res, i, e) {
			char buf[300];

			ha_event_text(e, buf, sizeof(buf));
			printf("%s: %s%s%s\n", str(e, "switch"), buf,
			       json_is_string(json_object_get(e, "note")) ? ": " : "",
			       json_is_string(json_object_get(e, "note")) ? str(e, "note") : "");
		}
	}
	json_decref(res);
	return EXIT_OK;
}

static int cmd_ha_failover(struct ctl *c, const struct verb *v, int argc, char **argv)
{
	static const char *const pos_names[] = {"SWITCH"};
	struct opt opts[] = {{.name = "to", .has_arg = true}, {.name = "force"}, {0}};
	const char *sw;
	json_t *res, *params;
	int r = parse_args(c, v, argc, argv, opts, &sw, pos_names, 1);

	if (r != PARSE_OK)
		return r == PARSE_HELP ? EXIT_OK : r;
	params = json_pack("{s:s, s:b}", "switch", sw, "force", opts[1].value != NULL);
	if (opts[0].value)
		json_object_set_new(params, "to", json_string(opts[0].value));
	r = simple_call(c, "ha.failover", params, &res);
	json_decref(params);
	if (r != EXIT_OK)
		return r;
	if (c->json)
		print_json(res);
	else
		printf("switch %s: %s is active now (was %s); the VMs follow\n", sw, str(res, "to"),
		       str(res, "from"));
	json_decref(res);
	return EXIT_OK;
}

/* ---- apply, export, status ---- */

/*
 * Prints dse-hostd's refusal of a profile at the file position of the
 * element it names ("segments[2].vlan: ..." becomes "FILE:LINE:COL: ...").
 */
/*
 * Rewrites the schema decoder's words for a member of the profile
 * ("parameter 'config.segments[1].vlan' must be ...", "unknown parameter
 * 'config.switches[0].uplink' (config.switches[0] takes ...)") as the
 * profile's path and what is wrong ("segments[1].vlan: must be ..."), so
 * that the path finds its file position.  Other messages are copied.
 */
static void profile_message(const char *msg, char *out, size_t len)
{
	static const char *const forms[] = {"parameter 'config.", "unknown parameter 'config."};
	char rest[1024];

	/* The server names the method first ("config.apply: ..."). */
	if (strncmp(msg, "config.apply: ", 14) == 0)
		msg += 14;
	else if (strncmp(msg, "apply: ", 7) == 0)
		msg += 7;
	for (int i = 0; i < 2; i++) {
		size_t n = strlen(forms[i]);
		const char *path = msg + n, *end;

		if (strncmp(msg, forms[i], n) != 0 || (end = strchr(path, '\'')) == NULL)
			continue;
		snprintf(rest, sizeof(rest), "%s", end[1] == ' ' ? end + 2 : end + 1);
		/* "(config.switches[0] takes ...)": the profile's own words. */
		for (char *q = strstr(rest, "(config."); q; q = strstr(q, "(config."))
			memmove(q + 1, q + 8, strlen(q + 8) + 1);
		snprintf(out, len, "%.*s: %s%s", (int)(end - path), path,
			 i == 1 ? "unknown key " : "", rest);
		return;
	}
	snprintf(out, len, "%s", msg);
}

static int apply_refused(struct ctl *c, const char *file, const struct cfg_doc *doc,
			 json_t *error)
{
	char text[1200], path[256];
	const char *msg = json_string_value(json_object_get(error, "message")), *sep;
	int line, col;
	size_t n;
	/* A file that is no host profile (-32602) is a bad file, as a syntax error is. */
	int rc = json_integer_value(json_object_get(error, "code")) == DSE_RPC_INVALID_PARAMS
			 ? EXIT_USAGE
			 : EXIT_REFUSED;

	if (msg == NULL)
		msg = "refused";
	profile_message(msg, text, sizeof(text));
	msg = text;
	sep = strstr(msg, ": ");
	n = sep ? (size_t)(sep - msg) : 0;
	if (sep && n < sizeof(path) && strcspn(msg, " '") >= n) {
		snprintf(path, sizeof(path), "%.*s", (int)n, msg);
		if (cfg_position(doc, path, &line, &col))
			return error_out(c, rc, "%s:%d:%d: %s", file, line, col, msg);
	}
	return error_out(c, rc, "%s: %s", file, msg);
}

static long long now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/*
 * For 'config apply --wait': polls dpu.list until every DPU a switch names
 * holds store revision 'rev' (or the host refused to configure it), for at
 * most 'timeout_s'.  On a terminal it shows the progress on stderr.
 * Returns EXIT_OK when all are in sync, EXIT_REFUSED (after saying which
 * and why) when one ended in error, is not connected or the time ran out.
 */
static int wait_sync(struct ctl *c, long long rev, long long timeout_s)
{
	long long deadline = now_ms() + timeout_s * 1000;
	bool tty = isatty(STDERR_FILENO);
	char why[1024];
	int r;

	for (;;) {
		json_t *res = NULL, *d;
		size_t i, n = 0, done = 0;
		char line[512] = "";
		size_t len = 0;
		bool failed = false;

		why[0] = '\0';
		if ((r = simple_call(c, "dpu.list", NULL, &res)) != EXIT_OK)
			return r;
		json_array_foreach(res, i, d) {
			const char *cfg = str(d, "config"), *name = str(d, "name");
			json_t *sy = json_object_get(d, "sync");
			bool held = json_integer_value(json_object_get(d, "synced_revision")) >= rev;

			if (strcmp(str(d, "role"), "none") == 0 || !json_is_string(json_object_get(d, "role")))
				continue;
			n++;
			if (strcmp(cfg, "refused") == 0 || (held && strcmp(cfg, "in-sync") == 0)) {
				done++;
			} else if (held && strcmp(cfg, "error") == 0) {
				failed = true;
				snprintf(why + strlen(why), sizeof(why) - strlen(why), "%s%s: %s",
					 why[0] ? "; " : "", name, str(d, "error"));
			} else if (strcmp(str(d, "state"), "connected") != 0) {
				snprintf(why + strlen(why), sizeof(why) - strlen(why), "%s%s: %s",
					 why[0] ? "; " : "", name, str(d, "state"));
			}
			if (len < sizeof(line)) {
				if (json_is_object(sy))
					len += (size_t)snprintf(
					    line + len, sizeof(line) - len, " %s %lld/%lld", name,
					    (long long)json_integer_value(json_object_get(sy, "calls_done")),
					    (long long)(json_integer_value(json_object_get(sy, "calls_done")) +
							json_integer_value(json_object_get(sy, "calls_left"))));
				else
					len += (size_t)snprintf(line + len, sizeof(line) - len, " %s %s",
								name, cfg);
			}
		}
		json_decref(res);
		if (tty && !c->json)
			fprintf(stderr, "\r\033[Ksyncing: %zu of %zu DPUs hold revision %lld:%s", done,
				n, rev, line);
		if (done == n || failed || now_ms() >= deadline) {
			if (tty && !c->json)
				fputc('\n', stderr);
			if (done == n)
				return EXIT_OK;
			if (failed)
				return error_out(c, EXIT_REFUSED, "store revision %lld failed to reach "
								  "every DPU: %s",
						 rev, why);
			return error_out(c, EXIT_REFUSED, "%zu of %zu DPUs hold store revision %lld "
							  "after %lld s%s%s",
					 done, n, rev, timeout_s, why[0] ? ": " : "", why);
		}
		usleep(100 * 1000);
	}
}

/*
 * Shows a person at a terminal what applying 'doc' would delete, if
 * anything, and asks; sets '*prune' when they say yes.  Returns EXIT_OK, or
 * EXIT_REFUSED when they say no (nothing is changed).
 */
static int ask_prune(struct ctl *c, const struct cfg_doc *doc, bool *prune)
{
	json_t *params = json_pack("{s:O, s:b}", "config", doc->root, "dry_run", true);
	json_t *res = NULL, *error = NULL, *ch, *dels = json_array();
	char answer[16] = "";
	size_t i;
	int r = call(c, "config.apply", params, APPLY_TIMEOUT, &res, &error);

	json_decref(params);
	json_decref(error);
	if (r == EXIT_UNREACHABLE) {
		json_decref(res);
		json_decref(dels);
		return r;
	}
	/* A refusal is said by the real apply that follows. */
	json_array_foreach(json_object_get(res, "changes"), i, ch)
		if (strcmp(json_string_value(json_object_get(ch, "action")), "delete") == 0)
			json_array_append(dels, ch);
	json_decref(res);
	if (r != EXIT_OK || json_array_size(dels) == 0) {
		json_decref(dels);
		return EXIT_OK;
	}
	printf("The profile leaves out %zu object%s this host has:\n", json_array_size(dels),
	       json_array_size(dels) == 1 ? "" : "s");
	print_changes(dels, true);
	printf("Delete %s? [y/N] ", json_array_size(dels) == 1 ? "it" : "them");
	fflush(stdout);
	json_decref(dels);
	if (fgets(answer, sizeof(answer), stdin) != NULL &&
	    (answer[0] == 'y' || answer[0] == 'Y')) {
		*prune = true;
		return EXIT_OK;
	}
	return error_out(c, EXIT_REFUSED, "nothing applied (--prune deletes without asking)");
}

static int cmd_apply(struct ctl *c, const struct verb *v, int argc, char **argv)
{
	struct opt opts[] = {
		{.name = "file", .short_name = 'f', .has_arg = true},
		{.name = "dry-run", .short_name = 'n'},
		{.name = "prune"},
		{.name = "wait"},
		{.name = "timeout", .has_arg = true},
		{0},
	};
	struct cfg_doc doc = {0};
	json_t *params, *res = NULL, *error = NULL;
	char err[1024];
	bool dry_run, prune;
	long long timeout_s = 120;
	int r = parse_args(c, v, argc, argv, opts, NULL, NULL, 0);

	if (r != PARSE_OK)
		return r == PARSE_HELP ? EXIT_OK : r;
	if (opts[4].value &&
	    (r = parse_number(c, v, "timeout", opts[4].value, 1, 86400, &timeout_s)) != PARSE_OK)
		return r;
	if (opts[0].value == NULL)
		return usage_error(c, v, "-f FILE is missing: the host profile to apply (YAML "
					 "or JSON; - reads stdin)");
	dry_run = opts[1].value != NULL;
	prune = opts[2].value != NULL;
	if (cfg_load(opts[0].value, &doc, err, sizeof(err)) < 0)
		return error_out(c, EXIT_USAGE, "%s", err);
	/* A person at a terminal is shown what would be deleted and asked. */
	if (!dry_run && !prune && !c->json && strcmp(opts[0].value, "-") != 0 &&
	    isatty(STDIN_FILENO) && isatty(STDOUT_FILENO)) {
		r = ask_prune(c, &doc, &prune);
		if (r != EXIT_OK) {
			cfg_free(&doc);
			return r;
		}
	}
	params = json_pack("{s:O, s:b, s:b}", "config", doc.root, "dry_run", dry_run, "prune",
			   prune);
	r = call(c, "config.apply", params, APPLY_TIMEOUT, &res, &error);
	json_decref(params);
	if (r == EXIT_REFUSED)
		r = apply_refused(c, strcmp(opts[0].value, "-") ? opts[0].value : "<stdin>", &doc,
				  error);
	if (r == EXIT_OK) {
		json_t *changes = json_object_get(res, "changes");

		print_warnings(c, res);
		if (c->json) {
			print_json(res);
		} else {
			print_changes(changes, dry_run);
			if (json_array_size(changes) == 0)
				printf("no changes: the host already matches %s\n", opts[0].value);
			else if (dry_run)
				printf("dry run: %zu change%s, nothing written\n",
				       json_array_size(changes),
				       json_array_size(changes) == 1 ? "" : "s");
			else
				printf("applied %zu change%s (store revision %lld)\n",
				       json_array_size(changes),
				       json_array_size(changes) == 1 ? "" : "s",
				       (long long)json_integer_value(json_object_get(res, "revision")));
		}
		if (opts[3].value && !dry_run) {
			fflush(stdout);
			r = wait_sync(c, json_integer_value(json_object_get(res, "revision")),
				      timeout_s);
			if (r == EXIT_OK && !c->json)
				printf("every DPU holds store revision %lld\n",
				       (long long)json_integer_value(json_object_get(res, "revision")));
		}
	}
	json_decref(res);
	json_decref(error);
	cfg_free(&doc);
	return r;
}

static bool ends_with(const char *s, const char *suffix)
{
	size_t n = strlen(s), m = strlen(suffix);

	return n >= m && strcmp(s + n - m, suffix) == 0;
}

static int cmd_config_export(struct ctl *c, const struct verb *v, int argc, char **argv)
{
	struct opt opts[] = {
		{.name = "output", .short_name = 'o', .has_arg = true},
		{.name = "yaml"},
		{0},
	};
	const char *out;
	json_t *res;
	bool yaml;
	FILE *f = stdout;
	char tmp[4096];
	int r = parse_args(c, v, argc, argv, opts, NULL, NULL, 0);

	if (r != PARSE_OK)
		return r == PARSE_HELP ? EXIT_OK : r;
	out = opts[0].value;
	yaml = opts[1].value || (out && (ends_with(out, ".yaml") || ends_with(out, ".yml")));
	if ((r = simple_call(c, "config.export", NULL, &res)) != EXIT_OK)
		return r;
	if (out && strcmp(out, "-") != 0) {
		/* Written aside and renamed: a failed export never leaves half a file. */
		snprintf(tmp, sizeof(tmp), "%s.tmp%d", out, (int)getpid());
		f = fopen(tmp, "w");
		if (f == NULL) {
			json_decref(res);
			return error_out(c, EXIT_USAGE, "cannot write %s: %s", out, strerror(errno));
		}
	}
	if (yaml)
		r = cfg_write_yaml(f, res) < 0 ? -EIO : 0;
	else
		r = json_dumpf(res, f, JSON_INDENT(2)) < 0 || fputc('\n', f) == EOF ? -EIO : 0;
	json_decref(res);
	if (f != stdout) {
		if (fclose(f) != 0 || r < 0 || rename(tmp, out) < 0) {
			unlink(tmp);
			return error_out(c, EXIT_USAGE, "cannot write %s: %s", out,
					 strerror(errno ? errno : EIO));
		}
		if (!c->json)
			fprintf(stderr, "wrote the host profile to %s\n", out);
	}
	return r < 0 ? error_out(c, EXIT_USAGE, "cannot write the profile: %s", strerror(-r))
		     : EXIT_OK;
}

static int cmd_status(struct ctl *c, const struct verb *v, int argc, char **argv)
{
	json_t *res, *store, *dpus;
	int r = parse_args(c, v, argc, argv, NULL, NULL, NULL, 0);

	if (r != PARSE_OK)
		return r == PARSE_HELP ? EXIT_OK : r;
	if ((r = simple_call(c, "host.show", NULL, &res)) != EXIT_OK)
		return r;
	if (c->json) {
		print_json(res);
	} else {
		store = json_object_get(res, "store");
		dpus = json_object_get(res, "dpus");
		printf("dse-hostd %s, pid %lld, up %lld s\n", str(res, "version"),
		       (long long)json_integer_value(json_object_get(res, "pid")),
		       (long long)json_integer_value(json_object_get(res, "uptime_s")));
		printf("state:    %s (socket %s)\n", str(res, "state_dir"), str(res, "socket"));
		printf("store:    %s, schema %lld, revision %lld\n", str(store, "path"),
		       (long long)json_integer_value(json_object_get(store, "schema_version")),
		       (long long)json_integer_value(json_object_get(store, "revision")));
		printf("DPUs:     %lld connected of %lld internal links\n",
		       (long long)json_integer_value(json_object_get(dpus, "connected")),
		       (long long)json_integer_value(json_object_get(dpus, "links")));
		printf("config:   %lld switches, %lld segments, %lld ports\n",
		       (long long)json_integer_value(json_object_get(res, "switches")),
		       (long long)json_integer_value(json_object_get(res, "segments")),
		       (long long)json_integer_value(json_object_get(res, "ports")));
		printf("firewall: %lld policies, %lld rules\n",
		       (long long)json_integer_value(
			       json_object_get(json_object_get(res, "firewall"), "policies")),
		       (long long)json_integer_value(
			       json_object_get(json_object_get(res, "firewall"), "rules")));
	}
	json_decref(res);
	return EXIT_OK;
}

/* ---- the command table and help ---- */

static const struct verb verbs[] = {
	{"dpu", "list", "dpu list", "Lists the host's DPUs with their identity, state, role and "
				    "version",
	 "States: connected, connecting, unreachable, identity-mismatch (the host will not\n"
	 "configure it), missing (known or named by a switch, but on no internal link).\n"
	 "CONFIG says whether the DPU holds the host's desired state: in-sync, syncing,\n"
	 "error, refused, unmanaged (it serves no switch).  Problems are listed below\n"
	 "the table.\n",
	 cmd_dpu_list},
	{"dpu", "show", "dpu show NAME", "Shows one DPU (by name or link) and what the host wants "
					 "it to hold",
	 "", cmd_dpu_show},
	{"dpu", "forget", "dpu forget NAME",
	 "Forgets the record of a DPU that is gone or was replaced",
	 "A DPU whose serial differs from the one the host knew under its name is\n"
	 "refused (identity-mismatch); forget the old record to accept the new DPU.\n",
	 cmd_dpu_forget},
	{"switch", "add",
	 "switch add NAME --mode MODE --dpu DPU [--dpu DPU] [--uplink vmnicK]... [--tep IP]",
	 "Adds a switch served by one DPU, or by a pair in mode active-standby",
	 "Options:\n"
	 "  -m, --mode MODE     single (one DPU), active-standby (two identical DPUs,\n"
	 "                      one forwards), independent (one DPU; the host's other\n"
	 "                      DPU serves another switch); --dpu-mode MODE is the same\n"
	 "  -d, --dpu DPU       a DPU of the switch (dsectl dpu list); the first of a\n"
	 "                      pair is the active one\n"
	 "  -u, --uplink NAME   an uplink of the switch: vmnicK (DPU N has vmnic2N-2 and\n"
	 "                      vmnic2N-1); may repeat\n"
	 "  --tep IP            the switch's tunnel endpoint for its overlay segments: an\n"
	 "                      IPv4 address on the underlay, set on the first uplink of\n"
	 "                      the (active) DPU\n"
	 "\nExample: dsectl switch add sw1 --mode single --dpu h1-d1 --uplink vmnic0 \\\n"
	 "           --tep 198.19.1.1\n",
	 cmd_switch_add},
	{"switch", "set",
	 "switch set NAME [--uplink vmnicK]... [--no-uplinks] [--tep IP | --no-tep]",
	 "Changes a switch's uplinks or TEP in place",
	 "What is not given stays as it is.  The DPUs get the change at their next\n"
	 "reconcile; segments and ports are not touched.\n"
	 "\nOptions:\n"
	 "  -u, --uplink NAME   an uplink: the whole list, once for each (as switch add)\n"
	 "  --no-uplinks        no uplinks\n"
	 "  --tep IP            a new tunnel endpoint (as switch add --tep)\n"
	 "  --no-tep            no TEP (refused while the switch has overlay segments)\n"
	 "\nExample: dsectl switch set sw1 --uplink vmnic0 --uplink vmnic1\n",
	 cmd_switch_set},
	{"switch", "del", "switch del NAME", "Deletes a switch that has no segments", "", cmd_del},
	{"switch", "list", "switch list", "Lists the switches", "", cmd_list},
	{"segment", "add", "segment add NAME (--vlan N | --vni N [--peer IP]...) --switch SWITCH",
	 "Adds a segment to a switch, backed by a VLAN or an overlay VNI",
	 "An overlay segment's frames travel between DPUs in Geneve, from the switch's\n"
	 "TEP (switch add --tep) to the segment's peers: the TEPs of the other hosts.\n"
	 "\nOptions:\n"
	 "  --vlan N            VLAN 1-4094, unique on the switch\n"
	 "  --vni N             overlay VNI 1-16777215, unique on the host\n"
	 "  --peer IP           a remote TEP of the overlay segment; may repeat\n"
	 "  -S, --switch NAME   the switch (dsectl switch list)\n"
	 "\nExamples: dsectl segment add web --vlan 100 --switch sw1\n"
	 "          dsectl segment add app --vni 5001 --peer 198.19.2.1 --switch sw1\n",
	 cmd_segment_add},
	{"segment", "set", "segment set NAME (--peer IP... | --no-peers)",
	 "Sets the peers of an overlay segment (the whole list)",
	 "Options:\n"
	 "  --peer IP           a remote TEP of the segment; once for each\n"
	 "  --no-peers          no peers: the segment stays on this host\n"
	 "\nExample: dsectl segment set app --peer 198.19.2.1 --peer 198.19.3.1\n",
	 cmd_segment_set},
	{"segment", "del", "segment del NAME", "Deletes a segment that has no ports", "", cmd_del},
	{"segment", "list", "segment list", "Lists the segments", "", cmd_list},
	{"port", "add", "port add NAME --mac MAC --segment SEGMENT --vm VM",
	 "Adds a VM's port to a segment",
	 "Options:\n"
	 "  --mac MAC           the VM NIC's MAC address, like 02:00:00:00:01:01\n"
	 "  --segment NAME      the segment (dsectl segment list)\n"
	 "  --vm VM             the VM (1-11 characters); the DPU reaches it on its\n"
	 "                      representor rep-VM.  One port per VM.\n"
	 "\nExample: dsectl port add vm1-eth0 --mac 02:00:00:00:01:01 --segment web --vm vm1\n",
	 cmd_port_add},
	{"port", "set", "port set NAME [--segment SEGMENT] [--mac MAC]",
	 "Moves a VM's port to another segment, or changes its MAC, in place",
	 "What is not given stays as it is.\n"
	 "\nOptions:\n"
	 "  --segment NAME      the segment it moves to (dsectl segment list)\n"
	 "  --mac MAC           the VM NIC's new MAC address\n"
	 "\nExample: dsectl port set vm1-eth0 --segment db\n",
	 cmd_port_set},
	{"port", "del", "port del NAME", "Deletes a VM's port", "", cmd_del},
	{"port", "list", "port list", "Lists the VM ports", "", cmd_list},
	{"config", "apply", "config apply -f FILE [--dry-run] [--prune] [--wait [--timeout SEC]]",
	 "Makes the host's desired state equal to a host profile, in one transaction",
	 "The profile (YAML or JSON) lists the switches, segments and ports the host\n"
	 "should have.  What the host has and the profile leaves out is deleted only\n"
	 "with --prune: without it such a profile is refused, naming what it leaves\n"
	 "out (at a terminal, dsectl shows it and asks).  Applying the same file twice\n"
	 "changes nothing the second time.  An optional 'dpus' section (written by\n"
	 "config export) says what DPUs the profile needs: on another host each maps to\n"
	 "the DPU on the same internal link, and the profile is refused if that DPU is\n"
	 "missing or of another vendor or model.  Errors name the file position.\n"
	 "\nOptions:\n"
	 "  -f, --file FILE     the profile; - reads stdin\n"
	 "  -n, --dry-run       show the changes without making them (deletes too)\n"
	 "  --prune             delete what the profile leaves out, without asking\n"
	 "  --wait              then wait until every DPU the switches name holds the\n"
	 "                      change, showing each one's progress on a terminal; exit 1\n"
	 "                      if one fails, is not connected, or --timeout passes\n"
	 "  --timeout SEC       how long --wait waits (default 120)\n"
	 "\nFormat (YAML):\n"
	 "  switches:\n"
	 "    - {name: sw1, mode: single, dpus: [h1-d1], uplinks: [vmnic0],\n"
	 "       tep: {ip: 198.19.1.1}}\n"
	 "  segments:\n"
	 "    - {name: web, switch: sw1, vlan: 100}\n"
	 "    - {name: app, switch: sw1, vni: 5001, peers: [198.19.2.1]}\n"
	 "  ports:\n"
	 "    - {name: vm1-eth0, mac: \"02:00:00:00:01:01\", segment: web, vm: vm1}\n"
	 "  firewall:\n"
	 "    policies:\n"
	 "      - {segment: web, default: deny}\n"
	 "    rules:\n"
	 "      - {id: 10, priority: 100, segment: web, proto: tcp, dport: 443,\n"
	 "         direction: in, action: allow}\n",
	 cmd_apply},
	{"config", "export", "config export [-o FILE] [--yaml]",
	 "Writes the host profile: what 'dsectl config apply -f' reproduces on this or another host",
	 "Options:\n"
	 "  -o, --output FILE   write to FILE instead of stdout (YAML if it ends in\n"
	 "                      .yaml or .yml, else JSON)\n"
	 "  --yaml              write YAML\n",
	 cmd_config_export},
	{"fw rule", "add",
	 "fw rule add ID --action allow|drop|reject [--priority N] [--src CIDR] [--dst CIDR] "
	 "[--proto P] [--sport P|A-B] [--dport P|A-B] [--icmp-type T] [--direction in|out|any] "
	 "[--segment S] [--port VMPORT]",
	 "Adds a firewall rule",
	 "A packet that starts a connection on a segment with a firewall policy is judged\n"
	 "by the rules: the matching rule of highest priority wins (between equal\n"
	 "priorities the lower id), else the segment's default policy.  The replies of an\n"
	 "allowed connection pass without rules.  The host pushes each rule to the DPUs\n"
	 "it applies to.\n"
	 "\nOptions:\n"
	 "  -a, --action A      allow, drop, or reject (drop and answer: a TCP reset or an\n"
	 "                      ICMP unreachable)\n"
	 "  -p, --priority N    higher wins (default 0)\n"
	 "  --src CIDR          source prefix (198.18.0.0/16, 2001:db8::/32, or an address)\n"
	 "  --dst CIDR          destination prefix\n"
	 "  --proto P           tcp, udp, icmp, icmpv6 or any (default)\n"
	 "  --sport P|A-B       TCP/UDP source port or range (1000-2000)\n"
	 "  --dport P|A-B       TCP/UDP destination port or range\n"
	 "  --icmp-type T       ICMP type 0-255 (with --proto icmp or icmpv6)\n"
	 "  -d, --direction D   in (to the VM), out (from the VM) or any (default)\n"
	 "  --segment S         only on segment S (dsectl segment list)\n"
	 "  --port VMPORT       only at the VM port VMPORT (dsectl port list)\n"
	 "\nExample: dsectl fw rule add 10 --action allow --proto tcp --dport 22 --segment web\n",
	 cmd_fw_rule_add},
	{"fw rule", "del", "fw rule del ID", "Deletes a firewall rule", "", cmd_fw_rule_del},
	{"fw rule", "list", "fw rule list",
	 "Lists the firewall rules in evaluation order with their hits",
	 "HITS is the sum of the packets each DPU judged by the rule; BY DPU gives each\n"
	 "DPU's count.  DPUs that did not answer are listed below the table.\n",
	 cmd_fw_rule_list},
	{"fw policy", "set", "fw policy set SEGMENT allow|deny|off",
	 "Turns a segment's firewall on with a default, or off",
	 "allow or deny: every IP packet of the segment is tracked and judged by the rules;\n"
	 "what no rule matches is allowed or denied.  off: no firewall, the segment is\n"
	 "switched at layer 2 only.  ARP is never filtered.\n",
	 cmd_fw_policy_set},
	{"fw policy", "list", "fw policy list", "Lists the segments with a firewall policy", "",
	 cmd_fw_policy_list},
	{"fw conn", "list",
	 "fw conn list [--segment S] [--proto P] [--addr CIDR] [--port N] [--state ST] "
	 "[--limit N]",
	 "Lists the tracked connections of every DPU",
	 "Each DPU is asked with the same filters; DPU names where a connection is tracked.\n"
	 "DPUs that did not answer are listed below the table.\n"
	 "\nOptions:\n"
	 "  --segment S         on segment S\n"
	 "  --proto P           tcp, udp, icmp, icmpv6 or a protocol number\n"
	 "  --addr CIDR         either end in the prefix\n"
	 "  --port N            either port N\n"
	 "  --state ST          in state ST (ESTABLISHED, SYN_SENT, TIME_WAIT, UNREPLIED,\n"
	 "                      REPLIED, ...)\n"
	 "  --limit N           at most N connections (default 1000)\n",
	 cmd_fw_conn_list},
	{"fw conn", "flush", "fw conn flush [--segment S] [--proto P] [--addr CIDR] [--port N] "
			     "[--state ST]",
	 "Removes tracked connections on every DPU",
	 "Takes the filters of 'fw conn list'; without any, removes every connection.  A\n"
	 "removed connection's next packet is judged by the rules again.\n",
	 cmd_fw_conn_flush},
	{"fdb", "list", "fdb list [--segment S] [--port P]",
	 "Lists the FDB entries of every DPU of the host, learned and static",
	 "Options:\n"
	 "  --segment S         only segment S's entries\n"
	 "  --port P            only the entries behind port P (a VM port, vmnicN or a\n"
	 "                      peer TEP's tep-ADDRESS)\n",
	 cmd_fdb_list},
	{"tep", "list", "tep list", "Lists the tunnel endpoint of each DPU with its peers",
	 "A peer's MAC shows once the DPU has resolved it (ARP on the underlay).\n",
	 cmd_tep_list},
	{"drop", "list", "drop list", "Lists what the DPUs of the host dropped, by reason",
	 "", cmd_drop_list},
	{"host", "show", "host show", "Shows the state of dse-hostd: version, store, DPUs, objects",
	 "", cmd_status},
	{"ha", "status", "ha status [--switch S]",
	 "Shows each active-standby switch: its active and standby DPU, whether the standby "
	 "can take over, the last failover",
	 "The host decides which DPU of a pair is active and keeps it in its store.  When\n"
	 "the active stops answering its heartbeats, the standby takes over if it is\n"
	 "ready (connected and in sync): the VMs' attachments move to it.\n",
	 cmd_ha_status},
	{"ha", "events", "ha events [--switch S] [--limit N]", "Lists the failovers, oldest first",
	 "Each with its kind (crash, linkDown, userInitiated), the DPUs, when, and how long\n"
	 "after the old active's last answer the host decided.\n",
	 cmd_ha_events},
	{"ha", "failover", "ha failover SWITCH [--to DPU] [--force]",
	 "Makes the standby of an active-standby switch its active DPU (planned)",
	 "Refused when the standby is not ready, unless --force.\n", cmd_ha_failover},
	/* The old names, kept until the next release. */
	{"apply", NULL, "apply -f FILE [--dry-run] [--prune]", "The old name of 'config apply'",
	 "'dsectl apply' is 'dsectl config apply' (dsectl config apply --help).\n", cmd_apply},
	{"status", NULL, "status", "The old name of 'host show'", "", cmd_status},
	{NULL, NULL, NULL, NULL, NULL, NULL},
};

static void main_help(FILE *f)
{
	fprintf(f,
		"Usage: dsectl [-s SOCKET] [-j] NOUN VERB [ARGS]\n"
		"\n"
		"The dse operator's CLI: talks to dse-hostd on its Unix socket (root only).\n"
		"\n"
		"Options:\n"
		"  -s, --socket PATH   dse-hostd's socket (default $DSE_HOSTD_SOCKET, else\n"
		"                      %s)\n"
		"  -j, --json          print JSON for scripts instead of tables\n"
		"  -h, --help          print this help; 'dsectl NOUN [VERB] --help' for one\n"
		"                      command\n"
		"  --version           print the version\n"
		"\n"
		"Commands:\n",
		DEFAULT_SOCKET);
	for (const struct verb *v = verbs; v->noun; v++) {
		char brief[64];
		size_t n = v->verb ? strlen(v->usage) : strlen(v->noun);

		/* The words and arguments of the command; its options are in its own help. */
		snprintf(brief, sizeof(brief), "%s", v->verb ? v->usage : v->noun);
		if (n > 26) {
			size_t cut = strcspn(brief, "-[(|");

			/* A word of choices ("allow|deny|off") goes whole. */
			if (brief[cut] == '|')
				while (cut > 0 && brief[cut - 1] != ' ')
					cut--;
			while (cut > 0 && brief[cut - 1] == ' ')
				cut--;
			snprintf(brief + cut, sizeof(brief) - cut, " ...");
		}
		fprintf(f, "  %-26s %s\n", brief, v->summary);
	}
	fprintf(f, "\n(the full usage of each: dsectl NOUN VERB --help)\n"
		   "\nExit status: 0 done, 1 refused by dse-hostd (the message says why and "
		   "what to do),\n2 bad command line or file (a file that is no host profile: "
		   "bad syntax, an\nunknown or missing key, a value of the wrong type or out of "
		   "range), 3 dse-hostd\nnot reachable.\n");
}

/*
 * Returns true if 'noun' of a command is 'group' or starts with 'group' and
 * a space ("fw rule" is in group "fw").
 */
static bool in_group(const char *noun, const char *group)
{
	size_t n = strlen(group);

	return strncmp(noun, group, n) == 0 && (noun[n] == '\0' || noun[n] == ' ');
}

/* Prints the verbs of 'noun', or of every noun of a group such as "fw". */
static void noun_help(const char *noun, FILE *f)
{
	bool group = true;

	for (const struct verb *v = verbs; v->noun; v++)
		if (strcmp(v->noun, noun) == 0)
			group = false;
	fprintf(f, "Usage: dsectl %s %sVERB [ARGS]\n\nVerbs:\n", noun, group ? "NOUN " : "");
	for (const struct verb *v = verbs; v->noun; v++)
		if (in_group(v->noun, noun))
			fprintf(f, "  %s\n      %s.\n", v->usage, v->summary);
	fprintf(f, "\n'dsectl %s %sVERB --help' shows the options of one verb.\n", noun,
		group ? "NOUN " : "");
}

static bool is_help(const char *a)
{
	return strcmp(a, "-h") == 0 || strcmp(a, "--help") == 0 || strcmp(a, "help") == 0;
}

/* Returns how many words of 'argv' spell 'noun' ("fw rule" takes 2), or 0. */
static int noun_words(const char *noun, int argc, char **argv)
{
	const char *p = noun;
	int n = 0;

	while (*p) {
		size_t len = strcspn(p, " ");

		if (n >= argc || strlen(argv[n]) != len || strncmp(argv[n], p, len) != 0)
			return 0;
		n++;
		p += len;
		if (*p == ' ')
			p++;
	}
	return n;
}

/*
 * Finds the command that 'argv' names: its noun (the longest that matches)
 * and verb.  Sets '*ret_noun' to the noun's entry and '*ret_words' to the
 * words of the noun, or, when no noun matches, '*ret_group' to the number
 * of words that are a group of nouns ("fw": 1), else 0.  Returns the verb,
 * or NULL when the verb is missing or unknown.
 */
static const struct verb *find_command(int argc, char **argv, const struct verb **ret_noun,
				       int *ret_words, int *ret_group)
{
	const struct verb *noun = NULL;
	int words = 0;

	*ret_group = 0;
	for (const struct verb *k = verbs; k->noun; k++) {
		int n = noun_words(k->noun, argc, argv);

		if (n > words) {
			words = n;
			noun = k;
		}
		if (n == 0 && argc > 0 && in_group(k->noun, argv[0]))
			*ret_group = 1;
	}
	*ret_noun = noun;
	*ret_words = words;
	if (noun == NULL)
		return NULL;
	for (const struct verb *k = verbs; k->noun; k++)
		if (strcmp(k->noun, noun->noun) == 0 &&
		    (k->verb == NULL || (words < argc && strcmp(k->verb, argv[words]) == 0)))
			return k;
	return NULL;
}

int main(int argc, char **argv)
{
	struct ctl c = {.socket = getenv("DSE_HOSTD_SOCKET"), .cmd = "dsectl"};
	const struct verb *v = NULL, *noun;
	char cmd[64];
	int i = 1, r, words, group;

	if (c.socket == NULL || c.socket[0] == '\0')
		c.socket = DEFAULT_SOCKET;
	/* Options before the noun. */
	for (; i < argc && argv[i][0] == '-'; i++) {
		if (strcmp(argv[i], "-j") == 0 || strcmp(argv[i], "--json") == 0) {
			c.json = true;
		} else if (strcmp(argv[i], "-s") == 0 || strcmp(argv[i], "--socket") == 0) {
			if (++i == argc)
				return usage_error(&c, NULL, "%s needs the socket's path", argv[i - 1]);
			c.socket = argv[i];
		} else if (strncmp(argv[i], "--socket=", 9) == 0) {
			c.socket = argv[i] + 9;
		} else if (is_help(argv[i])) {
			main_help(stdout);
			return EXIT_OK;
		} else if (strcmp(argv[i], "--version") == 0) {
			printf("dsectl %s\n", DSE_VERSION);
			return EXIT_OK;
		} else {
			return usage_error(&c, NULL, "unknown option '%s'", argv[i]);
		}
	}
	if (i == argc) {
		main_help(stderr);
		return EXIT_USAGE;
	}
	if (strcmp(argv[i], "help") == 0) {
		/* dsectl help [NOUN [VERB]] */
		if (i + 1 == argc) {
			main_help(stdout);
			return EXIT_OK;
		}
		v = find_command(argc - i - 1, argv + i + 1, &noun, &words, &group);
		if (v) {
			verb_help(v, stdout);
			return EXIT_OK;
		}
		if (noun || group) {
			noun_help(noun ? noun->noun : argv[i + 1], stdout);
			return EXIT_OK;
		}
		return usage_error(&c, NULL, "no command '%s'", argv[i + 1]);
	}
	v = find_command(argc - i, argv + i, &noun, &words, &group);
	if (noun == NULL && !group)
		return usage_error(&c, NULL, "unknown command '%s'", argv[i]);
	if (noun == NULL) {
		/* A group of nouns ("fw"): which one? */
		if (i + 1 < argc && is_help(argv[i + 1])) {
			noun_help(argv[i], stdout);
			return EXIT_OK;
		}
		snprintf(cmd, sizeof(cmd), "dsectl %s", argv[i]);
		c.cmd = cmd;
		if (i + 1 == argc) {
			fprintf(stderr, "%s: which command?\n", cmd);
			noun_help(argv[i], stderr);
			return EXIT_USAGE;
		}
		return error_out(&c, EXIT_USAGE, "unknown command '%s %s' (dsectl %s --help lists "
						 "them)",
				 argv[i], argv[i + 1], argv[i]);
	}
	if (v == NULL) {
		if (i + words < argc && is_help(argv[i + words])) {
			noun_help(noun->noun, stdout);
			return EXIT_OK;
		}
		snprintf(cmd, sizeof(cmd), "dsectl %s", noun->noun);
		c.cmd = cmd;
		if (i + words == argc) {
			fprintf(stderr, "%s: which verb?\n", cmd);
			noun_help(noun->noun, stderr);
			return EXIT_USAGE;
		}
		return error_out(&c, EXIT_USAGE, "unknown verb '%s' (dsectl %s --help lists them)",
				 argv[i + words], noun->noun);
	}
	snprintf(cmd, sizeof(cmd), "dsectl %s%s%s", v->noun, v->verb ? " " : "",
		 v->verb ? v->verb : "");
	c.cmd = cmd;
	i += words + (v->verb ? 1 : 0);
	r = v->fn(&c, v, argc - i, argv + i);
	dse_rpc_client_free(c.client);
	return r;
}
