/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Unit tests of what port.add may open (devargs.c), written from
 * the side of a caller who wants the DPU to open a file, a device or an
 * interface it should not: every refusal must name what it refused, and
 * nothing outside the policy may pass.  The allow-list files live in a
 * temporary directory of the test binary, removed at the end.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "devargs.h"

static char dir[64];

/* Writes 'text' to DIR/'name' and returns its path (a static buffer). */
static const char *write_file(const char *name, const char *text)
{
	static char path[128];
	FILE *f;

	snprintf(path, sizeof(path), "%s/%s", dir, name);
	f = fopen(path, "w");
	assert_non_null(f);
	fputs(text, f);
	fclose(f);
	return path;
}

static int group_setup(void **state)
{
	(void)state;
	snprintf(dir, sizeof(dir), "/tmp/dse-test-devargs.XXXXXX");
	return mkdtemp(dir) ? 0 : -1;
}

static int group_teardown(void **state)
{
	char cmd[96];

	(void)state;
	dse_devargs_allow_clear();
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
	return system(cmd) == 0 ? 0 : -1;
}

/* Every test starts with the allow-list vm1, vmnic0, rep-vm1 and no test devices. */
static int setup(void **state)
{
	char err[256];

	(void)state;
	dse_devargs_set_test_devices(false);
	return dse_devargs_allow_load(write_file("allow", "# the lab's ports\nvm1\n\nvmnic0\n"
							  "   rep-vm1  \n"),
				      err, sizeof(err));
}

/* Checks 'devargs' and expects a refusal whose message holds 'text'. */
static void refused(const char *devargs, bool remote, const char *text)
{
	struct dse_devargs d;
	char err[512] = "";

	if (dse_devargs_check(devargs, remote, &d, err, sizeof(err)) != -EINVAL)
		fail_msg("'%s' was accepted", devargs);
	if (strstr(err, text) == NULL)
		fail_msg("'%s': message '%s' lacks '%s'", devargs, err, text);
}

/* Checks 'devargs' and expects it accepted; returns what the checker made of it. */
static struct dse_devargs accepted(const char *devargs, bool remote)
{
	struct dse_devargs d;
	char err[512] = "";

	if (dse_devargs_check(devargs, remote, &d, err, sizeof(err)) != 0)
		fail_msg("'%s' was refused: %s", devargs, err);
	return d;
}

/*
 * The allow-list file: names one a line, comments, blank lines and spaces
 * around names skipped.
 * Verify: exactly the three names are allowed; neither a comment's text nor
 * a prefix or extension of a name is.
 */
static void test_allow_list_file_is_read(void **state)
{
	(void)state;
	assert_true(dse_devargs_allowed("vm1"));
	assert_true(dse_devargs_allowed("vmnic0"));
	assert_true(dse_devargs_allowed("rep-vm1"));
	assert_false(dse_devargs_allowed("vm"));
	assert_false(dse_devargs_allowed("vm10"));
	assert_false(dse_devargs_allowed("# the lab's ports"));
	assert_false(dse_devargs_allowed(""));
}

/*
 * Bad allow-list files are refused with the file and line, and the list in
 * force stays as it was.
 * Steps: a name with a space, with '/', "..", 16 characters, a name twice, a
 * line of 300 characters, 1025 names, a missing file, a directory.
 * Verify: each fails with its reason; vm1 is still allowed afterwards.
 */
static void test_allow_list_refuses_bad_files(void **state)
{
	static const struct {
		const char *text;
		const char *msg;
	} cases[] = {
	    {"vm1\nbad name\n", ":2: 'bad name' is not an interface name"},
	    {"a/b\n", ":1: 'a/b' is not"},
	    {"..\n", "'..' is not"},
	    {"abcdefghijklmnop\n", "is not an interface name"},
	    {"vm1\nvm1\n", ":2: interface 'vm1' is listed twice"},
	};
	char err[512], *big;
	size_t off = 0;

	(void)state;
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		err[0] = '\0';
		assert_int_equal(
		    dse_devargs_allow_load(write_file("bad", cases[i].text), err, sizeof(err)),
		    -EINVAL);
		if (strstr(err, cases[i].msg) == NULL)
			fail_msg("case %zu: '%s' lacks '%s'", i, err, cases[i].msg);
	}
	big = malloc(1100 * 8);
	assert_non_null(big);
	memset(big, 'x', 300);
	big[300] = '\0';
	assert_int_equal(dse_devargs_allow_load(write_file("bad", big), err, sizeof(err)), -EINVAL);
	assert_non_null(strstr(err, "line too long"));
	for (int i = 0; i < DSE_DEVARGS_ALLOW_MAX + 1; i++)
		off += (size_t)sprintf(big + off, "p%d\n", i);
	assert_int_equal(dse_devargs_allow_load(write_file("bad", big), err, sizeof(err)), -E2BIG);
	free(big);
	assert_int_equal(dse_devargs_allow_load("/nonexistent/allow", err, sizeof(err)), -ENOENT);
	assert_int_equal(dse_devargs_allow_load(dir, err, sizeof(err)), -EINVAL);
	assert_non_null(strstr(err, "regular file"));
	assert_true(dse_devargs_allowed("vm1"));
	assert_false(dse_devargs_allowed("p0"));
}

