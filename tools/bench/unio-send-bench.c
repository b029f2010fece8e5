// SPDX-License-Identifier: GPL-2.0-only
/*
 * unio-send-bench: the same TCP streams sent from six sources, one mode per
 * process, to a unio-netstream receiver that checks every byte.
 *
 *   unio-send-bench --mode MODE --to HOST:PORT [--flows N] [--bytes SIZE]
 *                   [--chunk SIZE] [--depth N] [--sndbuf SIZE]
 *                   [--dev /dev/ngXnY] [--bdev /dev/nvmeXnY] [--file PATH]
 *                   [--json FILE] [--setup-only]
 *   unio-send-bench --prepare [--flows N] [--bytes SIZE] [--bdev DEV]
 *                   [--file PATH]
 *
 * A flow's stream is unio-netstream's: the 64-byte header, then --bytes
 * bytes of the flow's pattern (tools/net/netstream.h). Every mode sends
 * exactly the stream, header included, and no call hands the kernel more
 * than --chunk bytes (the application's unit; region buffers are that
 * size):
 *   send          send() from private memory holding the streams
 *   send-mmap     send() from the region's mmap'd data area holding them
 *   msg-zerocopy  sendmsg(MSG_ZEROCOPY) from private memory; completions
 *                 reaped from the error queue (SO_EE_CODE_ZEROCOPY_COPIED
 *                 counted as bytes the stack copied)
 *   sendfile      sendfile() from a file (--file) whose page cache is
 *                 dropped first: the drive is read
 *   odirect-send  pread() of the block device (--bdev) with O_DIRECT into a
 *                 private buffer, then send()
 *   region-zc     NVMe passthrough reads (--dev) into region buffers, then
 *                 UNIFIED_IO_OP_SEND of those buffers: no CPU touches the
 *                 payload; a buffer is read into again only after the
 *                 notifications of its sends
 * The baseline modes run one thread per flow on blocking sockets (the
 * fewest system calls those calls allow); region-zc runs every flow from one
 * thread, batching descriptors across flows and buffers.
 *
 * --prepare stores the streams of an N-flow run where the storage modes
 * read them: on the block device and in the file, flow F of an N-flow run
 * at byte STRIDE * (N * (N - 1) / 2 + F), STRIDE the stream length rounded
 * up to 1 MiB, so runs with different flow counts keep their own copies.
 *
 * The process is meant to run under syscount and copycount: it prints
 * nothing on success, stores its JSON through a shared mapping of the
 * output file, and --setup-only does everything but connect and send, to
 * measure the fixed system calls and copies for subtraction. Exit status 0,
 * 1 on failure, 2 on a usage error, 77 when the mode cannot run here (the
 * reason on standard error).
 */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <inttypes.h>
#include <limits.h>
#include <netdb.h>
#include <poll.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/sendfile.h>
#include <sys/socket.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <unistd.h>
#include <linux/errqueue.h>
#include <linux/fs.h>
#include <netinet/in.h>

#include <unifiedio.h>

#include "bench-common.h"
#include "../net/netstream.h"

#ifndef SO_EE_ORIGIN_ZEROCOPY
#define SO_EE_ORIGIN_ZEROCOPY		5
#endif
#ifndef SO_EE_CODE_ZEROCOPY_COPIED
#define SO_EE_CODE_ZEROCOPY_COPIED	1
#endif

#define EXIT_SKIP	77
#define STRIDE_ALIGN	(1ULL << 20)
#define SB_OWNER	0x5342		/* "SB" */
#define MAX_REGION_BUFS	1024
/* msg-zerocopy: drain the error queue every this many sends. */
#define ZC_REAP_AT	16

enum mode { M_SEND, M_SEND_MMAP, M_ZEROCOPY, M_SENDFILE, M_ODIRECT, M_REGION,
	    NR_MODES };

static const char *const mode_names[NR_MODES] = {
	[M_SEND]	= "send",
	[M_SEND_MMAP]	= "send-mmap",
	[M_ZEROCOPY]	= "msg-zerocopy",
	[M_SENDFILE]	= "sendfile",
	[M_ODIRECT]	= "odirect-send",
	[M_REGION]	= "region-zc",
};

const char *const bench_name = "unio-send-bench";

/* What the loops count: the calls they make, by kind (syscount has the rest). */
enum ctr { C_SEND, C_SENDMSG, C_ERRQUEUE, C_POLL, C_SENDFILE, C_PREAD,
	   C_SUBMIT, C_REAP, C_WAIT, NR_CTRS };

static const char *const ctr_names[NR_CTRS] = {
	[C_SEND] = "send", [C_SENDMSG] = "sendmsg_zerocopy",
	[C_ERRQUEUE] = "recvmsg_errqueue", [C_POLL] = "poll",
	[C_SENDFILE] = "sendfile", [C_PREAD] = "pread",
	[C_SUBMIT] = "unio_submit_descs", [C_REAP] = "unio_reap",
	[C_WAIT] = "unio_wait_cqes",
};

struct bench {
	enum mode mode;
	const char *to;
	unsigned int nflows;
	uint64_t bytes;		/* payload per flow */
	uint64_t stream;	/* header + payload */
	uint64_t stride;
	uint32_t chunk;
	unsigned int depth;	/* region-zc: buffers per flow */
	int sndbuf;
	const char *dev, *bdev, *file, *json;
	bool setup_only, prepare;
	uint64_t seed;

	struct addrinfo *ai;
	char *mem;		/* send, msg-zerocopy: the streams */
	struct unio_region *r;
	struct unio_queue *q;
	struct unio_nvme *ns;
	uint32_t lba;
	int fd;			/* sendfile: the file; odirect-send: the device */

	/* Results. */
	uint64_t ns_total, usr_ns, sys_ns;
	_Atomic uint64_t ctr[NR_CTRS];
	_Atomic uint64_t sent;
	bool have_stack_copy;
	const char *stack_copy_source;
	_Atomic uint64_t stack_copied_bytes;
	_Atomic uint64_t zc_notifs, zc_copied_notifs;
	/* region-zc */
	uint64_t sends, short_sends, eagains, notifs, copied_notifs, reads;
	uint64_t batched_sends;	/* SENDs behind another of their flow in a batch */
	uint64_t sndbuf_room;	/* SO_SNDBUF as getsockopt() reports it */
	bool have_send_info;
	struct unified_io_send_info si;
};

struct flow {
	struct bench *b;
	pthread_t thread;
	unsigned int idx;
	int fd;
	int err;
	char msg[160];
};

static uint64_t stream_base(const struct bench *b, unsigned int flow)
{
	return b->stride * ((uint64_t)b->nflows * (b->nflows - 1) / 2 + flow);
}

