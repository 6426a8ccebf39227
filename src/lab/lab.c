/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * dse-lab: builds and tears down the emulated data centre (docs/design.md, the lab,
 * docs/host-side.md): `up`, `down`, `status` and `exec`.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <limits.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "certs.h"
#include "lab.h"
#include "version.h"

#define DEFAULT_STATE "/var/lib/dse-lab"
/* Where the state dir of the lab that is up is recorded, and the lock. */
#define RUN_DIR	     "/run/dse-lab"
#define CURRENT_FILE RUN_DIR "/current"
#define LOCK_FILE    RUN_DIR "/lock"
#define DPDK_RUN_DIR "/var/run/dpdk"
#define DPDK_PREFIX  "dse-lab-"

#define DPUD  "dse-dpud"
#define HOSTD "dse-hostd"

/* Most processes `down` stops in one go. */
#define MAX_PIDS 4096

/* Longest state directory path (its sockets must fit in a sockaddr_un anyway). */
#define STATE_DIR_MAX 200

/* The state directory, absolute. */
static char state_dir[PATH_MAX];

/* ---- small helpers ---- */

static void die_usage(const char *verb)
{
	fprintf(stderr, "Try 'dse-lab %s--help'.\n", verb ? verb : "");
	exit(2);
}

static bool file_exists(const char *path)
{
	struct stat st;

	return stat(path, &st) == 0;
}

/* Writes DIR/'machine'/'rel' (or DIR/'machine' for an empty 'rel') into 'buf'. */
static void path_of(char *buf, size_t len, const char *machine, const char *rel)
{
	int n = snprintf(buf, len, "%s/%s%s%s", state_dir, machine, rel[0] ? "/" : "", rel);

	if (n < 0 || (size_t)n >= len) {
		/* State dirs are limited in resolve_state(); this is a bug. */
		fprintf(stderr, "dse-lab: path too long: %s/%s/%s\n", state_dir, machine, rel);
		exit(1);
	}
}

/* printf into a message buffer, where cutting a long message short is fine. */
static void msg(char *buf, size_t len, const char *fmt, ...) __attribute__((format(printf, 3, 4)));

static void msg(char *buf, size_t len, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(buf, len, fmt, ap);
	va_end(ap);
}

static void sleep_ms(int ms)
{
	struct timespec ts = {ms / 1000, (ms % 1000) * 1000000L};

	nanosleep(&ts, NULL);
}

/* Makes 'path' absolute (it need not exist) into 'buf'. */
static int absolute(const char *path, char *buf, size_t len)
{
	char cwd[PATH_MAX];

	if (path[0] == '\0')
		return -EINVAL;
	if (realpath(path, buf) != NULL)
		return 0;
	if (path[0] == '/') {
		if ((size_t)snprintf(buf, len, "%s", path) >= len)
			return -ENAMETOOLONG;
	} else {
		if (getcwd(cwd, sizeof(cwd)) == NULL)
			return -errno;
		if ((size_t)snprintf(buf, len, "%s/%s", cwd, path) >= len)
			return -ENAMETOOLONG;
	}
	/* No trailing slash, so that paths built from it read well. */
	for (size_t n = strlen(buf); n > 1 && buf[n - 1] == '/'; n--)
		buf[n - 1] = '\0';
	return 0;
}

/* Sets state_dir from --state, the lab that is up, or the default. */
static int resolve_state(const char *given)
{
	char cur[PATH_MAX];
	FILE *f;

	if (given != NULL) {
		if (absolute(given, state_dir, sizeof(state_dir)) < 0 ||
		    strlen(state_dir) > STATE_DIR_MAX) {
			fprintf(
			    stderr,
			    "dse-lab: --state: \"%s\" is not a usable directory name (at most %d "
			    "characters)\n",
			    given, STATE_DIR_MAX);
			return -EINVAL;
		}
		return 0;
	}
	f = fopen(CURRENT_FILE, "re");
	if (f != NULL) {
		if (fgets(cur, sizeof(cur), f) != NULL) {
			cur[strcspn(cur, "\n")] = '\0';
			if (cur[0] == '/' && strlen(cur) <= STATE_DIR_MAX) {
				fclose(f);
				snprintf(state_dir, sizeof(state_dir), "%s", cur);
				return 0;
			}
		}
		fclose(f);
	}
	snprintf(state_dir, sizeof(state_dir), "%s", DEFAULT_STATE);
	return 0;
}

/* Takes the lab-wide lock: one `up` or `down` at a time.  Returns the fd. */
static int lock_lab(void)
{
	int fd;

	lab_mkdir_p(RUN_DIR);
	fd = open(LOCK_FILE, O_RDWR | O_CREAT | O_CLOEXEC, 0600);
	if (fd < 0) {
		fprintf(stderr, "dse-lab: cannot open %s: %s\n", LOCK_FILE, strerror(errno));
		return -errno;
	}
	if (flock(fd, LOCK_EX | LOCK_NB) == 0)
		return fd;
	fprintf(stderr, "dse-lab: waiting for another dse-lab up/down to finish\n");
	for (int i = 0; i < 1200; i++) {
		sleep_ms(100);
		if (flock(fd, LOCK_EX | LOCK_NB) == 0)
			return fd;
	}
	fprintf(stderr, "dse-lab: another dse-lab holds %s for over 2 minutes\n", LOCK_FILE);
	close(fd);
	return -EBUSY;
}

static int need_root(void)
{
	if (geteuid() == 0)
		return 0;
	fprintf(stderr, "dse-lab: needs root (it makes network namespaces)\n");
	return -EPERM;
}

/* The directory of the dse-lab binary. */
static void exe_dir(char *buf, size_t len)
{
	char exe[PATH_MAX];
	ssize_t n = readlink("/proc/self/exe", exe, sizeof(exe) - 1);
	char *slash;

	if (n <= 0) {
		snprintf(buf, len, ".");
		return;
	}
	exe[n] = '\0';
	slash = strrchr(exe, '/');
	if (slash != NULL)
		*slash = '\0';
	snprintf(buf, len, "%s", exe);
}

/*
 * Finds a program: 'given' (an explicit flag, must work), else 'rel' from
 * the directory of dse-lab (the build tree), else next to dse-lab (an
 * install), else PATH.  Returns 0 or -ENOENT.
 */
static int find_prog(const char *given, const char *rel, const char *name, char *buf, size_t len)
{
	char dir[PATH_MAX], cand[PATH_MAX + 64];

	if (len < PATH_MAX) /* realpath() writes up to PATH_MAX */
		return -EINVAL;
	if (given != NULL) {
		if (realpath(given, buf) == NULL || access(buf, X_OK) != 0)
			return -ENOENT;
		return 0;
	}
	exe_dir(dir, sizeof(dir));
	snprintf(cand, sizeof(cand), "%s/%s", dir, rel);
	if (realpath(cand, buf) != NULL && access(buf, X_OK) == 0)
		return 0;
	snprintf(cand, sizeof(cand), "%s/%s", dir, name);
	if (realpath(cand, buf) != NULL && access(buf, X_OK) == 0)
		return 0;
	if (lab_which(name, cand, sizeof(cand)) == 0 && realpath(cand, buf) != NULL)
		return 0;
	return -ENOENT;
}

/* The pid of 'prog' of 'machine' if it runs, else 0. */
static pid_t running_pid(const char *machine, const char *prog)
{
	char pidfile[PATH_MAX + 64], ns[64], rel[64];
	pid_t pid;

	snprintf(rel, sizeof(rel), "run/%s.pid", prog);
	path_of(pidfile, sizeof(pidfile), machine, rel);
	pid = lab_pid_read(pidfile);
	if (pid == 0 || !lab_pid_alive(pid))
		return 0;
	lab_ns_name(machine, ns, sizeof(ns));
	/* A pid reused by something else is neither in the lab's namespace nor named so. */
	if (lab_pid_in_ns(pid, ns) || lab_pid_is(pid, prog))
		return pid;
	return 0;
}

/* Loads DIR/topology.json.  Returns 0, -ENOENT if absent, -EINVAL (printed) if bad. */
static int load_state_topo(struct lab_topo *t)
{
	char path[PATH_MAX + 32], err[1024];
	int r;

	path_of(path, sizeof(path), "topology.json", "");
	if (!file_exists(path))
		return -ENOENT;
	r = lab_topo_load(path, t, err, sizeof(err));
	if (r < 0)
		fprintf(stderr, "dse-lab: the lab's state is damaged: %s\n", err);
	return r;
}

/* ---- up ---- */