/*
 * What a lab port asks is accepted, and sized.
 * Verify: net_af_packet on an allowed interface, from the network too, gets
 * dse-dpud's ring (DSE_AFP_DEFAULT_FRAMES frames of 2048 bytes) added to
 * what DPDK sees; the keys a caller may set are kept as given; a default
 * ring for frames that do not divide a block is a whole number of blocks.
 */
static void test_af_packet_on_allowed_interfaces_is_accepted(void **state)
{
	struct dse_devargs d;
	char want[128];

	(void)state;
	d = accepted("net_af_packet0,iface=vm1", true);
	assert_int_equal(d.driver, DSE_DRV_AF_PACKET);
	assert_string_equal(d.iface, "vm1");
	assert_int_equal(d.framesz, 2048);
	assert_int_equal(d.framecnt, DSE_AFP_DEFAULT_FRAMES);
	snprintf(want, sizeof(want), "net_af_packet0,iface=vm1,framecnt=%d",
		 DSE_AFP_DEFAULT_FRAMES);
	assert_string_equal(d.effective, want);

	d = accepted("net_af_packet_rep_vm1,iface=rep-vm1,qpairs=1,qdisc_bypass=0,framesz=1024,"
		     "blocksz=8192,framecnt=512",
		     false);
	assert_string_equal(d.iface, "rep-vm1");
	assert_int_equal(d.framesz, 1024);
	assert_int_equal(d.blocksz, 8192);
	assert_int_equal(d.framecnt, 512);
	assert_string_equal(d.effective, "net_af_packet_rep_vm1,iface=rep-vm1,qpairs=1,"
					 "qdisc_bypass=0,framesz=1024,blocksz=8192,framecnt=512");

	/* 3 frames of 1360 bytes in a 4096-byte block: the default is 4095 frames. */
	d = accepted("net_af_packet1,iface=vmnic0,framesz=1360", false);
	assert_int_equal(d.framecnt, DSE_AFP_DEFAULT_FRAMES / 3 * 3);
}

/*
 * The two attacks, and their relatives.
 * Verify: net_pcap (which truncated a file of the caller's choice) is
 * refused over the network even with --test-devices, and without
 * --test-devices locally too; net_af_packet on the DPU's own interfaces (lo,
 * int0) is refused naming the allow-list; other drivers (net_failsafe, whose
 * exec() runs a shell command; net_tap; net_vhost), DPDK's aliases, bus
 * prefixes and PCI addresses are refused.
 */
static void test_files_and_foreign_interfaces_are_refused(void **state)
{
	(void)state;
	refused("net_pcap7,rx_pcap=/tmp/in.pcap,tx_pcap=/etc/passwd", true,
		"never over the network");
	refused("net_pcap7,rx_pcap=/tmp/in.pcap,tx_pcap=/etc/passwd", false, "--test-devices");
	dse_devargs_set_test_devices(true);
	refused("net_pcap7,rx_pcap=/tmp/in.pcap,tx_pcap=/etc/passwd", true,
		"never over the network");
	refused("net_null0", true, "never over the network");
	refused("net_ring0", true, "never over the network");
	dse_devargs_set_test_devices(false);
	refused("net_af_packet5,iface=lo", true, "interface 'lo' is not on this DPU's allow-list");
	refused("net_af_packet5,iface=int0", false, "(--ports-allow: vm1, vmnic0, rep-vm1)");
	refused("net_failsafe0,exec(id)", true, "must name a net_af_packet device");
	refused("net_tap0,iface=vm1", true, "must name a net_af_packet device");
	refused("net_vhost0,iface=/tmp/sock", true, "must name a net_af_packet device");
	refused("eth_af_packet0,iface=vm1", true, "must name a net_af_packet device");
	refused("eth_pcap0,tx_pcap=/etc/passwd", false, "must name");
	refused("vdev:net_af_packet0,iface=vm1", true, "must name");
	refused("NET_AF_PACKET0,iface=vm1", true, "must name");
	refused("0000:00:01.0", true, "must name");
	refused("net_af_packet0:x,iface=vm1", true, "may add only letters, digits and '_'");
	refused("net_af_packet-0,iface=vm1", true, "may add only");
}

/*
 * Keys and values: only the driver's keys, once each, with bounded values.
 * Verify: every case is refused naming the key or value at fault.
 */
