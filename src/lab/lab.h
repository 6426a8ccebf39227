/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * dse-lab: the emulated data centre (docs/design.md, the lab, docs/host-side.md).
 *
 * The pieces: the topology (topo.c), running commands and daemons (cmd.c),
 * the namespaces, links and tc mux (net.c), processes and the state
 * directory (proc.c), and the verbs (lab.c).
 */
#ifndef DSE_LAB_H
#define DSE_LAB_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>

/* Limits of a topology (the "1..8 hosts, 1 or 2 DPUs, 0..16 VMs"). */
#define LAB_MAX_HOSTS 8
#define LAB_MAX_DPUS  2
#define LAB_MAX_VMS   16

/* Longest identity string (vendor, model, ...) accepted from a topology. */
#define LAB_ID_MAX 64

/* Every namespace of the lab starts with this. */
#define LAB_NS_PREFIX "dse-"

/* The DPU's control port on its int0 address (docs/host-side.md). */
#define LAB_MGMT_PORT 7300

/* The identity of one emulated DPU, as the topology gives it. */
struct lab_dpu {
	char vendor[LAB_ID_MAX + 1];
	char model[LAB_ID_MAX + 1];
	char hw_version[LAB_ID_MAX + 1];
	char fw_version[LAB_ID_MAX + 1];
	char serial[LAB_ID_MAX + 1];
	char pci[LAB_ID_MAX + 1]; /* DDDD:BB:DD.F */
};

/* One emulated host: its DPUs and how many VMs it runs. */
struct lab_host {
	unsigned n_dpus;		   /* 1 or 2 */
	struct lab_dpu dpus[LAB_MAX_DPUS]; /* DPU N is dpus[N - 1] */
	unsigned n_vms;			   /* 0 to LAB_MAX_VMS */
};

/* What `up` builds. Host H is hosts[H - 1]. */
/* MTU of every VM's eth0: the fabric's 1500 less the Geneve encapsulation. */
#define LAB_VM_MTU "1450"

struct lab_topo {
	unsigned n_hosts;
	struct lab_host hosts[LAB_MAX_HOSTS];
};

/* ---- topo.c ---- */

/*
 * Reads a topology from the JSON value 'j' into 'ret'.  Missing identity
 * fields get the defaults of lab_topo_default_dpu().  Returns 0, or -EINVAL
 * with a message naming the offending member (e.g. "hosts[1].vms: ...") in
 * 'err'.
 */
int lab_topo_from_json(const json_t *j, struct lab_topo *ret, char *err, size_t errlen);

/* Same, from the file 'path'; the message starts with the file name. */
int lab_topo_load(const char *path, struct lab_topo *ret, char *err, size_t errlen);

/*
 * Builds a topology from the flags --hosts, --dpus and --vms (each may be
 * NULL).  'dpus' and 'vms' are one number for every host or a comma list
 * with one number per host.  Returns 0 or -EINVAL with a message in 'err'.
 */
int lab_topo_from_flags(const char *hosts, const char *dpus, const char *vms, struct lab_topo *ret,
			char *err, size_t errlen);

/* Fills 'd' with the default identity of DPU 'n' of host 'h'. */
void lab_topo_default_dpu(unsigned h, unsigned n, struct lab_dpu *d);

/* Returns the topology as JSON (new reference), the format of topology.json. */
json_t *lab_topo_to_json(const struct lab_topo *t);

/* Returns the identity of 'd' as the JSON object dse-dpud --identity reads. */
json_t *lab_dpu_to_json(const struct lab_dpu *d);

/* True if 'a' and 'b' describe the same lab. */
bool lab_topo_equal(const struct lab_topo *a, const struct lab_topo *b);

/* Writes "2 hosts, 3 DPUs, 4 VMs" into 'buf'. */
void lab_topo_summary(const struct lab_topo *t, char *buf, size_t len);

/* ---- cmd.c ---- */

/* Starts the line dse-lab writes into a daemon's log before starting it. */
#define LAB_LOG_MARK "=== dse-lab started it at "

/* Set by -v: print every command before it runs. */
extern bool lab_verbose;

/*
 * Runs 'argv' (argv[0] looked up in PATH and the sbin directories) with
 * stdin from /dev/null, waits for it and captures its output.  On success
 * returns 0 and, if 'ret_out' is not NULL, its stdout (malloc'ed, NUL
 * terminated).  On failure returns -EIO (non-zero exit, or killed) or a
 * negative errno (could not start) and writes the command line, its status
 * and its stderr into 'err'.
 */
int lab_run_capture(const char *const *argv, char **ret_out, char *err, size_t errlen);

/*
 * Runs the command given as a NULL-terminated list of arguments and prints
 * the failing command with its stderr if it fails.  Returns 0 or a negative
 * errno.
 */
int lab_run(const char *arg0, ...) __attribute__((sentinel));

/* Same with an argument vector. */
int lab_runv(const char *const *argv);

