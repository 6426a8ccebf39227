/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * dse-dpud: the DPU datapath daemon.  Starts DPDK's EAL, builds the packet
 * graph, runs it on one worker lcore and serves JSON-RPC on the main lcore.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <limits.h>
#include <getopt.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <rte_eal.h>
#include <rte_ethdev.h>
#include <rte_lcore.h>

#include "certs.h"
#include "devargs.h"
#include "dp.h"
#include "ha.h"
#include "jsonrpc.h"
#include "log.h"
#include "module.h"
#include "node.h"
#include "port.h"
#include "rpc.h"
#include "rpc_events.h"
#include "tls.h"
#include "version.h"

#define MAX_EAL_ARGS 64

static volatile sig_atomic_t quit;

static void on_signal(int sig)
{
	(void)sig;
	quit = 1;
}

static void usage(FILE *f, const char *prog)
{
	fprintf(f,
		"Usage: %s [EAL options] -- [options]\n"
		"\n"
		"The dse datapath: a virtual switch on DPDK's graph library, controlled\n"
		"over JSON-RPC 2.0 on a Unix socket and, with --mgmt, over TLS 1.3 with\n"
		"mutual authentication (one JSON object per line).\n"
		"\n"
		"EAL options are DPDK's (see dpdk-testpmd --help); dse-dpud needs one\n"
		"lcore more than it has workers: the first serves the control socket,\n"
		"the next --workers forward.\n"
		"\n"
		"Options:\n"
		"  --rpc PATH           control socket (default /run/dse/dpud.sock)\n"
		"  --mgmt ADDR:PORT     also serve the methods over TLS 1.3 on TCP, e.g.\n"
		"                       169.254.1.6:7300 (IPv4); needs --tls-dir, since\n"
		"                       the control channel is never plain\n"
		"  --tls-dir DIR        DIR/ca.pem (the host CA), DIR/cert.pem and\n"
		"                       DIR/key.pem (this DPU's certificate from it: CN =\n"
		"                       its name, extended key usage serverAuth only);\n"
		"                       the only client served is the host's control\n"
		"                       identity (a certificate of that CA with CN\n"
		"                       " DSE_TLS_HOST_CN ", clientAuth only)\n"
		"  --identity FILE      the DPU's identity for dp.identity: a JSON object\n"
		"                       with the strings vendor, model, hw_version,\n"
		"                       fw_version, serial and pci\n"
		"  --config FILE        replay the JSON array of calls in FILE at start\n"
		"                       (the format config.save writes); a failing call\n"
		"                       stops the start with its error\n"
		"  --ports-allow FILE   the interfaces port.add may open as net_af_packet\n"
		"                       ports: one name per line, '#' starts a comment;\n"
		"                       without it no interface can be opened\n"
		"  --test-devices       also let port.add create the test devices\n"
		"                       net_pcap (pcap files), net_null and net_ring, from\n"
		"                       the control socket and --config only, never over\n"
		"                       TLS (tests and benchmarks)\n"
		"  --test-clock         serve the clock.* methods that freeze and advance\n"
		"                       the datapath clock (tests), on the control\n"
		"                       socket only, never over TLS\n"
		"  --workers N          forwarding lcores (default 1, at most 16): each\n"
		"                       polls its own receive queue of every port and\n"
		"                       sends on its own transmit queue; net_af_packet\n"
		"                       ports get one queue pair per worker\n"
		"  --lab                lab defaults: add the EAL options --no-huge -m 256\n"
		"                       --no-pci --no-shconf, one lcore per worker and one\n"
		"                       more (-l 0,1 with one worker) and --file-prefix\n"
		"                       dse-PID unless given, and sleep adaptively when idle\n"
		"  --busy-poll          never sleep when idle (benchmarks)\n"
		"  --ha-faults          let ha.fault.set inject loss, reordering and cuts\n"
		"                       into the HA sync link (the lab and the tests)\n"
		"  --idle-sleep-max US  longest idle sleep in microseconds (default 500)\n"
		"  --mbufs N            packet buffers (default 16383)\n"
		"  --fdb-size N         FDB capacity in entries (default 16384)\n"
		"  --flow-cache N       flow cache entries (default 65536)\n"
		"  --conn-table N       connection tracking capacity (default 65536;\n"
		"                       about 200 bytes of DPDK memory per connection)\n"
		"  --frag-table N       datagrams of firewalled segments reassembled at\n"
		"                       once (default 256; each holds up to 8 fragments)\n"
		"  --frag-timeout S     seconds a datagram may take to arrive whole\n"
		"                       (default 5)\n"
		"  --log-level LEVEL    err, warn, notice (default), info or debug\n"
		"  --version            print the version and exit\n"
		"  -h, --help           print this help and exit\n"
		"\n"
		"Ports, segments and FDB entries are added over the socket or by\n"
		"--config; 'rpc.list' lists every method.  docs/api.md has the details\n"
		"(and which devargs port.add takes).\n",
		prog);
}