/* Stream bytes [off, off + len) of @flow into @dst. */
static void stream_fill(const struct bench *b, unsigned int flow, uint64_t off,
			void *dst, size_t len)
{
	char *p = dst;

	if (off < NS_HDR_SIZE) {
		struct ns_hdr h;
		size_t n = NS_HDR_SIZE - off < len ? NS_HDR_SIZE - off : len;

		ns_hdr_init(&h, flow, b->nflows, b->bytes, b->seed);
		memcpy(p, (char *)&h + off, n);
		p += n;
		off += n;
		len -= n;
	}
	if (len)
		ns_fill(ns_flow_key(b->seed, flow), off - NS_HDR_SIZE, p, len);
}

static int flow_fail(struct flow *f, const char *what, int err)
{
	snprintf(f->msg, sizeof(f->msg), "%s: %s", what, strerror(err));
	f->err = -err;
	return -err;
}

static int flow_connect(struct flow *f)
{
	struct bench *b = f->b;
	uint64_t deadline = tool_now_ns() + 30000000000ULL;
	int fd, err;

	for (;;) {
		fd = socket(b->ai->ai_family, SOCK_STREAM | SOCK_CLOEXEC, IPPROTO_TCP);
		if (fd < 0)
			return flow_fail(f, "socket", errno);
		if (b->sndbuf > 0 &&
		    setsockopt(fd, SOL_SOCKET, SO_SNDBUFFORCE, &b->sndbuf, sizeof(b->sndbuf)) &&
		    setsockopt(fd, SOL_SOCKET, SO_SNDBUF, &b->sndbuf, sizeof(b->sndbuf))) {
			err = errno;
			close(fd);
			return flow_fail(f, "SO_SNDBUF", err);
		}
		if (b->mode == M_ZEROCOPY &&
		    setsockopt(fd, SOL_SOCKET, SO_ZEROCOPY, &(int){ 1 }, sizeof(int))) {
			err = errno;
			close(fd);
			return flow_fail(f, "SO_ZEROCOPY", err);
		}
		if (!connect(fd, b->ai->ai_addr, b->ai->ai_addrlen)) {
			int v = 0;
			socklen_t vl = sizeof(v);

			if (getsockopt(fd, SOL_SOCKET, SO_SNDBUF, &v, &vl)) {
				err = errno;
				close(fd);
				return flow_fail(f, "SO_SNDBUF", err);
			}
			/*
			 * region-zc connects its flows from one thread; theirs
			 * are alike.
			 */
			if (b->mode == M_REGION)
				b->sndbuf_room = v;
			f->fd = fd;
			return 0;
		}
		err = errno;
		close(fd);
		if ((err != ECONNREFUSED && err != ENETUNREACH && err != EHOSTUNREACH) ||
		    tool_now_ns() > deadline)
			return flow_fail(f, "connect", err);
		usleep(20000);
	}
}

/* After the last byte: FIN, then wait for the receiver to close. */
static int flow_finish(struct flow *f)
{
	char c;
	ssize_t n;

	if (shutdown(f->fd, SHUT_WR))
		return flow_fail(f, "shutdown", errno);
	while ((n = recv(f->fd, &c, 1, 0)) > 0)
		;
	if (n < 0)
		return flow_fail(f, "waiting for the receiver's close", errno);
	return 0;
}

static int send_all(struct flow *f, const char *p, size_t len)
{
	struct bench *b = f->b;

	while (len) {
		ssize_t n = send(f->fd, p, len, MSG_NOSIGNAL);

		atomic_fetch_add(&b->ctr[C_SEND], 1);
		if (n < 0) {
			if (errno == EINTR)
				continue;
			return flow_fail(f, "send", errno);
		}
		p += n;
		len -= n;
	}
	return 0;
}

/* msg-zerocopy bookkeeping of one flow: the bytes of each send, by id. */
struct zc_state {
	uint32_t *len;		/* bytes of send i */
	uint32_t issued;	/* sends that queued bytes: ids 0..issued-1 */
	uint32_t done;		/* of them notified */
	uint32_t reaped_at;	/* @issued when the error queue was last drained */
};

/*
 * Read one notification batch from the error queue. @block: wait for it.
 * Returns 1 when something was reaped, 0 when nothing was there, -errno.
 */
static int zc_reap(struct flow *f, struct zc_state *z, bool block)
{
	struct bench *b = f->b;
	char ctl[CMSG_SPACE(sizeof(struct sock_extended_err)) + 64];
	struct msghdr msg = { .msg_control = ctl, .msg_controllen = sizeof(ctl) };
	struct sock_extended_err *ee;
	struct cmsghdr *cm;
	uint32_t lo, hi, i;
	uint64_t bytes = 0;

	for (;;) {
		if (block) {
			struct pollfd p = { .fd = f->fd };

			atomic_fetch_add(&b->ctr[C_POLL], 1);
			if (poll(&p, 1, 30000) < 0 && errno != EINTR)
				return flow_fail(f, "poll", errno);
		}
		atomic_fetch_add(&b->ctr[C_ERRQUEUE], 1);
		if (recvmsg(f->fd, &msg, MSG_ERRQUEUE | MSG_DONTWAIT) >= 0)
			break;
		if (errno == EINTR)
			continue;
		if (errno != EAGAIN)
			return flow_fail(f, "recvmsg(MSG_ERRQUEUE)", errno);
		if (!block)
			return 0;
	}
	cm = CMSG_FIRSTHDR(&msg);
	if (!cm || !((cm->cmsg_level == SOL_IP && cm->cmsg_type == IP_RECVERR) ||
		     (cm->cmsg_level == SOL_IPV6 && cm->cmsg_type == IPV6_RECVERR)))
		return flow_fail(f, "error queue: not a zerocopy notification", EPROTO);
	ee = (struct sock_extended_err *)CMSG_DATA(cm);
	if (ee->ee_origin != SO_EE_ORIGIN_ZEROCOPY || ee->ee_errno)
		return flow_fail(f, "error queue", ee->ee_errno ? ee->ee_errno : EPROTO);
	/*
	 * Sends lo..hi (ids count from 0 per socket); ranges never overlap,
	 * but nothing promises they come in order.
	 */
	lo = ee->ee_info;
	hi = ee->ee_data;
	if (hi < lo || hi >= z->issued || hi - lo + 1 > z->issued - z->done)
		return flow_fail(f, "a zerocopy notification of sends never made", EPROTO);
	for (i = lo; i <= hi; i++)
		bytes += z->len[i];
	z->done += hi - lo + 1;
	atomic_fetch_add(&b->zc_notifs, 1);
	if (ee->ee_code & SO_EE_CODE_ZEROCOPY_COPIED) {
		atomic_fetch_add(&b->zc_copied_notifs, 1);
		atomic_fetch_add(&b->stack_copied_bytes, bytes);
	}
	return 1;
}

