// SPDX-License-Identifier: GPL-2.0-only
/*
 * The stream pattern and its check (see netstream.h), and the receiver's
 * per-flow bookkeeping: header first, then payload checked at its stream
 * offset.
 */
#include <string.h>

#include "netstream.h"

#define NS_MUL	0x9e3779b97f4a7c15ULL
#define NS_MUL2	0xd6e8feb86659fd93ULL

uint64_t ns_flow_key(uint64_t seed, uint32_t flow)
{
	uint64_t x = seed ^ ((uint64_t)(flow + 1) * NS_MUL2);

	x ^= x >> 31;
	x *= NS_MUL;
	return x ^ (x >> 29);
}

/* Word @w of the payload; odd multiplier, so distinct words differ. */
static inline uint64_t ns_word(uint64_t key, uint64_t w)
{
	return (w + 1) * NS_MUL ^ key;
}

static inline uint64_t load64(const uint8_t *p)
{
	uint64_t v;

	memcpy(&v, p, sizeof(v));	/* little-endian host (x86-64) */
	return v;
}

void ns_fill(uint64_t key, uint64_t off, void *buf, size_t len)
{
	uint8_t *p = buf;

	while (len && off % 8) {
		uint64_t v = ns_word(key, off / 8);

		*p++ = v >> (8 * (off % 8));
		off++;
		len--;
	}
	for (; len >= 8; len -= 8, off += 8, p += 8) {
		uint64_t v = ns_word(key, off / 8);

		memcpy(p, &v, 8);
	}
	while (len) {
		uint64_t v = ns_word(key, off / 8);

		*p++ = v >> (8 * (off % 8));
		off++;
		len--;
	}
}

size_t ns_check(uint64_t key, uint64_t off, const void *buf, size_t len)
{
	const uint8_t *p = buf, *start = buf;

	while (len && off % 8) {
		if (*p != (uint8_t)(ns_word(key, off / 8) >> (8 * (off % 8))))
			return p - start;
		p++;
		off++;
		len--;
	}
	for (; len >= 8; len -= 8, off += 8, p += 8) {
		if (load64(p) != ns_word(key, off / 8))
			break;
	}
	while (len) {
		if (*p != (uint8_t)(ns_word(key, off / 8) >> (8 * (off % 8))))
			return p - start;
		p++;
		off++;
		len--;
	}
	return p - start;
}

void ns_hdr_init(struct ns_hdr *h, uint32_t flow, uint32_t nflows,
		 uint64_t bytes, uint64_t seed)
{
	memset(h, 0, sizeof(*h));
	memcpy(h->magic, NS_MAGIC, sizeof(h->magic));
	h->version = NS_VERSION;
	h->flow = flow;
	h->nflows = nflows;
	h->hdr_size = NS_HDR_SIZE;
	h->bytes = bytes;
	h->seed = seed;
}

int ns_hdr_check(const struct ns_hdr *h)
{
	static const uint8_t zero[sizeof(h->resv)];

	if (memcmp(h->magic, NS_MAGIC, sizeof(h->magic)) ||
	    h->version != NS_VERSION || h->hdr_size != NS_HDR_SIZE ||
	    !h->nflows || h->flow >= h->nflows || memcmp(h->resv, zero, sizeof(zero)))
		return -1;
	return 0;
}

/*
 * Bytes of payload [poff, poff + n) that match from the start: FILL inside
 * the redacted spans (ascending, disjoint), the pattern outside them.
 * @redacted counts the bytes checked against FILL.
 */
