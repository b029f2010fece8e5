// SPDX-License-Identifier: GPL-2.0-only
/*
 * unio-netstream recv: what every receive mode shares: listening, accepting
 * the flows, the clock, progress, the region, polling, and the end of a
 * flow. The modes are in recv-native.c, recv-zcrx.c and recv-plain.c.
 *
 * The receiver owns its listening socket, the accepted sockets (closed at
 * EOF, which tells the sender everything was taken) and, in the region
 * modes, one region for the whole run.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <linux/perf_event.h>
#include <net/if.h>
#include <netinet/in.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "netstream.h"

const char *const ns_mode_names[NR_NS_MODES] = {
	[NS_NATIVE]	 = "native",
	[NS_ZCRX]	 = "zcrx",
	[NS_ZCRX_REGION] = "zcrx-region",
	[NS_RECV]	 = "recv",
};

const char *const ns_sc_names[NR_NS_SC] = {
	[NS_SC_POLL]		  = "poll",
	[NS_SC_IOCTL]		  = "ioctl",
	[NS_SC_RECV]		  = "recvfrom",
	[NS_SC_IO_URING_ENTER]	  = "io_uring_enter",
	[NS_SC_IO_URING_REGISTER] = "io_uring_register",
	[NS_SC_SEND]		  = "sendto",
};

/* tcp_rmem's maximum: how far autotuning grows a socket's receive buffer. */
static uint64_t ns_tcp_rmem_max(void)
{
	unsigned long long lo, def, max = 0;
	FILE *f = fopen("/proc/sys/net/ipv4/tcp_rmem", "re");

	if (f) {
		if (fscanf(f, "%llu %llu %llu", &lo, &def, &max) != 3)
			max = 0;
		fclose(f);
	}
	return max;
}

/*
 * Cap the accepted sockets' receive buffer (inherited from the listening
 * socket, so the window scale fits it) at rc->rcvbuf_max when autotuning
 * could grow past it. The kernel doubles the value it is given.
 */
static void ns_recv_limit_rcvbuf(struct ns_recv *rc, int fd)
{
	int v;

	if (!rc->rcvbuf_max || ns_tcp_rmem_max() <= rc->rcvbuf_max)
		return;
	v = rc->rcvbuf_max / 2 > INT32_MAX ? INT32_MAX : (int)(rc->rcvbuf_max / 2);
	if (setsockopt(fd, SOL_SOCKET, SO_RCVBUFFORCE, &v, sizeof(v)))
		setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &v, sizeof(v));
	tool_info(rc->o->quiet, "recv: receive buffer of each socket capped at %llu KiB",
		(unsigned long long)rc->rcvbuf_max >> 10);
}

int ns_recv_listen(struct ns_recv *rc)
{
	const struct ns_recv_opts *o = rc->o;
	struct sockaddr_in sin = { .sin_family = AF_INET, .sin_port = htons(o->port) };
	int one = 1, fd;

	if (inet_pton(AF_INET, o->addr, &sin.sin_addr) != 1) {
		tool_err("--addr %s: not an IPv4 address", o->addr);
		return -EINVAL;
	}
	fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, IPPROTO_TCP);
	if (fd < 0)
		return -errno;
	setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	ns_recv_limit_rcvbuf(rc, fd);
	if (bind(fd, (struct sockaddr *)&sin, sizeof(sin)) || listen(fd, NS_MAX_FLOWS)) {
		int err = errno;

		tool_err("listen on %s:%u: %s", o->addr, o->port, strerror(err));
		close(fd);
		return -err;
	}
	rc->lfd = fd;
	if (o->ready) {
		int rfd = open(o->ready, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);

		if (rfd < 0) {
			tool_err("--ready %s: %s", o->ready, strerror(errno));
			return -errno;
		}
		close(rfd);
	}
	tool_info(o->quiet, "recv: %s: listening on %s:%u for %u flow%s", ns_mode_names[o->mode],
		o->addr, o->port, o->nflows, o->nflows == 1 ? "" : "s");
	return 0;
}

/* Accept every flow; the clock starts with the first one. */
int ns_recv_accept_all(struct ns_recv *rc)
{
	const struct ns_recv_opts *o = rc->o;
	struct pollfd pfd = { .fd = rc->lfd, .events = POLLIN };

	/* --setup-only: everything but the transfer (copycount's baseline). */
	if (o->setup_only)
		return -ECANCELED;
	while (rc->nflows < o->nflows) {
		struct ns_flow *f;
		int fd, ret;

		ret = poll(&pfd, 1, o->timeout_s * 1000);
		if (ret < 0 && errno == EINTR)
			continue;
		if (ret <= 0) {
			tool_err("accept: %s after %u of %u flows",
			       ret ? strerror(errno) : "timed out", rc->nflows, o->nflows);
			return ret ? -errno : -ETIMEDOUT;
		}
		fd = accept4(rc->lfd, NULL, NULL, SOCK_CLOEXEC | SOCK_NONBLOCK);
		if (fd < 0)
			return -errno;
		if (!rc->nflows)
			ns_recv_start_clock(rc);
		f = &rc->flows[rc->nflows];
		memset(f, 0, sizeof(*f));
		f->fd = fd;
		f->slot = rc->nflows++;
		rc->active++;
	}
	close(rc->lfd);
	rc->lfd = -1;
	ns_sc_kernel_start(rc);
	return 0;
}