struct opts {
	const char *rpc_path;
	const char *mgmt;        /* --mgmt as given, for messages */
	char mgmt_addr[INET_ADDRSTRLEN];
	uint16_t mgmt_port;
	const char *tls_dir;
	const char *identity;
	const char *config;
	const char *ports_allow;
	bool test_devices;
	bool test_clock;
	bool lab;
	bool busy_poll;
	unsigned workers;
	unsigned idle_sleep_max_us;
	unsigned mbufs;
	unsigned fdb_size;
	unsigned flow_cache;
	unsigned conn_table;
	unsigned frag_table;
	unsigned frag_timeout_s;
};

static int parse_uint(const char *opt, const char *s, unsigned min, unsigned max, unsigned *ret)
{
	char *end;
	unsigned long v;

	errno = 0;
	v = strtoul(s, &end, 10);
	if (errno || *end || end == s || v < min || v > max) {
		fprintf(stderr, "dse-dpud: %s must be a number from %u to %u, not '%s'\n", opt, min,
			max, s);
		return -EINVAL;
	}
	*ret = (unsigned)v;
	return 0;
}

/* Parses --mgmt's "IPV4:PORT" into 'o'. */
static int parse_mgmt(const char *s, struct opts *o)
{
	const char *colon = strrchr(s, ':');
	struct in_addr a;
	size_t alen;
	unsigned port;

	o->mgmt = s;
	if (colon == NULL || colon == s || colon[1] == '\0') {
		fprintf(stderr,
			"dse-dpud: --mgmt must be IPV4:PORT like 169.254.1.6:7300, not '%s'\n", s);
		return -EINVAL;
	}
	alen = (size_t)(colon - s);
	if (alen >= sizeof(o->mgmt_addr)) {
		fprintf(stderr, "dse-dpud: --mgmt: '%.*s' is not an IPv4 address\n", (int)alen, s);
		return -EINVAL;
	}
	memcpy(o->mgmt_addr, s, alen);
	o->mgmt_addr[alen] = '\0';
	if (inet_pton(AF_INET, o->mgmt_addr, &a) != 1) {
		fprintf(stderr, "dse-dpud: --mgmt: '%s' is not an IPv4 address like 169.254.1.6\n",
			o->mgmt_addr);
		return -EINVAL;
	}
	if (parse_uint("--mgmt port", colon + 1, 1, 65535, &port) < 0)
		return -EINVAL;
	o->mgmt_port = (uint16_t)port;
	return 0;
}

