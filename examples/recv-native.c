// SPDX-License-Identifier: MIT
/*
 * recv-native.c - TCP receive into region buffers, the region being the
 * memory provider of the NIC's receive queue.
 *
 * UNIFIED_IO_NET_BIND (unio_net_bind()) lends region buffers to one receive
 * queue of a NIC that splits headers from payload: the NIC writes TCP
 * payload straight into them. An UNIFIED_IO_OP_RECV descriptor then hands
 * the application what a socket holds, as one completion per chunk (its
 * data-area offset and length, UNIFIED_IO_CQE_F_MORE) and a final one; the
 * chunks the NIC wrote are handed over in place, anything else (bytes that
 * did not come through the queue) is copied into a region buffer and
 * flagged UNIFIED_IO_CQE_F_COPIED. The application gives buffers back to
 * the NIC through the refill ring, in shared memory, without a system call.
 *
 *   recv-native IFNAME RXQ PORT [OUTPUT]
 *
 * Listens on TCP PORT, takes one connection, receives until the peer
 * closes it, writes the stream to OUTPUT if given, and prints how many bytes
 * came in place and how many were copied. The flow must reach queue RXQ of
 * IFNAME: steer it there (ethtool -N IFNAME flow-type tcp4 dst-port PORT
 * action RXQ). Needs CAP_NET_ADMIN, a NIC with header split and queue
 * management (the test NIC drivers/unio_nic, link kind unionic, has both),
 * and a kernel with kernel/patches/ (UNIFIED_IO_FEAT_NET_PROVIDER).
 *
 * This and recv-zcrx.c are two programs rather than one that picks its
 * path with unio_get_features(): they share nothing but the socket, and
 * each is what an application for that kind of kernel looks like; merged,
 * every reader would have to skip half. A program that must run on both
 * tests UNIFIED_IO_FEAT_NET_PROVIDER as main() below does, and takes the
 * zcrx path without it.
 *
 * See unio_net_bind(3), unio_prep_recv(3), unio_refill_push(3).
 */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <net/if.h>
#include <netinet/in.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include <unifiedio.h>

#define OWNER		1
#define DATA_SIZE	(16 << 20)
#define CQ_ENTRIES	256
#define TIMEOUT_MS	30000

/*
 * Buffers to give back. Every chunk holds one reference on its buffer, and
 * each refill entry drops one, so every chunk gets an entry (a buffer can
 * hold several chunks). The ring has an entry per buffer of the region;
 * what does not fit waits here until the NIC has taken some.
 */
struct giveback {
	uint64_t *off;
	unsigned int n, cap;
};

static void give_back(struct unio_refill *rf, struct giveback *g)
{
	unsigned int i = 0;

	while (i < g->n && unio_refill_push(rf, g->off[i], OWNER))
		i++;
	if (i)
		unio_refill_flush(rf);		/* store-release of the tail */
	memmove(g->off, g->off + i, (g->n - i) * sizeof(*g->off));
	g->n -= i;
}

/* Write all of @len bytes at @p to @fd. */
static int write_all(int fd, const char *p, size_t len)
{
	while (len) {
		ssize_t n = write(fd, p, len);

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return -errno;
		p += n;
		len -= n;
	}
	return 0;
}

/* One connection on @port, with a receive buffer of at most @rcvbuf bytes. */
static int accept_one(uint16_t port, int rcvbuf)
{
	struct sockaddr_in sin = { .sin_family = AF_INET, .sin_port = htons(port),
				   .sin_addr.s_addr = htonl(INADDR_ANY) };
	int one = 1, lfd, fd;

	lfd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (lfd < 0)
		return -errno;
	/*
	 * Accepted sockets inherit the size. The kernel doubles it and caps
	 * it at net.core.rmem_max, so it can only come out smaller.
	 */
	if (setsockopt(lfd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one)) ||
	    setsockopt(lfd, SOL_SOCKET, SO_RCVBUF, &rcvbuf, sizeof(rcvbuf)) ||
	    bind(lfd, (struct sockaddr *)&sin, sizeof(sin)) || listen(lfd, 1)) {
		fd = -errno;
		close(lfd);
		return fd;
	}
	printf("listening on TCP port %u\n", port);
	fflush(stdout);
	fd = accept4(lfd, NULL, NULL, SOCK_CLOEXEC);
	if (fd < 0)
		fd = -errno;
	close(lfd);
	return fd;
}

