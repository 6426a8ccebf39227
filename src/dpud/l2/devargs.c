/* SPDX-License-Identifier: BSD-3-Clause */
/* See devargs.h for the policy. */
#include "devargs.h"

#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

/* How an item's value is checked. */
enum key_kind {
	K_IFACE, /* an interface name of the allow-list */
	K_UINT,	 /* a decimal number from min to max */
	K_BOOL,	 /* 0 or 1 */
	K_PATH,	 /* a file path (test devices only, so local callers only) */
};

/* One key a driver may be given. */
struct key_spec {
	const char *name;
	enum key_kind kind;
	unsigned min, max; /* K_UINT */
	unsigned repeat;   /* times it may be given; 0 means once */
};

/* A driver port.add may create, and what it may be told. */
struct driver_spec {
	const char *name;
	bool test_only;		     /* needs --test-devices and a local caller */
	const struct key_spec *keys; /* ends with a NULL name */
	const char *key_list;	     /* the keys, for messages */
};

/*
 * net_af_packet: one queue pair per worker, since each worker reads its own
 * queue of a port (a socket of the fanout group no worker read would get
 * its share of the traffic and lose it): dse-dpud adds qpairs itself, and
 * one given must be the number of workers; frames fit one packet buffer
 * (2048 bytes of data room) and are TPACKET-aligned; blocks are whole pages.
 */
static const struct key_spec afp_keys[] = {
    {"iface", K_IFACE, 0, 0},
    {"qpairs", K_UINT, 1, DSE_DEVARGS_MAX_QUEUES},
    {"blocksz", K_UINT, 4096, 1u << 20},
    {"framesz", K_UINT, 256, 2048},
    {"framecnt", K_UINT, 64, 16384},
    {"qdisc_bypass", K_BOOL, 0, 1},
    {"fanout_cpu", K_BOOL, 0, 1},
    {NULL, 0, 0, 0},
};

/*
 * net_pcap: files only (no rx_iface / tx_iface: interfaces go through
 * net_af_packet).  Each rx_pcap (tx_pcap) is one receive (transmit) queue.
 */
static const struct key_spec pcap_keys[] = {
    {"rx_pcap", K_PATH, 0, 0, DSE_DEVARGS_MAX_QUEUES},
    {"tx_pcap", K_PATH, 0, 0, DSE_DEVARGS_MAX_QUEUES},
    {"infinite_rx", K_BOOL, 0, 1},
    {NULL, 0, 0, 0},
};

static const struct key_spec null_keys[] = {
    {"size", K_UINT, 64, 9216},
    {"copy", K_BOOL, 0, 1},
    {"no-rx", K_BOOL, 0, 1},
    {NULL, 0, 0, 0},
};

/* net_ring takes no keys: its nodeaction would create or attach rings by name. */
static const struct key_spec ring_keys[] = {
    {NULL, 0, 0, 0},
};

/*
 * Indexed by enum dse_devargs_driver.  DPDK's vdev bus gives a device to the
 * first driver whose name (or alias) starts its name; no driver DPDK 22.11
 * registers has a name that is a prefix of these, and aliases (eth_pcap...)
 * are refused here, so the driver checked is the driver that probes.
 */
static const struct driver_spec drivers[DSE_DRV__MAX] = {
    [DSE_DRV_AF_PACKET] = {"net_af_packet", false, afp_keys,
			   "iface, qpairs, blocksz, framesz, framecnt, qdisc_bypass, fanout_cpu"},
    [DSE_DRV_PCAP] = {"net_pcap", true, pcap_keys, "rx_pcap, tx_pcap, infinite_rx"},
    [DSE_DRV_NULL] = {"net_null", true, null_keys, "size, copy, no-rx"},
    [DSE_DRV_RING] = {"net_ring", true, ring_keys, "none"},
};

/*
 * Removes the items 'key'=... from the devargs 's' (a key of dse-dpud's own
 * that DPDK does not know).  Returns the new length.
 */
