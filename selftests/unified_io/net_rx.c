// SPDX-License-Identifier: GPL-2.0
/*
 * Helpers of the unified_io network selftests: the receive loop over the
 * flows of a region, which checks every byte; see net_lib.h.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <pthread.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "net_lib.h"

/* --- the receive loop ---------------------------------------------------- */

int nl_rx_init(struct nl_rx *rx, struct nl_region *r, uint16_t owner,
	       int nr_flows, const int *socks, uint64_t bytes_per_flow)
{
	uint32_t n = r->l.nr_bufs;

	memset(rx, 0, sizeof(*rx));
	if (nr_flows < 1 || nr_flows > NL_MAX_FLOWS)
		return -EINVAL;
	rx->r = r;
	rx->owner = owner;
	rx->nr_flows = nr_flows;
	for (int i = 0; i < nr_flows; i++) {
		rx->flow[i].sock = socks[i];
		rx->flow[i].expect = bytes_per_flow;
	}
	rx->held = calloc(n, sizeof(*rx->held));
	rx->held_zc = calloc(n, 1);
	rx->held_chunk = calloc(n, sizeof(*rx->held_chunk));
	if (!rx->held || !rx->held_zc || !rx->held_chunk)
		return -ENOMEM;
	return 0;
}

void nl_rx_fini(struct nl_rx *rx)
{
	free(rx->held);
	free(rx->held_zc);
	free(rx->held_chunk);
	rx->held = NULL;
	rx->held_zc = NULL;
	rx->held_chunk = NULL;
}

unsigned int nl_rx_held_list(const struct nl_rx *rx, uint64_t *offs,
			     unsigned int n)
{
	unsigned int k = 0;

	for (uint32_t i = 0; i < rx->r->l.nr_bufs && k < n; i++)
		if (rx->held[i])
			offs[k++] = (uint64_t)i * rx->r->l.buf_size;
	return k;
}

void nl_rx_forget(struct nl_rx *rx, uint64_t off)
{
	uint32_t i = off / rx->r->l.buf_size;

	if (i < rx->r->l.nr_bufs && rx->held[i]) {
		rx->held[i] = 0;
		rx->nr_held--;
	}
}

int nl_rx_reverify_held(struct nl_rx *rx)
{
	struct nl_region *r = rx->r;

	for (uint32_t i = 0; i < r->l.nr_bufs; i++) {
		const struct nl_held_chunk *h = &rx->held_chunk[i];
		uint64_t addr = (uint64_t)i * r->l.buf_size + h->in;
		long bad;

		if (!rx->held[i] || !h->len)
			continue;
		bad = nl_pattern_check(h->flow, h->off, (uint8_t *)r->q.data + addr,
				       h->len, h->xor);
		if (bad >= 0) {
			snprintf(rx->err, sizeof(rx->err),
				 "held buffer %#llx (flow %u, stream offset %llu, %u bytes) changed at +%ld: %#04x, want %#04x",
				 (unsigned long long)addr, h->flow,
				 (unsigned long long)h->off, h->len, bad,
				 ((uint8_t *)r->q.data)[addr + bad],
				 nl_pattern_byte(h->flow, h->off + bad) ^ h->xor);
			return -EILSEQ;
		}
	}
	return 0;
}

/*
 * One reference per chunk delivered in a buffer: a refill entry or a FREE
 * for each (the kernel counts them; see uior_net_put_uref()).
 */