static size_t ns_check_spans(const struct ns_redact_span *sp, size_t nsp, uint8_t fill,
			     uint64_t key, uint64_t poff, const uint8_t *p, size_t n,
			     uint64_t *redacted)
{
	size_t lo = 0, hi = nsp, done = 0;

	if (!nsp)
		return ns_check(key, poff, p, n);
	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;

		if (sp[mid].end <= poff)
			lo = mid + 1;
		else
			hi = mid;
	}
	while (done < n) {
		uint64_t o = poff + done;
		size_t run = n - done, good;

		if (lo < nsp && sp[lo].start <= o) {
			if (sp[lo].end - o < run)
				run = sp[lo].end - o;
			for (size_t k = 0; k < run; k++)
				if (p[done + k] != fill)
					return done + k;
			*redacted += run;
			if (o + run == sp[lo].end)
				lo++;
		} else {
			if (lo < nsp && sp[lo].start - o < run)
				run = sp[lo].start - o;
			good = ns_check(key, o, p + done, run);
			if (good != run)
				return done + good;
		}
		done += run;
	}
	return done;
}

/* --expect-redact: the spans of the flow whose header says @hdr_flow. */
static bool ns_flow_find_spans(struct ns_flow *f)
{
	const struct ns_expect *e = ns_expect;

	if (!e)
		return true;
	for (unsigned int i = 0; i < e->nflows; i++) {
		if (e->hdr_flow[i] != f->hdr.flow)
			continue;
		f->spans = e->spans[i];
		f->nspans = e->nspans[i];
		return true;
	}
	return false;
}

static void ns_flow_bad(struct ns_flow *f, uint64_t off)
{
	if (!f->mismatches)
		f->first_bad = off;
	f->mismatches++;
}

void ns_flow_consume(struct ns_flow *f, const void *buf, size_t len)
{
	const uint8_t *p = buf;

	f->chunks++;
	if (!f->hdr_ok && !f->bad_hdr) {
		size_t n = NS_HDR_SIZE - f->hdr_len;

		if (n > len)
			n = len;
		memcpy(f->hdr_bytes + f->hdr_len, p, n);
		f->hdr_len += n;
		f->stream_off += n;
		p += n;
		len -= n;
		if (f->hdr_len == NS_HDR_SIZE) {
			if (ns_hdr_check(&f->hdr) || !ns_flow_find_spans(f)) {
				f->bad_hdr = true;
				ns_flow_bad(f, 0);
			} else {
				f->hdr_ok = true;
				f->key = ns_flow_key(f->hdr.seed, f->hdr.flow);
			}
		}
	}
	if (!len)
		return;
	if (f->bad_hdr) {
		f->stream_off += len;
		return;
	}
	{
		uint64_t poff = f->stream_off - NS_HDR_SIZE;
		size_t n = len, good;

		if (poff + n > f->hdr.bytes) {
			if (!f->overrun)
				ns_flow_bad(f, NS_HDR_SIZE + f->hdr.bytes);
			f->overrun = true;
			n = poff < f->hdr.bytes ? f->hdr.bytes - poff : 0;
		}
		good = ns_check_spans(f->spans, f->nspans, ns_expect ? ns_expect->fill : 0,
				      f->key, poff, p, n, &f->redacted);
		if (good != n)
			ns_flow_bad(f, f->stream_off + good);
		f->payload_ok += good;
		f->stream_off += len;
	}
}

bool ns_flow_complete(const struct ns_flow *f)
{
	return f->hdr_ok && !f->mismatches &&
	       f->stream_off == NS_HDR_SIZE + f->hdr.bytes &&
	       f->payload_ok == f->hdr.bytes;
}

bool ns_flow_expect(const struct ns_flow *f, uint64_t off, const void *buf,
		    size_t len)
{
	const uint8_t *p = buf;

	if (!f->hdr_ok)
		return false;
	if (off < NS_HDR_SIZE) {
		size_t n = NS_HDR_SIZE - off;

		if (n > len)
			n = len;
		if (memcmp(p, f->hdr_bytes + off, n))
			return false;
		off += n;
		p += n;
		len -= n;
	}
	if (off - NS_HDR_SIZE + len > f->hdr.bytes)
		return false;
	{
		uint64_t redacted = 0;

		return ns_check_spans(f->spans, f->nspans, ns_expect ? ns_expect->fill : 0,
				      f->key, off - NS_HDR_SIZE, p, len, &redacted) == len;
	}
}
