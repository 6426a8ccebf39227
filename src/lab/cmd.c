/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Running the lab's tools (ip, tc, sysctl, ethtool) and daemons: always an
 * argument vector through posix_spawn, never a shell; every exit status is
 * checked and a failure is reported with the command line and its stderr.
 * Also the small JSON-RPC client used to see that a daemon is ready.
 */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <spawn.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "lab.h"

extern char **environ;

bool lab_verbose;

/* Largest stdout kept from one command (ip -j output of a busy namespace fits). */
#define OUT_MAX (16u << 20)
/* Largest stderr kept for the error message. */
#define ERR_MAX 4096

int lab_which(const char *prog, char *buf, size_t len)
{
	static const char fallback[] = "/usr/sbin:/sbin:/usr/bin:/bin";
	const char *path = getenv("PATH");
	char dirs[4096];

	if (strchr(prog, '/') != NULL) {
		if (access(prog, X_OK) != 0)
			return -ENOENT;
		snprintf(buf, len, "%s", prog);
		return 0;
	}
	snprintf(dirs, sizeof(dirs), "%s:%s", path ? path : "", fallback);
	for (char *save = NULL, *d = strtok_r(dirs, ":", &save); d;
	     d = strtok_r(NULL, ":", &save)) {
		if (*d == '\0')
			continue;
		if ((size_t)snprintf(buf, len, "%s/%s", d, prog) < len && access(buf, X_OK) == 0)
			return 0;
	}
	return -ENOENT;
}

/* Writes 'argv' joined by spaces into 'buf' (for messages only). */
static void cmdline(const char *const *argv, char *buf, size_t len)
{
	size_t off = 0;

	buf[0] = '\0';
	for (int i = 0; argv[i] && off + 1 < len; i++)
		off += snprintf(buf + off, len - off, "%s%s", i ? " " : "", argv[i]);
}

/* Removes trailing newlines and spaces from 's'. */
static void chomp(char *s)
{
	size_t n = strlen(s);

	while (n > 0 && (s[n - 1] == '\n' || s[n - 1] == ' ' || s[n - 1] == '\r'))
		s[--n] = '\0';
}

