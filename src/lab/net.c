/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * The lab's network (docs/host-side.md, "Names and addresses in the lab"):
 * namespaces, veth pairs created directly inside them (nothing ever appears
 * in the root namespace), addresses from 169.254.0.0/16 and 198.18.0.0/15
 * only, the fabric's 'tor' bridge, and the tc mux that attaches each VM to
 * one of its host's DPUs.
 *
 * Building is idempotent: the state of every namespace is read once
 * (`ip -j addr show`) and only what is missing or wrong is made or fixed,
 * so a second `up` changes nothing, and an `up` after a half-failed one
 * finishes the job.  A VM's existing attachment is kept: moving it is the
 * host's decision (failover), not the lab's.
 */
#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "lab.h"

/* One end of a veth pair and what it must look like. */
struct lab_end {
	char ns[32];
	char ifname[16];
	char addr[24];	    /* "A.B.C.D/len" or empty */
	char mac[18];	    /* or empty: keep the kernel's */
	const char *master; /* bridge to enslave to, or NULL */
	bool tx_off;	    /* a VM's eth0: TX checksum offload off (docs/design.md, the lab) */
};

/* A veth pair of the lab. */
struct lab_link {
	struct lab_end a, b;
};

/* Most links of a full lab: per host 4 uplinks, 2 int, 1 sync, 16 VMs, 32 reps. */
#define MAX_LINKS (LAB_MAX_HOSTS * (4 + 2 + 1 + LAB_MAX_VMS * (1 + LAB_MAX_DPUS)))
/* Most namespaces: the fabric and per host itself, its DPUs and VMs. */
#define MAX_NS (1 + LAB_MAX_HOSTS * (1 + LAB_MAX_DPUS + LAB_MAX_VMS))

/* What `ip -j addr show` said of one namespace (cached while building). */
struct ns_state {
	char name[32];
	json_t *links; /* array of link objects */
};

static struct ns_state ns_cache[MAX_NS];
static unsigned n_ns_cache;

/* The classifier that sends everything: "matchall", or the fallback below. */
static int use_bpf_classifier = -1;

/* Copies 's' into 'dst' of 'len' bytes; the lab's names always fit. */
static void copy(char *dst, size_t len, const char *s)
{
	size_t n = strnlen(s, len - 1);

	memcpy(dst, s, n);
	dst[n] = '\0';
}

void lab_ns_name(const char *machine, char *buf, size_t len)
{
	snprintf(buf, len, LAB_NS_PREFIX "%s", machine);
}

bool lab_ns_is_ours(const char *ns)
{
	const char *p;

	if (strcmp(ns, LAB_NS_PREFIX "fabric") == 0)
		return true;
	if (strncmp(ns, LAB_NS_PREFIX "h", strlen(LAB_NS_PREFIX "h")) != 0)
		return false;
	p = ns + strlen(LAB_NS_PREFIX "h");
	if (*p < '0' || *p > '9')
		return false;
	while (*p >= '0' && *p <= '9')
		p++;
	return *p == '\0' || *p == '-';
}

bool lab_ns_exists(const char *ns)
{
	char path[300];
	struct stat st;

	if ((size_t)snprintf(path, sizeof(path), "/run/netns/%s", ns) >= sizeof(path))
		return false;
	return stat(path, &st) == 0;
}

size_t lab_ns_list(char **names, size_t max)
{
	struct dirent *de;
	size_t n = 0;
	DIR *d;

	d = opendir("/run/netns");
	if (d == NULL)
		return 0;
	while ((de = readdir(d)) != NULL && n < max) {
		if (lab_ns_is_ours(de->d_name))
			names[n++] = strdup(de->d_name);
	}
	closedir(d);
	return n;
}

static void cache_clear(void)
{
	for (unsigned i = 0; i < n_ns_cache; i++)
		json_decref(ns_cache[i].links);
	n_ns_cache = 0;
}