static int run_zerocopy(struct flow *f, const char *src)
{
	struct bench *b = f->b;
	struct zc_state z = { 0 };
	uint64_t off = 0;
	int ret = 0;

	/* One id per sendmsg that queued bytes: at most one per chunk and partial send. */
	z.len = calloc(b->stream / b->chunk + 2 + 4096, sizeof(*z.len));
	if (!z.len)
		return flow_fail(f, "out of memory", ENOMEM);
	while (off < b->stream) {
		size_t n = b->stream - off < b->chunk ? b->stream - off : b->chunk;
		struct iovec iov = { .iov_base = (void *)(src + off), .iov_len = n };
		struct msghdr msg = { .msg_iov = &iov, .msg_iovlen = 1 };
		ssize_t s;

		/*
		 * Every ZC_REAP_AT sends, drain what has come: the kernel merges
		 * the ranges of notifications left unread, so one read usually
		 * takes many sends.
		 */
		if (z.issued - z.done && z.issued - z.reaped_at >= ZC_REAP_AT) {
			z.reaped_at = z.issued;
			while ((ret = zc_reap(f, &z, false)) > 0)
				;
			if (ret < 0)
				goto out;
		}
		atomic_fetch_add(&b->ctr[C_SENDMSG], 1);
		s = sendmsg(f->fd, &msg, MSG_ZEROCOPY | MSG_NOSIGNAL);
		if (s < 0) {
			if (errno == EINTR)
				continue;
			if (errno == ENOBUFS && z.issued > z.done) {
				/* optmem full of notifications: take some. */
				ret = zc_reap(f, &z, true);
				if (ret < 0)
					goto out;
				continue;
			}
			ret = flow_fail(f, "sendmsg(MSG_ZEROCOPY)", errno);
			goto out;
		}
		if (z.issued >= b->stream / b->chunk + 2 + 4096) {
			ret = flow_fail(f, "too many partial zerocopy sends", E2BIG);
			goto out;
		}
		z.len[z.issued++] = s;
		off += s;
		atomic_fetch_add(&b->sent, s);
	}
	while (z.done < z.issued) {
		ret = zc_reap(f, &z, true);
		if (ret < 0)
			goto out;
	}
	ret = 0;
out:
	free(z.len);
	return ret;
}

static int run_sendfile(struct flow *f)
{
	struct bench *b = f->b;
	off_t pos = stream_base(b, f->idx), end = pos + b->stream;

	while (pos < end) {
		size_t n = end - pos < b->chunk ? end - pos : b->chunk;
		ssize_t s;

		atomic_fetch_add(&b->ctr[C_SENDFILE], 1);
		s = sendfile(f->fd, b->fd, &pos, n);
		if (s < 0) {
			if (errno == EINTR)
				continue;
			return flow_fail(f, "sendfile", errno);
		}
		if (!s)
			return flow_fail(f, "sendfile: the file is short", EIO);
		atomic_fetch_add(&b->sent, s);
	}
	return 0;
}

static int run_odirect(struct flow *f)
{
	struct bench *b = f->b;
	uint64_t base = stream_base(b, f->idx), off = 0;
	char *buf;
	int ret = 0;

	buf = aligned_alloc(4096, b->chunk);
	if (!buf)
		return flow_fail(f, "out of memory", ENOMEM);
	while (off < b->stream) {
		size_t n = b->stream - off < b->chunk ? b->stream - off : b->chunk;
		size_t rd = (n + b->lba - 1) / b->lba * b->lba;
		ssize_t got;

		atomic_fetch_add(&b->ctr[C_PREAD], 1);
		got = pread(b->fd, buf, rd, base + off);
		if (got < 0 && errno == EINTR)
			continue;
		if (got < (ssize_t)n) {
			ret = flow_fail(f, "pread", got < 0 ? errno : EIO);
			break;
		}
		ret = send_all(f, buf, n);
		if (ret)
			break;
		off += n;
		atomic_fetch_add(&b->sent, n);
	}
	free(buf);
	return ret;
}

static void *flow_thread(void *arg)
{
	struct flow *f = arg;
	struct bench *b = f->b;
	const char *src = NULL;
	uint64_t off;

	if (flow_connect(f))
		return NULL;
	if (b->mode == M_SEND || b->mode == M_ZEROCOPY)
		src = b->mem + (uint64_t)f->idx * b->stride;
	else if (b->mode == M_SEND_MMAP)
		src = unio_data_ptr(b->q, (uint64_t)f->idx * b->stride);

	switch (b->mode) {
	case M_SEND:
	case M_SEND_MMAP:
		for (off = 0; off < b->stream && !f->err; off += b->chunk) {
			size_t n = b->stream - off < b->chunk ? b->stream - off : b->chunk;

			if (!send_all(f, src + off, n))
				atomic_fetch_add(&b->sent, n);
		}
		break;
	case M_ZEROCOPY:
		run_zerocopy(f, src);
		break;
	case M_SENDFILE:
		run_sendfile(f);
		break;
	case M_ODIRECT:
		run_odirect(f);
		break;
	default:
		break;
	}
	if (!f->err)
		flow_finish(f);
	close(f->fd);
	return NULL;
}

/* ---- region-zc ---------------------------------------------------------- */

enum rbuf_state { RB_FREE, RB_READING, RB_READY, RB_SENT };

struct rbuf {
	uint64_t off;		/* data-area offset */
	uint64_t chunk;		/* chunk of the flow's stream it holds */
	uint32_t len;		/* stream bytes in it */
	uint32_t sent;		/* of them queued by SENDs */
	uint32_t notifs;	/* SENDs whose notification is pending */
	enum rbuf_state st;
};

struct rflow {
	int fd;
	uint64_t nchunks;
	uint64_t next_read;	/* next chunk to read */
	uint64_t next_send;	/* chunk being sent */
	uint64_t released;	/* chunks sent and notified, in order */
	bool blocked;		/* the last SEND queued less than asked */
	bool cautious;		/* one has: one SEND per batch from now on */
	bool fin;		/* everything queued, FIN sent */
	uint64_t unnotified;	/* bytes queued whose notification is pending */
	unsigned int send_pending;	/* SENDs given to the library, not completed */
	struct rbuf *bufs;	/* depth of them; chunk c in bufs[c % depth] */
};

struct rstate {
	struct bench *b;
	struct rflow *fl;
	struct rbuf *bufs;
	unsigned int nbufs;
	unsigned int reads_inflight;
	uint64_t notifs_pending;
	struct unified_io_desc *descs;
	struct unified_io_cqe *cqes;
	unsigned int max_cqes;
};