static size_t strip_key(char *s, const char *key)
{
	size_t klen = strlen(key), w = 0;
	const char *r = s;
	bool first = true;

	while (*r) {
		size_t n = strcspn(r, ",");

		if (first || !(n > klen && strncmp(r, key, klen) == 0 && r[klen] == '=')) {
			if (!first)
				s[w++] = ',';
			memmove(s + w, r, n);
			w += n;
		}
		first = false;
		r += n;
		if (*r == ',')
			r++;
	}
	s[w] = '\0';
	return w;
}

/* Longest device name DPDK keeps (RTE_DEV_NAME_MAX_LEN less the NUL). */
#define DEVNAME_MAX 63
/* Longest file path given to net_pcap. */
#define PATH_MAX_LEN 200
/* Largest allow-list file read. */
#define ALLOW_FILE_MAX (1u << 20)

static char (*allow)[IF_NAMESIZE]; /* the allow-list in force (malloc'ed), n_allow names */
static unsigned n_allow;
static bool test_devices;
static unsigned n_queues = 1; /* queue pairs a net_af_packet port gets: one per worker */

void dse_devargs_set_queues(unsigned n)
{
	n_queues = n;
}

const char *dse_devargs_driver_name(enum dse_devargs_driver driver)
{
	return driver < DSE_DRV__MAX ? drivers[driver].name : "?";
}

void dse_devargs_set_test_devices(bool on)
{
	test_devices = on;
}

/* Interface names: 1 to IF_NAMESIZE - 1 of [A-Za-z0-9_.-], not "." or "..". */
static bool iface_name_ok(const char *s, size_t len)
{
	if (len == 0 || len >= IF_NAMESIZE)
		return false;
	if ((len == 1 && s[0] == '.') || (len == 2 && s[0] == '.' && s[1] == '.'))
		return false;
	for (size_t i = 0; i < len; i++)
		if (!isalnum((unsigned char)s[i]) && !strchr("_.-", s[i]))
			return false;
	return true;
}

static bool in_list(char (*list)[IF_NAMESIZE], unsigned n, const char *name)
{
	for (unsigned i = 0; i < n; i++)
		if (strcmp(list[i], name) == 0)
			return true;
	return false;
}

bool dse_devargs_allowed(const char *name)
{
	return in_list(allow, n_allow, name);
}

void dse_devargs_allow_clear(void)
{
	free(allow);
	allow = NULL;
	n_allow = 0;
}

int dse_devargs_allow_load(const char *path, char *err, size_t err_len)
{
	char(*list)[IF_NAMESIZE] = NULL;
	char line[256];
	unsigned n = 0, lineno = 0;
	struct stat st;
	FILE *f = fopen(path, "re");
	int r = 0;

	if (f == NULL) {
		r = -errno;
		snprintf(err, err_len, "%s: %s", path, strerror(errno));
		return r;
	}
	if (fstat(fileno(f), &st) < 0 || !S_ISREG(st.st_mode) || st.st_size > ALLOW_FILE_MAX) {
		snprintf(err, err_len, "%s: must be a regular file of at most %u bytes", path,
			 ALLOW_FILE_MAX);
		r = -EINVAL;
		goto out;
	}
	list = calloc(DSE_DEVARGS_ALLOW_MAX, sizeof(*list));
	if (list == NULL) {
		snprintf(err, err_len, "%s: out of memory", path);
		r = -ENOMEM;
		goto out;
	}
	while (fgets(line, sizeof(line), f) != NULL) {
		size_t len = strlen(line);
		char *s = line;

		lineno++;
		if (len == sizeof(line) - 1 && line[len - 1] != '\n' && !feof(f)) {
			snprintf(err, err_len, "%s:%u: line too long", path, lineno);
			r = -EINVAL;
			goto out;
		}
		while (len > 0 && isspace((unsigned char)s[len - 1]))
			s[--len] = '\0';
		while (isspace((unsigned char)*s)) {
			s++;
			len--;
		}
		if (len == 0 || s[0] == '#')
			continue;
		if (memchr(s, '\0', len) != NULL || !iface_name_ok(s, len)) {
			snprintf(err, err_len,
				 "%s:%u: '%.64s' is not an interface name (1 to %d letters, "
				 "digits, '_', '.' or '-')",
				 path, lineno, s, IF_NAMESIZE - 1);
			r = -EINVAL;
			goto out;
		}
		if (in_list(list, n, s)) {
			snprintf(err, err_len, "%s:%u: interface '%s' is listed twice", path,
				 lineno, s);
			r = -EINVAL;
			goto out;
		}
		if (n == DSE_DEVARGS_ALLOW_MAX) {
			snprintf(err, err_len, "%s:%u: more than %d interfaces", path, lineno,
				 DSE_DEVARGS_ALLOW_MAX);
			r = -E2BIG;
			goto out;
		}
		memcpy(list[n++], s, len + 1);
	}
	if (ferror(f)) {
		snprintf(err, err_len, "%s: read error", path);
		r = -EIO;
		goto out;
	}
	dse_devargs_allow_clear();
	allow = list;
	n_allow = n;
	list = NULL;
out:
	free(list);
	fclose(f);
	return r;
}

