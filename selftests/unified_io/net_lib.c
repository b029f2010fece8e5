// SPDX-License-Identifier: GPL-2.0
/*
 * Helpers of the unified_io network selftests: commands, namespaces, the
 * link pair, ethtool, /proc counters, page pools and modules; see
 * net_lib.h. Plain C with no kselftest harness: every function reports
 * errors as -errno.
 */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <poll.h>
#include <pthread.h>
#include <sched.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <linux/ethtool.h>
#include <linux/genetlink.h>
#include <linux/netdev.h>
#include <linux/netlink.h>
#include <linux/sockios.h>

#include "net_lib.h"

#define NL_CMD_LEN	1024

uint64_t nl_now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* --- commands and namespaces -------------------------------------------- */

/*
 * Run @argv (a path, or a name looked up in PATH) in the network namespace
 * @nsfd (-1: the caller's) with @input (may be NULL) as its standard input
 * and its stdout and stderr captured into @out; see nl_sh().
 */
static int nl_run(int nsfd, const char *input, char *out, size_t outlen,
		  char *const argv[])
{
	size_t used = 0, inlen = input ? strlen(input) : 0;
	int ofd[2], ifd[2] = { -1, -1 }, status;
	pid_t pid;

	if (out && outlen)
		out[0] = '\0';
	/* Input larger than a pipe's buffer would need a writer thread. */
	if (inlen >= 4096)
		return -E2BIG;
	if (pipe2(ofd, O_CLOEXEC))
		return -errno;
	if (input && pipe2(ifd, O_CLOEXEC)) {
		int e = errno;

		close(ofd[0]);
		close(ofd[1]);
		return -e;
	}
	/*
	 * The input fits in the pipe: write it before the child exists, so a
	 * child that exits without reading (setns or exec failed) cannot
	 * raise SIGPIPE here.
	 */
	if (input) {
		ssize_t n = write(ifd[1], input, inlen);

		close(ifd[1]);
		if (n != (ssize_t)inlen) {
			int e = n < 0 ? errno : EIO;

			close(ifd[0]);
			close(ofd[0]);
			close(ofd[1]);
			return -e;
		}
	}
	fflush(stdout);
	fflush(stderr);
	pid = fork();
	if (pid < 0) {
		int e = errno;

		close(ofd[0]);
		close(ofd[1]);
		if (input)
			close(ifd[0]);
		return -e;
	}
	if (pid == 0) {
		int in = input ? ifd[0] : open("/dev/null", O_RDONLY);

		if (nsfd >= 0 && setns(nsfd, CLONE_NEWNET))
			_exit(126);
		dup2(in, 0);
		dup2(ofd[1], 1);
		dup2(ofd[1], 2);
		execvp(argv[0], argv);
		_exit(127);
	}
	close(ofd[1]);
	if (input)
		close(ifd[0]);
	for (;;) {
		char buf[512];
		ssize_t n = read(ofd[0], buf, sizeof(buf));

		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			break;
		if (out && used + 1 < outlen) {
			size_t k = (size_t)n < outlen - 1 - used ? (size_t)n :
				   outlen - 1 - used;

			memcpy(out + used, buf, k);
			used += k;
			out[used] = '\0';
		}
	}
	close(ofd[0]);
	while (waitpid(pid, &status, 0) < 0)
		if (errno != EINTR)
			return -errno;
	if (WIFSIGNALED(status))
		return 128 + WTERMSIG(status);
	return WEXITSTATUS(status);
}

int nl_sh(int nsfd, char *out, size_t outlen, const char *fmt, ...)
{
	char cmd[NL_CMD_LEN];
	char *argv[] = { "/bin/sh", "-c", cmd, NULL };
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(cmd, sizeof(cmd), fmt, ap);
	va_end(ap);
	return nl_run(nsfd, NULL, out, outlen, argv);
}

int nl_ip_batch(int nsfd, char *out, size_t outlen, const char *batch)
{
	char *argv[] = { "ip", "-batch", "-", NULL };

	return nl_run(nsfd, batch, out, outlen, argv);
}

bool nl_have_program(const char *name)
{
	const char *path = getenv("PATH");
	char buf[PATH_MAX];

	if (!path || !*path)
		path = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin";
	while (*path) {
		size_t n = strcspn(path, ":");

		if (n && snprintf(buf, sizeof(buf), "%.*s/%s", (int)n, path,
				  name) < (int)sizeof(buf) &&
		    !access(buf, X_OK))
			return true;
		path += n;
		if (*path == ':')
			path++;
	}
	return false;
}