/* Reads the links of 'ns' into the cache.  Returns 0 or a negative errno. */
static int cache_load(const char *ns)
{
	const char *argv[] = {"ip", "-j", "-n", ns, "addr", "show", NULL};
	char err[5000], *out = NULL;
	json_t *links;
	int r;

	r = lab_run_capture(argv, &out, err, sizeof(err));
	if (r < 0) {
		fprintf(stderr, "dse-lab: %s\n", err);
		return r;
	}
	links = json_loads(out, 0, NULL);
	free(out);
	if (!json_is_array(links)) {
		json_decref(links);
		fprintf(stderr, "dse-lab: ip -j -n %s addr show: unexpected output\n", ns);
		return -EPROTO;
	}
	copy(ns_cache[n_ns_cache].name, sizeof(ns_cache[0].name), ns);
	ns_cache[n_ns_cache++].links = links;
	return 0;
}

/* Returns the link 'ifname' of 'ns' as `ip -j` showed it, or NULL. */
static json_t *cached_link(const char *ns, const char *ifname)
{
	for (unsigned i = 0; i < n_ns_cache; i++) {
		size_t k;
		json_t *l;

		if (strcmp(ns_cache[i].name, ns) != 0)
			continue;
		json_array_foreach(ns_cache[i].links, k, l) {
			const char *name = json_string_value(json_object_get(l, "ifname"));

			if (name != NULL && strcmp(name, ifname) == 0)
				return l;
		}
	}
	return NULL;
}

static bool link_is_up(const json_t *l)
{
	size_t i;
	json_t *f;

	json_array_foreach(json_object_get(l, "flags"), i, f) {
		if (json_is_string(f) && strcmp(json_string_value(f), "UP") == 0)
			return true;
	}
	return false;
}

static bool link_has_addr(const json_t *l, const char *cidr)
{
	size_t i;
	json_t *a;

	json_array_foreach(json_object_get(l, "addr_info"), i, a) {
		const char *local = json_string_value(json_object_get(a, "local"));
		char buf[64];

		if (local == NULL)
			continue;
		snprintf(buf, sizeof(buf), "%s/%d", local,
			 (int)json_integer_value(json_object_get(a, "prefixlen")));
		if (strcmp(buf, cidr) == 0)
			return true;
	}
	return false;
}

static bool str_eq(const json_t *v, const char *s)
{
	return json_is_string(v) && strcmp(json_string_value(v), s) == 0;
}

/* Every namespace of 't', in the order they are made. */
static unsigned topo_namespaces(const struct lab_topo *t, char names[][32])
{
	unsigned n = 0;

	snprintf(names[n++], 32, LAB_NS_PREFIX "fabric");
	for (unsigned h = 1; h <= t->n_hosts; h++) {
		snprintf(names[n++], 32, LAB_NS_PREFIX "h%u", h);
		for (unsigned d = 1; d <= t->hosts[h - 1].n_dpus; d++)
			snprintf(names[n++], 32, LAB_NS_PREFIX "h%u-d%u", h, d);
		for (unsigned v = 1; v <= t->hosts[h - 1].n_vms; v++)
			snprintf(names[n++], 32, LAB_NS_PREFIX "h%u-vm%u", h, v);
	}
	return n;
}

static void end_set(struct lab_end *e, const char *ns, const char *ifname)
{
	memset(e, 0, sizeof(*e));
	copy(e->ns, sizeof(e->ns), ns);
	copy(e->ifname, sizeof(e->ifname), ifname);
}

