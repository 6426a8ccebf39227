/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * The lab's topology: how many hosts, their DPUs (with the identity each
 * reports) and VMs.  Read from a JSON file or from flags, validated strictly
 * (unknown members, wrong types and out-of-range numbers are errors that
 * name the member), and written back as DIR/topology.json.
 */
#include <ctype.h>
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "lab.h"

static int fail(char *err, size_t len, const char *fmt, ...) __attribute__((format(printf, 3, 4)));

static int fail(char *err, size_t len, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(err, len, fmt, ap);
	va_end(ap);
	return -EINVAL;
}

void lab_topo_default_dpu(unsigned h, unsigned n, struct lab_dpu *d)
{
	memset(d, 0, sizeof(*d));
	snprintf(d->vendor, sizeof(d->vendor), "NVIDIA");
	snprintf(d->model, sizeof(d->model), "BlueField-2");
	snprintf(d->hw_version, sizeof(d->hw_version), "B0");
	snprintf(d->fw_version, sizeof(d->fw_version), "24.35.1012");
	snprintf(d->serial, sizeof(d->serial), "MT2231X%03u%02u", h, n);
	/* Two PCIe root ports as on a two-socket server; distinct lab-wide too. */
	snprintf(d->pci, sizeof(d->pci), "0000:%02x:00.0", (n == 1 ? 0x3a : 0xae) + h);
}

/* True if 's' is DDDD:BB:DD.F in hex, the PCI address format. */
static bool pci_valid(const char *s)
{
	static const char pat[] = "xxxx:xx:xx.x";

	if (strlen(s) != sizeof(pat) - 1)
		return false;
	for (size_t i = 0; pat[i]; i++) {
		if (pat[i] == 'x' ? !isxdigit((unsigned char)s[i]) : s[i] != pat[i])
			return false;
	}
	return true;
}

static int get_string(const json_t *obj, const char *key, const char *where, char *dst,
		      size_t dstlen, char *err, size_t errlen)
{
	const json_t *v = json_object_get(obj, key);
	const char *s;
	size_t n;

	if (v == NULL)
		return 0; /* keep the default */
	if (!json_is_string(v))
		return fail(err, errlen, "%s.%s: must be a string", where, key);
	s = json_string_value(v);
	n = strlen(s);
	if (n == 0 || n > LAB_ID_MAX || n != json_string_length(v))
		return fail(err, errlen, "%s.%s: must be 1 to %d characters", where, key,
			    LAB_ID_MAX);
	for (size_t i = 0; i < n; i++) {
		if (!isprint((unsigned char)s[i]))
			return fail(err, errlen, "%s.%s: must be printable ASCII", where, key);
	}
	memcpy(dst, s, n + 1);
	(void)dstlen;
	return 0;
}

static int only_keys(const json_t *obj, const char *where, const char *const *keys, char *err,
		     size_t errlen)
{
	const char *key;
	json_t *v;

	json_object_foreach((json_t *)obj, key, v) {
		const char *const *k;

		for (k = keys; *k; k++)
			if (strcmp(*k, key) == 0)
				break;
		if (*k == NULL)
			return fail(err, errlen, "%s: unknown member \"%s\"", where, key);
	}
	return 0;
}

static int dpu_from_json(const json_t *j, unsigned h, unsigned n, struct lab_dpu *d, char *err,
			 size_t errlen)
{
	static const char *const keys[] = {"vendor", "model", "hw_version", "fw_version",
					   "serial", "pci",   NULL};
	char where[64];
	int r;

	snprintf(where, sizeof(where), "hosts[%u].dpus[%u]", h - 1, n - 1);
	if (!json_is_object(j))
		return fail(err, errlen, "%s: must be an object with the DPU's identity", where);
	r = only_keys(j, where, keys, err, errlen);
	if (r < 0)
		return r;
	lab_topo_default_dpu(h, n, d);
	if ((r = get_string(j, "vendor", where, d->vendor, sizeof(d->vendor), err, errlen)) < 0 ||
	    (r = get_string(j, "model", where, d->model, sizeof(d->model), err, errlen)) < 0 ||
	    (r = get_string(j, "hw_version", where, d->hw_version, sizeof(d->hw_version), err,
			    errlen)) < 0 ||
	    (r = get_string(j, "fw_version", where, d->fw_version, sizeof(d->fw_version), err,
			    errlen)) < 0 ||
	    (r = get_string(j, "serial", where, d->serial, sizeof(d->serial), err, errlen)) < 0 ||
	    (r = get_string(j, "pci", where, d->pci, sizeof(d->pci), err, errlen)) < 0)
		return r;
	if (!pci_valid(d->pci))
		return fail(err, errlen,
			    "%s.pci: must be a PCI address like 0000:3b:00.0, not \"%s\"", where,
			    d->pci);
	return 0;
}