int lab_run_capture(const char *const *argv, char **ret_out, char *err, size_t errlen)
{
	int outp[2] = {-1, -1}, errp[2] = {-1, -1}, status, r;
	posix_spawn_file_actions_t fa;
	char prog[512], line[1024], ebuf[ERR_MAX];
	size_t elen = 0, olen = 0, ocap = 0;
	char *out = NULL;
	pid_t pid;

	cmdline(argv, line, sizeof(line));
	if (lab_verbose)
		fprintf(stderr, "+ %s\n", line);
	if (lab_which(argv[0], prog, sizeof(prog)) < 0) {
		snprintf(err, errlen, "%s: %s: command not found", line, argv[0]);
		return -ENOENT;
	}
	if (pipe2(outp, O_CLOEXEC) < 0 || pipe2(errp, O_CLOEXEC) < 0) {
		r = -errno;
		snprintf(err, errlen, "%s: pipe: %s", line, strerror(errno));
		goto close;
	}
	posix_spawn_file_actions_init(&fa);
	posix_spawn_file_actions_addopen(&fa, 0, "/dev/null", O_RDONLY, 0);
	posix_spawn_file_actions_adddup2(&fa, outp[1], 1);
	posix_spawn_file_actions_adddup2(&fa, errp[1], 2);
	r = posix_spawn(&pid, prog, &fa, NULL, (char *const *)argv, environ);
	posix_spawn_file_actions_destroy(&fa);
	close(outp[1]);
	close(errp[1]);
	outp[1] = errp[1] = -1;
	if (r != 0) {
		snprintf(err, errlen, "%s: cannot start: %s", line, strerror(r));
		r = -r;
		goto close;
	}

	/* Read both pipes to their end so neither side can block the other. */
	for (int open_fds = 2; open_fds > 0;) {
		struct pollfd pfd[2] = {{outp[0], POLLIN, 0}, {errp[0], POLLIN, 0}};
		char buf[8192];

		if (poll(pfd, 2, -1) < 0) {
			if (errno == EINTR)
				continue;
			break;
		}
		for (int i = 0; i < 2; i++) {
			ssize_t n;

			if (pfd[i].fd < 0 || !(pfd[i].revents & (POLLIN | POLLHUP | POLLERR)))
				continue;
			n = read(pfd[i].fd, buf, sizeof(buf));
			if (n < 0 && errno == EINTR)
				continue;
			if (n <= 0) {
				close(i == 0 ? outp[0] : errp[0]);
				if (i == 0)
					outp[0] = -1;
				else
					errp[0] = -1;
				open_fds--;
				continue;
			}
			if (i == 0 && ret_out != NULL && olen + n < OUT_MAX) {
				if (olen + n + 1 > ocap) {
					char *o;

					ocap = (olen + n + 1) * 2;
					o = realloc(out, ocap);
					if (o == NULL)
						continue;
					out = o;
				}
				memcpy(out + olen, buf, n);
				olen += n;
			} else if (i == 1 && elen < sizeof(ebuf) - 1) {
				size_t k = (size_t)n < sizeof(ebuf) - 1 - elen
					       ? (size_t)n
					       : sizeof(ebuf) - 1 - elen;

				memcpy(ebuf + elen, buf, k);
				elen += k;
			}
		}
	}
	ebuf[elen] = '\0';
	chomp(ebuf);
	while (waitpid(pid, &status, 0) < 0) {
		if (errno != EINTR) {
			status = -1;
			break;
		}
	}
	if (status != -1 && WIFEXITED(status) && WEXITSTATUS(status) == 0) {
		if (ret_out != NULL) {
			if (out == NULL)
				out = calloc(1, 1);
			else
				out[olen] = '\0';
			*ret_out = out;
			out = NULL;
		}
		r = 0;
	} else {
		char how[64];

		if (status != -1 && WIFEXITED(status))
			snprintf(how, sizeof(how), "exited with status %d", WEXITSTATUS(status));
		else if (status != -1 && WIFSIGNALED(status))
			snprintf(how, sizeof(how), "killed by signal %d", WTERMSIG(status));
		else
			snprintf(how, sizeof(how), "failed");
		snprintf(err, errlen, "command failed (%s): %s%s%s", how, line, elen ? "\n  " : "",
			 ebuf);
		r = -EIO;
	}
close:
	free(out);
	for (int i = 0; i < 2; i++) {
		if (outp[i] >= 0)
			close(outp[i]);
		if (errp[i] >= 0)
			close(errp[i]);
	}
	return r;
}

int lab_runv(const char *const *argv)
{
	char err[ERR_MAX + 1200];
	int r = lab_run_capture(argv, NULL, err, sizeof(err));

	if (r < 0)
		fprintf(stderr, "dse-lab: %s\n", err);
	return r;
}

int lab_run(const char *arg0, ...)
{
	const char *argv[64];
	va_list ap;
	int n = 0;

	argv[n++] = arg0;
	va_start(ap, arg0);
	while (n < 63 && (argv[n] = va_arg(ap, const char *)) != NULL)
		n++;
	va_end(ap);
	argv[n] = NULL;
	return lab_runv(argv);
}