/* Every veth pair of 't' (docs/host-side.md). */
static unsigned topo_links(const struct lab_topo *t, struct lab_link *links)
{
	unsigned n = 0;

	for (unsigned h = 1; h <= t->n_hosts; h++) {
		const struct lab_host *host = &t->hosts[h - 1];
		char hns[32], dns[32], vns[32], a[32], b[32];

		snprintf(hns, sizeof(hns), LAB_NS_PREFIX "h%u", h);
		for (unsigned d = 1; d <= host->n_dpus; d++) {
			snprintf(dns, sizeof(dns), LAB_NS_PREFIX "h%u-d%u", h, d);
			/* Uplinks: vmnic0/1 on DPU 1, vmnic2/3 on DPU 2, into the tor. */
			for (unsigned k = 2 * (d - 1); k < 2 * d; k++) {
				struct lab_link *l = &links[n++];

				snprintf(a, sizeof(a), "vmnic%u", k);
				snprintf(b, sizeof(b), "h%u-vmnic%u", h, k);
				end_set(&l->a, dns, a);
				end_set(&l->b, LAB_NS_PREFIX "fabric", b);
				l->b.master = "tor";
			}
			/* The internal link: a /30 per DPU in 169.254.H.0/24. */
			{
				struct lab_link *l = &links[n++];

				snprintf(a, sizeof(a), "int-d%u", d);
				end_set(&l->a, hns, a);
				end_set(&l->b, dns, "int0");
				snprintf(l->a.addr, sizeof(l->a.addr), "169.254.%u.%u/30", h,
					 4 * d + 1);
				snprintf(l->b.addr, sizeof(l->b.addr), "169.254.%u.%u/30", h,
					 4 * d + 2);
			}
		}
		if (host->n_dpus == 2) {
			struct lab_link *l = &links[n++];

			snprintf(a, sizeof(a), LAB_NS_PREFIX "h%u-d1", h);
			snprintf(b, sizeof(b), LAB_NS_PREFIX "h%u-d2", h);
			end_set(&l->a, a, "sync0");
			end_set(&l->b, b, "sync0");
			snprintf(l->a.addr, sizeof(l->a.addr), "169.254.%u.201/30", h);
			snprintf(l->b.addr, sizeof(l->b.addr), "169.254.%u.202/30", h);
		}
		for (unsigned v = 1; v <= host->n_vms; v++) {
			struct lab_link *l = &links[n++];

			/* The VM's NIC: eth0 in the VM, its PCIe side hH-vmV in the host. */
			snprintf(vns, sizeof(vns), LAB_NS_PREFIX "h%u-vm%u", h, v);
			snprintf(b, sizeof(b), "h%u-vm%u", h, v);
			end_set(&l->a, vns, "eth0");
			end_set(&l->b, hns, b);
			snprintf(l->a.addr, sizeof(l->a.addr), "198.18.%u.%u/16", h, v);
			snprintf(l->a.mac, sizeof(l->a.mac), "02:00:00:00:%02x:%02x", h, v);
			l->a.tx_off = true;
			/* Its path to each DPU: hH-vmV-dN in the host, rep-vmV in the DPU. */
			for (unsigned d = 1; d <= host->n_dpus; d++) {
				l = &links[n++];
				snprintf(dns, sizeof(dns), LAB_NS_PREFIX "h%u-d%u", h, d);
				snprintf(a, sizeof(a), "h%u-vm%u-d%u", h, v, d);
				snprintf(b, sizeof(b), "rep-vm%u", v);
				end_set(&l->a, hns, a);
				end_set(&l->b, dns, b);
			}
		}
	}
	return n;
}