/* Serials are unique in the lab, PCI addresses within a host. */
static int check_unique(const struct lab_topo *t, char *err, size_t errlen)
{
	for (unsigned h = 0; h < t->n_hosts; h++) {
		const struct lab_host *hh = &t->hosts[h];

		if (hh->n_dpus == 2 && strcmp(hh->dpus[0].pci, hh->dpus[1].pci) == 0)
			return fail(err, errlen, "hosts[%u]: both DPUs have the PCI address %s", h,
				    hh->dpus[0].pci);
		for (unsigned n = 0; n < hh->n_dpus; n++) {
			for (unsigned h2 = h; h2 < t->n_hosts; h2++) {
				for (unsigned n2 = (h2 == h ? n + 1 : 0); n2 < t->hosts[h2].n_dpus;
				     n2++) {
					if (strcmp(hh->dpus[n].serial,
						   t->hosts[h2].dpus[n2].serial) == 0)
						return fail(
						    err, errlen,
						    "hosts[%u].dpus[%u] and hosts[%u].dpus[%u] "
						    "have the same serial %s",
						    h, n, h2, n2, hh->dpus[n].serial);
				}
			}
		}
	}
	return 0;
}

int lab_topo_from_json(const json_t *j, struct lab_topo *ret, char *err, size_t errlen)
{
	static const char *const top_keys[] = {"hosts", NULL};
	static const char *const host_keys[] = {"dpus", "vms", NULL};
	struct lab_topo t;
	const json_t *hosts;
	int r;

	memset(&t, 0, sizeof(t));
	if (!json_is_object(j))
		return fail(err, errlen, "must be a JSON object {\"hosts\": [...]}");
	r = only_keys(j, "topology", top_keys, err, errlen);
	if (r < 0)
		return r;
	hosts = json_object_get(j, "hosts");
	if (hosts == NULL)
		return fail(err, errlen, "hosts: missing (a list of 1 to %d hosts)", LAB_MAX_HOSTS);
	if (!json_is_array(hosts))
		return fail(err, errlen, "hosts: must be a list of 1 to %d hosts", LAB_MAX_HOSTS);
	if (json_array_size(hosts) < 1 || json_array_size(hosts) > LAB_MAX_HOSTS)
		return fail(err, errlen, "hosts: must have 1 to %d hosts, not %zu", LAB_MAX_HOSTS,
			    json_array_size(hosts));
	t.n_hosts = json_array_size(hosts);
	for (unsigned h = 1; h <= t.n_hosts; h++) {
		const json_t *hj = json_array_get(hosts, h - 1), *dpus, *vms;
		struct lab_host *host = &t.hosts[h - 1];
		char where[32];

		snprintf(where, sizeof(where), "hosts[%u]", h - 1);
		if (!json_is_object(hj))
			return fail(err, errlen,
				    "%s: must be an object {\"dpus\": [...], \"vms\": N}", where);
		r = only_keys(hj, where, host_keys, err, errlen);
		if (r < 0)
			return r;
		dpus = json_object_get(hj, "dpus");
		if (dpus == NULL)
			return fail(err, errlen, "%s.dpus: missing (a list of 1 or 2 DPUs)", where);
		if (!json_is_array(dpus))
			return fail(err, errlen, "%s.dpus: must be a list of 1 or 2 DPUs", where);
		if (json_array_size(dpus) < 1 || json_array_size(dpus) > LAB_MAX_DPUS)
			return fail(err, errlen, "%s.dpus: must have 1 or 2 DPUs, not %zu", where,
				    json_array_size(dpus));
		host->n_dpus = json_array_size(dpus);
		for (unsigned n = 1; n <= host->n_dpus; n++) {
			r = dpu_from_json(json_array_get(dpus, n - 1), h, n, &host->dpus[n - 1],
					  err, errlen);
			if (r < 0)
				return r;
		}
		vms = json_object_get(hj, "vms");
		host->n_vms = 1;
		if (vms != NULL) {
			if (!json_is_integer(vms))
				return fail(err, errlen, "%s.vms: must be an integer from 0 to %d",
					    where, LAB_MAX_VMS);
			if (json_integer_value(vms) < 0 || json_integer_value(vms) > LAB_MAX_VMS)
				return fail(
				    err, errlen,
				    "%s.vms: must be from 0 to %d, not %" JSON_INTEGER_FORMAT,
				    where, LAB_MAX_VMS, json_integer_value(vms));
			host->n_vms = json_integer_value(vms);
		}
	}
	r = check_unique(&t, err, errlen);
	if (r < 0)
		return r;
	*ret = t;
	return 0;
}

int lab_topo_load(const char *path, struct lab_topo *ret, char *err, size_t errlen)
{
	json_error_t jerr;
	char msg[512];
	json_t *j;
	int r;

	j = json_load_file(path, JSON_REJECT_DUPLICATES, &jerr);
	if (j == NULL) {
		if (jerr.line <= 0)
			return fail(err, errlen, "%s: %s", path, jerr.text);
		return fail(err, errlen, "%s:%d:%d: not valid JSON: %s", path, jerr.line,
			    jerr.column, jerr.text);
	}
	r = lab_topo_from_json(j, ret, msg, sizeof(msg));
	json_decref(j);
	if (r < 0)
		return fail(err, errlen, "%s: %s", path, msg);
	return 0;
}