static void usage_up(FILE *f)
{
	fprintf(
	    f,
	    "Usage: dse-lab up [--state DIR] [--topology FILE | --hosts N --dpus L --vms L]\n"
	    "                  [--dpud PATH] [--hostd PATH] [--no-hostd] [--net-only]\n"
	    "                  [--fresh] [--workers N] [--timeout SEC] [-v]\n"
	    "\n"
	    "Builds the lab, or checks and repairs the one that is up, and waits until\n"
	    "it is ready:\n"
	    "  - namespaces dse-fabric (bridge 'tor'), dse-hH (host H), dse-hH-dN (DPU N\n"
	    "    of host H) and dse-hH-vmV (VM V), with the veth pairs and addresses of\n"
	    "    docs/host-side.md, IPv6 off on every lab link (lo stays up), TX\n"
	    "    checksum offload off and MTU 1450 (room for Geneve) on VM eth0s, and\n"
	    "    the tc mux that attaches each VM\n"
	    "    to DPU 1 (matchall + mirred; a one-instruction bpf classifier instead\n"
	    "    where the kernel has no cls_matchall);\n"
	    "  - DIR/topology.json, and DIR/hH/, DIR/hH-dN/ each with bank-a/, bank-b/,\n"
	    "    log/ and run/; the DPU's identity in DIR/hH-dN/identity.json and\n"
	    "    what its dse-dpud may open as ports in DIR/hH-dN/ports.allow (its\n"
	    "    uplinks vmnicK and the representors rep-vmV of the host's VMs);\n"
	    "  - if dse-hostd is built: DPU certificates into DIR/hH-dN/tls/ (dse-hostd\n"
	    "    cert issue, once; again for a certificate of the older profile, with\n"
	    "    both serverAuth and clientAuth, and its dse-dpud restarted);\n"
	    "  - dse-dpud in every DPU: --file-prefix=dse-lab-hH-dN -- --lab --rpc\n"
	    "    DIR/hH-dN/run/dpud.sock, plus --identity and --ports-allow if it has\n"
	    "    those options, and --mgmt 169.254.H.(4N+2):7300 --tls-dir\n"
	    "    DIR/hH-dN/tls if it has that option and the DPU has a certificate;\n"
	    "    log DIR/hH-dN/log/dse-dpud.log, pid DIR/hH-dN/run/dse-dpud.pid;\n"
	    "  - then dse-hostd --state DIR/hH in every host, if it is built, with\n"
	    "    --attach-hook 'dse-lab attach' (a failover moves the VMs; log and\n"
	    "    pid in DIR/hH/log/ and DIR/hH/run/), with --init for a new host (no\n"
	    "    hostd.db and no dse-hostd ever ran there: a store lost later is\n"
	    "    refused by dse-hostd); a running one whose certificate has no host\n"
	    "    role (the older profile) is restarted.\n"
	    "It is ready when every dse-dpud answers dp.show on its socket and every\n"
	    "dse-hostd lists all its DPUs as connected (dpu.list on DIR/hH/hostd.sock).\n"
	    "\n"
	    "Running it again is safe: with the same topology it re-checks the network\n"
	    "and starts what is not running (VM attachments are left where they are;\n"
	    "a dse-dpud running without --mgmt that could now have it is restarted);\n"
	    "with another topology it refuses until 'dse-lab down'.  A failed up\n"
	    "leaves what it made for 'dse-lab down' to remove.\n"
	    "\n"
	    "Options:\n"
	    "  --state DIR      state directory (default: the lab that is up, else\n"
	    "                   " DEFAULT_STATE ")\n"
	    "  --topology FILE  JSON: {\"hosts\": [{\"dpus\": [DPU, ...], \"vms\": N}, ...]}\n"
	    "                   with 1-8 hosts, 1 or 2 DPUs each and 0-16 VMs (default 1);\n"
	    "                   a DPU is {\"vendor\", \"model\", \"hw_version\", \"fw_version\",\n"
	    "                   \"serial\", \"pci\"}, any member left out gets the default\n"
	    "  --hosts N        number of hosts, 1-8 (default 1, or the length of a list)\n"
	    "  --dpus L         DPUs per host: one number for all hosts or a comma list\n"
	    "                   with one per host, each 1 or 2 (default 1)\n"
	    "  --vms L          VMs per host, same form, each 0-16 (default 1)\n"
	    "                   Default DPUs: identical NVIDIA BlueField-2, hw B0, fw\n"
	    "                   24.35.1012, serial MT2231X<HHH><NN>, PCI 0000:3b:00.0 +H-1\n"
	    "                   (DPU 1) and 0000:af:00.0 +H-1 (DPU 2).\n"
	    "                   Without a topology or flags: the lab in DIR, else 1/1/1.\n"
	    "  --dpud PATH      dse-dpud to run (default: the build's, ../../dse-dpud from\n"
	    "                   dse-lab, then next to dse-lab, then PATH)\n"
	    "  --hostd PATH     dse-hostd to run (default: ../hostd/dse-hostd from dse-lab,\n"
	    "                   then next to it, then PATH; none found: no host daemons)\n"
	    "  --no-hostd       do not start dse-hostd even if it is built\n"
	    "  --fresh          start each host's dse-hostd with an empty desired state:\n"
	    "                   stops a running one and removes its store (hostd.db).\n"
	    "                   Without it, a state directory of an earlier lab brings\n"
	    "                   its desired state back, and up says so\n"
	    "  --workers N      forwarding workers of each dse-dpud it starts (default 1:\n"
	    "                   the DPUs share the machine's cores)\n"
	    "  --net-only       build the network only, start no daemons\n"
	    "  --timeout SEC    how long to wait for readiness (default 30)\n"
	    "  -v, --verbose    print every command run\n"
	    "\n"
	    "Exit status: 0 ready, 1 failed (the message says what and how), 2 usage.\n");
}

/* What `up` is doing with one daemon. */
struct daemon {
	char machine[16];
	const char *prog; /* DPUD or HOSTD */
	bool is_dpud;
	unsigned h, n; /* host, DPU (0 for hostd) */
	pid_t pid;
	bool child; /* started by this up: waitpid tells if it died */
	bool ready;
	char why[256]; /* why it is not ready yet */
};

struct up_opts {
	const char *topology, *hosts, *dpus, *vms, *dpud, *hostd;
	bool no_hostd, net_only;
	bool fresh; /* start each dse-hostd with an empty desired state */
	int timeout_s;
	int workers; /* dse-dpud --workers; 0: its default */
};

/*
 * Writes DIR/hH-dN/ports.allow, what dse-dpud of that DPU may open as ports
 * (--ports-allow): its uplinks and the representors of the host's VMs.
 * Not int0 or sync0: a port there would switch VM frames onto the
 * internal network or the sync link.
 */
static int write_ports_allow(const char *machine, unsigned n, unsigned n_vms)
{
	char path[PATH_MAX + 64], text[64 + 16 * (2 + LAB_MAX_VMS)];
	size_t off;
	int r;

	off = (size_t)snprintf(text, sizeof(text),
			       "# The interfaces dse-dpud of %s may open as ports.\n", machine);
	for (unsigned k = 2 * (n - 1); k < 2 * n; k++)
		off += (size_t)snprintf(text + off, sizeof(text) - off, "vmnic%u\n", k);
	for (unsigned v = 1; v <= n_vms; v++)
		off += (size_t)snprintf(text + off, sizeof(text) - off, "rep-vm%u\n", v);
	path_of(path, sizeof(path), machine, "ports.allow");
	r = lab_write_file(path, text, 0644);
	if (r < 0)
		fprintf(stderr, "dse-lab: cannot write %s: %s\n", path, strerror(-r));
	return r;
}

static int make_dirs(const struct lab_topo *t)
{
	static const char *const sub[] = {"bank-a", "bank-b", "log", "run", NULL};
	char machine[32], path[PATH_MAX + 64];
	int r;

	for (unsigned h = 1; h <= t->n_hosts; h++) {
		for (unsigned n = 0; n <= t->hosts[h - 1].n_dpus; n++) {
			if (n == 0)
				snprintf(machine, sizeof(machine), "h%u", h);
			else
				snprintf(machine, sizeof(machine), "h%u-d%u", h, n);
			for (int i = 0; sub[i]; i++) {
				path_of(path, sizeof(path), machine, sub[i]);
				r = lab_mkdir_p(path);
				if (r < 0) {
					fprintf(stderr, "dse-lab: cannot create %s: %s\n", path,
						strerror(-r));
					return r;
				}
			}
			if (n == 0)
				continue;
			{
				json_t *id = lab_dpu_to_json(&t->hosts[h - 1].dpus[n - 1]);
				char *text = json_dumps(id, JSON_INDENT(2));
				char withnl[2048];

				json_decref(id);
				snprintf(withnl, sizeof(withnl), "%s\n", text ? text : "{}");
				free(text);
				path_of(path, sizeof(path), machine, "identity.json");
				r = lab_write_file(path, withnl, 0644);
				if (r < 0) {
					fprintf(stderr, "dse-lab: cannot write %s: %s\n", path,
						strerror(-r));
					return r;
				}
			}
			r = write_ports_allow(machine, n, t->hosts[h - 1].n_vms);
			if (r < 0)
				return r;
		}
	}
	return 0;
}

static int write_topology(const struct lab_topo *t)
{
	char path[PATH_MAX + 32];
	json_t *j = lab_topo_to_json(t);
	char *text = json_dumps(j, JSON_INDENT(2));
	size_t len = strlen(text);
	char *withnl = malloc(len + 2);
	int r;

	json_decref(j);
	memcpy(withnl, text, len);
	memcpy(withnl + len, "\n", 2);
	free(text);
	r = lab_mkdir_p(state_dir);
	path_of(path, sizeof(path), "topology.json", "");
	if (r == 0)
		r = lab_write_file(path, withnl, 0644);
	free(withnl);
	if (r < 0)
		fprintf(stderr, "dse-lab: cannot write %s: %s\n", path, strerror(-r));
	return r;
}

/* True if the socket paths of the lab fit in a sockaddr_un. */
static bool socket_paths_fit(void)
{
	struct sockaddr_un sa;
	char path[PATH_MAX + 64];

	path_of(path, sizeof(path), "h8-d2", "run/dpud.sock");
	if (strlen(path) >= sizeof(sa.sun_path)) {
		fprintf(stderr,
			"dse-lab: --state %s is too long: the lab's Unix sockets (%s) need paths "
			"under %zu characters\n",
			state_dir, path, sizeof(sa.sun_path));
		return false;
	}
	return true;
}

/* Is a lab present: a lab namespace, or a recorded daemon of 'old' alive? */
static bool lab_present(const struct lab_topo *old, char *first_ns, size_t len)
{
	char *names[256];
	size_t n = lab_ns_list(names, 256);
	bool present = n > 0;

	if (n > 0)
		snprintf(first_ns, len, "%s", names[0]);
	for (size_t i = 0; i < n; i++)
		free(names[i]);
	for (unsigned h = 1; old && !present && h <= old->n_hosts; h++) {
		char m[32];

		snprintf(m, sizeof(m), "h%u", h);
		present = running_pid(m, HOSTD) != 0;
		for (unsigned d = 1; !present && d <= old->hosts[h - 1].n_dpus; d++) {
			snprintf(m, sizeof(m), "h%u-d%u", h, d);
			present = running_pid(m, DPUD) != 0;
		}
		if (present)
			snprintf(first_ns, len, "(a daemon of %s)", m);
	}
	return present;
}

/* True if namespace 'ns' belongs to topology 't'. */
static bool ns_in_topo(const struct lab_topo *t, const char *ns)
{
	unsigned h, x;
	char c;

	if (strcmp(ns, LAB_NS_PREFIX "fabric") == 0)
		return true;
	if (sscanf(ns, LAB_NS_PREFIX "h%u%c", &h, &c) == 1)
		return h >= 1 && h <= t->n_hosts;
	if (sscanf(ns, LAB_NS_PREFIX "h%u-d%u%c", &h, &x, &c) == 2)
		return h >= 1 && h <= t->n_hosts && x >= 1 && x <= t->hosts[h - 1].n_dpus;
	if (sscanf(ns, LAB_NS_PREFIX "h%u-vm%u%c", &h, &x, &c) == 2)
		return h >= 1 && h <= t->n_hosts && x >= 1 && x <= t->hosts[h - 1].n_vms;
	return false;
}

/* Options that dse-dpud knows, read from its --help. */
struct dpud_features {
	bool identity;
	bool mgmt;
	bool ports_allow;
};

static void dpud_probe(const char *dpud, struct dpud_features *f)
{
	const char *argv[] = {dpud, "--", "--help", NULL};
	char err[2048], *out = NULL;

	memset(f, 0, sizeof(*f));
	if (lab_run_capture(argv, &out, err, sizeof(err)) < 0)
		return; /* a dse-dpud that cannot say is started without them */
	f->identity = strstr(out, "--identity") != NULL;
	f->mgmt = strstr(out, "--mgmt") != NULL;
	f->ports_allow = strstr(out, "--ports-allow") != NULL;
	free(out);
}

static int write_pid(const char *machine, const char *prog, pid_t pid)
{
	char path[PATH_MAX + 64], rel[64], buf[32];
	int r;

	snprintf(rel, sizeof(rel), "run/%s.pid", prog);
	path_of(path, sizeof(path), machine, rel);
	snprintf(buf, sizeof(buf), "%d\n", (int)pid);
	r = lab_write_file(path, buf, 0644);
	if (r < 0)
		fprintf(stderr, "dse-lab: cannot write %s: %s\n", path, strerror(-r));
	return r;
}

/*
 * Starts dse-dpud for DPU 'n' of host 'h' unless it runs; fills 'd'.  One
 * that runs is restarted when 'new_cert' (its certificate was issued again).
 */