int ns_hold_cqe(struct ns_recv *rc, const struct unified_io_cqe *c)
{
	if (rc->nheld == rc->cap_held) {
		unsigned int cap = rc->cap_held ? 2 * rc->cap_held : 256;
		struct unified_io_cqe *n = realloc(rc->held, cap * sizeof(*n));

		if (!n)
			return -ENOMEM;
		rc->held = n;
		rc->cap_held = cap;
	}
	rc->held[rc->nheld++] = *c;
	return 0;
}

/* The id of the raw_syscalls:sys_enter tracepoint, from tracefs. */
static int ns_sys_enter_id(void)
{
	static const char *const paths[] = {
		"/sys/kernel/tracing/events/raw_syscalls/sys_enter/id",
		"/sys/kernel/debug/tracing/events/raw_syscalls/sys_enter/id",
	};
	int id = -ENOENT;

	for (size_t i = 0; i < sizeof(paths) / sizeof(paths[0]) && id < 0; i++) {
		FILE *f = fopen(paths[i], "re");

		if (!f)
			continue;
		if (fscanf(f, "%d", &id) != 1 || id < 0)
			id = -EINVAL;
		fclose(f);
	}
	return id;
}

static int ns_perf_read(int fd, uint64_t *v)
{
	return read(fd, v, sizeof(*v)) == sizeof(*v) ? 0 : -EIO;
}

/*
 * Count this thread's system calls from here to ns_sc_kernel_stop(), in
 * the kernel: a perf counter on raw_syscalls:sys_enter, this thread only.
 * Its own DISABLE ioctl is counted too (the tracepoint fires on entry, while
 * the counter still runs); an ENABLE, DISABLE pair measured first says how
 * much that is, and it is taken off. Without tracefs or the right to trace
 * (root, CAP_PERFMON) the report says why there is no count.
 */
void ns_sc_kernel_start(struct ns_recv *rc)
{
	struct ns_report *rep = rc->rep;
	struct perf_event_attr a;
	int id = ns_sys_enter_id(), fd;
	uint64_t v;

	rc->sc_perf_fd = -1;
	if (id < 0) {
		snprintf(rep->sc_kernel_why, sizeof(rep->sc_kernel_why),
			 "no raw_syscalls:sys_enter in tracefs");
		return;
	}
	memset(&a, 0, sizeof(a));
	a.type = PERF_TYPE_TRACEPOINT;
	a.size = sizeof(a);
	a.config = id;
	a.disabled = 1;
	a.exclude_hv = 1;
	fd = syscall(__NR_perf_event_open, &a, 0, -1, -1, PERF_FLAG_FD_CLOEXEC);
	if (fd < 0) {
		snprintf(rep->sc_kernel_why, sizeof(rep->sc_kernel_why),
			 "perf_event_open(raw_syscalls:sys_enter): %s", strerror(errno));
		return;
	}
	if (ioctl(fd, PERF_EVENT_IOC_ENABLE, 0) || ioctl(fd, PERF_EVENT_IOC_DISABLE, 0) ||
	    ns_perf_read(fd, &v) || ioctl(fd, PERF_EVENT_IOC_RESET, 0)) {
		snprintf(rep->sc_kernel_why, sizeof(rep->sc_kernel_why),
			 "perf counter: %s", strerror(errno));
		close(fd);
		return;
	}
	rc->sc_perf_self = v;
	rc->sc_perf_fd = fd;
	ioctl(fd, PERF_EVENT_IOC_ENABLE, 0);
}

void ns_sc_kernel_stop(struct ns_recv *rc)
{
	struct ns_report *rep = rc->rep;
	int fd = rc->sc_perf_fd;
	uint64_t v;

	if (fd < 0)
		return;
	rc->sc_perf_fd = -1;
	errno = 0;
	if (ioctl(fd, PERF_EVENT_IOC_DISABLE, 0) || ns_perf_read(fd, &v) ||
	    v < rc->sc_perf_self) {
		snprintf(rep->sc_kernel_why, sizeof(rep->sc_kernel_why),
			 "perf counter: %s", errno ? strerror(errno) : "below its own count");
	} else {
		rep->have_sc_kernel = true;
		rep->sc_kernel = v - rc->sc_perf_self;
	}
	close(fd);
}

