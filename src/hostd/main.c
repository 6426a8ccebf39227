/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * dse-hostd: the host daemon.  Keeps the desired state in SQLite, discovers
 * and checks the host's DPUs, keeps each one configured over mutual TLS,
 * and serves dsectl on a Unix socket.  One thread and one event loop
 * (evloop.h) that never waits on anything: the API server is attached to
 * it (jsonrpc_loop.c), every DPU has a non-blocking connection on it
 * (dpu.h), and the API methods that ask the DPUs answer when their calls
 * complete (deferred answers, jsonrpc.h).
 *
 * 'dse-hostd cert issue' issues a DPU certificate from the host CA (the
 * lab's "install").
 */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <libgen.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include "certs.h"
#include "clock.h"
#include "dpu.h"
#include "dse_api.h"
#include "evloop.h"
#include "hostd.h"
#include "jsonrpc.h"
#include "log.h"
#include "paths.h"
#include "store.h"
#include "tls.h"
#include "version.h"

static volatile sig_atomic_t quit;

static void on_signal(int sig)
{
	(void)sig;
	quit = 1;
}

static void usage(FILE *f)
{
	fprintf(f,
		"Usage: dse-hostd --state DIR [--init] [--socket PATH] [--heartbeat-ms MS]\n"
		"                 [--heartbeat-misses N] [--attach-hook CMD] [--log-level LEVEL]\n"
		"       dse-hostd cert issue --state DIR --name NAME --out DIR\n"
		"\n"
		"The dse host daemon: keeps the host's desired state (switches, segments,\n"
		"VM ports, firewall, overlay) in DIR/hostd.db, discovers the DPUs on the\n"
		"internal links (interfaces int-*, the DPU at the far end on TCP %u),\n"
		"checks their identity and keeps each configured over JSON-RPC with\n"
		"mutual TLS.  dsectl talks to it on a Unix socket.\n"
		"\n"
		"At start the store gets SQLite's quick check; a store that is damaged or\n"
		"not a dse store is refused.  A state directory with a host CA but no\n"
		"store (hostd.db missing, or empty: 0 bytes) is refused too: the host's\n"
		"desired state is lost, and starting would push an empty one to its DPUs.\n"
		"Restore hostd.db, or start once with --init to begin with an empty one.\n"
		"\n"
		"Options:\n"
		"  --state DIR          state directory: hostd.db, the host CA (ca.pem,\n"
		"                       ca.key), the host's certificate (tls/)\n"
		"  --init               create the store (or fill an empty one) even though\n"
		"                       the host CA exists: a new host, or a host whose\n"
		"                       desired state is to start empty; an existing store\n"
		"                       is opened as it is\n"
		"  --socket PATH        API socket (default " DSE_HOSTD_SOCKET_DEFAULT ", where\n"
		"                       dsectl looks; mode 0600)\n"
		"  --heartbeat-ms MS    the interval of the heartbeats to each DPU, %d to %d\n"
		"                       (default %d); a heartbeat not answered within it is\n"
		"                       a miss\n"
		"  --heartbeat-misses N a DPU that answers nothing for N intervals is\n"
		"                       unreachable: its connection is closed and retried\n"
		"                       (1 to %d, default %d)\n"
		"  --attach-hook CMD    how the host moves a VM's attachment to another DPU\n"
		"                       at a failover of an active-standby switch: /bin/sh\n"
		"                       runs 'CMD VM DPU' (dse-lab gives its hosts 'dse-lab\n"
		"                       attach'); without it a failover moves no VM\n"
		"  --log-level LEVEL    err, warn, notice (default), info or debug\n"
		"  --version            print the version and exit\n"
		"  -h, --help           print this help and exit\n"
		"\n"
		"cert issue: issues a DPU certificate for NAME (its CN; extended key usage\n"
		"serverAuth only) from the host CA in DIR (creating the CA if needed) into\n"
		"OUT: cert.pem, key.pem, ca.pem.  Give the DPU's dse-dpud OUT as --tls-dir.\n"
		"The host's own certificate (tls/: CN %s, clientAuth only) is\n"
		"issued by the daemon; the DPUs serve no other client.\n"
		"\n"
		"Environment (tests only): DSE_HOSTD_TEST_ROW_DELAY_US=N sleeps N us after\n"
		"each row a change writes, so a test can kill the daemon mid-transaction.\n",
		DPU_PORT, DPU_HEARTBEAT_MS_MIN, DPU_HEARTBEAT_MS_MAX, DPU_HEARTBEAT_MS_DEFAULT,
		DPU_HEARTBEAT_MISSES_MAX, DPU_HEARTBEAT_MISSES_DEFAULT, DSE_TLS_HOST_CN);
}

/* Reads the integer of option 'opt' in [min, max], or says what is wrong and returns -1. */
static int int_option(const char *opt, const char *arg, long min, long max)
{
	char *end;
	long v;

	errno = 0;
	v = strtol(arg, &end, 10);
	if (errno || end == arg || *end || v < min || v > max) {
		fprintf(stderr, "dse-hostd: %s takes a whole number from %ld to %ld, not '%s'\n",
			opt, min, max, arg);
		return -1;
	}
	return (int)v;
}

static int mkdir_p(const char *path, mode_t mode)
{
	char buf[PATH_MAX];

	if (snprintf(buf, sizeof(buf), "%s", path) >= (int)sizeof(buf))
		return -ENAMETOOLONG;
	for (char *p = buf + 1; *p; p++) {
		if (*p != '/')
			continue;
		*p = '\0';
		if (mkdir(buf, 0755) < 0 && errno != EEXIST)
			return -errno;
		*p = '/';
	}
	if (mkdir(buf, mode) < 0 && errno != EEXIST)
		return -errno;
	return 0;
}

static int cert_main(int argc, char **argv)
{
	static const struct option opts[] = {
		{"state", required_argument, NULL, 's'},
		{"name", required_argument, NULL, 'n'},
		{"out", required_argument, NULL, 'o'},
		{"help", no_argument, NULL, 'h'},
		{NULL, 0, NULL, 0},
	};
	const char *state = NULL, *name = NULL, *out = NULL;
	char err[512];
	int c;

	if (argc < 2 || strcmp(argv[1], "issue") != 0) {
		if (argc >= 2 && (strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0)) {
			usage(stdout);
			return 0;
		}
		fprintf(stderr, "dse-hostd: 'cert' takes the verb 'issue': dse-hostd cert issue "
				"--state DIR --name NAME --out DIR\n");
		return 2;
	}
	optind = 2;
	while ((c = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
		switch (c) {
		case 's':
			state = optarg;
			break;
		case 'n':
			name = optarg;
			break;
		case 'o':
			out = optarg;
			break;
		case 'h':
			usage(stdout);
			return 0;
		default:
			fprintf(stderr, "dse-hostd: see dse-hostd --help\n");
			return 2;
		}
	}
	if (!state || !name || !out || optind != argc) {
		fprintf(stderr, "dse-hostd: cert issue needs --state DIR --name NAME --out DIR "
				"(and nothing else)\n");
		return 2;
	}
	if (dse_cert_issue(state, name, out, err, sizeof(err)) < 0) {
		fprintf(stderr, "dse-hostd: cannot issue a certificate for %s: %s\n", name, err);
		return 1;
	}
	printf("issued %s/cert.pem for %s from the CA in %s\n", out, name, state);
	return 0;
}

/*
 * Makes sure the host CA and the host's control identity (tls/, the client
 * certificate of tls.h's host role) exist.  A certificate of another role,
 * as the host had before the roles, is replaced: hostd owns it, and no DPU
 * would accept it.
 */
static int ensure_certs(const char *state, char *tls_dir, size_t len)
{
	char err[512], why[512], cert[PATH_MAX];
	int r;

	if (dse_ca_ensure(state, err, sizeof(err)) < 0) {
		DSE_LOG_ERR("hostd", "host CA in %s: %s", state, err);
		return -EINVAL;
	}
	if (snprintf(tls_dir, len, "%s/tls", state) >= (int)len ||
	    snprintf(cert, sizeof(cert), "%s/cert.pem", tls_dir) >= (int)sizeof(cert)) {
		DSE_LOG_ERR("hostd", "the state directory's path is too long: %s", state);
		return -ENAMETOOLONG;
	}
	r = dse_cert_check_file(cert, DSE_TLS_ROLE_HOST, why, sizeof(why));
	if (r == 0)
		return 0;
	if (dse_cert_issue_host(state, tls_dir, err, sizeof(err)) < 0) {
		DSE_LOG_ERR("hostd", "cannot issue the host's certificate: %s", err);
		return -EINVAL;
	}
	if (r == -ENOENT)
		DSE_LOG_NOTICE("hostd", "issued the host's control certificate '%s' in %s",
			       DSE_TLS_HOST_CN, tls_dir);
	else
		DSE_LOG_NOTICE("hostd",
			       "issued the host's control certificate '%s' again in %s: %s",
			       DSE_TLS_HOST_CN, tls_dir, why);
	return 0;
}

/* True when DIR holds (part of) a host CA: this host has been set up before. */
static bool host_ca_exists(const char *state)
{
	char path[PATH_MAX];

	for (const char *const *f = (const char *const[]){"ca.pem", "ca.key", NULL}; *f; f++)
		if (snprintf(path, sizeof(path), "%s/%s", state, *f) < (int)sizeof(path) &&
		    access(path, F_OK) == 0)
			return true;
	return false;
}

/* Takes DIR/hostd.lock, so that two daemons never share a state directory. */
static int lock_state(const char *state)
{
	char path[PATH_MAX];
	int fd;

	snprintf(path, sizeof(path), "%s/hostd.lock", state);
	fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0600);
	if (fd < 0)
		return -errno;
	if (flock(fd, LOCK_EX | LOCK_NB) < 0) {
		close(fd);
		return -EBUSY;
	}
	return fd;
}

int main(int argc, char **argv)
{
	static const struct option opts[] = {
		{"state", required_argument, NULL, 's'},
		{"socket", required_argument, NULL, 'S'},
		{"init", no_argument, NULL, 'I'},
		{"log-level", required_argument, NULL, 'l'},
		{"heartbeat-ms", required_argument, NULL, 'B'},
		{"heartbeat-misses", required_argument, NULL, 'M'},
		{"attach-hook", required_argument, NULL, 'A'},
		{"version", no_argument, NULL, 'V'},
		{"help", no_argument, NULL, 'h'},
		{NULL, 0, NULL, 0},
	};
	struct hostd h = {0};
	struct dse_tls_paths paths;
	struct dse_tls_conf tls;
	struct dse_rpc_server *srv = NULL;
	struct dse_rpc_server_loop *attached = NULL;
	struct dse_loop *loop = NULL;
	int heartbeat_ms = DPU_HEARTBEAT_MS_DEFAULT, heartbeat_misses = DPU_HEARTBEAT_MISSES_DEFAULT;
	const char *attach_hook = NULL;
	char tls_dir[PATH_MAX], err[1024];
	const char *delay;
	enum dse_log_level level;
	bool init = false;
	int c, r, lock_fd = -1, rc = 1;

	if (argc >= 2 && strcmp(argv[1], "cert") == 0)
		return cert_main(argc - 1, argv + 1);
	/* What the daemon writes (the store, its logs of SQLite) is for root only. */
	umask(077);
	while ((c = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
		switch (c) {
		case 's':
			h.state_dir = optarg;
			break;
		case 'S':
			h.socket_path = optarg;
			break;
		case 'I':
			init = true;
			break;
		case 'l':
			if (dse_log_level_parse(optarg, &level) < 0) {
				fprintf(stderr, "dse-hostd: --log-level takes err, warn, notice, "
						"info or debug\n");
				return 2;
			}
			dse_log_set_level(level);
			break;
		case 'B':
			heartbeat_ms = int_option("--heartbeat-ms", optarg, DPU_HEARTBEAT_MS_MIN,
						  DPU_HEARTBEAT_MS_MAX);
			if (heartbeat_ms < 0)
				return 2;
			break;
		case 'M':
			heartbeat_misses = int_option("--heartbeat-misses", optarg, 1,
						      DPU_HEARTBEAT_MISSES_MAX);
			if (heartbeat_misses < 0)
				return 2;
			break;
		case 'A':
			attach_hook = optarg;
			break;
		case 'V':
			printf("dse-hostd %s\n", DSE_VERSION);
			return 0;
		case 'h':
			usage(stdout);
			return 0;
		default:
			fprintf(stderr, "dse-hostd: see dse-hostd --help\n");
			return 2;
		}
	}
	if (h.state_dir == NULL || optind != argc) {
		fprintf(stderr, "dse-hostd: %s (dse-hostd --help)\n",
			h.state_dir ? "unexpected arguments" : "--state DIR is required");
		return 2;
	}
	if ((r = mkdir_p(h.state_dir, 0700)) < 0) {
		DSE_LOG_ERR("hostd", "cannot create the state directory %s: %s", h.state_dir,
			    strerror(-r));
		return 1;
	}
	lock_fd = lock_state(h.state_dir);
	if (lock_fd < 0) {
		DSE_LOG_ERR("hostd", "%s: %s", h.state_dir,
			    lock_fd == -EBUSY ? "another dse-hostd runs on this state directory: "
						"stop it first"
					      : strerror(-lock_fd));
		return 1;
	}
	if (h.socket_path == NULL)
		h.socket_path = DSE_HOSTD_SOCKET_DEFAULT;
	snprintf(h.db_path, sizeof(h.db_path), "%s/hostd.db", h.state_dir);
	h.start_ns = dse_clock_ns();

	/*
	 * A host CA means this host has had a store: one that is missing or
	 * empty now was lost, and only --init may start it empty.  The store
	 * logs its own failures; refusing a lost one is said here.
	 */
	r = store_open(h.db_path, init || !host_ca_exists(h.state_dir), &h.store, err, sizeof(err));
	if (r == -ENOENT || r == -ENODATA) {
		DSE_LOG_ERR("hostd",
			    "refusing to start: %s, but the host CA in %s exists: this host's "
			    "desired state is lost, and starting now would push an empty one to "
			    "its DPUs; restore %s from a backup, or start dse-hostd once with "
			    "--init to begin with an empty desired state",
			    err, h.state_dir, h.db_path);
		goto out;
	}
	if (r < 0) {
		DSE_LOG_ERR("hostd", "refusing to start: the store can not be used (see above)");
		goto out;
	}
	delay = getenv("DSE_HOSTD_TEST_ROW_DELAY_US");
	if (delay && atoi(delay) > 0)
		store_set_row_delay(h.store, (unsigned)atoi(delay));
	if (ensure_certs(h.state_dir, tls_dir, sizeof(tls_dir)) < 0 ||
	    dse_tls_conf_dir(tls_dir, &paths, &tls) < 0)
		goto out;
	loop = dse_loop_new();
	if (loop == NULL) {
		DSE_LOG_ERR("hostd", "cannot set up the event loop: %s", strerror(errno));
		goto out;
	}
	r = dpu_mgr_new(&(struct dpu_mgr_conf){.store = h.store,
					       .loop = loop,
					       .tls = &tls,
					       .port = DPU_PORT,
					       .connect_timeout_ms = 1000,
					       .call_timeout_ms = 1000,
					       .heartbeat_ms = heartbeat_ms,
					       .heartbeat_misses = heartbeat_misses,
					       .attach_hook = attach_hook},
			&h.dpus);
	if (r < 0)
		goto out;

	srv = dse_rpc_server_new(hostd_methods, &h);
	if (srv == NULL)
		goto out;
	/* Every method is in the schema and served through its one decoder (api/README.md). */
	if (dse_rpc_server_set_api(srv, &dse_api_hostd, false, err, sizeof(err)) < 0) {
		DSE_LOG_ERR("hostd", "%s", err);
		goto out;
	}
	{
		char dir[PATH_MAX];

		snprintf(dir, sizeof(dir), "%s", h.socket_path);
		mkdir_p(dirname(dir), 0755);
	}
	r = dse_rpc_listen(srv, h.socket_path, 0600);
	if (r < 0) {
		DSE_LOG_ERR("hostd", "cannot listen on %s: %s%s", h.socket_path, strerror(-r),
			    r == -EADDRINUSE ? " (another dse-hostd serves it)" : "");
		goto out;
	}
	signal(SIGINT, on_signal);
	signal(SIGTERM, on_signal);
	signal(SIGPIPE, SIG_IGN);
	DSE_LOG_NOTICE("hostd", "dse-hostd %s serving %s, store %s (revision %llu)", DSE_VERSION,
		       h.socket_path, h.db_path, (unsigned long long)store_revision(h.store));

	if (dse_rpc_server_loop_attach(srv, loop, &attached) < 0) {
		DSE_LOG_ERR("hostd", "cannot set up the event loop: %s", strerror(errno));
		goto out;
	}
	while (!quit) {
		r = dse_loop_run_once(loop, 1000);
		if (r < 0 && r != -EINTR) {
			DSE_LOG_ERR("hostd", "event loop: %s", strerror(-r));
			goto out;
		}
	}
	DSE_LOG_NOTICE("hostd", "stopping");
	rc = 0;
out:
	/* The DPUs first: the API calls still waiting on them are answered (cancelled). */
	dpu_mgr_free(h.dpus);
	dse_rpc_server_loop_detach(attached);
	dse_rpc_server_free(srv);
	dse_loop_free(loop);
	store_close(h.store);
	if (lock_fd >= 0)
		close(lock_fd);
	return rc;
}