static int start_dpud(const char *dpud, const struct dpud_features *feat, unsigned h, unsigned n,
		      bool new_cert, int workers, struct daemon *d)
{
	char workers_arg[16], ns[32], prefix[64], prefix_arg[80], sock[PATH_MAX + 64], id[PATH_MAX + 64],
	    tls[PATH_MAX + 64], cert[PATH_MAX + 64], mgmt[64], log[PATH_MAX + 64], err[2048],
	    allow[PATH_MAX + 64];
	const char *argv[24];
	pid_t pids[16], stale[16];
	size_t np = 0, nstale = 0;
	int a = 0;

	memset(d, 0, sizeof(*d));
	snprintf(d->machine, sizeof(d->machine), "h%u-d%u", h, n);
	d->prog = DPUD;
	d->is_dpud = true;
	d->h = h;
	d->n = n;
	path_of(cert, sizeof(cert), d->machine, "tls/cert.pem");
	d->pid = running_pid(d->machine, DPUD);
	if (d->pid != 0 && feat->mgmt && file_exists(cert) && !lab_pid_has_arg(d->pid, "--mgmt")) {
		/* Started before the host could reach it (no dse-hostd then): start it again. */
		printf("restarting %s in %s (pid %d): it runs without --mgmt\n", DPUD, d->machine,
		       (int)d->pid);
		lab_kill_all(&d->pid, 1, 5000);
		d->pid = 0;
	}
	if (d->pid != 0 && new_cert) {
		printf("restarting %s in %s (pid %d): its certificate was issued again\n", DPUD,
		       d->machine, (int)d->pid);
		lab_kill_all(&d->pid, 1, 5000);
		d->pid = 0;
	}
	if (d->pid != 0)
		return 0;

	lab_ns_name(d->machine, ns, sizeof(ns));
	snprintf(prefix, sizeof(prefix), DPDK_PREFIX "%s", d->machine);
	snprintf(prefix_arg, sizeof(prefix_arg), "--file-prefix=%s", prefix);
	/* One that lost its pid file is adopted; one left in a lost namespace is stopped. */
	lab_pids_with_arg(prefix_arg, pids, 16, &np);
	for (size_t i = 0; i < np; i++) {
		if (d->pid == 0 && lab_pid_in_ns(pids[i], ns))
			d->pid = pids[i];
		else
			stale[nstale++] = pids[i];
	}
	if (nstale > 0)
		lab_kill_all(stale, nstale, 3000);
	if (d->pid != 0)
		return write_pid(d->machine, DPUD, d->pid);

	/* Nothing of this DPU runs: what a crashed one left is stale. */
	snprintf(log, sizeof(log), DPDK_RUN_DIR "/%s", prefix);
	lab_rm_rf(log);

	path_of(sock, sizeof(sock), d->machine, "run/dpud.sock");
	path_of(id, sizeof(id), d->machine, "identity.json");
	path_of(allow, sizeof(allow), d->machine, "ports.allow");
	path_of(tls, sizeof(tls), d->machine, "tls");
	path_of(log, sizeof(log), d->machine, "log/" DPUD ".log");
	snprintf(mgmt, sizeof(mgmt), "169.254.%u.%u:%d", h, 4 * n + 2, LAB_MGMT_PORT);
	argv[a++] = dpud;
	argv[a++] = prefix_arg;
	argv[a++] = "--";
	argv[a++] = "--lab";
	argv[a++] = "--ha-faults"; /* dse-lab fault DPU sync-loss|sync-reorder */
	argv[a++] = "--rpc";
	argv[a++] = sock;
	if (workers > 0) {
		snprintf(workers_arg, sizeof(workers_arg), "%d", workers);
		argv[a++] = "--workers";
		argv[a++] = workers_arg;
	}
	if (feat->identity) {
		argv[a++] = "--identity";
		argv[a++] = id;
	}
	if (feat->ports_allow) {
		argv[a++] = "--ports-allow";
		argv[a++] = allow;
	}
	if (feat->mgmt && file_exists(cert)) {
		argv[a++] = "--mgmt";
		argv[a++] = mgmt;
		argv[a++] = "--tls-dir";
		argv[a++] = tls;
	}
	argv[a] = NULL;
	d->pid = lab_spawn_daemon(ns, argv, log, err, sizeof(err));
	if (d->pid < 0) {
		fprintf(stderr, "dse-lab: %s: %s\n", d->machine, err);
		return d->pid;
	}
	d->child = true;
	printf("started %s in %s (pid %d)\n", DPUD, d->machine, (int)d->pid);
	return write_pid(d->machine, DPUD, d->pid);
}

/*
 * True when host 'h' is new to dse-hostd: no store, and no dse-hostd ever
 * ran there (no log).  Only then does the lab pass --init: a store lost
 * later is dse-hostd's to refuse (docs/host-side.md "dse-hostd").
 */
static bool host_is_new(unsigned h)
{
	char machine[16], db[PATH_MAX + 32], log[PATH_MAX + 64];

	snprintf(machine, sizeof(machine), "h%u", h);
	path_of(db, sizeof(db), machine, "hostd.db");
	path_of(log, sizeof(log), machine, "log/" HOSTD ".log");
	return !file_exists(db) && !file_exists(log);
}

/*
 * For --fresh: stops host 'h's dse-hostd if it runs and removes its store,
 * so that it starts with an empty desired state.  Returns 0 or -errno.
 */
static int host_make_fresh(unsigned h)
{
	static const char *const files[] = {"hostd.db", "hostd.db-wal", "hostd.db-shm",
					    "hostd.db-journal"};
	char machine[16], path[PATH_MAX + 32];
	pid_t pid;

	snprintf(machine, sizeof(machine), "h%u", h);
	pid = running_pid(machine, HOSTD);
	if (pid != 0) {
		printf("stopping %s in %s (pid %d): --fresh\n", HOSTD, machine, (int)pid);
		lab_kill_all(&pid, 1, 5000);
	}
	for (size_t i = 0; i < sizeof(files) / sizeof(files[0]); i++) {
		path_of(path, sizeof(path), machine, files[i]);
		if (unlink(path) < 0 && errno != ENOENT) {
			fprintf(stderr, "dse-lab: cannot remove %s: %s\n", path, strerror(errno));
			return -errno;
		}
	}
	return 0;
}

/*
 * Says so when host 'h's dse-hostd brought back the desired state of an
 * earlier run: an operator who expects an empty host would otherwise see
 * old switches reappear without a word.
 */
static void note_old_state(unsigned h)
{
	char machine[16], sock[PATH_MAX + 32];
	json_t *st = NULL;

	snprintf(machine, sizeof(machine), "h%u", h);
	path_of(sock, sizeof(sock), machine, "hostd.sock");
	if (lab_rpc_call(sock, "host.show", 1000, &st) < 0)
		return;
	if (json_integer_value(json_object_get(json_object_get(st, "store"), "revision")) > 0 &&
	    json_integer_value(json_object_get(st, "switches")) +
		    json_integer_value(json_object_get(json_object_get(st, "firewall"), "rules")) >
		0)
		printf("%s: dse-hostd keeps the desired state of an earlier run (store revision "
		       "%lld: %lld switches, %lld segments, %lld ports, %lld firewall rules); "
		       "'dse-lab up --fresh' starts it empty\n",
		       machine,
		       (long long)json_integer_value(
			   json_object_get(json_object_get(st, "store"), "revision")),
		       (long long)json_integer_value(json_object_get(st, "switches")),
		       (long long)json_integer_value(json_object_get(st, "segments")),
		       (long long)json_integer_value(json_object_get(st, "ports")),
		       (long long)json_integer_value(
			   json_object_get(json_object_get(st, "firewall"), "rules")));
	json_decref(st);
}

/*
 * Starts dse-hostd for host 'h' unless it runs ('init': with --init); fills
 * 'd'.  One that runs with a certificate of the older profile (no host
 * role) is restarted: dse-hostd issues its own certificate again at start.
 */
static int start_hostd(const char *hostd, unsigned h, bool init, struct daemon *d)
{
	char ns[32], dir[PATH_MAX + 16], log[PATH_MAX + 64], cert[PATH_MAX + 64], err[2048];
	char sock[PATH_MAX + 32];
	/* Each host its own socket, in its state directory (dsectl -s, or dse-lab's hint). */
	char hook[2 * PATH_MAX + 64], self[PATH_MAX];
	/* A failover moves VMs with this lab's own attach (dse-lab attach). */
	const char *argv[] = {hostd, "--state", dir, "--socket", sock, "--attach-hook", hook,
			      init ? "--init" : NULL, NULL};

	memset(d, 0, sizeof(*d));
	snprintf(d->machine, sizeof(d->machine), "h%u", h);
	d->prog = HOSTD;
	d->h = h;
	d->pid = running_pid(d->machine, HOSTD);
	path_of(cert, sizeof(cert), d->machine, "tls/cert.pem");
	if (d->pid != 0 &&
	    dse_cert_check_file(cert, DSE_TLS_ROLE_HOST, err, sizeof(err)) == -EPERM) {
		printf("restarting %s in %s (pid %d): %s\n", HOSTD, d->machine, (int)d->pid, err);
		lab_kill_all(&d->pid, 1, 5000);
		d->pid = 0;
	}
	if (d->pid != 0)
		return 0;
	lab_ns_name(d->machine, ns, sizeof(ns));
	path_of(dir, sizeof(dir), d->machine, "");
	path_of(sock, sizeof(sock), d->machine, "hostd.sock");
	path_of(log, sizeof(log), d->machine, "log/" HOSTD ".log");
	{
		ssize_t n = readlink("/proc/self/exe", self, sizeof(self) - 1);

		self[n > 0 ? n : 0] = '\0';
		snprintf(hook, sizeof(hook), "'%s' attach", self);
	}
	d->pid = lab_spawn_daemon(ns, argv, log, err, sizeof(err));
	if (d->pid < 0) {
		fprintf(stderr, "dse-lab: %s: %s\n", d->machine, err);
		return d->pid;
	}
	d->child = true;
	printf("started %s in %s (pid %d)%s\n", HOSTD, d->machine, (int)d->pid,
	       init ? ": a new host (--init)" : "");
	return write_pid(d->machine, HOSTD, d->pid);
}

/*
 * Issues the certificates of host 'h''s DPUs that have none yet, or one of
 * the older profile (no DPU role: serverAuth and clientAuth); sets
 * 'reissued'[N - 1] for a DPU N whose certificate was replaced.
 */
static int issue_certs(const char *hostd, const struct lab_topo *t, unsigned h, bool *reissued)
{
	for (unsigned n = 1; n <= t->hosts[h - 1].n_dpus; n++) {
		char host[32], name[32], hostdir[PATH_MAX + 16], out[PATH_MAX + 64],
		    cert[PATH_MAX + 64], why[512];
		int r;

		snprintf(host, sizeof(host), "h%u", h);
		snprintf(name, sizeof(name), "h%u-d%u", h, n);
		path_of(hostdir, sizeof(hostdir), host, "");
		path_of(out, sizeof(out), name, "tls");
		path_of(cert, sizeof(cert), name, "tls/cert.pem");
		reissued[n - 1] = false;
		if (file_exists(cert)) {
			/* Only one without the DPU role is replaced: anything else stays. */
			if (dse_cert_check_file(cert, DSE_TLS_ROLE_DPU, why, sizeof(why)) != -EPERM)
				continue;
			printf("issuing the certificate of %s again: %s\n", name, why);
			reissued[n - 1] = true;
		}
		r = lab_run(hostd, "cert", "issue", "--state", hostdir, "--name", name, "--out",
			    out, NULL);
		if (r < 0)
			return r;
	}
	return 0;
}