void ns_recv_start_clock(struct ns_recv *rc)
{
	tool_cpu_ns(&rc->usr0, &rc->sys0);
	rc->t0 = tool_now_ns();
	rc->last_progress = rc->t0;
}

void ns_recv_stop_clock(struct ns_recv *rc)
{
	uint64_t usr, sys;

	ns_sc_kernel_stop(rc);
	rc->rep->ns = tool_now_ns() - rc->t0;
	tool_cpu_ns(&usr, &sys);
	rc->rep->usr_ns = usr - rc->usr0;
	rc->rep->sys_ns = sys - rc->sys0;
}

void ns_recv_progress(struct ns_recv *rc, bool force)
{
	uint64_t now = tool_now_ns(), bytes = 0, want = 0;
	unsigned int i;

	if (rc->o->quiet || (!force && now - rc->last_progress < 2000000000ULL))
		return;
	rc->last_progress = now;
	for (i = 0; i < rc->nflows; i++) {
		bytes += rc->flows[i].stream_off;
		want += rc->flows[i].hdr_ok ? rc->flows[i].hdr.bytes + NS_HDR_SIZE : 0;
	}
	fprintf(stderr, "recv: %.1f / %.1f MiB, %u of %u flows active, %.1f s\n",
		bytes / 1048576.0, want / 1048576.0, rc->active, rc->nflows,
		(now - rc->t0) / 1e9);
}

void ns_flow_eof(struct ns_recv *rc, struct ns_flow *f)
{
	if (f->eof)
		return;
	f->eof = true;
	rc->active--;
	close(f->fd);
	f->fd = -1;
}

int ns_ifindex(const struct ns_recv_opts *o, struct ns_report *rep)
{
	uint32_t ifindex = o->ifindex;

	if (o->ifname) {
		ifindex = if_nametoindex(o->ifname);
		if (!ifindex) {
			tool_err("interface %s: %s", o->ifname, strerror(errno));
			return -ENODEV;
		}
		snprintf(rep->ifname, sizeof(rep->ifname), "%s", o->ifname);
	} else if (ifindex) {
		char name[IF_NAMESIZE];

		if (if_indextoname(ifindex, name))
			snprintf(rep->ifname, sizeof(rep->ifname), "%s", name);
	}
	if (!ifindex) {
		tool_err("%s needs --ifname or --ifindex (and --rxq)",
		       ns_mode_names[o->mode]);
		return -EINVAL;
	}
	rep->ifindex = ifindex;
	rep->rxq = o->rxq;
	return ifindex;
}

int ns_region_create(struct ns_recv *rc, uint32_t buf_size, uint64_t data_size,
		     uint32_t cq_entries)
{
	uint32_t sq = cq_entries / 2 < 256 ? cq_entries / 2 : 256;
	int ret;

	UNIO_OPTS(opts, .sq_entries = sq ? sq : 1, .cq_entries = cq_entries,
		  .buf_size = buf_size, .data_size = data_size,
		  .ring = rc->o->ring_uring ? UNIO_RING_IO_URING : UNIO_RING_MODULE);
	ret = unio_region_create(&opts, &rc->r);
	if (ret) {
		const char *why = tool_explain(UNIO_CALL_SETUP, ret, &opts);

		tool_err("region (%u-byte buffers, %llu MiB, CQ %u): %s", buf_size,
		       (unsigned long long)(data_size >> 20), cq_entries, why);
		snprintf(rc->rep->verify_msg, sizeof(rc->rep->verify_msg),
			 "region: %s", why);
		return ret;
	}
	rc->q = unio_region_queue(rc->r);
	return 0;
}

/*
 * poll() the flows not at EOF for POLLIN. @map[i] is the slot of @pfds[i].
 * Returns how many pollfds there are (0: every flow is done), or -errno.
 */
int ns_poll_flows(struct ns_recv *rc, struct pollfd *pfds, unsigned int *map)
{
	unsigned int i, n = 0;
	int ret;

	for (i = 0; i < rc->nflows; i++) {
		if (rc->flows[i].eof)
			continue;
		pfds[n] = (struct pollfd){ .fd = rc->flows[i].fd, .events = POLLIN };
		map[n++] = i;
	}
	if (!n)
		return 0;
	for (;;) {
		rc->rep->sc[NS_SC_POLL]++;
		ret = poll(pfds, n, rc->o->timeout_s * 1000);
		if (ret > 0)
			return n;
		if (ret < 0 && errno == EINTR)
			continue;
		tool_err("poll: %s", ret ? strerror(errno) : "no data before the timeout");
		return ret ? -errno : -ETIMEDOUT;
	}
}