/* Brings 'e' to what it must be; 'fresh' if the link was just made. */
static int end_fix(const struct lab_end *e, bool fresh)
{
	const json_t *l = fresh ? NULL : cached_link(e->ns, e->ifname);
	const char *argv[16];
	int n = 0, r;

	argv[n++] = "ip";
	argv[n++] = "-n";
	argv[n++] = e->ns;
	argv[n++] = "link";
	argv[n++] = "set";
	argv[n++] = "dev";
	argv[n++] = e->ifname;
	if (e->mac[0] && (l == NULL || !str_eq(json_object_get(l, "address"), e->mac))) {
		argv[n++] = "address";
		argv[n++] = e->mac;
	}
	if (e->master && (l == NULL || !str_eq(json_object_get(l, "master"), e->master))) {
		argv[n++] = "master";
		argv[n++] = e->master;
	}
	if (l == NULL || !link_is_up(l) || n > 7) {
		argv[n++] = "up";
		argv[n] = NULL;
		r = lab_runv(argv);
		if (r < 0)
			return r;
	}
	if (e->addr[0] && (l == NULL || !link_has_addr(l, e->addr))) {
		r = lab_run("ip", "-n", e->ns, "addr", "replace", e->addr, "dev", e->ifname, NULL);
		if (r < 0)
			return r;
	}
	if (e->tx_off) {
		/* The checksum is finished in software so AF_PACKET readers see it whole. */
		r = lab_run("ip", "netns", "exec", e->ns, "ethtool", "-K", e->ifname, "tx", "off",
			    NULL);
		if (r < 0)
			return r;
		/*
		 * A VM's MTU leaves room for the Geneve overlay (50 bytes) on the
		 * fabric's 1500: a VM on an overlay segment can not send a frame
		 * the underlay can not carry.
		 */
		r = lab_run("ip", "-n", e->ns, "link", "set", "dev", e->ifname, "mtu",
			    LAB_VM_MTU, NULL);
		if (r < 0)
			return r;
	}
	return 0;
}

/*
 * Makes the veth pair 'l' unless both ends exist.  A lone end (its peer was
 * lost in a half-done build) is removed first.  Sets '*ret_fresh'.
 */
static int link_make(const struct lab_link *l, bool *ret_fresh)
{
	bool ha = cached_link(l->a.ns, l->a.ifname) != NULL;
	bool hb = cached_link(l->b.ns, l->b.ifname) != NULL;
	int r;

	*ret_fresh = false;
	if (ha && hb)
		return 0;
	if (ha && (r = lab_run("ip", "-n", l->a.ns, "link", "del", "dev", l->a.ifname, NULL)) < 0)
		return r;
	if (hb && (r = lab_run("ip", "-n", l->b.ns, "link", "del", "dev", l->b.ifname, NULL)) < 0)
		return r;
	/* Both ends are created right inside their namespaces. */
	r = lab_run("ip", "link", "add", l->a.ifname, "netns", l->a.ns, "type", "veth", "peer",
		    "name", l->b.ifname, "netns", l->b.ns, NULL);
	if (r < 0)
		return r;
	*ret_fresh = true;
	return 0;
}

/* The device a tc filter (as `tc -j filter show` prints it) redirects to, or NULL. */
static const char *redirect_target(const json_t *filter)
{
	size_t k;
	json_t *act;

	json_array_foreach(json_object_get(json_object_get(filter, "options"), "actions"), k, act) {
		if (str_eq(json_object_get(act, "kind"), "mirred") &&
		    json_is_string(json_object_get(act, "to_dev")))
			return json_string_value(json_object_get(act, "to_dev"));
	}
	return NULL;
}

/* One-instruction classic BPF "accept everything", when cls_matchall is missing. */
#define BPF_ACCEPT_ALL "1,6 0 0 4294967295,"

/*
 * Points the ingress of 'dev' in 'ns' at 'to': a matchall + mirred egress
 * redirect filter with pref 1, handle 1.  An existing pref-1 redirect to one
 * of 'keep' (NULL-terminated) stays as it is (the host may have moved the
 * attachment); any other pref-1 filter is replaced.  'fresh': 'dev' was
 * just made, so it has no filter yet.
 */