/* How many of host 'h''s DPUs dpu.list reports as connected. */
static unsigned hostd_connected(const json_t *res, unsigned h, unsigned n_dpus)
{
	const json_t *list = json_is_array(res) ? res : json_object_get(res, "dpus");
	unsigned count = 0;
	size_t i;
	json_t *e;

	json_array_foreach(list, i, e) {
		const char *name = json_string_value(json_object_get(e, "name"));
		const char *state = json_string_value(json_object_get(e, "state"));
		unsigned hh, nn;
		char c;

		if (state == NULL || strcmp(state, "connected") != 0)
			continue;
		if (name == NULL ||
		    (sscanf(name, "h%u-d%u%c", &hh, &nn, &c) == 2 && hh == h && nn <= n_dpus))
			count++;
	}
	return count;
}

/*
 * Checks 'd' once.  Returns 1 if ready, 0 if not yet, a negative errno if
 * it died (printed with its log).
 */
static int check_daemon(struct daemon *d, const struct lab_topo *t, bool want_connected)
{
	char sock[PATH_MAX + 64], log[PATH_MAX + 64];
	json_t *res = NULL;
	int status, r;

	path_of(log, sizeof(log), d->machine,
		d->is_dpud ? "log/" DPUD ".log" : "log/" HOSTD ".log");
	if (d->child ? waitpid(d->pid, &status, WNOHANG) == d->pid : !lab_pid_alive(d->pid)) {
		if (d->child && WIFEXITED(status))
			fprintf(stderr,
				"dse-lab: %s in %s exited with status %d before it was ready\n",
				d->prog, d->machine, WEXITSTATUS(status));
		else if (d->child && WIFSIGNALED(status))
			fprintf(stderr,
				"dse-lab: %s in %s was killed by signal %d before it was ready\n",
				d->prog, d->machine, WTERMSIG(status));
		else
			fprintf(stderr, "dse-lab: %s in %s (pid %d) is gone\n", d->prog, d->machine,
				(int)d->pid);
		lab_tail(log, 15);
		d->pid = 0;
		return -ESRCH;
	}
	if (d->is_dpud) {
		path_of(sock, sizeof(sock), d->machine, "run/dpud.sock");
		r = lab_rpc_call(sock, "dp.show", 1000, NULL);
		if (r < 0) {
			msg(d->why, sizeof(d->why), "no answer to dp.show on %s: %s", sock,
			    strerror(-r));
			return 0;
		}
		return 1;
	}
	path_of(sock, sizeof(sock), d->machine, "hostd.sock");
	r = lab_rpc_call(sock, "dpu.list", 1000, &res);
	if (r < 0) {
		msg(d->why, sizeof(d->why), "no answer to dpu.list on %s: %s", sock, strerror(-r));
		return 0;
	}
	if (want_connected) {
		unsigned need = t->hosts[d->h - 1].n_dpus, got = hostd_connected(res, d->h, need);

		json_decref(res);
		if (got < need) {
			msg(d->why, sizeof(d->why), "dpu.list: %u of %u DPUs connected", got, need);
			return 0;
		}
		return 1;
	}
	json_decref(res);
	return 1;
}

/*
 * Waits until every daemon in 'ds' is ready or 'deadline_ms' passes, with a
 * progress line.  Returns 0 or a negative errno (printed).
 */
static int wait_ready(struct daemon *ds, unsigned n, const struct lab_topo *t, bool want_connected,
		      const char *what, long long start_ms, long long deadline_ms)
{
	bool tty = isatty(2);
	long long last_print = 0;
	unsigned ready = 0;
	int r;

	for (;;) {
		ready = 0;
		for (unsigned i = 0; i < n; i++) {
			if (!ds[i].ready) {
				r = check_daemon(&ds[i], t, want_connected);
				if (r < 0) {
					if (tty)
						fprintf(stderr, "\n");
					return r;
				}
				ds[i].ready = r == 1;
			}
			ready += ds[i].ready;
		}
		if (ready == n || lab_now_ms() >= deadline_ms)
			break;
		/* A progress line after a second, then every second (terminal) or five. */
		if (lab_now_ms() - start_ms >= 1000 &&
		    lab_now_ms() - last_print >= (tty ? 1000 : 5000)) {
			fprintf(stderr, "%swaiting for %s: %u of %u ready (%.0f s)%s",
				tty ? "\r" : "", what, ready, n, (lab_now_ms() - start_ms) / 1000.0,
				tty ? "  " : "\n");
			last_print = lab_now_ms();
		}
		sleep_ms(100);
	}
	if (tty && last_print)
		fprintf(stderr, "\r\033[K");
	if (ready == n)
		return 0;
	fprintf(stderr, "dse-lab: not ready after %.0f s: %u of %u %s ready\n",
		(lab_now_ms() - start_ms) / 1000.0, ready, n, what);
	for (unsigned i = 0; i < n; i++) {
		char log[PATH_MAX + 64];

		if (ds[i].ready)
			continue;
		fprintf(stderr, "  %s (%s, pid %d): %s\n", ds[i].machine, ds[i].prog,
			(int)ds[i].pid, ds[i].why);
		path_of(log, sizeof(log), ds[i].machine,
			ds[i].is_dpud ? "log/" DPUD ".log" : "log/" HOSTD ".log");
		lab_tail(log, 8);
	}
	return -ETIMEDOUT;
}

/*
 * Reads option 'name''s decimal value 'arg' into '*ret' when it lies in
 * [lo, hi]; else says so ('unit' after the range, e.g. " seconds") and
 * returns -1.
 */
static int opt_int(const char *name, const char *arg, long lo, long hi, const char *unit,
		   int *ret)
{
	char *end;
	long v = strtol(arg, &end, 10);

	if (*end || end == arg || v < lo || v > hi) {
		fprintf(stderr, "dse-lab: %s must be %ld to %ld%s\n", name, lo, hi, unit);
		return -1;
	}
	*ret = (int)v;
	return 0;
}