int nl_rx_return_held(struct nl_rx *rx)
{
	struct nl_region *r = rx->r;
	uint32_t bs = r->l.buf_size;
	uint64_t *frees;
	unsigned int nf = 0, nrefs = 0;
	int ret = 0;

	if (!rx->nr_held)
		return 0;
	for (uint32_t i = 0; i < r->l.nr_bufs; i++)
		nrefs += rx->held[i];
	frees = malloc(sizeof(*frees) * nrefs);
	if (!frees)
		return -ENOMEM;
	for (uint32_t i = 0; i < r->l.nr_bufs && !ret; i++) {
		if (!rx->held[i])
			continue;
		if (rx->held_zc[i] && r->bound) {
			while (rx->held[i]) {
				ret = nl_refill_put(r, (uint64_t)i * bs,
						    rx->owner, 0);
				if (ret) {
					snprintf(rx->err, sizeof(rx->err),
						 "refill ring full (%u pending of %u)",
						 nl_refill_pending(r),
						 r->rl.ring_entries);
					break;
				}
				rx->refilled++;
				rx->held[i]--;
			}
			if (ret)
				break;
		} else {
			while (rx->held[i]) {
				frees[nf++] = (uint64_t)i * bs;
				rx->freed++;
				rx->held[i]--;
			}
		}
		rx->nr_held--;
	}
	nl_refill_flush(r);
	if (!ret && nf) {
		ret = nl_free_bufs(r, rx->owner, frees, nf);
		if (ret)
			snprintf(rx->err, sizeof(rx->err),
				 "FREE of %u received buffers: %s", nf,
				 strerror(-ret));
	}
	free(frees);
	return ret;
}

#define RX_MAX_CHUNKS	32768