int main(int argc, char **argv)
{
	uint32_t ps = sysconf(_SC_PAGESIZE), features, nr_bufs, nic_bufs, ifindex, rxq;
	UNIO_OPTS(opts, .sq_entries = 16, .cq_entries = CQ_ENTRIES,
		  .buf_size = ps,		/* NET_BIND: one page per buffer */
		  .data_size = DATA_SIZE);
	uint64_t total = 0, copied = 0, chunks = 0, first_off = UINT64_MAX;
	struct unified_io_net_info net;
	struct giveback g = { 0 };
	struct unio_region *r = NULL;
	struct unio_refill *rf;
	struct unio_queue *q;
	int fd = -1, out = -1, ret;
	bool eof = false;
	char msg[64];

	if (argc < 4 || argc > 5) {
		fprintf(stderr, "usage: %s IFNAME RXQ PORT [OUTPUT]\n", argv[0]);
		return 2;
	}
	ifindex = if_nametoindex(argv[1]);
	if (!ifindex) {
		fprintf(stderr, "recv-native: %s: %s\n", argv[1], strerror(errno));
		return 1;
	}
	rxq = strtoul(argv[2], NULL, 0);

	/* The kernel must let the module be a page pool memory provider. */
	ret = unio_get_features(NULL, &features);
	if (ret) {
		fprintf(stderr, "recv-native: unio_get_features: %s\n", strerror(-ret));
		return 1;
	}
	if (!(features & UNIFIED_IO_FEAT_NET_PROVIDER)) {
		fprintf(stderr, "recv-native: this kernel has no UNIFIED_IO_FEAT_NET_PROVIDER "
			"(it needs kernel/patches/): use recv-zcrx\n");
		return 1;
	}
	if (argc == 5) {
		out = open(argv[4], O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
		if (out < 0) {
			fprintf(stderr, "recv-native: %s: %s\n", argv[4], strerror(errno));
			return 1;
		}
	}

	ret = unio_region_create(&opts, &r);
	if (ret) {
		fprintf(stderr, "recv-native: unio_region_create: %s\n", strerror(-ret));
		goto out;
	}
	q = unio_region_queue(r);
	rf = unio_region_refill(r);	/* there with NET_PROVIDER */
	nr_bufs = q->data_size / ps;
	g.cap = rf->ring_entries + CQ_ENTRIES;
	g.off = calloc(g.cap, sizeof(*g.off));
	if (!g.off) {
		ret = -ENOMEM;
		fprintf(stderr, "recv-native: %s\n", strerror(-ret));
		goto out;
	}

	/*
	 * Lend three quarters of the buffers to the queue (RECV's copies, if
	 * any, take lent buffers too); the rest serve ALLOC. On failure the
	 * kernel says which requirement the NIC does not meet.
	 */
	nic_bufs = nr_bufs / 4 * 3;
	ret = unio_net_bind(r, ifindex, rxq, nic_bufs, msg, sizeof(msg));
	if (ret) {
		fprintf(stderr, "recv-native: NET_BIND %s queue %u: %s%s%s\n", argv[1], rxq,
			strerror(-ret), msg[0] ? ": " : "", msg);
		goto out;
	}
	printf("region bound to %s queue %u: %u of its %u buffers of %u bytes lent to the NIC\n",
	       argv[1], rxq, nic_bufs, nr_bufs, ps);

	/*
	 * Buffers wait on the socket until RECV takes them: keep its receive
	 * buffer within a quarter of the lent memory, so that TCP prunes its
	 * queue before it holds every buffer (see NET_BIND in the uapi header).
	 */
	fd = accept_one(strtoul(argv[3], NULL, 0), nic_bufs / 4 * ps / 2);
	if (fd < 0) {
		ret = fd;
		fprintf(stderr, "recv-native: TCP port %s: %s\n", argv[3], strerror(-ret));
		goto out;
	}

	while (!eof) {
		struct pollfd pfd = { .fd = fd, .events = POLLIN };
		struct unified_io_cqe *cqe;

		/* The completions of one RECV fit in g once what waits is out. */
		give_back(rf, &g);
		if (g.n > g.cap - CQ_ENTRIES) {
			poll(NULL, 0, 1);	/* the NIC has not taken any yet */
			continue;
		}
		ret = poll(&pfd, 1, TIMEOUT_MS);
		if (ret <= 0) {
			ret = ret ? -errno : -ETIMEDOUT;
			if (ret == -EINTR)
				continue;
			fprintf(stderr, "recv-native: poll: %s\n", strerror(-ret));
			goto out;
		}

		/*
		 * Everything the socket holds, one completion per chunk. The
		 * SQ is empty: each round's RECV was consumed by its SUBMIT.
		 */
		unio_prep_recv(unio_get_sqe(q), fd, OWNER, 0, 0, 0);
		ret = unio_submit(q);
		if (ret < 0) {
			fprintf(stderr, "recv-native: unio_submit: %s\n", strerror(-ret));
			goto out;
		}
		ret = 0;
		while ((cqe = unio_peek_cqe(q))) {
			struct unified_io_cqe c = *cqe;

			unio_cqe_seen(q);
			if (!(c.flags & UNIFIED_IO_CQE_F_MORE)) {
				/* The final completion: 0 is the end of the stream. */
				if (c.res == 0)
					eof = true;
				else if (c.res < 0 && c.res != -EAGAIN &&
					 c.res != -ENOSPC && c.res != -ENOBUFS)
					ret = c.res;	/* those three: next round */
				continue;
			}
			/* A chunk: c.res bytes at data-area offset c.addr. */
			if (c.res <= 0 || c.addr + c.res > q->data_size) {
				ret = -EPROTO;
				continue;
			}
			if (out >= 0 && !ret)
				ret = write_all(out, unio_data_ptr(q, c.addr), c.res);
			if (first_off == UINT64_MAX)
				first_off = c.addr;
			total += c.res;
			chunks++;
			if (c.flags & UNIFIED_IO_CQE_F_COPIED)
				copied += c.res;
			g.off[g.n++] = c.addr & ~(uint64_t)(ps - 1);	/* its buffer */
		}
		if (ret) {
			fprintf(stderr, "recv-native: RECV: %s\n", strerror(-ret));
			goto out;
		}
	}
	give_back(rf, &g);

	printf("received %" PRIu64 " bytes in %" PRIu64 " chunks, the first at data-area "
	       "offset %" PRIu64 "\n", total, chunks, first_off == UINT64_MAX ? 0 : first_off);
	printf("in place: %" PRIu64 " bytes the NIC wrote into region buffers; copied: %" PRIu64
	       " bytes\n", total - copied, copied);
	ret = unio_net_get_info(r, &net);
	if (ret) {
		fprintf(stderr, "recv-native: unio_net_get_info: %s\n", strerror(-ret));
		goto out;
	}
	printf("GET_INFO: %s, zc_bytes %llu, copy_bytes %llu, %llu buffers back through "
	       "the refill ring\n", unio_net_state_name(net.state),
	       (unsigned long long)net.zc_bytes, (unsigned long long)net.copy_bytes,
	       (unsigned long long)net.refills);
out:
	if (fd >= 0)
		close(fd);
	if (out >= 0 && close(out) && !ret)
		ret = -errno;
	/* Unbinds: the queue goes back to ordinary memory and keeps working. */
	unio_region_destroy(r);
	free(g.off);
	return ret ? 1 : 0;
}