static int cmd_up(int argc, char **argv)
{
	enum {
		O_STATE = 256,
		O_TOPO,
		O_HOSTS,
		O_DPUS,
		O_VMS,
		O_DPUD,
		O_HOSTD,
		O_NOHOSTD,
		O_NET,
		O_TIMEOUT,
		O_WORKERS,
		O_FRESH
	};
	static const struct option longopts[] = {
	    {"state", required_argument, NULL, O_STATE},
	    {"topology", required_argument, NULL, O_TOPO},
	    {"hosts", required_argument, NULL, O_HOSTS},
	    {"dpus", required_argument, NULL, O_DPUS},
	    {"vms", required_argument, NULL, O_VMS},
	    {"dpud", required_argument, NULL, O_DPUD},
	    {"hostd", required_argument, NULL, O_HOSTD},
	    {"no-hostd", no_argument, NULL, O_NOHOSTD},
	    {"net-only", no_argument, NULL, O_NET},
	    {"fresh", no_argument, NULL, O_FRESH},
	    {"timeout", required_argument, NULL, O_TIMEOUT},
	    {"workers", required_argument, NULL, O_WORKERS},
	    {"verbose", no_argument, NULL, 'v'},
	    {"help", no_argument, NULL, 'h'},
	    {NULL, 0, NULL, 0},
	};
	struct up_opts o = {.timeout_s = 30};
	const char *state = NULL;
	struct lab_topo t, old;
	static struct daemon ds[LAB_MAX_HOSTS * (LAB_MAX_DPUS + 1)];
	char err[1024], summary[128], dpud[PATH_MAX], hostd[PATH_MAX], first[300];
	struct dpud_features feat;
	bool have_old, have_hostd = false, new_host[LAB_MAX_HOSTS] = {false};
	bool reissued[LAB_MAX_HOSTS][LAB_MAX_DPUS] = {{false}};
	long long t0 = lab_now_ms(), deadline;
	unsigned nd = 0, nh = 0;
	int c, r, lock;

	while ((c = getopt_long(argc, argv, "+vh", longopts, NULL)) != -1) {
		switch (c) {
		case O_STATE:
			state = optarg;
			break;
		case O_TOPO:
			o.topology = optarg;
			break;
		case O_HOSTS:
			o.hosts = optarg;
			break;
		case O_DPUS:
			o.dpus = optarg;
			break;
		case O_VMS:
			o.vms = optarg;
			break;
		case O_DPUD:
			o.dpud = optarg;
			break;
		case O_HOSTD:
			o.hostd = optarg;
			break;
		case O_NOHOSTD:
			o.no_hostd = true;
			break;
		case O_NET:
			o.net_only = true;
			break;
		case O_FRESH:
			o.fresh = true;
			break;
		case O_TIMEOUT:
			if (opt_int("--timeout", optarg, 1, 3600, " seconds", &o.timeout_s) < 0)
				return 2;
			break;
		case O_WORKERS:
			if (opt_int("--workers", optarg, 1, 16, "", &o.workers) < 0)
				return 2;
			break;
		case 'v':
			lab_verbose = true;
			break;
		case 'h':
			usage_up(stdout);
			return 0;
		default:
			die_usage("up ");
		}
	}
	if (optind < argc) {
		fprintf(stderr, "dse-lab up: unexpected argument \"%s\"\n", argv[optind]);
		die_usage("up ");
	}
	if (o.topology && (o.hosts || o.dpus || o.vms)) {
		fprintf(stderr, "dse-lab up: give --topology or --hosts/--dpus/--vms, not both\n");
		return 2;
	}
	if (need_root() < 0 || resolve_state(state) < 0)
		return 1;

	if (o.topology) {
		r = lab_topo_load(o.topology, &t, err, sizeof(err));
		if (r < 0) {
			fprintf(stderr, "dse-lab: topology %s\n", err);
			return 2;
		}
	} else if (o.hosts || o.dpus || o.vms) {
		r = lab_topo_from_flags(o.hosts, o.dpus, o.vms, &t, err, sizeof(err));
		if (r < 0) {
			fprintf(stderr, "dse-lab up: %s\n", err);
			return 2;
		}
	}
	if (!socket_paths_fit())
		return 2;

	if (o.net_only) {
		dpud[0] = '\0';
	} else if (find_prog(o.dpud, "../../" DPUD, DPUD, dpud, sizeof(dpud)) < 0) {
		if (o.dpud)
			fprintf(stderr, "dse-lab: --dpud %s: not an executable file\n", o.dpud);
		else
			fprintf(stderr,
				"dse-lab: cannot find %s (build it with 'make', or give "
				"--dpud PATH)\n",
				DPUD);
		return 1;
	}
	if (!o.net_only && !o.no_hostd) {
		have_hostd =
		    find_prog(o.hostd, "../hostd/" HOSTD, HOSTD, hostd, sizeof(hostd)) == 0;
		if (!have_hostd && o.hostd) {
			fprintf(stderr, "dse-lab: --hostd %s: not an executable file\n", o.hostd);
			return 1;
		}
	}

	lock = lock_lab();
	if (lock < 0)
		return 1;

	r = load_state_topo(&old);
	if (r == -EINVAL)
		return 1;
	have_old = r == 0;
	if (!o.topology && !o.hosts && !o.dpus && !o.vms) {
		if (have_old)
			t = old;
		else
			lab_topo_from_flags(NULL, NULL, NULL, &t, err, sizeof(err));
	}
	if (lab_present(have_old ? &old : NULL, first, sizeof(first))) {
		char *names[256];
		size_t n;

		if (!have_old) {
			fprintf(stderr,
				"dse-lab: a lab is up (%s exists) but %s has no topology.json: it "
				"was built with another --state, or its state was lost; run "
				"'dse-lab down' first\n",
				first, state_dir);
			return 1;
		}
		if (!lab_topo_equal(&old, &t)) {
			char was[128], want[128];

			lab_topo_summary(&old, was, sizeof(was));
			lab_topo_summary(&t, want, sizeof(want));
			fprintf(stderr,
				"dse-lab: a lab with another topology is up (%s; asked for %s, "
				"or other DPU identities): run 'dse-lab down' first\n",
				was, want);
			return 1;
		}
		n = lab_ns_list(names, 256);
		r = 0;
		for (size_t i = 0; i < n; i++) {
			if (r == 0 && !ns_in_topo(&t, names[i])) {
				fprintf(stderr,
					"dse-lab: namespace %s is not part of this lab (state %s): "
					"run 'dse-lab down' first\n",
					names[i], state_dir);
				r = -EEXIST;
			}
			free(names[i]);
		}
		if (r < 0)
			return 1;
	}

	/* The state first, so that a failure from here on leaves what down needs. */
	if (write_topology(&t) < 0 || make_dirs(&t) < 0)
		return 1;
	lab_mkdir_p(RUN_DIR);
	{
		char line[PATH_MAX + 2];

		snprintf(line, sizeof(line), "%s\n", state_dir);
		lab_write_file(CURRENT_FILE, line, 0644);
	}

	lab_topo_summary(&t, summary, sizeof(summary));
	r = lab_net_up(&t);
	if (r < 0) {
		fprintf(stderr, "dse-lab: building the network failed; 'dse-lab down' removes "
				"what was made\n");
		return 1;
	}
	if (o.net_only) {
		printf("lab network up in %.1f s: %s (state %s; no daemons: --net-only)\n",
		       (lab_now_ms() - t0) / 1000.0, summary, state_dir);
		return 0;
	}

	dpud_probe(dpud, &feat);
	for (unsigned h = 1; h <= t.n_hosts; h++) {
		if (have_hostd && o.fresh && host_make_fresh(h) < 0)
			return 1;
		/* A fresh host starts with --init: its store is gone on purpose. */
		new_host[h - 1] = o.fresh || host_is_new(h);
	}
	if (have_hostd) {
		for (unsigned h = 1; h <= t.n_hosts; h++) {
			if (issue_certs(hostd, &t, h, reissued[h - 1]) < 0) {
				fprintf(stderr,
					"dse-lab: issuing the DPU certificates of h%u failed\n", h);
				return 1;
			}
		}
	}
	for (unsigned h = 1; h <= t.n_hosts; h++) {
		for (unsigned n = 1; n <= t.hosts[h - 1].n_dpus; n++) {
			if (start_dpud(dpud, &feat, h, n, reissued[h - 1][n - 1], o.workers,
				       &ds[nd]) < 0)
				return 1;
			nd++;
		}
	}
	deadline = lab_now_ms() + o.timeout_s * 1000LL;
	r = wait_ready(ds, nd, &t, false, "dse-dpud", t0, deadline);
	if (r < 0) {
		fprintf(stderr, "dse-lab: the lab is not ready; 'dse-lab down' removes it\n");
		return 1;
	}
	if (have_hostd) {
		for (unsigned h = 1; h <= t.n_hosts; h++) {
			if (start_hostd(hostd, h, new_host[h - 1], &ds[nd + nh]) < 0)
				return 1;
			nh++;
		}
		if (!feat.mgmt)
			fprintf(stderr,
				"dse-lab: note: %s has no --mgmt, so dse-hostd cannot reach "
				"the DPUs; not waiting for them to connect\n",
				dpud);
		r = wait_ready(ds + nd, nh, &t, feat.mgmt, "dse-hostd (DPUs connected)", t0,
			       deadline);
		if (r < 0) {
			fprintf(stderr,
				"dse-lab: the lab is not ready; 'dse-lab down' removes it\n");
			return 1;
		}
		for (unsigned h = 1; h <= t.n_hosts; h++)
			if (!new_host[h - 1])
				note_old_state(h);
	}
	printf("lab up in %.1f s: %s; dse-dpud in every DPU, %s (state %s)\n",
	       (lab_now_ms() - t0) / 1000.0, summary,
	       have_hostd ? "dse-hostd in every host"
			  : (o.no_hostd ? "no dse-hostd (--no-hostd)" : "no dse-hostd (not built)"),
	       state_dir);
	if (!feat.identity)
		fprintf(stderr,
			"dse-lab: note: %s has no --identity; the DPUs do not report "
			"their identity yet\n",
			dpud);
	close(lock);
	return 0;
}

/* ---- down ---- */

static void usage_down(FILE *f)
{
	fprintf(f,
		"Usage: dse-lab down [--state DIR] [--purge] [--timeout SEC] [-v]\n"
		"\n"
		"Removes everything the lab made, whatever state it is in (also after a\n"
		"crash, a half-failed up, or with no state directory at all):\n"
		"  - stops the daemons recorded in DIR/*/run/*.pid, every process inside a\n"
		"    lab namespace and every dse-dpud with a --file-prefix=" DPDK_PREFIX "*\n"
		"    (SIGTERM, then SIGKILL after the timeout);\n"
		"  - deletes every namespace named dse-fabric or dse-h<digits>...;\n"
		"  - removes " DPDK_RUN_DIR "/" DPDK_PREFIX "* and the pid files and sockets in\n"
		"    DIR's run/ directories.\n"
		"DIR itself (topology, logs, certificates, boot banks) stays unless --purge.\n"
		"\n"
		"Options:\n"
		"  --state DIR    state directory (default: the lab that is up, else\n"
		"                 " DEFAULT_STATE ")\n"
		"  --purge        also remove DIR (only if everything in it is the lab's)\n"
		"  --timeout SEC  how long daemons get to stop before SIGKILL (default 5)\n"
		"  -v, --verbose  print every command run\n"
		"\n"
		"Exit status: 0 when nothing of the lab is left, 1 otherwise.\n");
}

/* True if 'name' is a machine directory name: h1, h1-d2, h1-vm3. */
static bool machine_name(const char *name)
{
	unsigned h, x;
	char c;

	return sscanf(name, "h%u%c", &h, &c) == 1 || sscanf(name, "h%u-d%u%c", &h, &x, &c) == 2 ||
	       sscanf(name, "h%u-vm%u%c", &h, &x, &c) == 2;
}

/* Adds the live daemons recorded in DIR/<machine>/run/<prog>.pid to 'pids'. */
static void recorded_pids(pid_t *pids, size_t max, size_t *n)
{
	struct dirent *de;
	DIR *d = opendir(state_dir);

	if (d == NULL)
		return;
	while ((de = readdir(d)) != NULL) {
		char run[PATH_MAX + 64];
		struct dirent *pe;
		DIR *rd;

		if (!machine_name(de->d_name))
			continue;
		path_of(run, sizeof(run), de->d_name, "run");
		rd = opendir(run);
		if (rd == NULL)
			continue;
		while ((pe = readdir(rd)) != NULL) {
			size_t len = strlen(pe->d_name);
			char pidfile[PATH_MAX + 400], prog[256], ns[64];
			pid_t pid;

			if (len < 5 || strcmp(pe->d_name + len - 4, ".pid") != 0)
				continue;
			snprintf(prog, sizeof(prog), "%.*s", (int)(len - 4), pe->d_name);
			snprintf(pidfile, sizeof(pidfile), "%s/%s", run, pe->d_name);
			pid = lab_pid_read(pidfile);
			lab_ns_name(de->d_name, ns, sizeof(ns));
			if (pid != 0 && lab_pid_alive(pid) &&
			    (lab_pid_in_ns(pid, ns) || lab_pid_is(pid, prog))) {
				bool dup = false;

				for (size_t i = 0; i < *n; i++)
					dup |= pids[i] == pid;
				if (!dup && *n < max)
					pids[(*n)++] = pid;
			}
		}
		closedir(rd);
	}
	closedir(d);
}

/* Removes pid files and sockets of DIR's machines. */
static void clean_run_dirs(void)
{
	struct dirent *de;
	DIR *d = opendir(state_dir);

	if (d == NULL)
		return;
	while ((de = readdir(d)) != NULL) {
		char path[PATH_MAX + 300];
		struct dirent *pe;
		struct stat st;
		DIR *rd;

		if (!machine_name(de->d_name))
			continue;
		/* The host daemon's socket lives in the host's directory itself. */
		path_of(path, sizeof(path), de->d_name, "hostd.sock");
		if (lstat(path, &st) == 0 && S_ISSOCK(st.st_mode))
			unlink(path);
		path_of(path, sizeof(path), de->d_name, "run");
		rd = opendir(path);
		if (rd == NULL)
			continue;
		while ((pe = readdir(rd)) != NULL) {
			char f[PATH_MAX + 600];

			if (pe->d_name[0] == '.')
				continue;
			snprintf(f, sizeof(f), "%s/%s", path, pe->d_name);
			if (lstat(f, &st) == 0 && !S_ISDIR(st.st_mode))
				unlink(f);
		}
		closedir(rd);
	}
	closedir(d);
}

/* Removes DPDK's runtime directories of lab dse-dpuds.  Returns how many failed. */
static int clean_dpdk(void)
{
	struct dirent *de;
	int failed = 0;
	DIR *d = opendir(DPDK_RUN_DIR);

	if (d == NULL)
		return 0;
	while ((de = readdir(d)) != NULL) {
		char path[PATH_MAX];

		if (strncmp(de->d_name, DPDK_PREFIX, strlen(DPDK_PREFIX)) != 0)
			continue;
		snprintf(path, sizeof(path), DPDK_RUN_DIR "/%s", de->d_name);
		if (lab_rm_rf(path) < 0) {
			fprintf(stderr, "dse-lab: cannot remove %s: %s\n", path, strerror(errno));
			failed++;
		}
	}
	closedir(d);
	return failed;
}

/* Removes DIR if everything in it is the lab's.  Returns 0 or -errno (printed). */
static int purge(void)
{
	struct dirent *de;
	DIR *d;
	int r;

	if (strcmp(state_dir, "/") == 0)
		return -EINVAL;
	d = opendir(state_dir);
	if (d == NULL)
		return errno == ENOENT ? 0 : -errno;
	while ((de = readdir(d)) != NULL) {
		const char *n = de->d_name;

		if (strcmp(n, ".") == 0 || strcmp(n, "..") == 0 ||
		    strcmp(n, "topology.json") == 0 || strncmp(n, "topology.json.tmp", 17) == 0 ||
		    machine_name(n))
			continue;
		fprintf(
		    stderr,
		    "dse-lab: not removing %s: \"%s\" in it is not the lab's (remove it by hand)\n",
		    state_dir, n);
		closedir(d);
		return -ENOTEMPTY;
	}
	closedir(d);
	r = lab_rm_rf(state_dir);
	if (r < 0)
		fprintf(stderr, "dse-lab: cannot remove %s: %s\n", state_dir, strerror(-r));
	return r;
}