static int rx_chunks(struct nl_rx *rx, int f, const struct nl_chunk *ch,
		     unsigned int nr, int32_t final)
{
	struct nl_region *r = rx->r;
	struct nl_rx_flow *fl = &rx->flow[f];
	uint32_t bs = r->l.buf_size;
	uint64_t sum = 0;
	bool has_drop = false;

	for (unsigned int i = 0; i < nr; i++)
		if (ch[i].flags & UNIFIED_IO_CQE_F_BPF_DROP)
			has_drop = true;

	for (unsigned int i = 0; i < nr; i++) {
		const struct nl_chunk *c = &ch[i];
		uint32_t known = UNIFIED_IO_CQE_F_MORE | UNIFIED_IO_CQE_F_COPIED |
				 UNIFIED_IO_CQE_F_BPF_DROP |
				 (0xffU << UNIFIED_IO_CQE_BPF_PROG_SHIFT);
		bool copied = c->flags & UNIFIED_IO_CQE_F_COPIED;
		uint64_t buf = c->addr / bs, in = c->addr % bs;
		const struct unified_io_buf_entry *e;
		uint8_t xor = 0;
		long bad;

		if (c->flags & ~known) {
			snprintf(rx->err, sizeof(rx->err),
				 "flow %d: chunk %u has unknown flags %#x", f, i, c->flags);
			return -EPROTO;
		}
		if (c->flags & UNIFIED_IO_CQE_F_BPF_DROP) {
			if (c->res != 0) {
				snprintf(rx->err, sizeof(rx->err),
					 "flow %d: dropped chunk with res %d", f, c->res);
				return -EPROTO;
			}
			rx->drop_chunks++;
			continue;
		}
		if (c->flags & (0xffU << UNIFIED_IO_CQE_BPF_PROG_SHIFT)) {
			snprintf(rx->err, sizeof(rx->err),
				 "flow %d: chunk flags %#x: program index without BPF_DROP",
				 f, c->flags);
			return -EPROTO;
		}
		if (c->res <= 0 || c->addr >= r->l.data_size ||
		    in + (uint64_t)c->res > bs) {
			snprintf(rx->err, sizeof(rx->err),
				 "flow %d: chunk %u: res %d at %#llx is not inside one buffer of %u",
				 f, i, c->res, (unsigned long long)c->addr, bs);
			return -EPROTO;
		}
		e = &r->bt[buf];
		if (e->state != UNIFIED_IO_BUF_APP || e->owner != rx->owner) {
			snprintf(rx->err, sizeof(rx->err),
				 "flow %d: chunk at %#llx: buffer table says state %u owner %#x, want APP %#x",
				 f, (unsigned long long)c->addr, e->state, e->owner,
				 rx->owner);
			return -EPROTO;
		}
		if (rx->expect == NL_EXPECT_ZC && copied) {
			snprintf(rx->err, sizeof(rx->err),
				 "flow %d: chunk of %d bytes at stream offset %llu was copied (zero copy expected)",
				 f, c->res, (unsigned long long)(fl->off + sum));
			return -EPROTO;
		}
		if (rx->expect == NL_EXPECT_COPIED && !copied) {
			snprintf(rx->err, sizeof(rx->err),
				 "flow %d: chunk of %d bytes at %#llx without UNIFIED_IO_CQE_F_COPIED",
				 f, c->res, (unsigned long long)c->addr);
			return -EPROTO;
		}
		if (copied) {
			rx->copy_bytes += c->res;
			rx->copy_chunks++;
			rx->seen_copy[f] = true;
		} else {
			rx->zc_bytes += c->res;
			rx->zc_chunks++;
			if (rx->seen_copy[f])
				rx->zc_after_copy++;
		}
		if (rx->held[buf]) {
			const struct nl_held_chunk *h = &rx->held_chunk[buf];

			rx->shared_chunks++;
			/* Bytes the application still holds, handed out again. */
			if (in < (uint64_t)h->in + h->len &&
			    h->in < in + (uint64_t)c->res) {
				snprintf(rx->err, sizeof(rx->err),
					 "flow %d: chunk [%llu, %llu) of buffer %#llx overlaps [%u, %u), which the application still holds",
					 f, (unsigned long long)in,
					 (unsigned long long)(in + c->res),
					 (unsigned long long)buf * bs, h->in,
					 h->in + h->len);
				return -EPROTO;
			}
			if (rx->held_zc[buf] != !copied) {
				snprintf(rx->err, sizeof(rx->err),
					 "flow %d: buffer %#llx holds a copied and a zero-copy chunk",
					 f, (unsigned long long)buf * bs);
				return -EPROTO;
			}
		} else {
			rx->nr_held++;
			rx->held_zc[buf] = !copied;
		}
		rx->held[buf]++;
		if (in) {
			rx->unaligned_chunks++;
		} else if (rx->recv_flags & UNIFIED_IO_RECV_F_BPF) {
			rx->bpf_chunks++;
			rx->bpf_bytes += c->res;
			xor = rx->bpf_xor;
		}
		rx->held_chunk[buf] = (struct nl_held_chunk){
			.off = fl->off + sum,
			.flow = f,
			.xor = xor,
			.in = in,
			.len = has_drop ? 0 : c->res,
		};
		if (!has_drop) {
			bad = nl_pattern_check(f, fl->off + sum,
					       (uint8_t *)r->q.data + c->addr,
					       c->res, xor);
			if (bad >= 0) {
				uint64_t at = fl->off + sum + bad;

				snprintf(rx->err, sizeof(rx->err),
					 "flow %d: byte %llu of the stream (chunk %u of %u, %d bytes at %#llx, flags %#x, +%ld) is %#04x, want %#04x",
					 f, (unsigned long long)at, i, nr, c->res,
					 (unsigned long long)c->addr, c->flags, bad,
					 ((uint8_t *)r->q.data)[c->addr + bad],
					 nl_pattern_byte(f, at) ^ xor);
				return -EILSEQ;
			}
			rx->verified += c->res;
		}
		sum += c->res;
	}
	if (!has_drop && sum != (uint64_t)final) {
		snprintf(rx->err, sizeof(rx->err),
			 "flow %d: %u chunks hold %llu bytes, the final completion says %d",
			 f, nr, (unsigned long long)sum, final);
		return -EPROTO;
	}
	if (has_drop)
		rx->unverified += sum;
	if (sum > (uint64_t)final) {
		snprintf(rx->err, sizeof(rx->err),
			 "flow %d: chunks hold %llu bytes, more than the final %d",
			 f, (unsigned long long)sum, final);
		return -EPROTO;
	}
	fl->off += final;
	rx->bytes += final;
	if (fl->expect && fl->off > fl->expect) {
		snprintf(rx->err, sizeof(rx->err),
			 "flow %d: %llu bytes received, the sender writes %llu",
			 f, (unsigned long long)fl->off,
			 (unsigned long long)fl->expect);
		return -EPROTO;
	}
	return 0;
}