/* user_data: flow in bits 48-63, chunk below; NVMe reads have bit 47. */
#define UD_READ		(1ULL << 47)
#define UD_CHUNK_MASK	((1ULL << 47) - 1)

static int region_setup(struct bench *b)
{
	unsigned int nbufs = b->nflows * b->depth, i;
	uint32_t feats = 0;
	int ret;

	ret = unio_get_features(NULL, &feats);
	if (ret)
		return bench_fail("unio_get_features", ret);
	if (!(feats & UNIFIED_IO_FEAT_NET_SEND)) {
		fprintf(stderr, "%s: the module has no UNIFIED_IO_FEAT_NET_SEND\n", bench_name);
		return -EOPNOTSUPP;
	}
	if (nbufs > MAX_REGION_BUFS)
		return bench_fail("--flows x --depth above 1024 buffers", -E2BIG);
	{
		uint32_t cq = 256;

		/* Room for every buffer's SEND, its notification and its read. */
		while (cq < 4 * nbufs)
			cq <<= 1;
		UNIO_OPTS(opts, .buf_size = b->chunk, .data_size = (uint64_t)nbufs * b->chunk,
			  .sq_entries = cq / 2, .cq_entries = cq);
		ret = unio_region_create(&opts, &b->r);
		if (ret) {
			fprintf(stderr, "%s: creating the region: %s\n", bench_name,
				tool_explain(UNIO_CALL_SETUP, ret, &opts));
			return ret;
		}
	}
	b->q = unio_region_queue(b->r);
	{
		UNIO_NVME_OPTS(nopts, .queue_depth = nbufs < 256 ? nbufs : 256);
		struct unio_nvme_info info;

		ret = unio_nvme_open(b->r, b->dev, &nopts, &b->ns);
		if (ret)
			return bench_fail(b->dev, ret);
		unio_nvme_get_info(b->ns, &info);
		b->lba = info.lba_size;
		if (b->chunk % b->lba)
			return bench_fail("--chunk is not a multiple of the LBA size", -EINVAL);
		if (stream_base(b, b->nflows) > info.nr_lbas * info.lba_size)
			return bench_fail("the streams do not fit the namespace", -ERANGE);
	}
	/* Take every buffer now, in one batch; they stay held to the end. */
	{
		struct unified_io_desc *d = calloc(nbufs, sizeof(*d));
		struct unified_io_cqe *c = calloc(nbufs, sizeof(*c));
		unsigned int got = 0;

		if (!d || !c) {
			free(d);
			free(c);
			return bench_fail("out of memory", -ENOMEM);
		}
		for (i = 0; i < nbufs; i++)
			unio_prep_alloc(&d[i], SB_OWNER, i);
		ret = unio_submit_descs(b->r, d, nbufs);
		if (ret == (int)nbufs)
			ret = unio_reap(b->r, c, nbufs, nbufs, 10000000000ULL);
		for (i = 0; ret == (int)nbufs && i < nbufs; i++)
			if (c[i].res < 0 || c[i].opcode != UNIFIED_IO_OP_ALLOC)
				break;
		got = ret == (int)nbufs ? i : 0;
		free(d);
		free(c);
		if (got != nbufs)
			return bench_fail("ALLOC of the buffers", ret < 0 ? ret : -ENOBUFS);
	}
	return 0;
}

/* One completion of region-zc's loop. */
static int region_cqe(struct rstate *s, const struct unified_io_cqe *c)
{
	struct bench *b = s->b;
	unsigned int flow = c->user_data >> 48;
	uint64_t chunk = c->user_data & UD_CHUNK_MASK;
	struct rflow *f;
	struct rbuf *rb;

	if (flow >= b->nflows)
		return bench_fail("a completion of no flow", -EPROTO);
	f = &s->fl[flow];
	rb = &f->bufs[chunk % b->depth];
	if (rb->chunk != chunk)
		return bench_fail("a completion of a buffer reused", -EPROTO);

	if (c->opcode == UNIFIED_IO_OP_NVME) {
		if (!(c->user_data & UD_READ) || rb->st != RB_READING)
			return bench_fail("an NVMe completion out of place", -EPROTO);
		if (c->res < (int)rb->len) {
			fprintf(stderr, "%s: NVMe read: %s (status 0x%x: %s)\n", bench_name,
				strerror(c->res < 0 ? -c->res : EIO), c->flags,
				unio_nvme_status_str(c->flags));
			return -EIO;
		}
		rb->st = RB_READY;
		s->reads_inflight--;
		b->reads++;
		return 0;
	}
	if (c->opcode != UNIFIED_IO_OP_SEND)
		return bench_fail("an unexpected completion", -EPROTO);
	if (unio_cqe_is_notif(c)) {
		if (!rb->notifs)
			return bench_fail("a notification with no send pending", -EPROTO);
		b->notifs++;
		s->notifs_pending--;
		f->unnotified -= c->res;
		if (c->flags & UNIFIED_IO_CQE_F_COPIED) {
			b->copied_notifs++;
			atomic_fetch_add(&b->stack_copied_bytes, c->res);
		}
		if (!--rb->notifs && rb->st == RB_SENT) {
			rb->st = RB_FREE;
			while (f->released < f->next_send &&
			       f->bufs[f->released % b->depth].st == RB_FREE &&
			       f->bufs[f->released % b->depth].chunk == f->released)
				f->released++;
		}
		return 0;
	}
	/* The SEND's own completion: bytes queued, or why none were. */
	f->send_pending--;
	if (c->res == -EAGAIN) {
		b->eagains++;
		f->blocked = true;
		f->cautious = true;
		return 0;
	}
	if (c->res <= 0)
		return bench_fail("UNIFIED_IO_OP_SEND", c->res ? c->res : -EPIPE);
	if (f->blocked || c->addr != rb->off + rb->sent)
		/* A SEND behind a short one queued bytes: the stream has a hole. */
		return bench_fail("SENDs of one flow out of order", -EPROTO);
	if (!(c->flags & UNIFIED_IO_CQE_F_MORE))
		return bench_fail("a SEND that queued bytes without a notification", -EPROTO);
	b->sends++;
	rb->notifs++;
	s->notifs_pending++;
	rb->sent += c->res;
	f->unnotified += c->res;
	atomic_fetch_add(&b->sent, c->res);
	if (rb->sent < rb->len) {
		b->short_sends++;
		f->blocked = true;
		f->cautious = true;
		return 0;
	}
	rb->st = RB_SENT;
	f->next_send++;
	return 0;
}