static int cmd_down(int argc, char **argv)
{
	enum { O_STATE = 256, O_PURGE, O_TIMEOUT };
	static const struct option longopts[] = {
	    {"state", required_argument, NULL, O_STATE},
	    {"purge", no_argument, NULL, O_PURGE},
	    {"timeout", required_argument, NULL, O_TIMEOUT},
	    {"verbose", no_argument, NULL, 'v'},
	    {"help", no_argument, NULL, 'h'},
	    {NULL, 0, NULL, 0},
	};
	static pid_t pids[MAX_PIDS];
	const char *state = NULL;
	bool do_purge = false;
	int grace_ms = 5000, c, lock, failed = 0;
	long long t0 = lab_now_ms();
	char *names[256];
	size_t np = 0, nn;
	unsigned killed;

	while ((c = getopt_long(argc, argv, "+vh", longopts, NULL)) != -1) {
		switch (c) {
		case O_STATE:
			state = optarg;
			break;
		case O_PURGE:
			do_purge = true;
			break;
		case O_TIMEOUT:
			if (opt_int("--timeout", optarg, 0, 600, " seconds", &grace_ms) < 0)
				return 2;
			grace_ms *= 1000;
			break;
		case 'v':
			lab_verbose = true;
			break;
		case 'h':
			usage_down(stdout);
			return 0;
		default:
			die_usage("down ");
		}
	}
	if (optind < argc) {
		fprintf(stderr, "dse-lab down: unexpected argument \"%s\"\n", argv[optind]);
		die_usage("down ");
	}
	if (need_root() < 0 || resolve_state(state) < 0)
		return 1;
	lock = lock_lab();
	if (lock < 0)
		return 1;

	recorded_pids(pids, MAX_PIDS, &np);
	nn = lab_ns_list(names, 256);
	for (size_t i = 0; i < nn; i++)
		lab_pids_in_ns(names[i], pids, MAX_PIDS, &np);
	lab_pids_with_arg("--file-prefix=" DPDK_PREFIX, pids, MAX_PIDS, &np);
	killed = lab_kill_all(pids, np, grace_ms);
	for (size_t i = 0; i < np; i++) {
		if (lab_pid_alive(pids[i])) {
			fprintf(stderr, "dse-lab: process %d does not go away\n", (int)pids[i]);
			failed++;
		}
	}

	for (size_t i = 0; i < nn; i++) {
		if (lab_run("ip", "netns", "del", names[i], NULL) < 0)
			failed++;
		free(names[i]);
	}
	failed += clean_dpdk();
	clean_run_dirs();
	unlink(CURRENT_FILE);
	if (do_purge && purge() < 0)
		failed++;
	printf("lab down in %.1f s: stopped %zu process%s%s, removed %zu namespace%s%s\n",
	       (lab_now_ms() - t0) / 1000.0, np, np == 1 ? "" : "es",
	       killed ? " (some with SIGKILL)" : "", nn, nn == 1 ? "" : "s",
	       do_purge ? ", purged the state" : "");
	close(lock);
	if (failed) {
		fprintf(stderr, "dse-lab: %d thing%s could not be removed (see above)\n", failed,
			failed == 1 ? "" : "s");
		return 1;
	}
	return 0;
}

/* ---- status ---- */

static void usage_status(FILE *f)
{
	fprintf(f, "Usage: dse-lab status [--state DIR] [-j]\n"
		   "\n"
		   "Shows every machine of the lab in DIR (and any other lab namespace): its\n"
		   "namespace, its daemon (dse-hostd in hosts, dse-dpud in DPUs: pid and\n"
		   "whether it runs and answers on its socket), a DPU's identity and a VM's\n"
		   "address, MAC and the DPU it is attached to.\n"
		   "\n"
		   "Options:\n"
		   "  --state DIR  state directory (default: the lab that is up, else\n"
		   "               " DEFAULT_STATE ")\n"
		   "  -j, --json   JSON for scripts instead of the table\n"
		   "\n"
		   "Exit status: 0 when every machine exists and every expected daemon runs,\n"
		   "3 when the lab is missing or incomplete, 1 on error.\n");
}

/* Adds the process fields of 'prog' in 'machine' to 'm'; returns true if it runs. */
static bool status_process(json_t *m, const char *machine, const char *prog, const char *sock,
			   const char *method)
{
	char pidfile[PATH_MAX + 64], rel[64], log[PATH_MAX + 64];
	pid_t rec, pid;
	bool answers = false;

	snprintf(rel, sizeof(rel), "run/%s.pid", prog);
	path_of(pidfile, sizeof(pidfile), machine, rel);
	snprintf(rel, sizeof(rel), "log/%s.log", prog);
	path_of(log, sizeof(log), machine, rel);
	rec = lab_pid_read(pidfile);
	pid = running_pid(machine, prog);
	if (pid != 0)
		answers = lab_rpc_call(sock, method, 500, NULL) == 0;
	json_object_set_new(m, "process", json_string(prog));
	json_object_set_new(m, "pid", rec ? json_integer(rec) : json_null());
	json_object_set_new(m, "running", json_boolean(pid != 0));
	json_object_set_new(m, "answers", json_boolean(answers));
	json_object_set_new(m, "socket", json_string(sock));
	json_object_set_new(m, "log", json_string(log));
	return pid != 0;
}

static json_t *status_machine(const char *name, const char *kind, bool *complete)
{
	char ns[64];
	json_t *m;
	bool exists;

	lab_ns_name(name, ns, sizeof(ns));
	exists = lab_ns_exists(ns);
	if (!exists)
		*complete = false;
	m = json_pack("{s:s, s:s, s:s, s:b}", "name", name, "kind", kind, "namespace", ns, "exists",
		      exists);
	return m;
}

static void print_table(const json_t *st)
{
	const json_t *machines = json_object_get(st, "machines");
	size_t i;
	json_t *m;

	printf("state %s%s\n", json_string_value(json_object_get(st, "state")),
	       json_is_null(json_object_get(st, "topology")) ? " (no lab recorded)" : "");
	printf("%-8s %-6s %-5s %-10s %-8s %-9s %s\n", "MACHINE", "KIND", "NETNS", "PROCESS", "PID",
	       "STATE", "DETAILS");
	json_array_foreach(machines, i, m) {
		const char *kind = json_string_value(json_object_get(m, "kind"));
		const json_t *proc = json_object_get(m, "process");
		const json_t *pid = json_object_get(m, "pid");
		const json_t *id = json_object_get(m, "identity");
		char pidbuf[16] = "-", details[512] = "", state[16] = "-";

		if (json_is_integer(pid))
			snprintf(pidbuf, sizeof(pidbuf), "%d", (int)json_integer_value(pid));
		if (json_is_string(proc)) {
			if (json_is_true(json_object_get(m, "running")))
				snprintf(state, sizeof(state), "%s",
					 json_is_true(json_object_get(m, "answers")) ? "running"
										     : "starting");
			else
				snprintf(state, sizeof(state), "%s",
					 json_is_false(json_object_get(m, "available"))
					     ? "not built"
					     : "stopped");
		}
		if (id != NULL)
			snprintf(details, sizeof(details), "%s %s hw %s fw %s serial %s pci %s",
				 json_string_value(json_object_get(id, "vendor")),
				 json_string_value(json_object_get(id, "model")),
				 json_string_value(json_object_get(id, "hw_version")),
				 json_string_value(json_object_get(id, "fw_version")),
				 json_string_value(json_object_get(id, "serial")),
				 json_string_value(json_object_get(id, "pci")));
		else if (strcmp(kind, "vm") == 0) {
			const json_t *att = json_object_get(m, "attached");

			snprintf(details, sizeof(details), "%s %s, attached to %s",
				 json_string_value(json_object_get(m, "address")),
				 json_string_value(json_object_get(m, "mac")),
				 json_is_string(att) ? json_string_value(att) : "nothing");
		} else if (strcmp(kind, "fabric") == 0)
			snprintf(details, sizeof(details), "bridge tor");
		else if (strcmp(kind, "stray") == 0)
			snprintf(details, sizeof(details), "not part of the lab in this state dir");
		printf("%-8s %-6s %-5s %-10s %-8s %-9s %s\n",
		       json_string_value(json_object_get(m, "name")), kind,
		       json_is_true(json_object_get(m, "exists")) ? "yes" : "no",
		       json_is_string(proc) ? json_string_value(proc) : "-", pidbuf, state,
		       details);
	}
}