static void test_keys_and_values_are_checked(void **state)
{
	static const struct {
		const char *devargs;
		const char *msg;
	} cases[] = {
	    {"net_af_packet0", "needs iface=NAME"},
	    {"net_af_packet0,qpairs=1", "needs iface=NAME"},
	    {"net_af_packet0,iface=vm1,iface=lo", "key 'iface' is given twice"},
	    {"net_af_packet0,iface=vm1,framecnt=512,framecnt=64", "'framecnt' is given twice"},
	    {"net_af_packet0,iface=vm1,foo=1", "takes no key 'foo' here (it takes iface, qpairs"},
	    {"net_af_packet0,iface=vm1,ifacex=lo", "takes no key 'ifacex'"},
	    {"net_af_packet0,xiface=lo,iface=vm1", "takes no key 'xiface'"},
	    {"net_af_packet0,iface=vm1,qpairs=2", "qpairs must be 1, the number of workers"},
	    {"net_af_packet0,iface=vm1,qpairs=17", "qpairs must be a number from 1 to 16, not '17'"},
	    {"net_af_packet0,iface=vm1,framecnt=4096x", "framecnt must be a number"},
	    {"net_af_packet0,iface=vm1,framecnt=0x100", "framecnt must be a number"},
	    {"net_af_packet0,iface=vm1,framecnt=-1", "framecnt must be a number"},
	    {"net_af_packet0,iface=vm1,framecnt=+64", "framecnt must be a number"},
	    {"net_af_packet0,iface=vm1,framecnt=99999999999999999999", "framecnt must be"},
	    {"net_af_packet0,iface=vm1,framecnt=16385", "from 64 to 16384"},
	    {"net_af_packet0,iface=vm1,framecnt=63", "from 64 to 16384"},
	    {"net_af_packet0,iface=vm1,framesz=4096", "framesz must be a number from 256 to 2048"},
	    {"net_af_packet0,iface=vm1,framesz=1000", "framesz 1000 must be a multiple of 16"},
	    {"net_af_packet0,iface=vm1,blocksz=12288", "blocksz 12288 must be a power of two"},
	    {"net_af_packet0,iface=vm1,blocksz=2097152", "blocksz must be a number"},
	    {"net_af_packet0,iface=vm1,framecnt=65", "framecnt 65 must be a multiple"},
	    {"net_af_packet0,iface=vm1,qdisc_bypass=2",
	     "qdisc_bypass must be a number from 0 to 1"},
	    {"net_af_packet0,iface=", "item 'iface=' is not KEY=VALUE"},
	    {"net_af_packet0,=vm1", "is not KEY=VALUE"},
	    {"net_af_packet0,iface", "item 'iface' is not KEY=VALUE"},
	    {"net_af_packet0,iface=vm1,", "item '' is not KEY=VALUE"},
	    {"net_af_packet0,,iface=vm1", "item '' is not KEY=VALUE"},
	    {"net_af_packet0,iface=v m1", "printable ASCII without spaces"},
	    {"net_af_packet0,iface=vm1\n", "printable ASCII"},
	    {"net_af_packet0,iface=vm1\x7f", "printable ASCII"},
	    {"net_af_packet0,iface=vm\xc3\xa9", "printable ASCII"},
	    {"net_af_packet0,iface=[vm1,lo]", "'[' or ']'"},
	    {"net_af_packet0,iface=../x", "iface '../x' is not an interface name"},
	    {"net_af_packet0,iface=..", "iface '..' is not"},
	    {"net_af_packet0,iface=abcdefghijklmnop", "is not an interface name"},
	    {"net_af_packet0,iface=vm1=x", "iface 'vm1=x' is not"},
	    {"", "devargs must be 1 to 255 characters"},
	};

	(void)state;
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++)
		refused(cases[i].devargs, false, cases[i].msg);
}

/*
 * Length and the device name's length.
 * Verify: 256 characters and a 64-character device name are refused; 255
 * characters (a long but valid ring) would be checked on their merits.
 */
static void test_lengths_are_bounded(void **state)
{
	char buf[400];

	(void)state;
	memset(buf, 'a', sizeof(buf));
	memcpy(buf, "net_af_packet0,iface=vm1,", 25);
	buf[256] = '\0';
	refused(buf, false, "devargs must be 1 to 255 characters");
	memcpy(buf, "net_af_packet", 13);
	memset(buf + 13, '0', 51);
	strcpy(buf + 64, ",iface=vm1");
	refused(buf, false, "is longer than 63 characters");
	buf[63] = '\0';
	strcpy(buf + 63, ",iface=vm1");
	accepted(buf, false);
}