/*
 * Parses 's' as a comma list of numbers from 'min' to 'max' into 'out'
 * (capacity LAB_MAX_HOSTS).  Returns how many, or -EINVAL.
 */
static int parse_list(const char *flag, const char *s, unsigned min, unsigned max, unsigned *out,
		      char *err, size_t errlen)
{
	const char *p = s;
	int n = 0;

	for (;;) {
		char *end;
		unsigned long v;

		if (!isdigit((unsigned char)*p))
			return fail(err, errlen,
				    "%s: expected a number from %u to %u or a comma list of them, "
				    "not \"%s\"",
				    flag, min, max, s);
		errno = 0;
		v = strtoul(p, &end, 10);
		if (errno || v < min || v > max)
			return fail(err, errlen, "%s: %.*s is out of range (%u to %u)", flag,
				    (int)(end - p), p, min, max);
		if (n == LAB_MAX_HOSTS)
			return fail(err, errlen, "%s: more than %d numbers (one per host)", flag,
				    LAB_MAX_HOSTS);
		out[n++] = v;
		if (*end == '\0')
			return n;
		if (*end != ',')
			return fail(err, errlen, "%s: unexpected \"%s\" in \"%s\"", flag, end, s);
		p = end + 1;
	}
}

int lab_topo_from_flags(const char *hosts, const char *dpus, const char *vms, struct lab_topo *ret,
			char *err, size_t errlen)
{
	unsigned hv[1], dv[LAB_MAX_HOSTS] = {1}, vv[LAB_MAX_HOSTS] = {1};
	int nd = 1, nv = 1, nh = 0, r;
	struct lab_topo t;

	memset(&t, 0, sizeof(t));
	if (hosts != NULL) {
		if (strchr(hosts, ',') != NULL)
			return fail(err, errlen, "--hosts: one number from 1 to %d, not \"%s\"",
				    LAB_MAX_HOSTS, hosts);
		r = parse_list("--hosts", hosts, 1, LAB_MAX_HOSTS, hv, err, errlen);
		if (r < 0)
			return r;
		nh = hv[0];
	}
	if (dpus != NULL && (nd = parse_list("--dpus", dpus, 1, LAB_MAX_DPUS, dv, err, errlen)) < 0)
		return nd;
	if (vms != NULL && (nv = parse_list("--vms", vms, 0, LAB_MAX_VMS, vv, err, errlen)) < 0)
		return nv;
	if (nh == 0)
		nh = nd > nv ? nd : nv; /* --dpus 2,1 alone means two hosts */
	if (nd != 1 && nd != nh)
		return fail(err, errlen,
			    "--dpus: %d numbers for %d hosts (give one, or one per host)", nd, nh);
	if (nv != 1 && nv != nh)
		return fail(err, errlen,
			    "--vms: %d numbers for %d hosts (give one, or one per host)", nv, nh);
	t.n_hosts = nh;
	for (int h = 1; h <= nh; h++) {
		struct lab_host *host = &t.hosts[h - 1];

		host->n_dpus = nd == 1 ? dv[0] : dv[h - 1];
		host->n_vms = nv == 1 ? vv[0] : vv[h - 1];
		for (unsigned n = 1; n <= host->n_dpus; n++)
			lab_topo_default_dpu(h, n, &host->dpus[n - 1]);
	}
	*ret = t;
	return 0;
}

json_t *lab_dpu_to_json(const struct lab_dpu *d)
{
	return json_pack("{s:s, s:s, s:s, s:s, s:s, s:s}", "vendor", d->vendor, "model", d->model,
			 "hw_version", d->hw_version, "fw_version", d->fw_version, "serial",
			 d->serial, "pci", d->pci);
}

json_t *lab_topo_to_json(const struct lab_topo *t)
{
	json_t *hosts = json_array();

	for (unsigned h = 0; h < t->n_hosts; h++) {
		json_t *dpus = json_array();

		for (unsigned n = 0; n < t->hosts[h].n_dpus; n++)
			json_array_append_new(dpus, lab_dpu_to_json(&t->hosts[h].dpus[n]));
		json_array_append_new(
		    hosts, json_pack("{s:o, s:i}", "dpus", dpus, "vms", (int)t->hosts[h].n_vms));
	}
	return json_pack("{s:o}", "hosts", hosts);
}

bool lab_topo_equal(const struct lab_topo *a, const struct lab_topo *b)
{
	json_t *ja = lab_topo_to_json(a), *jb = lab_topo_to_json(b);
	bool eq = json_equal(ja, jb);

	json_decref(ja);
	json_decref(jb);
	return eq;
}

void lab_topo_summary(const struct lab_topo *t, char *buf, size_t len)
{
	unsigned dpus = 0, vms = 0;

	for (unsigned h = 0; h < t->n_hosts; h++) {
		dpus += t->hosts[h].n_dpus;
		vms += t->hosts[h].n_vms;
	}
	snprintf(buf, len, "%u host%s, %u DPU%s, %u VM%s", t->n_hosts, t->n_hosts == 1 ? "" : "s",
		 dpus, dpus == 1 ? "" : "s", vms, vms == 1 ? "" : "s");
}
