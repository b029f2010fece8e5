// SPDX-License-Identifier: MIT
/*
 * recv-zcrx.c - TCP receive into the region's data area by io_uring
 * zero-copy receive (zcrx).
 *
 * On a kernel that lets no module provide page pool memory (a stock
 * kernel: no UNIFIED_IO_FEAT_NET_PROVIDER), io_uring can: unio_zcrx_register()
 * registers a zcrx interface queue whose area is the region's data area, so
 * the NIC writes TCP payload into region buffers all the same. A multishot
 * IORING_OP_RECV_ZC request posts one completion per chunk with its offset
 * in the area; the chunk goes back to the NIC through zcrx's refill ring,
 * in shared memory, without a system call.
 *
 *   recv-zcrx IFNAME RXQ PORT [OUTPUT]
 *
 * Listens on TCP PORT, takes one connection, receives until the peer
 * closes it, writes the stream to OUTPUT if given, and prints where the
 * bytes landed and how many the kernel had to copy. The flow must reach
 * queue RXQ of IFNAME (ethtool -N IFNAME flow-type tcp4 dst-port PORT
 * action RXQ). Needs CAP_NET_ADMIN, a NIC with header split and queue
 * management (the test NIC drivers/unio_nic, link kind unionic, has both),
 * and io_uring zcrx (Linux 6.15 and later).
 *
 * recv-native.c is the other way into the region (and says why there are
 * two programs). See unio_zcrx_register(3), unio_zcrx_get_info(3) and
 * io_uring's Documentation/networking/iou-zcrx.rst.
 */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <net/if.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include <liburing.h>
#include <unifiedio.h>

#define DATA_SIZE	(16 << 20)
#define RECV_TAG	1		/* user_data of the RECV_ZC request */
#define TIMEOUT_S	30

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

