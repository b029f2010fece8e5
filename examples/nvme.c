// SPDX-License-Identifier: MIT
/*
 * nvme.c - an NVMe round trip between region buffers and a namespace.
 *
 * Attaches the namespace given on the command line to a region, writes a
 * pattern from eight region buffers to it with one batch of NVMe write
 * descriptors (unio_submit_descs(), reaped with unio_reap()), flushes,
 * reads every buffer's blocks back one command at a time with
 * unio_submit_and_wait(), and checks every byte. Last, it reads one block
 * past the end of the namespace to show how an error of the drive comes
 * back: res -EIO and the NVMe status in the completion's flags, decoded by
 * unio_nvme_status_str().
 *
 *   nvme /dev/ngXnY [SLBA]     SLBA: first block written (default 0)
 *
 * It overwrites 512 KiB of the namespace from block SLBA on.
 *
 * The commands are io_uring NVMe passthrough (IORING_OP_URING_CMD) on the
 * generic char device, with the region's data area registered once as a
 * fixed buffer: the drive reads and writes the region's pages, and the CPU
 * copies no payload. See unio_nvme_open(3), unio_submit_descs(3),
 * unio_reap(3), unio_submit_and_wait(3), unio_nvme_status_str(3).
 */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <unifiedio.h>

#define NR_BUFS		8
#define BUF_SIZE	(64 * 1024)
#define OWNER		1

/*
 * The pattern: each 8-byte word holds its byte position on the namespace,
 * so a block read back from the wrong place never matches.
 */
static uint64_t word_at(uint64_t pos)
{
	return pos ^ 0x756e696f6e766d65ULL;	/* "unionvme" */
}

static void fill(uint64_t *p, size_t len, uint64_t pos)
{
	for (size_t k = 0; k < len / 8; k++)
		p[k] = word_at(pos + k * 8);
}

/* Bytes that match from the start of @p (@len when all do). */
static size_t check(const uint64_t *p, size_t len, uint64_t pos)
{
	for (size_t k = 0; k < len / 8; k++)
		if (p[k] != word_at(pos + k * 8))
			return k * 8;
	return len;
}

/* Print a failed completion; an NVMe error carries the drive's status. */
static void print_error(const char *what, const struct unified_io_cqe *cqe)
{
	if (cqe->res == -EIO && cqe->flags)
		fprintf(stderr, "nvme: %s: NVMe status %#x (SCT %u, SC %#x): %s\n",
			what, cqe->flags, unio_nvme_sct(cqe->flags),
			unio_nvme_sc(cqe->flags), unio_nvme_status_str(cqe->flags));
	else
		fprintf(stderr, "nvme: %s: %s\n", what, strerror(-cqe->res));
}

/*
 * Submit @nr descriptors and reap their @nr completions. The library
 * issues what the queue depth allows and keeps the rest, so a batch needs
 * nothing but reaping; it may also accept fewer than @nr (the region's CQ
 * bounds what is outstanding), and the rest go in once completions are
 * reaped.
 */
static int run_batch(struct unio_region *r, const struct unified_io_desc *d,
		     unsigned int nr)
{
	struct unified_io_cqe cqes[NR_BUFS];
	unsigned int sent = 0, done = 0;
	int ret, err = 0;

	while (done < nr) {
		if (sent < nr) {
			ret = unio_submit_descs(r, d + sent, nr - sent);
			if (ret < 0 && (ret != -EBUSY || sent == done))
				return ret;
			if (ret > 0)
				sent += ret;
		}
		/* At least one completion, at most what is in flight. */
		ret = unio_reap(r, cqes, sent - done < NR_BUFS ? sent - done : NR_BUFS,
				1, 0);
		if (ret < 0)
			return ret;
		for (int i = 0; i < ret; i++) {
			if (cqes[i].res < 0) {
				char what[64];

				snprintf(what, sizeof(what), "%s of buffer %llu",
					 cqes[i].opcode == UNIFIED_IO_OP_NVME ?
					 "command" : unio_op_name(cqes[i].opcode),
					 (unsigned long long)cqes[i].user_data);
				print_error(what, &cqes[i]);
				err = -EIO;
			}
		}
		done += ret;
	}
	return err;
}