/* Parses our options (argv after "--").  Returns 0, 1 to exit successfully, or -EINVAL. */
static int parse_opts(int argc, char **argv, struct opts *o)
{
	enum {
		O_RPC = 256, O_MGMT, O_TLS_DIR, O_IDENTITY, O_CONFIG, O_LAB, O_BUSY, O_HA_FAULTS, O_IDLE,
		O_MBUFS, O_FDB, O_FLOW, O_LOG, O_VER, O_CONN, O_ALLOW, O_TESTDEV,
		O_FRAG_TABLE, O_FRAG_TIMEOUT, O_TESTCLOCK, O_WORKERS
	};
	static const struct option longopts[] = {
		{"rpc", required_argument, NULL, O_RPC},
		{"mgmt", required_argument, NULL, O_MGMT},
		{"tls-dir", required_argument, NULL, O_TLS_DIR},
		{"identity", required_argument, NULL, O_IDENTITY},
		{"config", required_argument, NULL, O_CONFIG},
		{"ports-allow", required_argument, NULL, O_ALLOW},
		{"test-devices", no_argument, NULL, O_TESTDEV},
		{"test-clock", no_argument, NULL, O_TESTCLOCK},
		{"lab", no_argument, NULL, O_LAB},
		{"workers", required_argument, NULL, O_WORKERS},
		{"busy-poll", no_argument, NULL, O_BUSY},
		{"ha-faults", no_argument, NULL, O_HA_FAULTS},
		{"idle-sleep-max", required_argument, NULL, O_IDLE},
		{"mbufs", required_argument, NULL, O_MBUFS},
		{"fdb-size", required_argument, NULL, O_FDB},
		{"flow-cache", required_argument, NULL, O_FLOW},
		{"conn-table", required_argument, NULL, O_CONN},
		{"frag-table", required_argument, NULL, O_FRAG_TABLE},
		{"frag-timeout", required_argument, NULL, O_FRAG_TIMEOUT},
		{"log-level", required_argument, NULL, O_LOG},
		{"version", no_argument, NULL, O_VER},
		{"help", no_argument, NULL, 'h'},
		{NULL, 0, NULL, 0},
	};
	enum dse_log_level level;
	int c;

	optind = 1;
	while ((c = getopt_long(argc, argv, "h", longopts, NULL)) != -1) {
		switch (c) {
		case O_RPC:
			o->rpc_path = optarg;
			break;
		case O_MGMT:
			if (parse_mgmt(optarg, o) < 0)
				return -EINVAL;
			break;
		case O_TLS_DIR:
			o->tls_dir = optarg;
			break;
		case O_IDENTITY:
			o->identity = optarg;
			break;
		case O_CONFIG:
			o->config = optarg;
			break;
		case O_ALLOW:
			o->ports_allow = optarg;
			break;
		case O_TESTDEV:
			o->test_devices = true;
			break;
		case O_TESTCLOCK:
			o->test_clock = true;
			break;
		case O_LAB:
			o->lab = true;
			break;
		case O_HA_FAULTS:
			dse_ha_allow_faults();
			break;
		case O_BUSY:
			o->busy_poll = true;
			break;
		case O_WORKERS:
			if (parse_uint("--workers", optarg, 1, DSE_MAX_WORKERS, &o->workers) < 0)
				return -EINVAL;
			break;
		case O_IDLE:
			if (parse_uint("--idle-sleep-max", optarg, 1, 100000,
				       &o->idle_sleep_max_us) < 0)
				return -EINVAL;
			break;
		case O_MBUFS:
			if (parse_uint("--mbufs", optarg, 1023, 1u << 22, &o->mbufs) < 0)
				return -EINVAL;
			break;
		case O_FDB:
			if (parse_uint("--fdb-size", optarg, 8, 1u << 20, &o->fdb_size) < 0)
				return -EINVAL;
			break;
		case O_CONN:
			if (parse_uint("--conn-table", optarg, 64, 1u << 24, &o->conn_table) < 0)
				return -EINVAL;
			break;
		case O_FLOW:
			if (parse_uint("--flow-cache", optarg, 64, 1u << 24, &o->flow_cache) < 0)
				return -EINVAL;
			break;
		case O_FRAG_TABLE:
			if (parse_uint("--frag-table", optarg, 1, 1u << 16, &o->frag_table) < 0)
				return -EINVAL;
			break;
		case O_FRAG_TIMEOUT:
			if (parse_uint("--frag-timeout", optarg, 1, 120, &o->frag_timeout_s) < 0)
				return -EINVAL;
			break;
		case O_LOG:
			if (dse_log_level_parse(optarg, &level) < 0) {
				fprintf(stderr, "dse-dpud: --log-level must be err, warn, notice, "
						"info or debug\n");
				return -EINVAL;
			}
			dse_log_set_level(level);
			break;
		case O_VER:
			printf("dse-dpud %s\n", DSE_VERSION);
			return 1;
		case 'h':
			usage(stdout, "dse-dpud");
			return 1;
		default:
			fprintf(stderr, "Try 'dse-dpud -- --help'.\n");
			return -EINVAL;
		}
	}
	if (optind < argc) {
		fprintf(stderr, "dse-dpud: unexpected argument '%s'\n", argv[optind]);
		return -EINVAL;
	}
	if (o->mgmt && o->tls_dir == NULL) {
		fprintf(stderr, "dse-dpud: --mgmt needs --tls-dir DIR (ca.pem, cert.pem, key.pem): "
				"the control channel is never plain\n");
		return -EINVAL;
	}
	return 0;
}