int nl_lo_up(void)
{
	struct ifreq ifr = {};
	int s = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	int ret = 0;

	if (s < 0)
		return -errno;
	strcpy(ifr.ifr_name, "lo");
	if (ioctl(s, SIOCGIFFLAGS, &ifr)) {
		ret = -errno;
		goto out;
	}
	ifr.ifr_flags |= IFF_UP;
	if (ioctl(s, SIOCSIFFLAGS, &ifr))
		ret = -errno;
out:
	close(s);
	return ret;
}

int nl_netns_enter(int nsfd)
{
	return setns(nsfd, CLONE_NEWNET) ? -errno : 0;
}

int nl_netns_new(void)
{
	int orig, fd, ret;

	orig = open("/proc/self/ns/net", O_RDONLY | O_CLOEXEC);
	if (orig < 0)
		return -errno;
	if (unshare(CLONE_NEWNET)) {
		ret = -errno;
		close(orig);
		return ret;
	}
	ret = nl_lo_up();
	fd = open("/proc/self/ns/net", O_RDONLY | O_CLOEXEC);
	if (fd < 0 && !ret)
		ret = -errno;
	if (setns(orig, CLONE_NEWNET) && !ret)
		ret = -errno;
	close(orig);
	if (ret) {
		if (fd >= 0)
			close(fd);
		return ret;
	}
	return fd;
}

/* Run a command, keeping its output as the pair's error on failure. */
static int pair_sh(struct nl_pair *p, int nsfd, const char *cmd)
{
	char out[NL_ERR_LEN - 64];
	int ret = nl_sh(nsfd, out, sizeof(out), "%s", cmd);

	if (ret) {
		size_t n = strlen(out);

		while (n && out[n - 1] == '\n')
			out[--n] = '\0';
		snprintf(p->err, sizeof(p->err), "'%.200s' -> %d: %.250s", cmd,
			 ret, out);
		return ret < 0 ? ret : -EIO;
	}
	return 0;
}

/* First integer after @key in the output of a command, or -1. */
static long field_after(const char *out, const char *key)
{
	const char *s = strstr(out, key);

	if (!s)
		return -1;
	s += strlen(key);
	while (*s == ' ' || *s == '\t')
		s++;
	if (!isdigit((unsigned char)*s))
		return -1;
	return strtol(s, NULL, 10);
}

/* The receive queues @ifname uses (ethtool -l's current "Combined"), or 0. */
static unsigned int combined_channels(const char *ifname)
{
	struct ethtool_channels ch = { .cmd = ETHTOOL_GCHANNELS };
	struct ifreq ifr = {};
	int s = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	int ret;

	if (s < 0)
		return 0;
	snprintf(ifr.ifr_name, sizeof(ifr.ifr_name), "%s", ifname);
	ifr.ifr_data = (void *)&ch;
	ret = ioctl(s, SIOCETHTOOL, &ifr);
	close(s);
	return ret ? 0 : ch.combined_count;
}

/*
 * Keep a failed command's output as the pair's error; -EOPNOTSUPP when no
 * link was made because the kernel does not know the kind.
 */
static int pair_fail(struct nl_pair *p, const char *what, int ret,
		     char *out)
{
	size_t n = strlen(out);

	while (n && out[n - 1] == '\n')
		out[--n] = '\0';
	snprintf(p->err, sizeof(p->err), "%s -> %d: %.300s", what, ret, out);
	if (ret > 0 && !p->linked && (strstr(out, "Unknown device type") ||
				      strstr(out, "not supported") ||
				      strstr(out, "Not supported")))
		return -EOPNOTSUPP;
	return ret < 0 ? ret : -EIO;
}

/*
 * One ip(8) per namespace, not one per step: under TCG starting a program
 * costs the guest about a tenth of a CPU second, and every network test
 * makes a pair.
 */