static int redirect(const char *ns, const char *dev, const char *to, const char *const *keep,
		    bool fresh)
{
	char err[5000], *out = NULL;
	json_t *filters;
	int r;

	r = lab_run("tc", "-n", ns, "qdisc", "replace", "dev", dev, "ingress", NULL);
	if (r < 0)
		return r;
	if (!fresh) {
		const char *argv[] = {"tc",   "-j",  "-n", ns,	      "filter",
				      "show", "dev", dev,  "ingress", NULL};
		bool have = false, stale = false;
		size_t i;
		json_t *f;

		r = lab_run_capture(argv, &out, err, sizeof(err));
		if (r < 0) {
			fprintf(stderr, "dse-lab: %s\n", err);
			return r;
		}
		filters = json_loads(out, 0, NULL);
		free(out);
		json_array_foreach(filters, i, f) {
			const char *td;

			if (json_integer_value(json_object_get(f, "pref")) != 1)
				continue;
			stale = true;
			td = redirect_target(f);
			for (const char *const *kp = keep; td && *kp; kp++)
				if (strcmp(*kp, td) == 0)
					have = true;
		}
		json_decref(filters);
		if (have)
			return 0;
		if (stale) {
			/* It points at a device that was made again, or at nothing. */
			r = lab_run("tc", "-n", ns, "filter", "del", "dev", dev, "ingress", "pref",
				    "1", NULL);
			if (r < 0)
				return r;
		}
	}
	if (use_bpf_classifier != 1) {
		const char *argv[] = {"tc",	"-n",	  ns,	      "filter",	  "add",
				      "dev",	dev,	  "ingress",  "pref",	  "1",
				      "handle", "1",	  "protocol", "all",	  "matchall",
				      "action", "mirred", "egress",   "redirect", "dev",
				      to,	NULL};

		r = lab_run_capture(argv, NULL, err, sizeof(err));
		if (r == 0) {
			use_bpf_classifier = 0;
			return 0;
		}
		if (use_bpf_classifier == 0) {
			fprintf(stderr, "dse-lab: %s\n", err);
			return r;
		}
		/* This kernel has no cls_matchall: the BPF fallback matches the same. */
		use_bpf_classifier = 1;
		if (lab_verbose)
			fprintf(stderr, "dse-lab: no matchall classifier, using bpf: %s\n", err);
	}
	return lab_run("tc", "-n", ns, "filter", "add", "dev", dev, "ingress", "pref", "1",
		       "handle", "1", "protocol", "all", "bpf", "bytecode", BPF_ACCEPT_ALL,
		       "action", "mirred", "egress", "redirect", "dev", to, NULL);
}

int lab_vm_attach(unsigned h, unsigned v, unsigned d)
{
	char ns[32], dev[32], to[32], err[5000];
	int r;

	snprintf(ns, sizeof(ns), LAB_NS_PREFIX "h%u", h);
	snprintf(dev, sizeof(dev), "h%u-vm%u", h, v);
	snprintf(to, sizeof(to), "h%u-vm%u-d%u", h, v, d);
	/* One filter replaced in place: the VM's traffic never goes nowhere. */
	{
		const char *argv[] = {"tc",	"-n",	  ns,	      "filter",	  "replace",
				      "dev",	dev,	  "ingress",  "pref",	  "1",
				      "handle", "1",	  "protocol", "all",	  "matchall",
				      "action", "mirred", "egress",   "redirect", "dev",
				      to,	NULL};

		r = lab_run_capture(argv, NULL, err, sizeof(err));
		if (r == 0)
			return 0;
	}
	/* A kernel without cls_matchall (or a bpf filter in place): as lab_net_up() does. */
	return redirect(ns, dev, to, (const char *const[]){to, NULL}, false);
}

int lab_vm_attachment(unsigned h, unsigned v)
{
	char ns[32], dev[32], err[5000], *out = NULL;
	const char *argv[] = {"tc", "-j", "-n", ns, "filter", "show", "dev", dev, "ingress", NULL};
	json_t *filters, *f;
	int found = 0, r;
	size_t i;

	snprintf(ns, sizeof(ns), LAB_NS_PREFIX "h%u", h);
	snprintf(dev, sizeof(dev), "h%u-vm%u", h, v);
	r = lab_run_capture(argv, &out, err, sizeof(err));
	if (r < 0)
		return r;
	filters = json_loads(out, 0, NULL);
	free(out);
	json_array_foreach(filters, i, f) {
		const char *to = redirect_target(f);
		unsigned hh, vv, dd;
		char c;

		if (to && sscanf(to, "h%u-vm%u-d%u%c", &hh, &vv, &dd, &c) == 3 && hh == h && vv == v)
			found = (int)dd;
	}
	json_decref(filters);
	return found;
}