/*
 * Loads --identity and --ports-allow and checks --tls-dir before DPDK
 * starts, so a bad file fails at once with its own message.  Fills 'tls'
 * from --tls-dir.
 */
static int load_identity_and_tls(const struct opts *o, struct dse_tls_paths *paths,
				 struct dse_tls_conf *tls)
{
	char err[1024], cn[256];
	SSL_CTX *ctx;
	int r;

	if (o->identity) {
		r = dse_dpud_identity_load(o->identity, err, sizeof(err));
		if (r < 0) {
			fprintf(stderr, "dse-dpud: --identity %s\n", err);
			return r;
		}
	}
	if (o->ports_allow) {
		r = dse_devargs_allow_load(o->ports_allow, err, sizeof(err));
		if (r < 0) {
			fprintf(stderr, "dse-dpud: --ports-allow %s\n", err);
			return r;
		}
	}
	dse_devargs_set_test_devices(o->test_devices);
	if (o->tls_dir == NULL)
		return 0;
	if (dse_tls_conf_dir(o->tls_dir, paths, tls) < 0) {
		fprintf(stderr, "dse-dpud: --tls-dir: path too long\n");
		return -ENAMETOOLONG;
	}
	r = dse_tls_server_ctx_new(tls, &ctx, err, sizeof(err));
	if (r < 0) {
		fprintf(stderr, "dse-dpud: --tls-dir %s: %s\n", o->tls_dir, err);
		return r;
	}
	SSL_CTX_free(ctx);
	r = dse_cert_read_cn(tls->cert_file, cn, sizeof(cn), err, sizeof(err));
	if (r < 0 || dse_dpud_identity_set_name(cn) < 0) {
		fprintf(stderr, "dse-dpud: --tls-dir %s: %s\n", o->tls_dir,
			r < 0 ? err : "name too long");
		return r < 0 ? r : -ENAMETOOLONG;
	}
	return 0;
}

static bool has_arg(int argc, char **argv, const char *const *names)
{
	for (int i = 1; i < argc; i++)
		for (const char *const *n = names; *n; n++)
			if (strncmp(argv[i], *n, strlen(*n)) == 0)
				return true;
	return false;
}

/* Adds the lab's EAL defaults that the user did not give; 'workers' forwarding lcores. */
static int lab_eal_args(int argc, char **argv, char **out, int max, unsigned workers)
{
	static const char *const mem[] = {"-m", "--socket-mem", NULL};
	static const char *const cores[] = {"-l", "-c", "--lcores", NULL};
	static const char *const prefix[] = {"--file-prefix", NULL};
	static const char *const huge[] = {"--no-huge", NULL};
	static const char *const pci[] = {"--no-pci", "-a", "--allow", "-b", "--block", NULL};
	static const char *const shconf[] = {"--no-shconf", NULL};
	static char prefix_arg[64], lcores_arg[160];
	long ncpu = sysconf(_SC_NPROCESSORS_ONLN);
	int n = 0;

	for (int i = 0; i < argc && n < max; i++)
		out[n++] = argv[i];
	if (n + 8 > max)
		return -E2BIG;
	if (!has_arg(argc, argv, huge))
		out[n++] = "--no-huge";
	if (!has_arg(argc, argv, mem)) {
		out[n++] = "-m";
		out[n++] = "256";
	}
	if (!has_arg(argc, argv, pci))
		out[n++] = "--no-pci";
	if (!has_arg(argc, argv, shconf))
		out[n++] = "--no-shconf";
	if (!has_arg(argc, argv, cores)) {
		size_t len = 0;

		/*
		 * The control lcore and the workers, lcore i on CPU i modulo
		 * the CPUs there are (two lcores on a one-CPU machine share CPU 0).
		 */
		if (ncpu < 1)
			ncpu = 1;
		for (unsigned i = 0; i <= workers && len < sizeof(lcores_arg); i++)
			len += (size_t)snprintf(lcores_arg + len, sizeof(lcores_arg) - len, "%s%u@%ld",
						i ? "," : "", i, (long)i % ncpu);
		out[n++] = "--lcores";
		out[n++] = lcores_arg;
	}
	if (!has_arg(argc, argv, prefix)) {
		snprintf(prefix_arg, sizeof(prefix_arg), "--file-prefix=dse-%d", (int)getpid());
		out[n++] = prefix_arg;
	}
	return n;
}