int main(int argc, char **argv)
{
	UNIO_OPTS(opts, .buf_size = BUF_SIZE, .data_size = 2 * NR_BUFS * BUF_SIZE);
	struct unified_io_desc descs[NR_BUFS], d;
	struct unio_nvme_info info;
	struct unified_io_cqe cqe;
	struct unio_region *r = NULL;
	struct unio_nvme *ns = NULL;
	struct unio_queue *q;
	uint64_t offs[NR_BUFS], slba = 0;
	unsigned int nbufs = 0, bpb, i;
	int ret;

	if (argc < 2 || argc > 3) {
		fprintf(stderr, "usage: %s /dev/ngXnY [SLBA]\n", argv[0]);
		return 2;
	}
	if (argc == 3)
		slba = strtoull(argv[2], NULL, 0);

	ret = unio_region_create(&opts, &r);
	if (ret) {
		fprintf(stderr, "nvme: unio_region_create: %s\n", strerror(-ret));
		return 1;
	}
	q = unio_region_queue(r);

	/* Attach the namespace: Identify, the nsid, the fixed buffer. */
	ret = unio_nvme_open(r, argv[1], NULL, &ns);
	if (ret) {
		fprintf(stderr, "nvme: unio_nvme_open %s: %s\n", argv[1], strerror(-ret));
		goto out;
	}
	unio_nvme_get_info(ns, &info);
	printf("%s: nsid %u, %" PRIu64 " blocks of %u bytes, %u bytes per command at most\n",
	       info.char_dev, info.nsid, info.nr_lbas, info.lba_size, info.max_transfer);
	bpb = BUF_SIZE / info.lba_size;		/* blocks per buffer */
	if (slba + (uint64_t)NR_BUFS * bpb > info.nr_lbas) {
		fprintf(stderr, "nvme: SLBA %" PRIu64 ": the namespace is too small\n", slba);
		ret = -ERANGE;
		goto out;
	}

	/* Buffers from the region, filled through the mapping. */
	for (nbufs = 0; nbufs < NR_BUFS; nbufs++) {
		ret = unio_buf_alloc(q, OWNER, &offs[nbufs]);
		if (ret) {
			fprintf(stderr, "nvme: unio_buf_alloc: %s\n", strerror(-ret));
			goto out;
		}
		fill(unio_data_ptr(q, offs[nbufs]), BUF_SIZE,
		     (slba + (uint64_t)nbufs * bpb) * info.lba_size);
	}

	/* One batch: a write descriptor per buffer; user_data is its index. */
	for (i = 0; i < NR_BUFS; i++) {
		memset(&descs[i], 0, sizeof(descs[i]));
		unio_prep_nvme_write(&descs[i], offs[i], slba + (uint64_t)i * bpb, bpb, i);
	}
	ret = run_batch(r, descs, NR_BUFS);
	if (ret)
		goto out;
	printf("wrote %u bytes from %u region buffers in one batch, at block %" PRIu64 "\n",
	       NR_BUFS * BUF_SIZE, NR_BUFS, slba);

	/* One operation at a time: flush the drive's volatile write cache. */
	memset(&d, 0, sizeof(d));
	unio_prep_nvme_flush(&d, 100);
	ret = unio_submit_and_wait(r, &d, &cqe, 0);
	if (ret || cqe.res < 0) {
		if (ret)
			fprintf(stderr, "nvme: flush: %s\n", strerror(-ret));
		else
			print_error("flush", &cqe);
		ret = ret ? ret : cqe.res;
		goto out;
	}

	/* Clear the buffers, then read each one's blocks back into it. */
	for (i = 0; i < NR_BUFS; i++) {
		uint64_t pos = (slba + (uint64_t)i * bpb) * info.lba_size;
		size_t good;

		memset(unio_data_ptr(q, offs[i]), 0, BUF_SIZE);
		memset(&d, 0, sizeof(d));
		unio_prep_nvme_read(&d, offs[i], slba + (uint64_t)i * bpb, bpb, i);
		ret = unio_submit_and_wait(r, &d, &cqe, 0);
		if (ret) {
			fprintf(stderr, "nvme: read: %s\n", strerror(-ret));
			goto out;
		}
		if (cqe.res != BUF_SIZE) {
			print_error("read", &cqe);
			ret = cqe.res < 0 ? cqe.res : -EIO;
			goto out;
		}
		good = check(unio_data_ptr(q, offs[i]), BUF_SIZE, pos);
		if (good != BUF_SIZE) {
			fprintf(stderr, "nvme: buffer %u: wrong data at namespace byte %" PRIu64 "\n",
				i, pos + good);
			ret = -EIO;
			goto out;
		}
	}
	printf("read back %u bytes one command at a time: every byte verified\n",
	       NR_BUFS * BUF_SIZE);

	/*
	 * An error on purpose: one block past the end. The command runs (ret
	 * 0) and the drive fails it: res -EIO, the status field in flags.
	 */
	memset(&d, 0, sizeof(d));
	unio_prep_nvme_read(&d, offs[0], info.nr_lbas, 1, 200);
	ret = unio_submit_and_wait(r, &d, &cqe, 0);
	if (ret) {
		fprintf(stderr, "nvme: read past the end: %s\n", strerror(-ret));
		goto out;
	}
	if (cqe.res != -EIO || !cqe.flags) {
		fprintf(stderr, "nvme: a read past the end returned %d, not an NVMe error\n",
			cqe.res);
		ret = -EPROTO;
		goto out;
	}
	printf("read at block %" PRIu64 " (past the end): NVMe status %#x, SCT %u SC %#x: %s\n",
	       info.nr_lbas, cqe.flags, unio_nvme_sct(cqe.flags), unio_nvme_sc(cqe.flags),
	       unio_nvme_status_str(cqe.flags));
	ret = 0;
out:
	for (i = 0; i < nbufs; i++)
		unio_buf_free(q, OWNER, offs[i]);
	unio_nvme_close(ns);
	unio_region_destroy(r);
	return ret ? 1 : 0;
}
