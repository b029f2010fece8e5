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

#include <linux/genetlink.h>
#include <linux/netdev.h>
#include <linux/netlink.h>

#include "net_lib.h"

#define NL_CMD_LEN	1024

uint64_t nl_now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* --- commands and namespaces -------------------------------------------- */

int nl_sh(int nsfd, char *out, size_t outlen, const char *fmt, ...)
{
	char cmd[NL_CMD_LEN];
	size_t used = 0;
	int pfd[2], status;
	va_list ap;
	pid_t pid;

	va_start(ap, fmt);
	vsnprintf(cmd, sizeof(cmd), fmt, ap);
	va_end(ap);
	if (out && outlen)
		out[0] = '\0';
	if (pipe2(pfd, O_CLOEXEC))
		return -errno;
	fflush(stdout);
	fflush(stderr);
	pid = fork();
	if (pid < 0) {
		int e = errno;

		close(pfd[0]);
		close(pfd[1]);
		return -e;
	}
	if (pid == 0) {
		int devnull = open("/dev/null", O_RDONLY);

		if (nsfd >= 0 && setns(nsfd, CLONE_NEWNET))
			_exit(126);
		dup2(devnull, 0);
		dup2(pfd[1], 1);
		dup2(pfd[1], 2);
		execl("/bin/sh", "sh", "-c", cmd, (char *)NULL);
		_exit(127);
	}
	close(pfd[1]);
	for (;;) {
		char buf[512];
		ssize_t n = read(pfd[0], buf, sizeof(buf));

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
	close(pfd[0]);
	while (waitpid(pid, &status, 0) < 0)
		if (errno != EINTR)
			return -errno;
	if (WIFSIGNALED(status))
		return 128 + WTERMSIG(status);
	return WEXITSTATUS(status);
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

int nl_pair_create(struct nl_pair *p, const char *kind)
{
	char cmd[NL_CMD_LEN], out[1024];
	const char *s;
	int ret;

	memset(p, 0, sizeof(*p));
	p->ns_orig = p->ns_rx = p->ns_tx = -1;
	snprintf(p->kind, sizeof(p->kind), "%s", kind);
	strcpy(p->rx_if, "uio0");
	strcpy(p->tx_if, "uio0p");
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

	if (!strcmp(kind, "veth"))
		snprintf(cmd, sizeof(cmd), "ip link add %s type veth peer name %s",
			 p->rx_if, p->tx_if);
	else
		snprintf(cmd, sizeof(cmd), "ip link add %s type %s", p->rx_if, kind);
	ret = nl_sh(-1, out, sizeof(out), "%s", cmd);
	if (ret) {
		snprintf(p->err, sizeof(p->err), "'%.200s' -> %d: %.250s", cmd,
			 ret, out);
		if (strstr(out, "Unknown device type") ||
		    strstr(out, "not supported") || strstr(out, "Not supported"))
			return -EOPNOTSUPP;
		return -EIO;
	}
	p->linked = true;

	snprintf(cmd, sizeof(cmd), "ip link set dev %s netns /proc/%d/fd/%d",
		 p->tx_if, getpid(), p->ns_tx);
	ret = pair_sh(p, -1, cmd);
	if (ret)
		return ret;
	snprintf(cmd, sizeof(cmd),
		 "ip addr add 10.77.0.1/24 dev %s && ip link set dev %s up",
		 p->rx_if, p->rx_if);
	ret = pair_sh(p, -1, cmd);
	if (ret)
		return ret;
	snprintf(cmd, sizeof(cmd),
		 "ip addr add 10.77.0.2/24 dev %s && ip link set dev %s up",
		 p->tx_if, p->tx_if);
	ret = pair_sh(p, p->ns_tx, cmd);
	if (ret)
		return ret;

	p->rx_ifindex = if_nametoindex(p->rx_if);
	if (!p->rx_ifindex) {
		snprintf(p->err, sizeof(p->err), "if_nametoindex(%s): %s",
			 p->rx_if, strerror(errno));
		return -ENODEV;
	}
	ret = nl_sh(p->ns_tx, out, sizeof(out), "ip -o link show dev %s", p->tx_if);
	p->tx_ifindex = ret ? -1 : atoi(out);
	/* The queues in use (ethtool -l), not the allocated ones (ip -d). */
	ret = nl_sh(-1, out, sizeof(out), "ethtool -l %s", p->rx_if);
	s = ret ? NULL : strstr(out, "Current hardware settings:");
	if (s)
		s = strstr(s, "Combined:");
	if (!s || field_after(s, "Combined:") < 1) {
		ret = nl_sh(-1, out, sizeof(out), "ip -d link show dev %s",
			    p->rx_if);
		if (ret || field_after(out, "numrxqueues") < 1) {
			snprintf(p->err, sizeof(p->err),
				 "no queue count in: %.400s", out);
			return -EIO;
		}
		p->nr_rxq = field_after(out, "numrxqueues");
		return 0;
	}
	p->nr_rxq = field_after(s, "Combined:");
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
 * The uio_nic's per-queue counters of ethtool -S: "rx<Q>_<name>: <value>"
 * (drivers/uio_nic/ethtool.c). Names are matched exactly.
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