int lab_net_up(const struct lab_topo *t)
{
	static char names[MAX_NS][32];
	static struct lab_link links[MAX_LINKS];
	static bool fresh[MAX_LINKS];
	unsigned nn = topo_namespaces(t, names), nl = topo_links(t, links);
	int r = 0;

	cache_clear();
	for (unsigned i = 0; i < nn; i++) {
		if (!lab_ns_exists(names[i]) &&
		    (r = lab_run("ip", "netns", "add", names[i], NULL)) < 0)
			goto out;
		/*
		 * Interfaces made from now on start with IPv6 off (no stray router
		 * solicitations or DAD on the lab's links); lo keeps its ::1.
		 */
		r = lab_run("ip", "netns", "exec", names[i], "sysctl", "-qw",
			    "net.ipv6.conf.default.disable_ipv6=1", NULL);
		if (r < 0)
			goto out;
		r = cache_load(names[i]);
		if (r < 0)
			goto out;
		if (!link_is_up(cached_link(names[i], "lo")) &&
		    (r = lab_run("ip", "-n", names[i], "link", "set", "dev", "lo", "up", NULL)) < 0)
			goto out;
	}

	/* The physical network: one bridge, the top-of-rack switch. */
	if (cached_link(LAB_NS_PREFIX "fabric", "tor") == NULL) {
		r = lab_run("ip", "-n", LAB_NS_PREFIX "fabric", "link", "add", "tor", "type",
			    "bridge", NULL);
		if (r < 0)
			goto out;
		r = lab_run("ip", "-n", LAB_NS_PREFIX "fabric", "link", "set", "dev", "tor", "up",
			    NULL);
	} else if (!link_is_up(cached_link(LAB_NS_PREFIX "fabric", "tor"))) {
		r = lab_run("ip", "-n", LAB_NS_PREFIX "fabric", "link", "set", "dev", "tor", "up",
			    NULL);
	}
	if (r < 0)
		goto out;

	for (unsigned i = 0; i < nl; i++) {
		r = link_make(&links[i], &fresh[i]);
		if (r < 0)
			goto out;
		r = end_fix(&links[i].a, fresh[i]);
		if (r == 0)
			r = end_fix(&links[i].b, fresh[i]);
		if (r < 0)
			goto out;
	}

	/*
	 * The VM attachment mux, in the host namespace: what the VM sends
	 * (ingress of hH-vmV) goes to the attached DPU's hH-vmV-dN (DPU 1 when
	 * the lab makes it), and what each DPU sends back to the VM.
	 */
	for (unsigned i = 0; i < nl; i++) {
		const struct lab_end *e = &links[i].a;
		const char *keep[LAB_MAX_DPUS + 1] = {NULL};
		char to[32], targets[LAB_MAX_DPUS][32], c;
		unsigned h, v, d, nk = 0;

		if (sscanf(e->ifname, "h%u-vm%u-d%u%c", &h, &v, &d, &c) == 3) {
			/* A DPU's path back to the VM; the VM link is the first of its group. */
			unsigned vm_link = i - d;

			snprintf(to, sizeof(to), "h%u-vm%u", h, v);
			if (!fresh[vm_link])
				keep[nk++] = to;
			r = redirect(e->ns, e->ifname, to, keep, fresh[i]);
		} else if (strcmp(e->ifname, "eth0") == 0) {
			const struct lab_end *pcie = &links[i].b;

			sscanf(pcie->ifname, "h%u-vm%u", &h, &v);
			/* The links to the DPUs follow the VM's own link. */
			for (d = 1; d <= t->hosts[h - 1].n_dpus; d++) {
				snprintf(targets[d - 1], sizeof(targets[0]), "h%u-vm%u-d%u", h, v,
					 d);
				if (!fresh[i + d])
					keep[nk++] = targets[d - 1];
			}
			r = redirect(pcie->ns, pcie->ifname, targets[0], keep, fresh[i]);
		}
		if (r < 0)
			goto out;
	}
out:
	cache_clear();
	return r;
}
