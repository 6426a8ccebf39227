/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Processes and files of the lab: pid files, telling a live lab daemon from
 * a reused pid, finding every process inside a lab namespace (so `down`
 * also cleans up after a crash that lost the pid files), stopping them, and
 * the state directory's files.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "lab.h"

long long lab_now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

int lab_mkdir_p(const char *path)
{
	char buf[4096];
	size_t len = strlen(path);

	if (len == 0 || len >= sizeof(buf))
		return -ENAMETOOLONG;
	memcpy(buf, path, len + 1);
	for (char *p = buf + 1; *p; p++) {
		if (*p != '/')
			continue;
		*p = '\0';
		if (mkdir(buf, 0755) < 0 && errno != EEXIST)
			return -errno;
		*p = '/';
	}
	if (mkdir(buf, 0755) < 0 && errno != EEXIST)
		return -errno;
	return 0;
}

int lab_write_file(const char *path, const char *data, mode_t mode)
{
	char tmp[4200];
	size_t len = strlen(data);
	int fd, r = 0;

	snprintf(tmp, sizeof(tmp), "%s.tmp%d", path, (int)getpid());
	fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, mode);
	if (fd < 0)
		return -errno;
	if (write(fd, data, len) != (ssize_t)len)
		r = errno ? -errno : -EIO;
	if (close(fd) < 0 && r == 0)
		r = -errno;
	if (r == 0 && rename(tmp, path) < 0)
		r = -errno;
	if (r < 0)
		unlink(tmp);
	return r;
}

static int rm_one(const char *path, const struct stat *st, int type, struct FTW *ftw)
{
	(void)st;
	(void)ftw;
	if (type == FTW_DP)
		return rmdir(path) < 0 && errno != ENOENT ? -1 : 0;
	return unlink(path) < 0 && errno != ENOENT ? -1 : 0;
}

int lab_rm_rf(const char *path)
{
	struct stat st;

	if (lstat(path, &st) < 0)
		return errno == ENOENT ? 0 : -errno;
	if (nftw(path, rm_one, 16, FTW_DEPTH | FTW_PHYS | FTW_MOUNT) != 0)
		return errno ? -errno : -EIO;
	return 0;
}

pid_t lab_pid_read(const char *path)
{
	char buf[32];
	ssize_t n;
	long v;
	int fd;

	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return 0;
	n = read(fd, buf, sizeof(buf) - 1);
	close(fd);
	if (n <= 0)
		return 0;
	buf[n] = '\0';
	v = strtol(buf, NULL, 10);
	return v > 1 && v < (1L << 22) ? (pid_t)v : 0;
}

bool lab_pid_alive(pid_t pid)
{
	char path[64], buf[512], *p;
	ssize_t n;
	int fd;

	if (pid <= 1)
		return false;
	snprintf(path, sizeof(path), "/proc/%d/stat", (int)pid);
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return false;
	n = read(fd, buf, sizeof(buf) - 1);
	close(fd);
	if (n <= 0)
		return false;
	buf[n] = '\0';
	/* "pid (comm) S ...": the state follows the last ')'. */
	p = strrchr(buf, ')');
	return p != NULL && p[1] == ' ' && p[2] != 'Z' && p[2] != 'X';
}

bool lab_pid_in_ns(pid_t pid, const char *ns)
{
	char path[300];
	struct stat a, b;

	snprintf(path, sizeof(path), "/proc/%d/ns/net", (int)pid);
	if (stat(path, &a) < 0)
		return false;
	snprintf(path, sizeof(path), "/run/netns/%s", ns);
	if (stat(path, &b) < 0)
		return false;
	return a.st_dev == b.st_dev && a.st_ino == b.st_ino;
}

bool lab_pid_is(pid_t pid, const char *name)
{
	char path[64], exe[4096], *base, *del;
	ssize_t n;

	snprintf(path, sizeof(path), "/proc/%d/exe", (int)pid);
	n = readlink(path, exe, sizeof(exe) - 1);
	if (n <= 0)
		return false;
	exe[n] = '\0';
	/* A binary rebuilt since it started shows as "... (deleted)". */
	del = strstr(exe, " (deleted)");
	if (del != NULL && del[10] == '\0')
		*del = '\0';
	base = strrchr(exe, '/');
	base = base ? base + 1 : exe;
	return strcmp(base, name) == 0;
}

/* Reads the arguments of 'pid' (NUL-separated) into 'buf'.  Returns their length or -1. */
static ssize_t read_cmdline(long pid, char *buf, size_t len)
{
	char path[64];
	ssize_t n;
	int fd;

	snprintf(path, sizeof(path), "/proc/%ld/cmdline", pid);
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return -1;
	n = read(fd, buf, len - 1);
	close(fd);
	if (n <= 0)
		return -1;
	buf[n] = '\0';
	return n;
}

bool lab_pid_has_arg(pid_t pid, const char *arg)
{
	char buf[8192];
	ssize_t len = read_cmdline(pid, buf, sizeof(buf));

	for (char *a = buf; len > 0 && a < buf + len; a += strlen(a) + 1)
		if (strcmp(a, arg) == 0)
			return true;
	return false;
}

