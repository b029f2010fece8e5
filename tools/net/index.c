// SPDX-License-Identifier: GPL-2.0-only
/*
 * The store index file (netstream.h, struct ns_index_hdr): opened by
 * send --from-nvme, which sends the stored streams again from the drive, and
 * by recv --expect-redact, which learns from it which stream bytes the
 * sender's redaction covered. The file is mapped, not read (copycount counts
 * no copy for it), and checked whole before anything uses it: it is input
 * like any other.
 */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include "netstream.h"

const struct ns_expect *ns_expect;

static int ns_index_bad(const char *path, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

static int ns_index_bad(const char *path, const char *fmt, ...)
{
	char why[192];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(why, sizeof(why), fmt, ap);
	va_end(ap);
	tool_err("index %s: %s", path, why);
	return -EINVAL;
}

static bool ns_pow2(uint64_t v)
{
	return v && !(v & (v - 1));
}

static int ns_index_check(const char *path, struct ns_index *ix, size_t size)
{
	const struct ns_index_hdr *h = ix->hdr;
	uint64_t next[NS_MAX_FLOWS] = { 0 }, prev_slot = 0;
	size_t want;

	if (memcmp(h->magic, NS_INDEX_MAGIC, sizeof(h->magic)))
		return ns_index_bad(path, "not a store index (recv --store-index writes one)");
	if (h->version != NS_INDEX_VERSION || h->hdr_size != sizeof(*h))
		return ns_index_bad(path, "version %u, header %u bytes: this tool reads "
				    "version %u, %zu bytes", h->version, h->hdr_size,
				    NS_INDEX_VERSION, sizeof(*h));
	for (unsigned int i = 0; i < 4; i++)
		if (h->resv[i])
			return ns_index_bad(path, "reserved header field %u is not 0", i);
	if (!ns_pow2(h->slot_size) || h->slot_size < 4096 || h->slot_size > (2U << 20))
		return ns_index_bad(path, "slot size %u: not a power of two from 4 KiB "
				    "to 2 MiB", h->slot_size);
	if (!ns_pow2(h->lba_size) || h->lba_size < 512 || h->lba_size > h->slot_size)
		return ns_index_bad(path, "block size %u: not a power of two from 512 to "
				    "the slot size", h->lba_size);
	if (!h->nflows || h->nflows > NS_MAX_FLOWS)
		return ns_index_bad(path, "%u flows: not 1 to %u", h->nflows, NS_MAX_FLOWS);
	/* The plan keeps slot numbers in 32 bits. */
	if (h->nslots > UINT32_MAX)
		return ns_index_bad(path, "%" PRIu64 " slots: more than 2^32 - 1", h->nslots);
	/* Bound the counts by the file before multiplying them. */
	if (h->nentries > size / sizeof(*ix->entries) || !h->nentries)
		return ns_index_bad(path, "%" PRIu64 " entries in a %zu-byte file",
				    h->nentries, size);
	want = sizeof(*h) + h->nflows * sizeof(*ix->flows) +
	       h->nentries * sizeof(*ix->entries);
	if (want != size)
		return ns_index_bad(path, "%zu bytes, the header says %zu", size, want);
	ix->entries = (const struct ns_index_entry *)(ix->flows + h->nflows);
	for (unsigned int i = 0; i < h->nflows; i++)
		if (ix->flows[i].resv || ix->flows[i].stream_bytes < NS_HDR_SIZE)
			return ns_index_bad(path, "flow %u: %" PRIu64 " bytes (at least the "
					    "%u-byte header) or reserved field not 0", i,
					    ix->flows[i].stream_bytes, NS_HDR_SIZE);
	for (uint64_t i = 0; i < h->nentries; i++) {
		const struct ns_index_entry *e = &ix->entries[i];

		/* Every slot holds a chunk: nslots is bounded by the file. */
		if (e->flow >= h->nflows || !e->len || e->resv ||
		    (uint64_t)e->chunk_off + e->len > h->slot_size || e->slot >= h->nslots ||
		    (i ? e->slot - prev_slot > 1 || e->slot < prev_slot : e->slot != 0))
			return ns_index_bad(path, "entry %" PRIu64 " (flow %u, %u bytes at %u "
					    "of slot %" PRIu64 "): not inside a slot, in slot "
					    "order, every slot used", i, e->flow, e->len,
					    e->chunk_off, (uint64_t)e->slot);
		if (e->stream_off != next[e->flow])
			return ns_index_bad(path, "entry %" PRIu64 ": flow %u at stream offset %"
					    PRIu64 " after %" PRIu64 " bytes", i, e->flow,
					    (uint64_t)e->stream_off, next[e->flow]);
		next[e->flow] += e->len;
		prev_slot = e->slot;
	}
	if (prev_slot + 1 != h->nslots)
		return ns_index_bad(path, "%" PRIu64 " slots, the entries use %" PRIu64,
				    h->nslots, prev_slot + 1);
	for (unsigned int i = 0; i < h->nflows; i++)
		if (next[i] != ix->flows[i].stream_bytes)
			return ns_index_bad(path, "flow %u: entries cover %" PRIu64 " of %"
					    PRIu64 " bytes", i, next[i],
					    ix->flows[i].stream_bytes);
	return 0;
}

int ns_index_open(const char *path, struct ns_index *ix)
{
	struct stat stb;
	void *map;
	int fd, ret;

	memset(ix, 0, sizeof(*ix));
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0) {
		ret = -errno;
		tool_err("index %s: %s", path, strerror(errno));
		return ret;
	}
	if (fstat(fd, &stb)) {
		ret = -errno;
		tool_err("index %s: %s", path, strerror(errno));
		close(fd);
		return ret;
	}
	if (!S_ISREG(stb.st_mode) || (uint64_t)stb.st_size < sizeof(*ix->hdr) ||
	    (uint64_t)stb.st_size > (1ULL << 40)) {
		close(fd);
		return ns_index_bad(path, "not a regular file of a plausible size");
	}
	ix->map_len = stb.st_size;
	map = mmap(NULL, ix->map_len, PROT_READ, MAP_PRIVATE, fd, 0);
	close(fd);
	if (map == MAP_FAILED) {
		ret = -errno;
		tool_err("index %s: mmap: %s", path, strerror(-ret));
		return ret;
	}
	/*
	 * Checked and used from private memory: the file's pages show later
	 * writes to it in the mapping, so a field checked there could change
	 * before its use.  Copied rather than read() so copycount counts no
	 * index bytes (a truncation during the copy still raises SIGBUS).
	 */
	ix->map = malloc(ix->map_len);
	if (!ix->map) {
		munmap(map, ix->map_len);
		tool_err("index %s: %s", path, strerror(ENOMEM));
		return -ENOMEM;
	}
	memcpy(ix->map, map, ix->map_len);
	munmap(map, ix->map_len);
	ix->hdr = ix->map;
	ix->flows = (const struct ns_index_flow *)(ix->hdr + 1);
	ret = ns_index_check(path, ix, ix->map_len);
	if (ret) {
		ns_index_close(ix);
		return ret;
	}
	return 0;
}