static int cmd_status(int argc, char **argv)
{
	enum { O_STATE = 256 };
	static const struct option longopts[] = {
	    {"state", required_argument, NULL, O_STATE},
	    {"json", no_argument, NULL, 'j'},
	    {"verbose", no_argument, NULL, 'v'},
	    {"help", no_argument, NULL, 'h'},
	    {NULL, 0, NULL, 0},
	};
	const char *state = NULL;
	bool json = false, complete = true, have_topo, have_hostd;
	char hostd[PATH_MAX], *names[256];
	struct lab_topo t;
	json_t *st, *machines;
	size_t nn;
	int c, r;

	while ((c = getopt_long(argc, argv, "+jvh", longopts, NULL)) != -1) {
		switch (c) {
		case O_STATE:
			state = optarg;
			break;
		case 'j':
			json = true;
			break;
		case 'v':
			lab_verbose = true;
			break;
		case 'h':
			usage_status(stdout);
			return 0;
		default:
			die_usage("status ");
		}
	}
	if (optind < argc) {
		fprintf(stderr, "dse-lab status: unexpected argument \"%s\"\n", argv[optind]);
		die_usage("status ");
	}
	if (resolve_state(state) < 0)
		return 1;
	r = load_state_topo(&t);
	if (r == -EINVAL)
		return 1;
	have_topo = r == 0;
	if (!have_topo)
		complete = false;
	have_hostd = find_prog(NULL, "../hostd/" HOSTD, HOSTD, hostd, sizeof(hostd)) == 0;

	machines = json_array();
	if (have_topo) {
		json_array_append_new(machines, status_machine("fabric", "fabric", &complete));
		for (unsigned h = 1; h <= t.n_hosts; h++) {
			char name[32], sock[PATH_MAX + 64];
			json_t *m;

			snprintf(name, sizeof(name), "h%u", h);
			m = status_machine(name, "host", &complete);
			path_of(sock, sizeof(sock), name, "hostd.sock");
			{
				char pidfile[PATH_MAX + 64];
				bool recorded;

				path_of(pidfile, sizeof(pidfile), name, "run/" HOSTD ".pid");
				recorded = file_exists(pidfile);
				if (!status_process(m, name, HOSTD, sock, "dpu.list") &&
				    (have_hostd || recorded))
					complete = false;
				json_object_set_new(m, "available",
						    json_boolean(have_hostd || recorded));
			}
			json_array_append_new(machines, m);
			for (unsigned n = 1; n <= t.hosts[h - 1].n_dpus; n++) {
				snprintf(name, sizeof(name), "h%u-d%u", h, n);
				m = status_machine(name, "dpu", &complete);
				path_of(sock, sizeof(sock), name, "run/dpud.sock");
				if (!status_process(m, name, DPUD, sock, "dp.show"))
					complete = false;
				json_object_set_new(m, "identity",
						    lab_dpu_to_json(&t.hosts[h - 1].dpus[n - 1]));
				json_array_append_new(machines, m);
			}
			for (unsigned v = 1; v <= t.hosts[h - 1].n_vms; v++) {
				char addr[32], mac[32], att[32];
				int d;

				snprintf(name, sizeof(name), "h%u-vm%u", h, v);
				m = status_machine(name, "vm", &complete);
				snprintf(addr, sizeof(addr), "198.18.%u.%u/16", h, v);
				snprintf(mac, sizeof(mac), "02:00:00:00:%02x:%02x", h, v);
				json_object_set_new(m, "address", json_string(addr));
				json_object_set_new(m, "mac", json_string(mac));
				{
					char hns[32];

					snprintf(hns, sizeof(hns), LAB_NS_PREFIX "h%u", h);
					d = lab_ns_exists(hns) ? lab_vm_attachment(h, v) : 0;
				}
				snprintf(att, sizeof(att), "h%u-d%d", h, d);
				json_object_set_new(m, "attached",
						    d > 0 ? json_string(att) : json_null());
				json_array_append_new(machines, m);
			}
		}
	}
	/* Lab namespaces that this state does not describe. */
	nn = lab_ns_list(names, 256);
	for (size_t i = 0; i < nn; i++) {
		bool known = false;
		size_t k;
		json_t *m;

		json_array_foreach(machines, k, m) {
			if (strcmp(json_string_value(json_object_get(m, "namespace")), names[i]) ==
			    0)
				known = true;
		}
		if (!known) {
			json_array_append_new(machines, json_pack("{s:s, s:s, s:s, s:b}", "name",
								  names[i] + strlen(LAB_NS_PREFIX),
								  "kind", "stray", "namespace",
								  names[i], "exists", 1));
			complete = false;
		}
		free(names[i]);
	}
	st = json_pack("{s:s, s:o, s:b, s:o}", "state", state_dir, "topology",
		       have_topo ? lab_topo_to_json(&t) : json_null(), "complete", complete,
		       "machines", machines);
	if (json) {
		char *text = json_dumps(st, JSON_INDENT(2));

		printf("%s\n", text);
		free(text);
	} else {
		print_table(st);
	}
	json_decref(st);
	return complete ? 0 : 3;
}

/* ---- exec ---- */

static void usage_exec(FILE *f)
{
	fprintf(f, "Usage: dse-lab exec MACHINE [--] CMD [ARG...]\n"
		   "\n"
		   "Runs CMD inside the network namespace of MACHINE (fabric, hH, hH-dN or\n"
		   "hH-vmV, namespace dse-MACHINE) through `ip netns exec`, with this\n"
		   "terminal, and exits with CMD's exit status.\n"
		   "\n"
		   "Exit status: CMD's; 125 if MACHINE is not a lab machine or its namespace\n"
		   "does not exist; 255 if CMD cannot be run.\n");
}

static void usage_fault(FILE *f)
{
	fprintf(f, "Usage: dse-lab fault [--state DIR] MACHINE kill|hang|resume|restart\n"
		   "       dse-lab fault [--state DIR] DPU cable-cut|cable-restore [UPLINK]\n"
		   "\n"
		   "Makes a fault, for trying failovers by hand and for tests.  MACHINE is a DPU\n"
		   "(hH-dN: its dse-dpud) or a host (hH: its dse-hostd):\n"
		   "  kill           SIGKILL: the process dies at once (a crash)\n"
		   "  hang           SIGSTOP: it stays, and answers nothing (a hang)\n"
		   "  resume         SIGCONT: a hung one runs again\n"
		   "  restart        kill, then 'dse-lab up' starts it again\n"
		   "  cable-cut      the fabric end of the DPU's uplink (hH-vmnicK) down, as a\n"
		   "                 cut cable: every uplink of the DPU, or only UPLINK (vmnicK)\n"
		   "  cable-restore  the same up again\n"
		   "       dse-lab fault [--state DIR] DPU sync-cut|sync-restore\n"
		   "       dse-lab fault [--state DIR] DPU sync-loss|sync-reorder PERMILLE\n"
		   "  sync-cut       the DPU's end of the sync link (sync0) down: the pair's\n"
		   "                 state sync stops both ways\n"
		   "  sync-restore   the same up again\n"
		   "  sync-loss      of what the DPU sends on the sync link, drop PERMILLE per\n"
		   "                 thousand (0: none; dse-dpud's fault hook, ha.fault.set)\n"
		   "  sync-reorder   ... hold back PERMILLE per thousand and send each after\n"
		   "                 the next one\n");
}

/* A fault of DPU hH-dN's sync link. */
static int fault_sync(unsigned h, unsigned n, const char *what, const char *arg)
{
	char ns[64], machine[32], sock[PATH_MAX], params[64], *end;
	json_t *res = NULL;
	long v = 0;
	int r;

	snprintf(machine, sizeof(machine), "h%u-d%u", h, n);
	if (strcmp(what, "sync-cut") == 0 || strcmp(what, "sync-restore") == 0) {
		bool up = strcmp(what, "sync-restore") == 0;

		if (arg) {
			fprintf(stderr, "dse-lab fault: %s takes no argument\n", what);
			return 2;
		}
		lab_ns_name(machine, ns, sizeof(ns));
		if (lab_run("ip", "-n", ns, "link", "set", "sync0", up ? "up" : "down", NULL) < 0)
			return 1;
		printf("%s: sync link %s\n", machine, up ? "restored" : "cut");
		return 0;
	}
	if (arg)
		v = strtol(arg, &end, 10);
	if (arg == NULL || *end != '\0' || v < 0 || v > 1000) {
		fprintf(stderr, "dse-lab fault: %s needs PERMILLE, 0 to 1000\n", what);
		return 2;
	}
	snprintf(params, sizeof(params), "{\"%s\": %ld}",
		 strcmp(what, "sync-loss") == 0 ? "loss" : "reorder", v);
	path_of(sock, sizeof(sock), machine, "run/dpud.sock");
	r = lab_rpc_call_params(sock, "ha.fault.set", params, 2000, &res);
	json_decref(res);
	if (r < 0) {
		fprintf(stderr, "dse-lab fault: ha.fault.set on %s: %s\n", sock, strerror(-r));
		return 1;
	}
	printf("%s: sync link %s %ld per thousand\n", machine,
	       strcmp(what, "sync-loss") == 0 ? "drops" : "reorders", v);
	return 0;
}

/* The uplinks vmnicK of DPU 'n' (K = 2n-2, 2n-1), or only 'only' when it is one of them. */
static int fault_cable(unsigned h, unsigned n, const char *only, bool up)
{
	int done = 0;

	for (unsigned k = 2 * n - 2; k <= 2 * n - 1; k++) {
		char dev[32], ns[64], vm[16];

		snprintf(vm, sizeof(vm), "vmnic%u", k);
		if (only && strcmp(only, vm) != 0)
			continue;
		snprintf(dev, sizeof(dev), "h%u-vmnic%u", h, k);
		lab_ns_name("fabric", ns, sizeof(ns));
		if (lab_run("ip", "-n", ns, "link", "set", dev, up ? "up" : "down", NULL) < 0)
			return -EIO;
		printf("%s: cable of %s %s\n", dev, vm, up ? "restored" : "cut");
		done++;
	}
	if (done == 0) {
		fprintf(stderr, "dse-lab fault: DPU h%u-d%u has no uplink %s (vmnic%u, vmnic%u)\n", h,
			n, only, 2 * n - 2, 2 * n - 1);
		return -ENOENT;
	}
	return 0;
}

static int cmd_fault(int argc, char **argv)
{
	static const struct option longopts[] = {
	    {"state", required_argument, NULL, 256},
	    {"verbose", no_argument, NULL, 'v'},
	    {"help", no_argument, NULL, 'h'},
	    {NULL, 0, NULL, 0},
	};
	const char *given = NULL, *machine, *what, *prog;
	unsigned h, n = 0;
	pid_t pid;
	char tail;
	int c, sig;

	while ((c = getopt_long(argc, argv, "vh", longopts, NULL)) != -1) {
		switch (c) {
		case 256:
			given = optarg;
			break;
		case 'v':
			lab_verbose = true;
			break;
		case 'h':
			usage_fault(stdout);
			return 0;
		default:
			fprintf(stderr, "Try 'dse-lab fault --help'.\n");
			return 2;
		}
	}
	if (argc - optind < 2 || argc - optind > 3) {
		fprintf(stderr, "dse-lab fault: needs MACHINE and a fault (dse-lab fault --help)\n");
		return 2;
	}
	machine = argv[optind];
	what = argv[optind + 1];
	if (sscanf(machine, "h%u-d%u%c", &h, &n, &tail) == 2 && n >= 1 && n <= 2)
		prog = DPUD;
	else if (sscanf(machine, "h%u%c", &h, &tail) == 1)
		prog = HOSTD;
	else {
		fprintf(stderr, "dse-lab fault: \"%s\" is neither a DPU (hH-dN) nor a host (hH)\n",
			machine);
		return 2;
	}
	if (geteuid() != 0) {
		fprintf(stderr, "dse-lab: needs root (it enters network namespaces)\n");
		return 1;
	}
	if (resolve_state(given) < 0)
		return 1;
	if (strcmp(what, "cable-cut") == 0 || strcmp(what, "cable-restore") == 0) {
		if (n == 0) {
			fprintf(stderr, "dse-lab fault: %s is for a DPU's uplinks, not a host\n", what);
			return 2;
		}
		return fault_cable(h, n, argc - optind == 3 ? argv[optind + 2] : NULL,
				   strcmp(what, "cable-restore") == 0)
			   ? 1
			   : 0;
	}
	if (strncmp(what, "sync-", 5) == 0) {
		if (n == 0) {
			fprintf(stderr, "dse-lab fault: %s is for a DPU's sync link, not a host\n",
				what);
			return 2;
		}
		return fault_sync(h, n, what, argc - optind == 3 ? argv[optind + 2] : NULL);
	}
	if (argc - optind == 3) {
		fprintf(stderr, "dse-lab fault: %s takes no UPLINK\n", what);
		return 2;
	}
	if (strcmp(what, "kill") == 0 || strcmp(what, "restart") == 0)
		sig = SIGKILL;
	else if (strcmp(what, "hang") == 0)
		sig = SIGSTOP;
	else if (strcmp(what, "resume") == 0)
		sig = SIGCONT;
	else {
		fprintf(stderr, "dse-lab fault: no fault \"%s\" (kill, hang, resume, restart, "
				"cable-cut, cable-restore, sync-cut, sync-restore, sync-loss, "
				"sync-reorder)\n",
			what);
		return 2;
	}
	pid = running_pid(machine, prog);
	if (pid == 0 && strcmp(what, "restart") != 0) {
		fprintf(stderr, "dse-lab fault: no %s runs in %s (dse-lab status)\n", prog,
			machine);
		return 1;
	}
	if (pid != 0) {
		if (kill(pid, sig) < 0) {
			fprintf(stderr, "dse-lab fault: %s %d: %s\n", prog, (int)pid, strerror(errno));
			return 1;
		}
		printf("%s of %s (pid %d): %s\n", prog, machine, (int)pid, what);
	}
	if (strcmp(what, "restart") == 0) {
		char *up[] = {"up", "--state", state_dir, NULL};

		if (pid != 0)
			lab_kill_all(&pid, 1, 5000); /* gone before up looks */
		optind = 1;
		return cmd_up(3, up);
	}
	return 0;
}