/*
 * Starts 'argv' as a daemon inside the network namespace 'ns' (through
 * `ip netns exec`, which keeps the pid): a new session, stdin /dev/null,
 * stdout and stderr appended to 'log', no other descriptors.  Returns its
 * pid or a negative errno (with a message in 'err').
 */
pid_t lab_spawn_daemon(const char *ns, const char *const *argv, const char *log, char *err,
		       size_t errlen);

/*
 * Finds 'prog' as the shell would (PATH, then /usr/sbin, /sbin, /usr/bin,
 * /bin) and writes its path into 'buf'.  Returns 0 or -ENOENT.
 */
int lab_which(const char *prog, char *buf, size_t len);

/*
 * Calls the JSON-RPC 2.0 'method' (no params) on the Unix socket 'path',
 * waiting at most 'timeout_ms'.  Returns 0 and the "result" (new reference,
 * may be NULL if 'ret_result' is NULL), -ENOENT/-ECONNREFUSED... when nobody
 * listens, -ETIMEDOUT, -EPROTO for a bad or error answer.
 */
int lab_rpc_call(const char *path, const char *method, int timeout_ms, json_t **ret_result);

/* The same with 'params' (a JSON object, as text). */
int lab_rpc_call_params(const char *path, const char *method, const char *params,
			int timeout_ms, json_t **ret_result);

/* ---- proc.c ---- */

/* Monotonic time in milliseconds. */
long long lab_now_ms(void);

/* Creates 'path' and its parents with mode 0755.  Returns 0 or a negative errno. */
int lab_mkdir_p(const char *path);

/* Writes 'data' to 'path' through a temporary file and rename.  Returns 0 or -errno. */
int lab_write_file(const char *path, const char *data, mode_t mode);

/* Removes 'path' and everything under it, not following links.  0 or -errno. */
int lab_rm_rf(const char *path);

/* Reads the pid from the pid file 'path'.  Returns it, or 0 if there is none. */
pid_t lab_pid_read(const char *path);

/* True if 'pid' exists and is not a zombie. */
bool lab_pid_alive(pid_t pid);

/* True if 'pid' lives in the network namespace mounted at /run/netns/'ns'. */
bool lab_pid_in_ns(pid_t pid, const char *ns);

/* True if the executable of 'pid' is named 'name' (its basename). */
bool lab_pid_is(pid_t pid, const char *name);

/* True if one of the arguments of 'pid' is exactly 'arg'. */
bool lab_pid_has_arg(pid_t pid, const char *arg);

/*
 * Appends to 'pids' (capacity 'max', count '*n', no duplicates) every
 * process whose network namespace is /run/netns/'ns'.
 */
void lab_pids_in_ns(const char *ns, pid_t *pids, size_t max, size_t *n);

/* Appends every process with an argument starting with 'prefix'. */
void lab_pids_with_arg(const char *prefix, pid_t *pids, size_t max, size_t *n);

/*
 * Sends SIGTERM to 'pids', waits up to 'grace_ms' for them to go, then
 * SIGKILLs the rest and waits for them too.  Returns how many had to be
 * killed with SIGKILL.
 */
unsigned lab_kill_all(const pid_t *pids, size_t n, int grace_ms);

/*
 * Prints the last 'lines' lines of the log 'path' to stderr, indented, from
 * its last LAB_LOG_MARK on (what the latest start wrote).
 */
void lab_tail(const char *path, unsigned lines);

/* ---- net.c ---- */

/* Writes the namespace of 'machine' ("fabric", "h1", "h1-d2", "h1-vm3") into 'buf'. */
void lab_ns_name(const char *machine, char *buf, size_t len);

/* True if 'ns' is a namespace name the lab makes (dse-fabric, dse-h<digits>...). */
bool lab_ns_is_ours(const char *ns);

/* True if the namespace 'ns' exists (/run/netns/'ns'). */
bool lab_ns_exists(const char *ns);

/*
 * Lists the lab's existing namespaces into 'names' (capacity 'max', each
 * malloc'ed).  Returns how many.
 */
size_t lab_ns_list(char **names, size_t max);

/*
 * Builds, or re-checks and repairs, every namespace, link, address and tc
 * filter of 't'.  Existing VM attachments are left where they are.  Returns
 * 0 or a negative errno after printing what failed.
 */
int lab_net_up(const struct lab_topo *t);

/*
 * Returns the DPU (1 or 2) that VM 'v' of host 'h' is attached to, 0 if it
 * is not attached, or a negative errno if the filter could not be read.
 */
int lab_vm_attachment(unsigned h, unsigned v);

/*
 * Attaches VM 'v' of host 'h' to its DPU 'd' (1 or 2): the pref-1 filter
 * on hH-vmV now redirects to hH-vmV-dD.  Returns 0 or a negative errno
 * (the tc error is printed).
 */
int lab_vm_attach(unsigned h, unsigned v, unsigned d);

#endif