void ns_index_close(struct ns_index *ix)
{
	free(ix->map);
	memset(ix, 0, sizeof(*ix));
}

int ns_expect_build(const struct ns_index *ix, uint32_t off, uint32_t len, uint8_t fill,
		    struct ns_expect *e)
{
	const struct ns_index_hdr *h = ix->hdr;
	size_t cap[NS_MAX_FLOWS] = { 0 };

	memset(e, 0, sizeof(*e));
	e->fill = fill;
	e->nflows = h->nflows;
	for (unsigned int i = 0; i < h->nflows; i++) {
		e->hdr_flow[i] = ix->flows[i].hdr_flow;
		for (unsigned int j = 0; j < i; j++)
			if (e->hdr_flow[j] == e->hdr_flow[i]) {
				tool_err("--index: two flows have stream-header flow %u",
					 e->hdr_flow[i]);
				return -EINVAL;
			}
	}
	for (uint64_t i = 0; i < h->nentries; i++) {
		const struct ns_index_entry *x = &ix->entries[i];
		uint64_t lo = off > x->chunk_off ? off : x->chunk_off;
		uint64_t hi = (uint64_t)off + len;
		struct ns_redact_span *sp;

		if (hi > (uint64_t)x->chunk_off + x->len)
			hi = (uint64_t)x->chunk_off + x->len;
		if (lo >= hi)
			continue;
		lo = x->stream_off + (lo - x->chunk_off);
		hi = x->stream_off + (hi - x->chunk_off);
		if (lo < NS_HDR_SIZE) {
			tool_err("--expect-redact %u:%u: redacts stream-header byte %" PRIu64
				 " of flow %u (the header must stay readable: OFF of 64 or "
				 "more)", off, len, lo, x->flow);
			ns_expect_free(e);
			return -EINVAL;
		}
		lo -= NS_HDR_SIZE;
		hi -= NS_HDR_SIZE;
		if (e->nspans[x->flow] &&
		    e->spans[x->flow][e->nspans[x->flow] - 1].end == lo) {
			e->spans[x->flow][e->nspans[x->flow] - 1].end = hi;
			continue;
		}
		if (e->nspans[x->flow] == cap[x->flow]) {
			size_t n = cap[x->flow] ? 2 * cap[x->flow] : 256;

			sp = realloc(e->spans[x->flow], n * sizeof(*sp));
			if (!sp) {
				ns_expect_free(e);
				return -ENOMEM;
			}
			e->spans[x->flow] = sp;
			cap[x->flow] = n;
		}
		e->spans[x->flow][e->nspans[x->flow]++] = (struct ns_redact_span){ lo, hi };
	}
	return 0;
}

void ns_expect_free(struct ns_expect *e)
{
	for (unsigned int i = 0; i < NS_MAX_FLOWS; i++) {
		free(e->spans[i]);
		e->spans[i] = NULL;
		e->nspans[i] = 0;
	}
}