static void usage_attach(FILE *f)
{
	fprintf(f, "Usage: dse-lab attach [--state DIR] VM DPU\n"
		   "\n"
		   "Moves the attachment of VM (vmV or hH-vmV) to DPU hH-dN of its host: what\n"
		   "the VM sends goes to that DPU's representor from now on, and what either\n"
		   "DPU sends to the VM still reaches it.  One tc filter replaced in place, as\n"
		   "a failover does (dse-hostd runs it as its --attach-hook).  Nothing inside\n"
		   "the VM changes.\n");
}

static int cmd_attach(int argc, char **argv)
{
	static const struct option longopts[] = {
	    {"state", required_argument, NULL, 256},
	    {"verbose", no_argument, NULL, 'v'},
	    {"help", no_argument, NULL, 'h'},
	    {NULL, 0, NULL, 0},
	};
	unsigned h, v, dh, d, vh = 0;
	char ns[300], tail;
	int c;

	while ((c = getopt_long(argc, argv, "vh", longopts, NULL)) != -1) {
		switch (c) {
		case 256: /* the namespaces do not depend on the state dir */
			break;
		case 'v':
			lab_verbose = true;
			break;
		case 'h':
			usage_attach(stdout);
			return 0;
		default:
			fprintf(stderr, "Try 'dse-lab attach --help'.\n");
			return 2;
		}
	}
	if (argc - optind != 2) {
		fprintf(stderr, "dse-lab attach: needs VM and DPU (dse-lab attach vm1 h1-d2)\n");
		return 2;
	}
	if (sscanf(argv[optind + 1], "h%u-d%u%c", &dh, &d, &tail) != 2 || d < 1 || d > 2) {
		fprintf(stderr, "dse-lab attach: \"%s\" is not a DPU of the lab (hH-d1, hH-d2)\n",
			argv[optind + 1]);
		return 2;
	}
	if (sscanf(argv[optind], "h%u-vm%u%c", &vh, &v, &tail) != 2 &&
	    sscanf(argv[optind], "vm%u%c", &v, &tail) != 1) {
		fprintf(stderr, "dse-lab attach: \"%s\" is not a VM of the lab (vmV, hH-vmV)\n",
			argv[optind]);
		return 2;
	}
	h = vh ? vh : dh;
	if (h != dh) {
		fprintf(stderr, "dse-lab attach: VM %s is on host %u, DPU %s on host %u\n",
			argv[optind], h, argv[optind + 1], dh);
		return 2;
	}
	if (geteuid() != 0) {
		fprintf(stderr, "dse-lab: needs root (it enters network namespaces)\n");
		return 1;
	}
	snprintf(ns, sizeof(ns), "h%u-vm%u", h, v);
	{
		char full[300];

		lab_ns_name(ns, full, sizeof(full));
		if (!lab_ns_exists(full)) {
			fprintf(stderr, "dse-lab attach: no VM %s in the lab that is up\n", ns);
			return 1;
		}
	}
	if (lab_vm_attach(h, v, d) < 0) {
		fprintf(stderr, "dse-lab attach: cannot attach %s to h%u-d%u\n", ns, h, d);
		return 1;
	}
	printf("attached %s to h%u-d%u\n", ns, h, d);
	return 0;
}

static int cmd_exec(int argc, char **argv)
{
	static const struct option longopts[] = {
	    {"state", required_argument, NULL, 256},
	    {"verbose", no_argument, NULL, 'v'},
	    {"help", no_argument, NULL, 'h'},
	    {NULL, 0, NULL, 0},
	};
	const char *full[256];
	char ns[300], ip[PATH_MAX], cmd[PATH_MAX];
	int c, n = 0;

	while ((c = getopt_long(argc, argv, "+vh", longopts, NULL)) != -1) {
		switch (c) {
		case 256: /* the namespaces do not depend on the state dir */
			break;
		case 'v':
			lab_verbose = true;
			break;
		case 'h':
			usage_exec(stdout);
			return 0;
		default:
			fprintf(stderr, "Try 'dse-lab exec --help'.\n");
			return 125;
		}
	}
	if (optind >= argc) {
		fprintf(stderr, "dse-lab exec: which machine? (fabric, h1, h1-d1, h1-vm1, ...)\n");
		return 125;
	}
	lab_ns_name(argv[optind], ns, sizeof(ns));
	if (!lab_ns_is_ours(ns) ||
	    (strcmp(argv[optind], "fabric") != 0 && !machine_name(argv[optind]))) {
		fprintf(stderr,
			"dse-lab exec: \"%s\" is not a lab machine (fabric, hH, hH-dN, hH-vmV)\n",
			argv[optind]);
		return 125;
	}
	optind++;
	if (optind < argc && strcmp(argv[optind], "--") == 0)
		optind++;
	if (optind >= argc) {
		fprintf(stderr, "dse-lab exec: no command given\n");
		return 125;
	}
	if (geteuid() != 0) {
		fprintf(stderr, "dse-lab: needs root (it enters network namespaces)\n");
		return 125;
	}
	if (!lab_ns_exists(ns)) {
		fprintf(stderr, "dse-lab exec: %s does not exist (is the lab up?)\n", ns);
		return 125;
	}
	if (lab_which("ip", ip, sizeof(ip)) < 0) {
		fprintf(stderr, "dse-lab exec: ip: command not found\n");
		return 125;
	}
	if (lab_which(argv[optind], cmd, sizeof(cmd)) < 0) {
		fprintf(stderr, "dse-lab exec: %s: command not found\n", argv[optind]);
		return 127;
	}
	full[n++] = "ip";
	full[n++] = "netns";
	full[n++] = "exec";
	full[n++] = ns;
	for (int i = optind; i < argc && n < 255; i++)
		full[n++] = argv[i];
	full[n] = NULL;
	execv(ip, (char *const *)full);
	fprintf(stderr, "dse-lab exec: cannot run %s: %s\n", ip, strerror(errno));
	return 125;
}

/* ---- main ---- */

static void usage(FILE *f)
{
	fprintf(f, "Usage: dse-lab [--state DIR] [-v] VERB [options]\n"
		   "\n"
		   "Builds and tears down dse's emulated data centre on this machine: network\n"
		   "namespaces and veth pairs for the fabric (bridge 'tor'), every host, every\n"
		   "DPU and every VM, with dse-dpud running in each DPU and dse-hostd in each\n"
		   "host (docs/host-side.md).  Only 198.18.0.0/15 and 169.254.0.0/16 are used,\n"
		   "only inside the lab's namespaces (dse-fabric, dse-hH...).  Needs root.\n"
		   "\n"
		   "Verbs:\n"
		   "  up       build the lab, or check and repair it, and wait until it is ready\n"
		   "  down     stop the lab's processes and remove everything it made\n"
		   "  status   show what exists and what runs (-j: JSON)\n"
		   "  exec     run a command in a machine: dse-lab exec h1-vm1 -- ping ...\n"
		   "  attach   move a VM's attachment to a DPU: dse-lab attach vm1 h1-d2\n"
		   "  fault    make a fault: dse-lab fault h1-d1 kill|hang|resume|restart|cable-cut\n"
		   "  help     help on a verb: dse-lab help up (or dse-lab up --help)\n"
		   "\n"
		   "Machines: fabric, hH (host H), hH-dN (DPU N of host H), hH-vmV (VM V of\n"
		   "host H); the namespace of a machine is dse-<machine>.\n"
		   "\n"
		   "Options:\n"
		   "  --state DIR    state directory (default: the one of the lab that is up,\n"
		   "                 recorded in " CURRENT_FILE ", else " DEFAULT_STATE ")\n"
		   "  -v, --verbose  print every command dse-lab runs\n"
		   "  --version      print the version\n"
		   "  -h, --help     this help\n");
}

int main(int argc, char **argv)
{
	static const struct option longopts[] = {
	    {"state", required_argument, NULL, 256},
	    {"verbose", no_argument, NULL, 'v'},
	    {"version", no_argument, NULL, 257},
	    {"help", no_argument, NULL, 'h'},
	    {NULL, 0, NULL, 0},
	};
	const char *state = NULL, *verb;
	char *vargv[512];
	int c, vargc = 0;

	signal(SIGPIPE, SIG_IGN);
	/* Progress on stderr and results on stdout stay in order in a log. */
	setvbuf(stdout, NULL, _IOLBF, 0);
	while ((c = getopt_long(argc, argv, "+vh", longopts, NULL)) != -1) {
		switch (c) {
		case 256:
			state = optarg;
			break;
		case 'v':
			lab_verbose = true;
			break;
		case 257:
			printf("dse-lab %s\n", DSE_VERSION);
			return 0;
		case 'h':
			usage(stdout);
			return 0;
		default:
			die_usage(NULL);
		}
	}
	if (optind >= argc) {
		usage(stderr);
		return 2;
	}
	verb = argv[optind];
	if (strcmp(verb, "help") == 0) {
		const char *what = optind + 1 < argc ? argv[optind + 1] : "";

		if (strcmp(what, "up") == 0)
			usage_up(stdout);
		else if (strcmp(what, "down") == 0)
			usage_down(stdout);
		else if (strcmp(what, "status") == 0)
			usage_status(stdout);
		else if (strcmp(what, "exec") == 0)
			usage_exec(stdout);
		else if (strcmp(what, "attach") == 0)
			usage_attach(stdout);
		else if (strcmp(what, "fault") == 0)
			usage_fault(stdout);
		else
			usage(stdout);
		return 0;
	}
	/* The verb's own getopt sees a global --state as if given after the verb. */
	vargv[vargc++] = argv[optind];
	if (state != NULL && strcmp(verb, "exec") != 0) {
		vargv[vargc++] = "--state";
		vargv[vargc++] = (char *)state;
	}
	for (int i = optind + 1; i < argc && vargc < 511; i++)
		vargv[vargc++] = argv[i];
	vargv[vargc] = NULL;
	optind = 1;
	if (strcmp(verb, "up") == 0)
		return cmd_up(vargc, vargv);
	if (strcmp(verb, "down") == 0)
		return cmd_down(vargc, vargv);
	if (strcmp(verb, "status") == 0)
		return cmd_status(vargc, vargv);
	if (strcmp(verb, "exec") == 0)
		return cmd_exec(vargc, vargv);
	if (strcmp(verb, "attach") == 0)
		return cmd_attach(vargc, vargv);
	if (strcmp(verb, "fault") == 0)
		return cmd_fault(vargc, vargv);
	fprintf(stderr,
		"dse-lab: unknown verb \"%s\" (up, down, status, exec, attach, fault, help)\n", verb);
	die_usage(NULL);
	return 2;
}