static int region_collect(struct rstate *s, unsigned int min)
{
	struct bench *b = s->b;
	int n, i, ret;

	do {
		atomic_fetch_add(&b->ctr[C_REAP], 1);
		n = unio_reap(b->r, s->cqes, s->max_cqes, min, 30000000000ULL);
		if (n < 0)
			return bench_fail("unio_reap", n);
		for (i = 0; i < n; i++) {
			ret = region_cqe(s, &s->cqes[i]);
			if (ret)
				return ret;
		}
		min = (unsigned int)n >= min ? 0 : min - n;
	} while (n == (int)s->max_cqes || min);
	return 0;
}

static int region_submit(struct rstate *s, unsigned int nd)
{
	struct bench *b = s->b;
	unsigned int done = 0;
	int ret;

	while (done < nd) {
		atomic_fetch_add(&b->ctr[C_SUBMIT], 1);
		ret = unio_submit_descs(b->r, s->descs + done, nd - done);
		if (ret == -EBUSY) {
			/* The CQ is full: take completions, then go on. */
			ret = region_collect(s, 1);
			if (ret)
				return ret;
			continue;
		}
		if (ret < 0)
			return bench_fail("unio_submit_descs", ret);
		done += ret;
	}
	return 0;
}

/*
 * Reads for every flow's free buffers, in stream order, once at least half
 * of its pipeline is free (or it has nothing else going on): few, large
 * batches, and never fewer than half the buffers in flight on the wire.
 */
static unsigned int region_prep_reads(struct rstate *s)
{
	struct bench *b = s->b;
	unsigned int nd = 0, fi;

	for (fi = 0; fi < b->nflows; fi++) {
		struct rflow *f = &s->fl[fi];
		uint64_t free_bufs = b->depth - (f->next_read - f->released);

		if (f->next_read == f->nchunks ||
		    (free_bufs < (b->depth + 1) / 2 && f->next_send < f->next_read))
			continue;
		while (f->next_read < f->nchunks && f->next_read - f->released < b->depth) {
			uint64_t c = f->next_read;
			struct rbuf *rb = &f->bufs[c % b->depth];
			uint64_t soff = c * b->chunk;
			uint32_t len = b->stream - soff < b->chunk ? b->stream - soff : b->chunk;
			uint32_t rd = (len + b->lba - 1) / b->lba * b->lba;
			struct unified_io_desc *d = &s->descs[nd++];

			rb->chunk = c;
			rb->len = len;
			rb->sent = 0;
			rb->st = RB_READING;
			memset(d, 0, sizeof(*d));
			unio_prep_nvme_read(d, rb->off, (stream_base(b, fi) + soff) / b->lba,
					    rd / b->lba, (uint64_t)fi << 48 | UD_READ | c);
			f->next_read++;
		}
	}
	return nd;
}

/*
 * SENDs of every flow's ready buffers, in stream order, in one batch.
 *
 * Several SENDs to one socket in one SUBMIT: once one comes back short,
 * the module completes the later ones on that socket in the same SUBMIT
 * with EAGAIN (a later one that found room, an ACK processed in between,
 * would leave a hole in the stream), and they are sent again after
 * POLLOUT. To keep that rare, a flow's second and later SENDs go in the
 * batch only while its bytes awaiting notification, those SENDs included,
 * stay within half its send buffer: the stack charges a zero-copy skb only
 * its overhead (SKBFL_PURE_ZEROCOPY), and a notified byte has left the
 * socket, so such a batch always finds room unless TCP memory is under
 * global pressure. A flow that ever sees a short SEND or EAGAIN sends one
 * SEND per batch from then on; a hole, should one happen anyway, is
 * detected (region_cqe()) and fails the run.
 */
static unsigned int region_prep_sends(struct rstate *s)
{
	struct bench *b = s->b;
	unsigned int nd = 0, fi;

	for (fi = 0; fi < b->nflows; fi++) {
		struct rflow *f = &s->fl[fi];
		uint64_t c, budget = b->sndbuf_room / 2;
		uint64_t queued = f->unnotified;

		if (f->send_pending)
			continue;	/* where to go on depends on them */
		f->blocked = false;
		for (c = f->next_send; c < f->next_read; c++) {
			struct rbuf *rb = &f->bufs[c % b->depth];
			uint32_t len = rb->len - rb->sent;

			if (rb->st != RB_READY)
				break;
			if (f->send_pending && (f->cautious || queued + len > budget))
				break;
			memset(&s->descs[nd], 0, sizeof(s->descs[nd]));
			unio_prep_send(&s->descs[nd++], f->fd, SB_OWNER, rb->off + rb->sent, len,
				       0, (uint64_t)fi << 48 | c);
			f->send_pending++;
			queued += len;
		}
		if (f->send_pending > 1)
			b->batched_sends += f->send_pending - 1;
	}
	return nd;
}

/* A flow whose reads region_prep_reads() would issue now. */
static bool region_can_read(const struct rstate *s)
{
	const struct bench *b = s->b;

	for (unsigned int fi = 0; fi < b->nflows; fi++) {
		const struct rflow *f = &s->fl[fi];
		uint64_t free_bufs = b->depth - (f->next_read - f->released);

		if (f->next_read < f->nchunks && free_bufs &&
		    (free_bufs >= (b->depth + 1) / 2 || f->next_send == f->next_read))
			return true;
	}
	return false;
}

static bool region_done(const struct rstate *s)
{
	for (unsigned int fi = 0; fi < s->b->nflows; fi++)
		if (s->fl[fi].released < s->fl[fi].nchunks)
			return false;
	return true;
}

/*
 * Sleep until notifications let the loop go on: half of the sends in flight
 * released, or 50 ms. A flow refused with no notification pending at all
 * waits for room in its socket instead.
 */
static int region_wait(struct rstate *s)
{
	struct bench *b = s->b;
	struct pollfd pfd[NS_MAX_FLOWS];
	unsigned int fi, np = 0;
	int ret;

	if (s->notifs_pending) {
		uint64_t min = unio_cq_ready(b->q) + (s->notifs_pending + 1) / 2;

		if (min > b->q->cq.ring_entries)
			min = b->q->cq.ring_entries;
		atomic_fetch_add(&b->ctr[C_WAIT], 1);
		ret = unio_wait_cqes(b->q, min, 50000000ULL);
		if (ret < 0 && ret != -ETIME && ret != -EINTR)
			return bench_fail("unio_wait_cqes", ret);
		return region_collect(s, 0);
	}
	for (fi = 0; fi < b->nflows; fi++)
		if (s->fl[fi].blocked)
			pfd[np++] = (struct pollfd){ .fd = s->fl[fi].fd, .events = POLLOUT };
	if (!np)
		return 0;
	atomic_fetch_add(&b->ctr[C_POLL], 1);
	if (poll(pfd, np, 1000) < 0 && errno != EINTR)
		return bench_fail("poll", -errno);
	return 0;
}