int nl_rx_step(struct nl_rx *rx, int timeout_ms)
{
	static struct nl_chunk chunks[RX_MAX_CHUNKS];
	struct pollfd pfd[NL_MAX_FLOWS];
	int map[NL_MAX_FLOWS], n = 0, done = 0, ret;

	for (int i = 0; i < rx->nr_flows; i++) {
		if (rx->flow[i].sock < 0 || rx->flow[i].eof)
			continue;
		pfd[n].fd = rx->flow[i].sock;
		pfd[n].events = POLLIN;
		pfd[n].revents = 0;
		map[n++] = i;
	}
	if (!n)
		return 0;
	ret = poll(pfd, n, timeout_ms);
	if (ret < 0)
		return errno == EINTR ? 0 : -errno;
	for (int k = 0; k < n; k++) {
		struct nl_rx_flow *fl = &rx->flow[map[k]];
		unsigned int nr;
		int32_t final;

		if (!pfd[k].revents)
			continue;
		ret = nl_recv(rx->r, fl->sock, rx->owner, 0, rx->recv_flags, 0,
			      chunks, RX_MAX_CHUNKS, &nr, &final, 5000,
			      rx->err, sizeof(rx->err));
		if (ret)
			return ret;
		rx->recvs++;
		done++;
		if (final < 0) {
			if (nr) {
				snprintf(rx->err, sizeof(rx->err),
					 "flow %d: %u chunks and a final error %d",
					 map[k], nr, final);
				return -EPROTO;
			}
			if (final == -EAGAIN) {
				rx->eagain++;
				continue;
			}
			if (final == -ENOBUFS) {
				rx->nobufs++;
				continue;
			}
			snprintf(rx->err, sizeof(rx->err),
				 "flow %d: RECV at stream offset %llu failed: %s",
				 map[k], (unsigned long long)fl->off,
				 strerror(-final));
			return final;
		}
		if (final == 0 && nr == 0) {
			fl->eof = true;
			if (fl->expect && fl->off != fl->expect) {
				snprintf(rx->err, sizeof(rx->err),
					 "flow %d: EOF after %llu of %llu bytes",
					 map[k], (unsigned long long)fl->off,
					 (unsigned long long)fl->expect);
				return -EPIPE;
			}
			continue;
		}
		ret = rx_chunks(rx, map[k], chunks, nr, final);
		if (ret)
			return ret;
		if (!rx->hold) {
			ret = nl_rx_return_held(rx);
			if (ret)
				return ret;
		}
	}
	return done;
}

static bool rx_finished(const struct nl_rx *rx, uint64_t until)
{
	if (until)
		return rx->bytes >= until;
	for (int i = 0; i < rx->nr_flows; i++)
		if (rx->flow[i].sock >= 0 && !rx->flow[i].eof)
			return false;
	return true;
}

int nl_rx_run(struct nl_rx *rx, uint64_t until, int idle_ms)
{
	uint64_t last = nl_now_ms(), bytes = rx->bytes;

	while (!rx_finished(rx, until)) {
		int ret = nl_rx_step(rx, 100);

		if (ret < 0)
			return ret;
		if (rx->bytes != bytes) {
			bytes = rx->bytes;
			last = nl_now_ms();
		} else if (nl_now_ms() - last > (uint64_t)idle_ms) {
			int len = snprintf(rx->err, sizeof(rx->err),
					   "no data for %d ms at %llu bytes:", idle_ms,
					   (unsigned long long)rx->bytes);

			for (int i = 0; i < rx->nr_flows && len < NL_ERR_LEN; i++)
				len += snprintf(rx->err + len, NL_ERR_LEN - len,
						" flow %d %llu/%llu%s", i,
						(unsigned long long)rx->flow[i].off,
						(unsigned long long)rx->flow[i].expect,
						rx->flow[i].eof ? " eof" : "");
			return -ETIMEDOUT;
		}
	}
	return 0;
}