/* Writes the allow-list, shortened, into 'buf' for messages. */
static void allow_summary(char *buf, size_t len)
{
	size_t off = 0;

	buf[0] = '\0';
	for (unsigned i = 0; i < n_allow && off < len; i++) {
		int w = snprintf(buf + off, len - off, "%s%s", i ? ", " : "", allow[i]);

		if (w < 0 || (size_t)w >= len - off || off + (size_t)w > 120) {
			snprintf(buf + off, len - off, ", ...");
			return;
		}
		off += (size_t)w;
	}
}

/* Parses a decimal number of at most 9 digits (no sign, no spaces). */
static bool parse_uint(const char *s, size_t len, unsigned *ret)
{
	unsigned v = 0;

	if (len == 0 || len > 9)
		return false;
	for (size_t i = 0; i < len; i++) {
		if (s[i] < '0' || s[i] > '9')
			return false;
		v = v * 10 + (unsigned)(s[i] - '0');
	}
	*ret = v;
	return true;
}

static const struct key_spec *find_key(const struct driver_spec *d, const char *key, size_t len)
{
	for (const struct key_spec *k = d->keys; k->name; k++)
		if (strlen(k->name) == len && memcmp(k->name, key, len) == 0)
			return k;
	return NULL;
}

/* Checks the ring of a net_af_packet port and sizes it when it was not given. */
static int check_ring(struct dse_devargs *ret, bool framecnt_given, char *err, size_t err_len)
{
	unsigned page = (unsigned)getpagesize(), per_block;
	unsigned long long bytes;

	if (ret->blocksz % page != 0 || (ret->blocksz & (ret->blocksz - 1)) != 0) {
		snprintf(err, err_len,
			 "blocksz %u must be a power of two and a multiple of the page size (%u)",
			 ret->blocksz, page);
		return -EINVAL;
	}
	if (ret->framesz % 16 != 0 || ret->framesz > ret->blocksz) {
		snprintf(err, err_len,
			 "framesz %u must be a multiple of 16 and at most blocksz (%u)",
			 ret->framesz, ret->blocksz);
		return -EINVAL;
	}
	per_block = ret->blocksz / ret->framesz;
	if (!framecnt_given) {
		ret->framecnt = DSE_AFP_DEFAULT_FRAMES / per_block * per_block;
		if ((unsigned long long)ret->framecnt / per_block * ret->blocksz > DSE_AFP_RING_MAX)
			ret->framecnt = DSE_AFP_RING_MAX / ret->blocksz * per_block;
		if (ret->framecnt == 0)
			ret->framecnt = per_block;
	}
	if (ret->framecnt % per_block != 0) {
		snprintf(
		    err, err_len,
		    "framecnt %u must be a multiple of the frames of a block (blocksz / framesz "
		    "= %u)",
		    ret->framecnt, per_block);
		return -EINVAL;
	}
	bytes = (unsigned long long)ret->framecnt / per_block * ret->blocksz;
	if (bytes > DSE_AFP_RING_MAX) {
		snprintf(err, err_len, "a ring of framecnt %u takes %llu bytes: at most %u",
			 ret->framecnt, bytes, DSE_AFP_RING_MAX);
		return -EINVAL;
	}
	return 0;
}

