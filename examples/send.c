// SPDX-License-Identifier: MIT
/*
 * send.c - a region buffer sent over TCP without a copy.
 *
 * Takes a buffer (ALLOC), writes a pattern into it through the mapping, and
 * sends it on a TCP connection with UNIFIED_IO_OP_SEND: the module hands
 * the buffer's pages to the stack, which builds its packets around them
 * (as MSG_ZEROCOPY does with user memory), so no CPU copies the payload on
 * the way out. The peer is this program's own other end of a loopback
 * connection, which reads the bytes and checks every one.
 *
 *   send [DEVICE]            DEVICE: default /dev/unified_io_region
 *
 * A SEND posts two completions with its user_data. The first, at once,
 * says how many bytes were queued on the socket (the send never blocks:
 * when the send buffer fills it queues fewer, and the rest goes once
 * poll() reports POLLOUT). The second, the notification
 * (unio_cqe_is_notif()), comes when the stack has let go of the bytes; until
 * then the buffer must not change, and the module and library refuse to
 * free it, run BPF over it or read NVMe data into it (EBUSY). Delivery to
 * a socket of the same machine copies the bytes into the receiver's
 * buffers, so over loopback every notification says
 * UNIFIED_IO_CQE_F_COPIED; over a NIC with scatter-gather it would not.
 * See unio_prep_send(3) and "Network send" in libunifiedio(7).
 */
#include <arpa/inet.h>
#include <errno.h>
#include <poll.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include <unifiedio.h>

#define OWNER		1		/* any non-zero tag: who holds a buffer */
#define LEN		(64 * 1024)	/* one whole buffer */

static int fail(const char *what, int err)
{
	fprintf(stderr, "send: %s: %s\n", what, strerror(-err));
	return 1;
}

/* A connected loopback TCP pair: *tx sends, *rx receives. */
static int tcp_pair(int *tx, int *rx)
{
	struct sockaddr_in a = {
		.sin_family = AF_INET,
		.sin_addr.s_addr = htonl(INADDR_LOOPBACK),
	};
	socklen_t alen = sizeof(a);
	int l, ret = 0;

	*tx = *rx = -1;
	l = socket(AF_INET, SOCK_STREAM, 0);
	if (l < 0)
		return -errno;
	if (bind(l, (struct sockaddr *)&a, sizeof(a)) || listen(l, 1) ||
	    getsockname(l, (struct sockaddr *)&a, &alen) ||
	    (*tx = socket(AF_INET, SOCK_STREAM, 0)) < 0 ||
	    connect(*tx, (struct sockaddr *)&a, sizeof(a)) ||
	    (*rx = accept(l, NULL, NULL)) < 0)
		ret = -errno;
	close(l);
	return ret;
}

int main(int argc, char **argv)
{
	UNIO_OPTS(opts,
		  .dev_path = argc > 1 ? argv[1] : NULL,
		  .buf_size = 64 * 1024,
		  .data_size = 4 * 64 * 1024);
	struct unified_io_send_info si;
	struct unified_io_desc d;
	struct unified_io_cqe cqe;
	struct unio_region *r;
	struct unio_queue *q;
	unsigned int sends = 0, copied = 0;
	static unsigned char got[LEN];
	uint32_t queued = 0, received = 0;
	unsigned char *buf;
	uint64_t off;
	int tx = -1, rx = -1, ret;
	ssize_t n;

	ret = unio_region_create(&opts, &r);
	if (ret)
		return fail("unio_region_create", ret);
	q = unio_region_queue(r);
	ret = tcp_pair(&tx, &rx);
	if (ret) {
		fail("loopback TCP connection", ret);
		goto out;
	}

	/* A buffer of our own, filled through the mapping. */
	ret = unio_buf_alloc(q, OWNER, &off);
	if (ret) {
		fail("unio_buf_alloc", ret);
		goto out;
	}
	buf = unio_data_ptr(q, off);
	for (unsigned int i = 0; i < LEN; i++)
		buf[i] = (unsigned char)(i * 7 + i / 251);

	/* SEND what is left until every byte is queued. */
	while (queued < LEN) {
		memset(&d, 0, sizeof(d));
		unio_prep_send(&d, tx, OWNER, off + queued, LEN - queued, 0, queued);
		/* Submits d and waits for its first completion. */
		ret = unio_submit_and_wait(r, &d, &cqe, 0);
		if (ret) {
			fail("unio_submit_and_wait (SEND)", ret);
			goto out;
		}
		if (cqe.res == -EAGAIN) {
			/* The send buffer is full: nothing queued, no notification. */
			poll(&(struct pollfd){ .fd = tx, .events = POLLOUT }, 1, -1);
			continue;
		}
		if (cqe.res <= 0) {
			ret = cqe.res ? cqe.res : -EPROTO;
			fail("SEND", ret);
			goto out;
		}
		queued += cqe.res;	/* UNIFIED_IO_CQE_F_MORE: a notification follows */
		sends++;

		/*
		 * The notification: the stack is done with those bytes. It
		 * comes once the peer acknowledged them, which a local peer
		 * does as they arrive; unio_submit_and_wait() refuses to run
		 * until it is reaped.
		 */
		ret = unio_reap(r, &cqe, 1, 1, 10ULL * 1000000000);	/* at most 10 s */
		if (ret != 1 || !unio_cqe_is_notif(&cqe)) {
			ret = ret < 0 ? ret : -EPROTO;
			fail("waiting for the notification", ret);
			goto out;
		}
		if (cqe.flags & UNIFIED_IO_CQE_F_COPIED)
			copied++;
	}
	printf("sent %u bytes of the buffer at data offset %llu in %u SEND%s\n",
	       LEN, (unsigned long long)off, sends, sends == 1 ? "" : "s");
	printf("notifications: %u, %u with UNIFIED_IO_CQE_F_COPIED "
	       "(a local peer: the stack copies)\n", sends, copied);

	/* The buffer is ours again: it could be refilled, sent or freed. */
	ret = unio_buf_free(q, OWNER, off);
	if (ret) {
		fail("unio_buf_free", ret);
		goto out;
	}

	/* The peer: every byte, in order. */
	while (received < LEN) {
		n = recv(rx, got + received, LEN - received, 0);
		if (n <= 0) {
			ret = n ? -errno : -EPIPE;
			fail("recv", ret);
			goto out;
		}
		received += n;
	}
	for (unsigned int i = 0; i < LEN; i++) {
		if (got[i] != (unsigned char)(i * 7 + i / 251)) {
			fprintf(stderr, "send: byte %u differs\n", i);
			ret = -EPROTO;
			goto out;
		}
	}
	printf("received %u bytes: every byte verified\n", received);

	ret = unio_send_get_info(r, &si);
	if (ret) {
		fail("unio_send_get_info", ret);
		goto out;
	}
	printf("send info: %llu sends, %llu bytes, %llu notifications, "
	       "%llu zero-copy bytes, %llu copied bytes, %u in flight\n",
	       (unsigned long long)si.sends, (unsigned long long)si.send_bytes,
	       (unsigned long long)si.notifs, (unsigned long long)si.zc_bytes,
	       (unsigned long long)si.copied_bytes, si.inflight);
out:
	if (tx >= 0)
		close(tx);
	if (rx >= 0)
		close(rx);
	unio_region_destroy(r);
	return ret ? 1 : 0;
}