static int run_region(struct bench *b, struct flow *flows)
{
	unsigned int nbufs = b->nflows * b->depth, fi, i, nd;
	struct rstate s = { .b = b, .nbufs = nbufs };
	int ret = -ENOMEM;

	s.fl = calloc(b->nflows, sizeof(*s.fl));
	s.bufs = calloc(nbufs, sizeof(*s.bufs));
	s.descs = calloc(nbufs, sizeof(*s.descs));
	s.max_cqes = 4 * nbufs;
	s.cqes = calloc(s.max_cqes, sizeof(*s.cqes));
	if (!s.fl || !s.bufs || !s.descs || !s.cqes) {
		bench_fail("out of memory", ret);
		goto out;
	}
	for (i = 0; i < nbufs; i++)
		s.bufs[i].off = (uint64_t)i * b->chunk;
	for (fi = 0; fi < b->nflows; fi++) {
		s.fl[fi].fd = flows[fi].fd;
		s.fl[fi].nchunks = (b->stream + b->chunk - 1) / b->chunk;
		s.fl[fi].bufs = &s.bufs[fi * b->depth];
	}
	while (!region_done(&s)) {
		nd = region_prep_reads(&s);
		if (nd) {
			ret = region_submit(&s, nd);
			if (ret)
				goto out;
			s.reads_inflight += nd;
		}
		if (s.reads_inflight) {
			ret = region_collect(&s, s.reads_inflight);
			if (ret)
				goto out;
		}
		nd = region_prep_sends(&s);
		if (nd) {
			ret = region_submit(&s, nd);
			if (!ret)	/* SUBMIT completes SENDs at once */
				ret = region_collect(&s, 0);
			if (ret)
				goto out;
		}
		for (fi = 0; fi < b->nflows; fi++) {
			struct rflow *f = &s.fl[fi];

			if (f->next_send == f->nchunks && !f->fin) {
				/* All queued: FIN now; the close is awaited at the end. */
				if (shutdown(f->fd, SHUT_WR)) {
					ret = bench_fail("shutdown", -errno);
					goto out;
				}
				f->fin = true;
			}
		}
		if (!region_can_read(&s)) {
			ret = region_wait(&s);
			if (ret)
				goto out;
		}
	}
	ret = 0;
out:
	free(s.fl);
	free(s.bufs);
	free(s.descs);
	free(s.cqes);
	return ret;
}

/* ---- set-up, prepare, report -------------------------------------------- */

static int setup(struct bench *b)
{
	struct addrinfo hints = { .ai_socktype = SOCK_STREAM };
	char host[256], *port;
	uint64_t total = (uint64_t)b->nflows * b->stride;
	unsigned int fi;
	int ret;

	snprintf(host, sizeof(host), "%s", b->to);
	port = strrchr(host, ':');
	if (!port)
		return bench_fail("--to wants HOST:PORT", -EINVAL);
	*port++ = 0;
	ret = getaddrinfo(host, port, &hints, &b->ai);
	if (ret) {
		fprintf(stderr, "%s: %s: %s\n", bench_name, b->to, gai_strerror(ret));
		return -EINVAL;
	}

	switch (b->mode) {
	case M_SEND:
	case M_ZEROCOPY:
		b->mem = mmap(NULL, total, PROT_READ | PROT_WRITE,
			      MAP_PRIVATE | MAP_ANONYMOUS | MAP_POPULATE, -1, 0);
		if (b->mem == MAP_FAILED) {
			b->mem = NULL;
			return bench_fail("private memory for the streams", -errno);
		}
		for (fi = 0; fi < b->nflows; fi++)
			stream_fill(b, fi, 0, b->mem + (uint64_t)fi * b->stride, b->stream);
		return 0;
	case M_SEND_MMAP: {
		uint64_t data = (total + (2ULL << 20) - 1) & ~((2ULL << 20) - 1);
		UNIO_OPTS(opts, .buf_size = 2U << 20, .data_size = data, .sq_entries = 16);

		ret = unio_region_create(&opts, &b->r);
		if (ret) {
			fprintf(stderr, "%s: creating the region: %s\n", bench_name,
				tool_explain(UNIO_CALL_SETUP, ret, &opts));
			return ret;
		}
		b->q = unio_region_queue(b->r);
		for (fi = 0; fi < b->nflows; fi++)
			stream_fill(b, fi, 0, unio_data_ptr(b->q, (uint64_t)fi * b->stride),
				    b->stream);
		return 0;
	}
	case M_SENDFILE: {
		struct stat st;

		if (!b->file)
			return bench_fail("sendfile needs --file", -EINVAL);
		b->fd = open(b->file, O_RDONLY | O_CLOEXEC);
		if (b->fd < 0 || fstat(b->fd, &st))
			return bench_fail(b->file, -errno);
		if ((uint64_t)st.st_size < stream_base(b, b->nflows - 1) + b->stream)
			return bench_fail("the file is short (run --prepare)", -ERANGE);
		/* Cold page cache: the data comes from the drive, as NVMe's does. */
		ret = posix_fadvise(b->fd, 0, 0, POSIX_FADV_DONTNEED);
		if (ret)
			return bench_fail("dropping the file's page cache", -ret);
		return 0;
	}
	case M_ODIRECT: {
		int ssz;

		if (!b->bdev)
			return bench_fail("odirect-send needs --bdev", -EINVAL);
		b->fd = open(b->bdev, O_RDONLY | O_DIRECT | O_CLOEXEC);
		if (b->fd < 0)
			return bench_fail(b->bdev, -errno);
		if (ioctl(b->fd, BLKSSZGET, &ssz) || ssz <= 0)
			return bench_fail("BLKSSZGET", errno ? -errno : -EINVAL);
		b->lba = ssz;
		return 0;
	}
	case M_REGION:
		return region_setup(b);
	default:
		return -EINVAL;
	}
}

static void teardown(struct bench *b)
{
	if (b->ai)
		freeaddrinfo(b->ai);
	if (b->mem)
		munmap(b->mem, (uint64_t)b->nflows * b->stride);
	if (b->fd >= 0)
		close(b->fd);
	unio_region_destroy(b->r);	/* closes the namespace too */
}