int dse_devargs_check(const char *devargs, bool remote, struct dse_devargs *ret, char *err,
		      size_t err_len)
{
	size_t len = strlen(devargs), name_len = strcspn(devargs, ","), dlen;
	const struct driver_spec *d = NULL;
	/* seen: times each key was given (more entries than any driver's keys). */
	unsigned seen[8] = {0};
	bool framecnt_given = false, qpairs_given = false;
	struct dse_devargs out = {0};
	const char *p;

	if (len == 0 || len > DSE_DEVARGS_MAX) {
		snprintf(err, err_len, "devargs must be 1 to %d characters", DSE_DEVARGS_MAX);
		return -EINVAL;
	}
	for (size_t i = 0; i < len; i++) {
		unsigned char c = (unsigned char)devargs[i];

		if (c <= ' ' || c >= 0x7f || c == '[' || c == ']') {
			snprintf(err, err_len,
				 "devargs may hold only printable ASCII without spaces, '[' or ']' "
				 "(character %zu is not)",
				 i + 1);
			return -EINVAL;
		}
	}
	for (int i = 0; i < DSE_DRV__MAX && d == NULL; i++) {
		dlen = strlen(drivers[i].name);
		if (name_len >= dlen && strncmp(devargs, drivers[i].name, dlen) == 0) {
			d = &drivers[i];
			out.driver = (enum dse_devargs_driver)i;
		}
	}
	if (d == NULL) {
		snprintf(err, err_len,
			 "devargs '%.*s' must name a net_af_packet device (or, on a dse-dpud "
			 "started with --test-devices, net_pcap, net_null or net_ring)",
			 (int)(name_len > 64 ? 64 : name_len), devargs);
		return -EINVAL;
	}
	dlen = strlen(d->name);
	if (name_len > DEVNAME_MAX) {
		snprintf(err, err_len, "device name '%.*s...' is longer than %d characters", 32,
			 devargs, DEVNAME_MAX);
		return -EINVAL;
	}
	for (size_t i = dlen; i < name_len; i++) {
		if (!isalnum((unsigned char)devargs[i]) && devargs[i] != '_') {
			snprintf(err, err_len,
				 "device name '%.*s' may add only letters, digits and '_' to '%s'",
				 (int)name_len, devargs, d->name);
			return -EINVAL;
		}
	}
	if (d->test_only && remote) {
		snprintf(err, err_len,
			 "%s is a test device: it is opened only from the Unix socket or --config, "
			 "never over the network",
			 d->name);
		return -EINVAL;
	}
	if (d->test_only && !test_devices) {
		snprintf(err, err_len,
			 "%s is a test device: this dse-dpud opens it only when started with "
			 "--test-devices",
			 d->name);
		return -EINVAL;
	}

	out.framesz = 2048; /* DPDK's defaults */
	out.blocksz = (unsigned)getpagesize();
	for (p = devargs + name_len; *p == ',';) {
		const char *item = p + 1, *eq;
		size_t ilen = strcspn(item, ","), klen, vlen;
		const struct key_spec *k;
		const char *v;
		unsigned num = 0;

		eq = memchr(item, '=', ilen);
		if (ilen == 0 || eq == NULL || eq == item || eq + 1 == item + ilen) {
			snprintf(err, err_len, "devargs item '%.*s' is not KEY=VALUE", (int)ilen,
				 item);
			return -EINVAL;
		}
		klen = (size_t)(eq - item);
		v = eq + 1;
		vlen = ilen - klen - 1;
		k = find_key(d, item, klen);
		if (k == NULL) {
			snprintf(err, err_len, "%s takes no key '%.*s' here (it takes %s)", d->name,
				 (int)(klen > 32 ? 32 : klen), item, d->key_list);
			return -EINVAL;
		}
		if (seen[k - d->keys] >= (k->repeat ? k->repeat : 1)) {
			if (k->repeat)
				snprintf(err, err_len, "key '%s' is given more than %u times",
					 k->name, k->repeat);
			else
				snprintf(err, err_len, "key '%s' is given twice", k->name);
			return -EINVAL;
		}
		seen[k - d->keys]++;
		switch (k->kind) {
		case K_IFACE:
			if (!iface_name_ok(v, vlen)) {
				snprintf(err, err_len,
					 "iface '%.*s' is not an interface name (1 to %d letters, "
					 "digits, '_', '.' or '-')",
					 (int)(vlen > 32 ? 32 : vlen), v, IF_NAMESIZE - 1);
				return -EINVAL;
			}
			memcpy(out.iface, v, vlen);
			out.iface[vlen] = '\0';
			if (!dse_devargs_allowed(out.iface)) {
				char list[160];

				allow_summary(list, sizeof(list));
				if (n_allow == 0)
					snprintf(
					    err, err_len,
					    "interface '%s' is not on this DPU's allow-list: "
					    "dse-dpud was started without --ports-allow, so it "
					    "opens no interface",
					    out.iface);
				else
					snprintf(err, err_len,
						 "interface '%s' is not on this DPU's allow-list "
						 "(--ports-allow: %s)",
						 out.iface, list);
				return -EINVAL;
			}
			break;
		case K_UINT:
		case K_BOOL:
			if (!parse_uint(v, vlen, &num) || num < k->min || num > k->max) {
				snprintf(err, err_len,
					 "%s must be a number from %u to %u, not '%.*s'", k->name,
					 k->min, k->max, (int)(vlen > 32 ? 32 : vlen), v);
				return -EINVAL;
			}
			break;
		case K_PATH:
			if (vlen > PATH_MAX_LEN) {
				snprintf(err, err_len, "%s must be a path of at most %d characters",
					 k->name, PATH_MAX_LEN);
				return -EINVAL;
			}
			break;
		}
		if (out.driver == DSE_DRV_AF_PACKET) {
			if (strcmp(k->name, "framesz") == 0)
				out.framesz = num;
			else if (strcmp(k->name, "blocksz") == 0)
				out.blocksz = num;
			else if (strcmp(k->name, "framecnt") == 0) {
				out.framecnt = num;
				framecnt_given = true;
			} else if (strcmp(k->name, "fanout_cpu") == 0) {
				out.fanout_cpu = num != 0;
			} else if (strcmp(k->name, "qpairs") == 0) {
				if (num != n_queues) {
					snprintf(err, err_len,
						 "qpairs must be %u, the number of workers (or "
						 "left out: dse-dpud adds it)",
						 n_queues);
					return -EINVAL;
				}
				qpairs_given = true;
			}
		}
		p = item + ilen;
	}
	memcpy(out.effective, devargs, len + 1);
	if (out.driver == DSE_DRV_AF_PACKET)
		len = strip_key(out.effective, "fanout_cpu");
	if (out.driver == DSE_DRV_AF_PACKET) {
		if (out.iface[0] == '\0') {
			snprintf(err, err_len,
				 "%s needs iface=NAME (an interface of the allow-list)", d->name);
			return -EINVAL;
		}
		if (check_ring(&out, framecnt_given, err, err_len) < 0)
			return -EINVAL;
		if (!framecnt_given)
			len += (size_t)snprintf(out.effective + len, sizeof(out.effective) - len,
						",framecnt=%u", out.framecnt);
		if (!qpairs_given && n_queues > 1)
			snprintf(out.effective + len, sizeof(out.effective) - len, ",qpairs=%u",
				 n_queues);
	} else {
		out.framesz = out.blocksz = 0;
	}
	*ret = out;
	return 0;
}