/*
 * The test devices on a dse-dpud started with --test-devices, locally.
 * Verify: the benchmarks' net_pcap and net_null devargs and a bare
 * net_ring are accepted as given (no ring added); net_pcap's interface
 * keys, net_ring's nodeaction and out-of-range numbers are refused.
 */
static void test_test_devices_take_only_their_keys(void **state)
{
	struct dse_devargs d;
	char path[256];

	(void)state;
	dse_devargs_set_test_devices(true);
	d = accepted("net_pcap0,rx_pcap=/tmp/bench/in.pcap,infinite_rx=1", false);
	assert_int_equal(d.driver, DSE_DRV_PCAP);
	assert_string_equal(d.effective, "net_pcap0,rx_pcap=/tmp/bench/in.pcap,infinite_rx=1");
	assert_int_equal(accepted("net_null0,no-rx=1", false).driver, DSE_DRV_NULL);
	assert_int_equal(accepted("net_ring0", false).driver, DSE_DRV_RING);
	refused("net_pcap0,rx_iface=vm1", false, "net_pcap takes no key 'rx_iface'");
	refused("net_pcap0,iface=lo", false, "takes no key 'iface'");
	refused("net_ring0,nodeaction=r0:0:CREATE", false, "net_ring takes no key 'nodeaction'");
	refused("net_null0,size=1", false, "size must be a number from 64");
	memset(path, 'p', sizeof(path));
	memcpy(path, "net_pcap0,rx_pcap=/", 19);
	path[19 + 201] = '\0';
	refused(path, false, "rx_pcap must be a path of at most 200 characters");
	dse_devargs_set_test_devices(false);
}

/*
 * A dse-dpud started without --ports-allow opens no interface.
 * Verify: the refusal says so.
 */
static void test_without_an_allow_list_nothing_is_opened(void **state)
{
	(void)state;
	dse_devargs_allow_clear();
	refused("net_af_packet0,iface=vm1", false, "started without --ports-allow");
	assert_false(dse_devargs_allowed("vm1"));
}

/*
 * Several workers: one queue pair per worker, one rx_pcap per queue.
 * Verify: with 3 workers a net_af_packet port gets qpairs=3 added, a
 * qpairs of 3 is kept and any other refused; rx_pcap may be given up to 16
 * times (a receive queue each), a 17th is refused.
 */
static void test_queues_follow_the_workers(void **state)
{
	char buf[DSE_DEVARGS_MAX], want[128];
	struct dse_devargs d;
	size_t len;

	(void)state;
	dse_devargs_set_queues(3);
	d = accepted("net_af_packet0,iface=vm1", true);
	snprintf(want, sizeof(want), "net_af_packet0,iface=vm1,framecnt=%d,qpairs=3",
		 DSE_AFP_DEFAULT_FRAMES);
	assert_string_equal(d.effective, want);
	d = accepted("net_af_packet0,iface=vm1,qpairs=3", true);
	assert_non_null(strstr(d.effective, "qpairs=3"));
	assert_null(strstr(strstr(d.effective, "qpairs=3") + 1, "qpairs"));
	refused("net_af_packet0,iface=vm1,qpairs=1", true, "qpairs must be 3, the number of workers");
	dse_devargs_set_queues(1);

	dse_devargs_set_test_devices(true);
	d = accepted("net_pcap0,rx_pcap=/tmp/a.pcap,rx_pcap=/tmp/b.pcap,infinite_rx=1", false);
	assert_string_equal(d.effective, "net_pcap0,rx_pcap=/tmp/a.pcap,rx_pcap=/tmp/b.pcap,infinite_rx=1");
	len = (size_t)snprintf(buf, sizeof(buf), "net_pcap0");
	for (int i = 0; i < 16; i++)
		len += (size_t)snprintf(buf + len, sizeof(buf) - len, ",rx_pcap=/q%d", i);
	accepted(buf, false);
	snprintf(buf + len, sizeof(buf) - len, ",rx_pcap=/q16");
	refused(buf, false, "key 'rx_pcap' is given more than 16 times");
	refused("net_pcap0,infinite_rx=1,infinite_rx=1", false, "key 'infinite_rx' is given twice");
	dse_devargs_set_test_devices(false);
}

#define T(name) cmocka_unit_test_setup(name, setup)

int main(void)
{
	const struct CMUnitTest tests[] = {
	    T(test_allow_list_file_is_read),
	    T(test_allow_list_refuses_bad_files),
	    T(test_af_packet_on_allowed_interfaces_is_accepted),
	    T(test_files_and_foreign_interfaces_are_refused),
	    T(test_keys_and_values_are_checked),
	    T(test_lengths_are_bounded),
	    T(test_test_devices_take_only_their_keys),
	    T(test_without_an_allow_list_nothing_is_opened),
	    T(test_queues_follow_the_workers),
	};

	return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