static int run(struct bench *b)
{
	struct flow flows[NS_MAX_FLOWS];
	uint64_t usr0, sys0, usr, sys;
	unsigned int i, started = 0;
	int ret = 0;

	memset(flows, 0, sizeof(flows));
	for (i = 0; i < b->nflows; i++)
		flows[i] = (struct flow){ .b = b, .idx = i, .fd = -1 };
	tool_cpu_ns(&usr0, &sys0);
	b->ns_total = tool_now_ns();
	if (b->mode == M_REGION) {
		for (i = 0; i < b->nflows && !ret; i++)
			ret = flow_connect(&flows[i]);
		if (!ret)
			ret = run_region(b, flows);
		for (i = 0; i < b->nflows && !ret; i++) {
			char c;
			ssize_t n;

			/* FIN went out with the last SEND: wait for the close. */
			while ((n = recv(flows[i].fd, &c, 1, 0)) > 0)
				;
			if (n < 0)
				ret = flow_fail(&flows[i], "waiting for the receiver's close", errno);
		}
		for (i = 0; i < b->nflows; i++)
			if (flows[i].fd >= 0)
				close(flows[i].fd);
	} else {
		for (i = 0; i < b->nflows; i++) {
			ret = pthread_create(&flows[i].thread, NULL, flow_thread, &flows[i]);
			if (ret) {
				ret = bench_fail("pthread_create", -ret);
				break;
			}
			started++;
		}
		for (i = 0; i < started; i++)
			pthread_join(flows[i].thread, NULL);
	}
	b->ns_total = tool_now_ns() - b->ns_total;
	tool_cpu_ns(&usr, &sys);
	b->usr_ns = usr - usr0;
	b->sys_ns = sys - sys0;
	for (i = 0; i < b->nflows; i++) {
		if (!flows[i].err)
			continue;
		fprintf(stderr, "%s: flow %u: %s\n", bench_name, i, flows[i].msg);
		if (!ret)
			ret = flows[i].err;
	}
	if (!ret && atomic_load(&b->sent) != b->stream * b->nflows)
		ret = bench_fail("bytes sent differ from the streams", -EIO);
	if (b->mode == M_ZEROCOPY) {
		b->have_stack_copy = true;
		b->stack_copy_source = "SO_EE_CODE_ZEROCOPY_COPIED";
	}
	if (b->mode == M_REGION) {
		int err = unio_send_get_info(b->r, &b->si);

		if (err) {
			if (!ret)
				ret = bench_fail("unio_send_get_info", err);
		} else {
			b->have_send_info = true;
			b->have_stack_copy = true;
			b->stack_copy_source = "GET_INFO send.copied_bytes";
			/* The kernel's counts are the reference; ours must agree. */
			if (!ret && (b->si.copied_bytes != atomic_load(&b->stack_copied_bytes) ||
				     b->si.send_bytes != b->stream * b->nflows ||
				     b->si.notifs != b->notifs || b->si.inflight))
				ret = bench_fail("GET_INFO's send counters differ from the "
						 "completions", -EPROTO);
			atomic_store(&b->stack_copied_bytes, b->si.copied_bytes);
		}
	}
	return ret;
}

/* Store the streams of an --flows run on --bdev and in --file. */
static int prepare(struct bench *b)
{
	const uint64_t piece = STRIDE_ALIGN;
	int bfd = -1, ffd = -1, ret = 0;
	unsigned int fi;
	char *buf;

	buf = aligned_alloc(4096, piece);
	if (!buf)
		return bench_fail("out of memory", -ENOMEM);
	if (b->bdev) {
		bfd = open(b->bdev, O_WRONLY | O_DIRECT | O_CLOEXEC);
		if (bfd < 0) {
			ret = bench_fail(b->bdev, -errno);
			goto out;
		}
	}
	if (b->file) {
		ffd = open(b->file, O_RDWR | O_CREAT | O_CLOEXEC, 0600);
		if (ffd < 0) {
			ret = bench_fail(b->file, -errno);
			goto out;
		}
	}
	for (fi = 0; fi < b->nflows && !ret; fi++) {
		uint64_t base = stream_base(b, fi), off;

		/* Whole pieces: the stride is a multiple, so no other flow is hit. */
		for (off = 0; off < b->stream && !ret; off += piece) {
			size_t n = b->stream - off < piece ? b->stream - off : piece;

			memset(buf, 0, piece);
			stream_fill(b, fi, off, buf, n);
			if (bfd >= 0 && pwrite(bfd, buf, piece, base + off) != (ssize_t)piece)
				ret = bench_fail("writing the device", errno ? -errno : -EIO);
			else if (ffd >= 0 && pwrite(ffd, buf, piece, base + off) != (ssize_t)piece)
				ret = bench_fail("writing the file", errno ? -errno : -EIO);
		}
	}
	if (!ret && bfd >= 0 && fsync(bfd))
		ret = bench_fail("fsync of the device", -errno);
	if (!ret && ffd >= 0 && fsync(ffd))
		ret = bench_fail("fsync of the file", -errno);
out:
	if (bfd >= 0)
		close(bfd);
	if (ffd >= 0)
		close(ffd);
	free(buf);
	return ret;
}