static void add_pid(pid_t pid, pid_t *pids, size_t max, size_t *n)
{
	for (size_t i = 0; i < *n; i++)
		if (pids[i] == pid)
			return;
	if (*n < max)
		pids[(*n)++] = pid;
}

void lab_pids_in_ns(const char *ns, pid_t *pids, size_t max, size_t *n)
{
	char path[300];
	struct stat nsst;
	struct dirent *de;
	DIR *d;

	snprintf(path, sizeof(path), "/run/netns/%s", ns);
	if (stat(path, &nsst) < 0)
		return;
	d = opendir("/proc");
	if (d == NULL)
		return;
	while ((de = readdir(d)) != NULL) {
		struct stat st;
		char *end;
		long pid = strtol(de->d_name, &end, 10);

		if (*end != '\0' || pid <= 1 || pid == getpid())
			continue;
		snprintf(path, sizeof(path), "/proc/%ld/ns/net", pid);
		if (stat(path, &st) == 0 && st.st_dev == nsst.st_dev && st.st_ino == nsst.st_ino &&
		    lab_pid_alive(pid))
			add_pid(pid, pids, max, n);
	}
	closedir(d);
}

void lab_pids_with_arg(const char *prefix, pid_t *pids, size_t max, size_t *n)
{
	struct dirent *de;
	size_t plen = strlen(prefix);
	DIR *d;

	d = opendir("/proc");
	if (d == NULL)
		return;
	while ((de = readdir(d)) != NULL) {
		char buf[8192];
		char *end;
		long pid = strtol(de->d_name, &end, 10);
		ssize_t len;

		if (*end != '\0' || pid <= 1 || pid == getpid())
			continue;
		len = read_cmdline(pid, buf, sizeof(buf));
		if (len <= 0)
			continue;
		for (char *a = buf; a < buf + len; a += strlen(a) + 1) {
			if (strncmp(a, prefix, plen) == 0) {
				if (lab_pid_alive(pid))
					add_pid(pid, pids, max, n);
				break;
			}
		}
	}
	closedir(d);
}

/* Returns how many of 'pids' are still alive. */
static size_t count_alive(const pid_t *pids, size_t n)
{
	size_t alive = 0;

	for (size_t i = 0; i < n; i++)
		alive += lab_pid_alive(pids[i]);
	return alive;
}

static void wait_gone(const pid_t *pids, size_t n, int ms)
{
	long long deadline = lab_now_ms() + ms;

	while (count_alive(pids, n) > 0 && lab_now_ms() < deadline) {
		struct timespec ts = {0, 20 * 1000000};

		nanosleep(&ts, NULL);
	}
}

unsigned lab_kill_all(const pid_t *pids, size_t n, int grace_ms)
{
	unsigned killed = 0;

	for (size_t i = 0; i < n; i++)
		kill(pids[i], SIGTERM);
	wait_gone(pids, n, grace_ms);
	for (size_t i = 0; i < n; i++) {
		if (lab_pid_alive(pids[i])) {
			kill(pids[i], SIGKILL);
			killed++;
		}
	}
	if (killed)
		wait_gone(pids, n, 5000);
	return killed;
}

void lab_tail(const char *path, unsigned lines)
{
	char buf[8192], *p, *mark, *start;
	unsigned seen = 0;
	size_t n;
	long size;
	FILE *f;

	f = fopen(path, "re");
	if (f == NULL) {
		fprintf(stderr, "  (no log: %s)\n", path);
		return;
	}
	fseek(f, 0, SEEK_END);
	size = ftell(f);
	fseek(f, size > (long)sizeof(buf) - 1 ? size - (long)sizeof(buf) + 1 : 0, SEEK_SET);
	n = fread(buf, 1, sizeof(buf) - 1, f);
	fclose(f);
	buf[n] = '\0';
	while (n > 0 && buf[n - 1] == '\n')
		buf[--n] = '\0';
	/* Only what the latest start wrote, after its mark line. */
	start = buf;
	for (mark = strstr(buf, LAB_LOG_MARK); mark; mark = strstr(mark + 1, LAB_LOG_MARK))
		start = mark;
	if (start != buf || strncmp(buf, LAB_LOG_MARK, strlen(LAB_LOG_MARK)) == 0) {
		p = strchr(start, '\n');
		start = p ? p + 1 : buf + n;
	}
	for (p = buf + n; p > start; p--) {
		if (p[-1] == '\n' && ++seen == lines)
			break;
	}
	if (*p == '\0') {
		fprintf(stderr, "  (%s: nothing written)\n", path);
		return;
	}
	fprintf(stderr, "  --- last lines of %s ---\n", path);
	while (*p) {
		char *nl = strchr(p, '\n');
		int len = nl ? (int)(nl - p) : (int)strlen(p);

		fprintf(stderr, "  | %.*s\n", len, p);
		p += len + (nl != NULL);
	}
}