/* One connection on @port. */
static int accept_one(uint16_t port)
{
	struct sockaddr_in sin = { .sin_family = AF_INET, .sin_port = htons(port),
				   .sin_addr.s_addr = htonl(INADDR_ANY) };
	int one = 1, lfd, fd;

	lfd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (lfd < 0)
		return -errno;
	if (setsockopt(lfd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one)) ||
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

/* A multishot zero-copy receive on @fd from zcrx queue @zcrx_id. */
static int arm(struct io_uring *ring, int fd, uint32_t zcrx_id)
{
	struct io_uring_sqe *sqe = io_uring_get_sqe(ring);

	if (!sqe)
		return -EBUSY;
	io_uring_prep_rw(IORING_OP_RECV_ZC, sqe, fd, NULL, 0, 0);
	sqe->ioprio |= IORING_RECV_MULTISHOT;
	sqe->zcrx_ifq_idx = zcrx_id;
	sqe->user_data = RECV_TAG;
	return 0;
}

int main(int argc, char **argv)
{
	uint32_t ps = sysconf(_SC_PAGESIZE), ifindex, rxq;
	UNIO_OPTS(opts, .buf_size = ps, .data_size = DATA_SIZE);
	/*
	 * What zcrx asks of the ring: completions are posted by the task that
	 * submits (DEFER_TASKRUN, SINGLE_ISSUER) and carry a second 16 bytes
	 * with the chunk's offset (CQE32).
	 */
	struct io_uring_params p = {
		.flags = IORING_SETUP_DEFER_TASKRUN | IORING_SETUP_SINGLE_ISSUER |
			 IORING_SETUP_CQE32 | IORING_SETUP_CQSIZE,
		.cq_entries = 512,
	};
	uint64_t total = 0, chunks = 0, first_off = UINT64_MAX;
	struct unio_zcrx *z = NULL;
	struct unio_region *r = NULL;
	struct unio_zcrx_info zi;
	struct io_uring_zcrx_rq *rq;
	struct io_uring ring;
	bool ring_ok = false, eof = false;
	int fd = -1, out = -1, ret;

	if (argc < 4 || argc > 5) {
		fprintf(stderr, "usage: %s IFNAME RXQ PORT [OUTPUT]\n", argv[0]);
		return 2;
	}
	ifindex = if_nametoindex(argv[1]);
	if (!ifindex) {
		fprintf(stderr, "recv-zcrx: %s: %s\n", argv[1], strerror(errno));
		return 1;
	}
	rxq = strtoul(argv[2], NULL, 0);
	if (argc == 5) {
		out = open(argv[4], O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
		if (out < 0) {
			fprintf(stderr, "recv-zcrx: %s: %s\n", argv[4], strerror(errno));
			return 1;
		}
	}

	ret = io_uring_queue_init_params(8, &ring, &p);
	if (ret) {
		fprintf(stderr, "recv-zcrx: io_uring_queue_init: %s\n", strerror(-ret));
		goto out;
	}
	ring_ok = true;
	ret = unio_region_create(&opts, &r);
	if (ret) {
		fprintf(stderr, "recv-zcrx: unio_region_create: %s\n", strerror(-ret));
		goto out;
	}

	/*
	 * The whole data area becomes the queue's memory. The region's own
	 * allocator does not know it is lent: this program ALLOCs nothing; one
	 * that does keeps the area apart with the options' data_off and len,
	 * or ALLOCs every buffer of the area first.
	 */
	UNIO_ZCRX_OPTS(zo, .ifindex = ifindex, .rxq = rxq);
	ret = unio_zcrx_register(r, &ring, &zo, &z);
	if (ret) {
		fprintf(stderr, "recv-zcrx: zcrx registration on %s queue %u: %s\n",
			argv[1], rxq, strerror(-ret));
		goto out;
	}
	unio_zcrx_get_info(z, &zi);
	rq = zi.rq;
	printf("zcrx queue %u on %s queue %u: the region's data area (%" PRIu64
	       " MiB at data offset %" PRIu64 "), chunks of at most %u bytes\n",
	       zi.id, argv[1], rxq, zi.len >> 20, zi.data_off, zi.rx_buf_len);

	fd = accept_one(strtoul(argv[3], NULL, 0));
	if (fd < 0) {
		ret = fd;
		fprintf(stderr, "recv-zcrx: TCP port %s: %s\n", argv[3], strerror(-ret));
		goto out;
	}
	ret = arm(&ring, fd, zi.id);

	while (!ret && !eof) {
		struct __kernel_timespec ts = { .tv_sec = TIMEOUT_S };
		struct io_uring_cqe *cqe;
		unsigned int head, seen = 0;

		ret = io_uring_submit_and_wait_timeout(&ring, &cqe, 1, &ts, NULL);
		if (ret == -EINTR) {
			ret = 0;
			continue;
		}
		if (ret < 0) {
			fprintf(stderr, "recv-zcrx: waiting for data: %s\n", strerror(-ret));
			break;
		}
		ret = 0;
		io_uring_for_each_cqe(&ring, head, cqe) {
			/* CQE32: the zcrx part follows the ordinary completion. */
			const struct io_uring_zcrx_cqe *rcqe = (const void *)(cqe + 1);
			uint64_t off = rcqe->off & ~IORING_ZCRX_AREA_MASK;
			struct io_uring_zcrx_rqe *rqe;

			seen++;
			if (cqe->res > 0) {
				/* A chunk: area offset plus data_off is a data-area offset. */
				if (off + cqe->res > zi.len) {
					ret = -EPROTO;
					break;
				}
				if (out >= 0)
					ret = write_all(out, (char *)zi.area + off, cqe->res);
				if (first_off == UINT64_MAX)
					first_off = zi.data_off + off;
				total += cqe->res;
				chunks++;
				/* Back to the NIC: the area token marks the area. */
				if (rq->rq_tail - io_uring_smp_load_acquire(rq->khead) >=
				    rq->ring_entries) {
					ret = -ENOSPC;
					break;
				}
				rqe = &rq->rqes[rq->rq_tail++ & (rq->ring_entries - 1)];
				rqe->off = off | zi.area_token;
				rqe->len = cqe->res;
				rqe->__pad = 0;
				if (ret)
					break;
			}
			if (cqe->flags & IORING_CQE_F_MORE)
				continue;
			/* The request ended: 0 at the end of the stream. */
			if (cqe->res == 0)
				eof = true;
			else if (cqe->res > 0 || cqe->res == -ENOMEM || cqe->res == -ENOSPC)
				ret = arm(&ring, fd, zi.id);	/* out of chunks or CQEs */
			else
				ret = cqe->res;
			if (ret)
				break;
		}
		io_uring_cq_advance(&ring, seen);
		io_uring_smp_store_release(rq->ktail, rq->rq_tail);
		if (ret)
			fprintf(stderr, "recv-zcrx: RECV_ZC: %s\n", strerror(-ret));
	}
	if (ret)
		goto out;

	printf("received %" PRIu64 " bytes in %" PRIu64 " chunks, the first at data-area "
	       "offset %" PRIu64 "\n", total, chunks, first_off == UINT64_MAX ? 0 : first_off);
	unio_zcrx_get_info(z, &zi);
	if (zi.flags & UNIO_ZCRX_INFO_F_STATS)
		printf("copied by the kernel (zcrx fallback): %" PRIu64 " bytes in %" PRIu64
		       " chunks\n", zi.copy_bytes, zi.copy_count);
	else
		printf("copied by the kernel (zcrx fallback): not reported by this kernel\n");
out:
	if (fd >= 0)
		close(fd);
	if (out >= 0 && close(out) && !ret)
		ret = -errno;
	/* The queue lives until the ring is closed; then its refill mapping goes. */
	if (ring_ok)
		io_uring_queue_exit(&ring);
	unio_zcrx_destroy(z);
	unio_region_destroy(r);
	return ret ? 1 : 0;
}