/*
 * Removes the runtime directory EAL made for this process: its telemetry
 * socket (which EAL would unlink only at exit) and the directory itself if
 * nothing else is left in it.
 */
static void remove_rundir(const char *dir)
{
	char sock[PATH_MAX + 32];

	if (dir[0] == '\0')
		return;
	snprintf(sock, sizeof(sock), "%s/dpdk_telemetry.v2", dir);
	unlink(sock);
	rmdir(dir);
}

/*
 * One turn of the control thread: the event records, the modules' ticks,
 * then the server, waiting (at most 10 ms) on its fds and the modules'
 * when nobody has more to do.
 */
static void control_turn(struct dse_rpc_server *srv)
{
	struct pollfd fds[256];
	const struct pollfd *sfds;
	const uint64_t *ids;
	unsigned n, k;
	int timeout;
	bool busy = dse_events_tick();

	if (dse_modules_tick())
		busy = true;
	if (busy || dse_rpc_poll_prepare(srv, &sfds, &ids, &n, &timeout) < 0) {
		dse_rpc_poll(srv, busy ? 0 : 10);
		return;
	}
	n = RTE_MIN(n, (unsigned)RTE_DIM(fds) - 8);
	memcpy(fds, sfds, n * sizeof(fds[0]));
	int mfd[8];

	k = dse_modules_poll_fds(mfd, RTE_DIM(mfd));
	for (unsigned i = 0; i < k; i++)
		fds[n + i] = (struct pollfd){.fd = mfd[i], .events = POLLIN};
	if (timeout < 0 || timeout > 10)
		timeout = 10;
	poll(fds, n + k, timeout);
	dse_rpc_poll(srv, 0);
}