static int write_json(const struct bench *b)
{
	uint64_t total = b->stream * b->nflows;
	struct bench_json j;
	json_writer_t *w;
	int ret;

	ret = bench_json_begin(&j);
	if (ret)
		return ret;
	w = j.w;
	jsonw_string_field(w, "mode", mode_names[b->mode]);
	jsonw_uint_field(w, "flows", b->nflows);
	jsonw_uint_field(w, "bytes_per_flow", b->bytes);
	jsonw_uint_field(w, "stream_bytes", total);
	jsonw_uint_field(w, "chunk", b->chunk);
	jsonw_int_field(w, "sndbuf", b->sndbuf);
	jsonw_bool_field(w, "setup_only", b->setup_only);
	jsonw_uint_field(w, "sent_bytes", atomic_load(&b->sent));
	jsonw_float_field(w, "seconds", b->ns_total / 1e9);
	jsonw_float_field(w, "mib_per_s", b->ns_total ?
			  b->bytes * b->nflows / 1048576.0 / (b->ns_total / 1e9) : 0);
	jsonw_float_field(w, "cpu_user_s", b->usr_ns / 1e9);
	jsonw_float_field(w, "cpu_sys_s", b->sys_ns / 1e9);
	jsonw_name(w, "calls");
	jsonw_start_object(w);
	for (unsigned int i = 0; i < NR_CTRS; i++)
		if (atomic_load(&b->ctr[i]))
			jsonw_uint_field(w, ctr_names[i], atomic_load(&b->ctr[i]));
	jsonw_end_object(w);
	jsonw_name(w, "stack_copy");
	if (b->have_stack_copy) {
		jsonw_start_object(w);
		jsonw_string_field(w, "source", b->stack_copy_source);
		jsonw_uint_field(w, "bytes", atomic_load(&b->stack_copied_bytes));
		jsonw_float_field(w, "per_byte", total ?
				  (double)atomic_load(&b->stack_copied_bytes) / total : 0);
		jsonw_end_object(w);
	} else {
		jsonw_null(w);
	}
	if (b->mode == M_ZEROCOPY) {
		jsonw_name(w, "zerocopy");
		jsonw_start_object(w);
		jsonw_uint_field(w, "notifications", atomic_load(&b->zc_notifs));
		jsonw_uint_field(w, "copied_notifications", atomic_load(&b->zc_copied_notifs));
		jsonw_end_object(w);
	}
	if (b->mode == M_REGION) {
		jsonw_name(w, "region");
		jsonw_start_object(w);
		jsonw_uint_field(w, "depth", b->depth);
		jsonw_uint_field(w, "buf_size", b->chunk);
		jsonw_uint_field(w, "nvme_reads", b->reads);
		jsonw_uint_field(w, "sends", b->sends);
		jsonw_uint_field(w, "batched_sends", b->batched_sends);
		jsonw_uint_field(w, "sndbuf_room", b->sndbuf_room);
		jsonw_uint_field(w, "short_sends", b->short_sends);
		jsonw_uint_field(w, "eagain", b->eagains);
		jsonw_uint_field(w, "notifications", b->notifs);
		jsonw_uint_field(w, "copied_notifications", b->copied_notifs);
		jsonw_name(w, "send_info");
		if (b->have_send_info) {
			jsonw_start_object(w);
			jsonw_uint_field(w, "sends", b->si.sends);
			jsonw_uint_field(w, "send_bytes", b->si.send_bytes);
			jsonw_uint_field(w, "notifs", b->si.notifs);
			jsonw_uint_field(w, "zc_bytes", b->si.zc_bytes);
			jsonw_uint_field(w, "copied_bytes", b->si.copied_bytes);
			jsonw_uint_field(w, "bpf_drops", b->si.bpf_drops);
			jsonw_uint_field(w, "inflight", b->si.inflight);
			jsonw_uint_field(w, "bufs_sending", b->si.bufs_sending);
			jsonw_end_object(w);
		} else {
			jsonw_null(w);
		}
		jsonw_end_object(w);
	}
	return bench_json_end(&j, b->json);
}

static void usage(void)
{
	fprintf(stderr,
		"usage: unio-send-bench --mode MODE --to HOST:PORT [--flows N] [--bytes SIZE]\n"
		"                       [--chunk SIZE] [--depth N] [--sndbuf SIZE]\n"
		"                       [--dev /dev/ngXnY] [--bdev /dev/nvmeXnY] [--file PATH]\n"
		"                       [--json FILE] [--setup-only]\n"
		"       unio-send-bench --prepare [--flows N] [--bytes SIZE] [--bdev DEV]\n"
		"                       [--file PATH]\n"
		"  MODE := send | send-mmap | msg-zerocopy | sendfile | odirect-send | region-zc\n");
}

int main(int argc, char **argv)
{
	static const struct option options[] = {
		{ "mode",	required_argument, NULL, 'm' },
		{ "to",		required_argument, NULL, 't' },
		{ "flows",	required_argument, NULL, 'f' },
		{ "bytes",	required_argument, NULL, 'b' },
		{ "chunk",	required_argument, NULL, 'c' },
		{ "depth",	required_argument, NULL, 'D' },
		{ "sndbuf",	required_argument, NULL, 'B' },
		{ "dev",	required_argument, NULL, 'd' },
		{ "bdev",	required_argument, NULL, 'k' },
		{ "file",	required_argument, NULL, 'F' },
		{ "json",	required_argument, NULL, 'j' },
		{ "setup-only",	no_argument,	   NULL, 'S' },
		{ "prepare",	no_argument,	   NULL, 'P' },
		{ "help",	no_argument,	   NULL, 'h' },
		{ 0 }
	};
	struct bench b = {
		.mode = NR_MODES, .nflows = 1, .bytes = 16ULL << 20, .chunk = 256 << 10,
		.depth = 16, .dev = "/dev/ng0n1", .fd = -1, .seed = NS_DEFAULT_SEED,
	};
	uint64_t v;
	int opt, ret, li = 0;

	while ((opt = getopt_long(argc, argv, "", options, &li)) >= 0) {
		switch (opt) {
		case 'm':
			b.mode = bench_lookup(mode_names, NR_MODES, optarg);
			if (b.mode == NR_MODES) {
				fprintf(stderr, "%s: unknown mode '%s'\n", bench_name, optarg);
				usage();
				return 2;
			}
			break;
		case 't': b.to = optarg; break;
		case 'f':
			if (tool_parse_uint(optarg, NS_MAX_FLOWS, &v) || !v)
				goto bad;
			b.nflows = v;
			break;
		case 'b':
			if (tool_parse_size(optarg, &v) || !v || v > (1ULL << 40))
				goto bad;
			b.bytes = v;
			break;
		case 'c':
			if (tool_parse_size(optarg, &v) || v < 4096 || v > UNIFIED_IO_MAX_BUF_SIZE ||
			    (v & (v - 1)))
				goto bad;
			b.chunk = v;
			break;
		case 'D':
			if (tool_parse_uint(optarg, MAX_REGION_BUFS, &v) || v < 2)
				goto bad;
			b.depth = v;
			break;
		case 'B':
			if (tool_parse_size(optarg, &v) || v > INT_MAX / 2)
				goto bad;
			b.sndbuf = v;
			break;
		case 'd': b.dev = optarg; break;
		case 'k': b.bdev = optarg; break;
		case 'F': b.file = optarg; break;
		case 'j': b.json = optarg; break;
		case 'S': b.setup_only = true; break;
		case 'P': b.prepare = true; break;
		case 'h':
			usage();
			return 0;
		default:
			usage();
			return 2;
		}
	}
	if (optind != argc || (!b.prepare && (b.mode == NR_MODES || !b.to || !b.json))) {
		usage();
		return 2;
	}
	b.stream = NS_HDR_SIZE + b.bytes;
	b.stride = (b.stream + STRIDE_ALIGN - 1) & ~(STRIDE_ALIGN - 1);
	if (b.prepare)
		return prepare(&b) ? 1 : 0;

	ret = setup(&b);
	if (ret == -EOPNOTSUPP && b.mode == M_REGION) {
		teardown(&b);
		return EXIT_SKIP;
	}
	if (!ret && !b.setup_only)
		ret = run(&b);
	if (!ret) {
		ret = write_json(&b);
		if (ret)
			bench_fail(b.json, ret);
	}
	teardown(&b);
	return ret ? 1 : 0;
bad:
	fprintf(stderr, "%s: bad --%s '%s'\n", bench_name, options[li].name, optarg);
	usage();
	return 2;
}