int nl_pair_create(struct nl_pair *p, const char *kind)
{
	char batch[NL_CMD_LEN], out[1024];
	int ret, err;

	memset(p, 0, sizeof(*p));
	p->ns_orig = p->ns_rx = p->ns_tx = -1;
	snprintf(p->kind, sizeof(p->kind), "%s", kind);
	strcpy(p->rx_if, "unio0");
	strcpy(p->tx_if, "unio0p");
	inet_pton(AF_INET, "10.77.0.1", &p->rx_addr);
	inet_pton(AF_INET, "10.77.0.2", &p->tx_addr);

	p->ns_orig = open("/proc/self/ns/net", O_RDONLY | O_CLOEXEC);
	if (p->ns_orig < 0)
		return -errno;
	p->ns_rx = nl_netns_new();
	if (p->ns_rx < 0) {
		snprintf(p->err, sizeof(p->err), "new netns: %s", strerror(-p->ns_rx));
		return p->ns_rx;
	}
	p->ns_tx = nl_netns_new();
	if (p->ns_tx < 0) {
		snprintf(p->err, sizeof(p->err), "new netns: %s", strerror(-p->ns_tx));
		return p->ns_tx;
	}
	ret = nl_netns_enter(p->ns_rx);
	if (ret)
		return ret;

	/* The rx namespace: the pair, the peer moved out, rx_if up. */
	if (!strcmp(kind, "veth"))
		snprintf(batch, sizeof(batch), "link add %s type veth peer name %s\n",
			 p->rx_if, p->tx_if);
	else
		snprintf(batch, sizeof(batch), "link add %s type %s\n", p->rx_if,
			 kind);
	snprintf(batch + strlen(batch), sizeof(batch) - strlen(batch),
		 "link set dev %s netns /proc/%d/fd/%d\n"
		 "addr add 10.77.0.1/24 dev %s\n"
		 "link set dev %s up\n",
		 p->tx_if, getpid(), p->ns_tx, p->rx_if, p->rx_if);
	ret = nl_ip_batch(-1, out, sizeof(out), batch);
	p->rx_ifindex = if_nametoindex(p->rx_if);
	err = errno;
	p->linked = p->rx_ifindex > 0;
	if (ret)
		return pair_fail(p, "ip -batch (rx namespace)", ret, out);

	/* The tx namespace: tx_if addressed and up. */
	snprintf(batch, sizeof(batch),
		 "addr add 10.77.0.2/24 dev %s\n"
		 "link set dev %s up\n", p->tx_if, p->tx_if);
	ret = nl_ip_batch(p->ns_tx, out, sizeof(out), batch);
	if (ret)
		return pair_fail(p, "ip -batch (tx namespace)", ret, out);

	if (!p->rx_ifindex) {
		snprintf(p->err, sizeof(p->err), "if_nametoindex(%s): %s",
			 p->rx_if, strerror(err));
		return -ENODEV;
	}
	ret = nl_netns_enter(p->ns_tx);
	if (ret) {
		snprintf(p->err, sizeof(p->err), "setns (tx): %s", strerror(-ret));
		return ret;
	}
	p->tx_ifindex = if_nametoindex(p->tx_if);
	if (!p->tx_ifindex)
		p->tx_ifindex = -1;
	ret = nl_netns_enter(p->ns_rx);
	if (ret) {
		snprintf(p->err, sizeof(p->err), "setns (rx): %s", strerror(-ret));
		return ret;
	}

	/* The queues in use (ethtool -l), not the allocated ones (ip -d). */
	p->nr_rxq = combined_channels(p->rx_if);
	if (!p->nr_rxq) {
		ret = nl_sh(-1, out, sizeof(out), "ip -d link show dev %s",
			    p->rx_if);
		if (ret || field_after(out, "numrxqueues") < 1) {
			snprintf(p->err, sizeof(p->err),
				 "no queue count in: %.400s", out);
			return -EIO;
		}
		p->nr_rxq = field_after(out, "numrxqueues");
	}
	return 0;
}

void nl_pair_destroy(struct nl_pair *p)
{
	if (p->linked && p->ns_rx >= 0)
		nl_sh(p->ns_rx, NULL, 0, "ip link del dev %s 2>/dev/null", p->rx_if);
	p->linked = false;
	if (p->ns_orig >= 0)
		setns(p->ns_orig, CLONE_NEWNET);
	if (p->ns_orig >= 0)
		close(p->ns_orig);
	if (p->ns_rx >= 0)
		close(p->ns_rx);
	if (p->ns_tx >= 0)
		close(p->ns_tx);
	p->ns_orig = p->ns_rx = p->ns_tx = -1;
}