pid_t lab_spawn_daemon(const char *ns, const char *const *argv, const char *log, char *err,
		       size_t errlen)
{
	const char *full[64];
	posix_spawn_file_actions_t fa;
	posix_spawnattr_t attr;
	sigset_t none, dflt;
	char ip[512], line[1024];
	int n = 0, r;
	pid_t pid;

	if (lab_which("ip", ip, sizeof(ip)) < 0) {
		snprintf(err, errlen, "ip: command not found (install iproute2)");
		return -ENOENT;
	}
	full[n++] = ip;
	full[n++] = "netns";
	full[n++] = "exec";
	full[n++] = ns;
	for (int i = 0; argv[i] && n < 63; i++)
		full[n++] = argv[i];
	full[n] = NULL;
	cmdline(full, line, sizeof(line));
	if (lab_verbose)
		fprintf(stderr, "+ %s >>%s 2>&1 &\n", line, log);
	/* A mark in the log where this run starts (lab_tail() shows from there). */
	{
		char mark[1200], stamp[32];
		time_t now = time(NULL);
		struct tm tm;
		int fd = open(log, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644);

		if (fd < 0) {
			snprintf(err, errlen, "cannot open %s: %s", log, strerror(errno));
			return -errno;
		}
		strftime(stamp, sizeof(stamp), "%Y-%m-%dT%H:%M:%SZ", gmtime_r(&now, &tm));
		snprintf(mark, sizeof(mark), LAB_LOG_MARK "%s: %s\n", stamp, line);
		if (write(fd, mark, strlen(mark)) < 0) {
			/* The log is for people; the daemon starts all the same. */
		}
		close(fd);
	}

	posix_spawn_file_actions_init(&fa);
	posix_spawn_file_actions_addopen(&fa, 0, "/dev/null", O_RDONLY, 0);
	posix_spawn_file_actions_addopen(&fa, 1, log, O_WRONLY | O_CREAT | O_APPEND, 0644);
	posix_spawn_file_actions_adddup2(&fa, 1, 2);
	/* Whatever dse-lab inherited stays with dse-lab. */
	posix_spawn_file_actions_addclosefrom_np(&fa, 3);
	posix_spawnattr_init(&attr);
	sigemptyset(&none);
	sigfillset(&dflt);
	posix_spawnattr_setsigmask(&attr, &none);
	posix_spawnattr_setsigdefault(&attr, &dflt);
	posix_spawnattr_setflags(&attr, POSIX_SPAWN_SETSID | POSIX_SPAWN_SETSIGMASK |
					    POSIX_SPAWN_SETSIGDEF);
	r = posix_spawn(&pid, ip, &fa, &attr, (char *const *)full, environ);
	posix_spawnattr_destroy(&attr);
	posix_spawn_file_actions_destroy(&fa);
	if (r != 0) {
		snprintf(err, errlen, "cannot start %s: %s", line, strerror(r));
		return -r;
	}
	return pid;
}

int lab_rpc_call(const char *path, const char *method, int timeout_ms, json_t **ret_result)
{
	return lab_rpc_call_params(path, method, "{}", timeout_ms, ret_result);
}

int lab_rpc_call_params(const char *path, const char *method, const char *params,
			int timeout_ms, json_t **ret_result)
{
	struct sockaddr_un sa = {.sun_family = AF_UNIX};
	long long deadline = lab_now_ms() + timeout_ms;
	char req[256], buf[65536];
	size_t len = 0;
	json_t *resp, *result, *error;
	int fd, r;

	if (strlen(path) >= sizeof(sa.sun_path))
		return -ENAMETOOLONG;
	memcpy(sa.sun_path, path, strlen(path) + 1);
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
	if (fd < 0)
		return -errno;
	if (connect(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0) {
		r = -errno;
		close(fd);
		return r == -EAGAIN ? -ETIMEDOUT : r;
	}
	if ((size_t)snprintf(req, sizeof(req),
			     "{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"%s\",\"params\":%s}\n",
			     method, params) >= sizeof(req)) {
		close(fd);
		return -E2BIG;
	}
	if (send(fd, req, strlen(req), MSG_NOSIGNAL) != (ssize_t)strlen(req)) {
		close(fd);
		return -EPROTO;
	}
	while (memchr(buf, '\n', len) == NULL) {
		struct pollfd pfd = {fd, POLLIN, 0};
		long long left = deadline - lab_now_ms();
		ssize_t n;

		if (left <= 0 || len == sizeof(buf)) {
			close(fd);
			return len == sizeof(buf) ? -EPROTO : -ETIMEDOUT;
		}
		if (poll(&pfd, 1, (int)left) < 0 && errno != EINTR) {
			r = -errno;
			close(fd);
			return r;
		}
		n = recv(fd, buf + len, sizeof(buf) - len, 0);
		if (n == 0) {
			close(fd);
			return -EPROTO;
		}
		if (n < 0) {
			if (errno == EAGAIN || errno == EINTR)
				continue;
			r = -errno;
			close(fd);
			return r;
		}
		len += n;
	}
	close(fd);
	resp = json_loadb(buf, (char *)memchr(buf, '\n', len) - buf, 0, NULL);
	if (resp == NULL)
		return -EPROTO;
	result = json_object_get(resp, "result");
	error = json_object_get(resp, "error");
	if (result == NULL || (error != NULL && !json_is_null(error))) {
		json_decref(resp);
		return -EPROTO;
	}
	if (ret_result != NULL)
		*ret_result = json_incref(result);
	json_decref(resp);
	return 0;
}