int main(int argc, char **argv)
{
	struct dse_rpc_method *methods = NULL;
	static char rundir[PATH_MAX];
	struct opts o = {
		.rpc_path = "/run/dse/dpud.sock",
		.idle_sleep_max_us = 500,
		.workers = 1,
		.mbufs = 16383,
		.fdb_size = 16384,
		.flow_cache = 65536,
		.conn_table = 65536,
		.frag_table = DSE_FRAG_MAX_DATAGRAMS_DEFAULT,
		.frag_timeout_s = DSE_FRAG_TIMEOUT_S_DEFAULT,
	};
	char *eal_argv[MAX_EAL_ARGS];
	struct dse_tls_paths tls_paths;
	struct dse_tls_conf tls = {0};
	struct dse_rpc_server *srv = NULL;
	int eal_argc = argc, sep = -1, r;
	char err[512];
	unsigned lcores[DSE_MAX_WORKERS];

	for (int i = 1; i < argc; i++) {
		if (strcmp(argv[i], "--") == 0) {
			sep = i;
			break;
		}
	}
	if (sep < 0) {
		/* No "--": only --help and --version make sense on their own. */
		for (int i = 1; i < argc; i++) {
			if (!strcmp(argv[i], "--help") || !strcmp(argv[i], "-h")) {
				usage(stdout, argv[0]);
				return 0;
			}
			if (!strcmp(argv[i], "--version")) {
				printf("dse-dpud %s\n", DSE_VERSION);
				return 0;
			}
		}
	} else {
		argv[sep] = argv[0];
		r = parse_opts(argc - sep, argv + sep, &o);
		argv[sep] = "--";
		if (r != 0)
			return r > 0 ? 0 : 2;
		eal_argc = sep;
	}
	if (load_identity_and_tls(&o, &tls_paths, &tls) < 0) {
		dse_dpud_identity_free();
		dse_devargs_allow_clear();
		return 2;
	}

	if (o.lab) {
		eal_argc = lab_eal_args(eal_argc, argv, eal_argv, MAX_EAL_ARGS, o.workers);
		if (eal_argc < 0) {
			fprintf(stderr, "dse-dpud: too many EAL arguments\n");
			return 2;
		}
	} else {
		if (eal_argc > MAX_EAL_ARGS) {
			fprintf(stderr, "dse-dpud: too many EAL arguments\n");
			return 2;
		}
		for (int i = 0; i < eal_argc; i++)
			eal_argv[i] = argv[i];
	}
	dp.idle_sleep = o.lab && !o.busy_poll;
	dp.idle_sleep_max_us = o.idle_sleep_max_us;

	if (dse_modules_init() < 0 || dse_nodes_register() < 0) {
		fprintf(stderr, "dse-dpud: could not register the graph nodes\n");
		return 1;
	}
	r = rte_eal_init(eal_argc, eal_argv);
	if (r < 0) {
		fprintf(stderr, "dse-dpud: DPDK EAL init failed: %s\n", rte_strerror(rte_errno));
		return 1;
	}
	/* EAL leaves its runtime directory behind: remember it to remove it at exit. */
	snprintf(rundir, sizeof(rundir), "%s", rte_eal_get_runtime_dir());
	for (unsigned i = 0, prev = rte_get_main_lcore(); i < o.workers; i++) {
		lcores[i] = prev = rte_get_next_lcore(prev, 1, 0);
		if (lcores[i] >= RTE_MAX_LCORE) {
			fprintf(stderr,
				"dse-dpud: %u worker%s need%s %u lcores besides the main one (for "
				"example EAL option -l 0-%u)\n",
				o.workers, o.workers == 1 ? "" : "s", o.workers == 1 ? "s" : "",
				o.workers, o.workers);
			rte_eal_cleanup();
			return 2;
		}
	}
	dse_devargs_set_queues(o.workers);
	r = dp_init(o.workers, o.mbufs, o.fdb_size, o.flow_cache, o.conn_table);
	if (r == 0)
		r = dp_frag_init(o.frag_table, o.frag_timeout_s);
	if (r < 0) {
		fprintf(stderr, "dse-dpud: datapath init failed: %s\n", strerror(-r));
		rte_eal_cleanup();
		return 1;
	}
	methods = dse_modules_methods(o.test_clock);
	srv = methods ? dse_rpc_server_new(methods, NULL) : NULL;
	if (srv == NULL)
		return 1;
	/* Every method is in the schema and served through its one decoder (api/README.md). */
	if (dse_rpc_server_set_api(srv, &dse_api_dpud, o.test_clock, err, sizeof(err)) < 0) {
		fprintf(stderr, "dse-dpud: %s\n", err);
		return 1;
	}
	r = dp_start(lcores);
	if (r < 0) {
		fprintf(stderr, "dse-dpud: could not start the worker: %s\n", strerror(-r));
		return 1;
	}
	if (o.config && dse_config_replay(srv, o.config) < 0) {
		fprintf(stderr, "dse-dpud: startup config %s failed (see the error above)\n",
			o.config);
		r = 1;
		goto out;
	}
	r = dse_rpc_listen(srv, o.rpc_path, 0600);
	if (r < 0) {
		fprintf(stderr, "dse-dpud: cannot listen on %s: %s%s\n", o.rpc_path, strerror(-r),
			r == -EADDRINUSE ? " (another dse-dpud serves it)" : "");
		r = 1;
		goto out;
	}
	if (o.mgmt) {
		char err[1024];

		r = dse_rpc_listen_tls(srv, o.mgmt_addr, o.mgmt_port, &tls, err, sizeof(err));
		if (r < 0) {
			fprintf(stderr, "dse-dpud: cannot serve the control channel on %s: %s\n",
				o.mgmt, err);
			r = 1;
			goto out;
		}
	}
	signal(SIGINT, on_signal);
	signal(SIGTERM, on_signal);
	signal(SIGPIPE, SIG_IGN);
	DSE_LOG_NOTICE("main", "dse-dpud %s ready on %s%s%s%s (%u worker%s from lcore %u%s)",
		       DSE_VERSION, o.rpc_path, o.mgmt ? " and " : "", o.mgmt ? o.mgmt : "",
		       o.mgmt ? " (TLS)" : "", o.workers, o.workers == 1 ? "" : "s", lcores[0],
		       dp.idle_sleep ? ", idle sleep" : ", busy poll");
	/*
	 * The event records are drained and the modules' ticks run between
	 * two turns of the server: at least every 10 ms, at once again while
	 * there is more to do.
	 */
	while (!quit)
		control_turn(srv);
	r = 0;
out:
	DSE_LOG_NOTICE("main", "stopping");
	dp_stop();
	dse_port_del_all();
	dse_rpc_server_free(srv);
	free(methods);
	dse_dpud_identity_free();
	dse_devargs_allow_clear();
	rte_eal_cleanup();
	remove_rundir(rundir);
	return r;
}