int nl_veth_add(const char *name, const char *peer, char *err, size_t len)
{
	int ret = nl_sh(-1, err, len, "ip link add %s type veth peer name %s",
			name, peer);

	return ret ? -EIO : 0;
}

int nl_set_hds(struct nl_pair *p, bool on)
{
	char cmd[128];

	snprintf(cmd, sizeof(cmd), "ethtool -G %s tcp-data-split %s", p->rx_if,
		 on ? "on" : "off");
	return pair_sh(p, -1, cmd);
}

int nl_steer(struct nl_pair *p, uint16_t dport, unsigned int queue)
{
	char cmd[128];

	snprintf(cmd, sizeof(cmd),
		 "ethtool -N %s flow-type tcp4 dst-port %u action %u",
		 p->rx_if, dport, queue);
	return pair_sh(p, -1, cmd);
}

/*
 * The unio_nic's per-queue counters of ethtool -S: "rx<Q>_<name>: <value>"
 * (drivers/unio_nic/ethtool.c). Names are matched exactly.
 */
int nl_queue_stats(struct nl_pair *p, unsigned int queue, struct nl_qstats *st)
{
	static const struct {
		const char *name;
		size_t off;
	} fields[] = {
		{ "packets", offsetof(struct nl_qstats, packets) },
		{ "bytes", offsetof(struct nl_qstats, bytes) },
		{ "drops", offsetof(struct nl_qstats, drops) },
		{ "alloc_fail", offsetof(struct nl_qstats, alloc_fail) },
		{ "hds_packets", offsetof(struct nl_qstats, hds_packets) },
		{ "hds_bytes", offsetof(struct nl_qstats, hds_bytes) },
		{ "ring_full", offsetof(struct nl_qstats, ring_full) },
	};
	static char out[16384];
	char *line, *save = NULL;
	int ret;

	memset(st, 0, sizeof(*st));
	ret = nl_sh(-1, out, sizeof(out), "ethtool -S %s", p->rx_if);
	if (ret) {
		snprintf(p->err, sizeof(p->err), "ethtool -S %s -> %d: %.400s",
			 p->rx_if, ret, out);
		return -EIO;
	}
	for (line = strtok_r(out, "\n", &save); line;
	     line = strtok_r(NULL, "\n", &save)) {
		char name[64], want[64];
		unsigned long long val;

		if (sscanf(line, " %63[^:]: %llu", name, &val) != 2)
			continue;
		for (size_t i = 0; i < sizeof(fields) / sizeof(fields[0]); i++) {
			snprintf(want, sizeof(want), "rx%u_%s", queue,
				 fields[i].name);
			if (strcmp(name, want))
				continue;
			*(uint64_t *)((char *)st + fields[i].off) = val;
			st->found++;
		}
	}
	if (st->found != sizeof(fields) / sizeof(fields[0])) {
		snprintf(p->err, sizeof(p->err),
			 "ethtool -S %s: %u of %zu counters of rx%u found",
			 p->rx_if, st->found, sizeof(fields) / sizeof(fields[0]),
			 queue);
		return -ENOENT;
	}
	return 0;
}

int nl_snmp(int nsfd, const char *group, const char *field, uint64_t *val)
{
	static char out[8192];
	char hdr[64], *names = NULL, *vals = NULL, *line, *save = NULL;
	char *a, *b, *sa = NULL, *sb = NULL;
	int ret;

	ret = nl_sh(nsfd, out, sizeof(out), "cat /proc/net/snmp");
	if (ret)
		return -EIO;
	snprintf(hdr, sizeof(hdr), "%s:", group);
	for (line = strtok_r(out, "\n", &save); line;
	     line = strtok_r(NULL, "\n", &save)) {
		if (strncmp(line, hdr, strlen(hdr)))
			continue;
		if (!names)
			names = line;
		else if (!vals)
			vals = line;
	}
	if (!names || !vals)
		return -ENOENT;
	a = strtok_r(names + strlen(hdr), " ", &sa);
	b = strtok_r(vals + strlen(hdr), " ", &sb);
	while (a && b) {
		if (!strcmp(a, field)) {
			*val = strtoull(b, NULL, 10);
			return 0;
		}
		a = strtok_r(NULL, " ", &sa);
		b = strtok_r(NULL, " ", &sb);
	}
	return -ENOENT;
}
