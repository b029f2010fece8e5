// SPDX-License-Identifier: MIT
/*
 * bpf.c - a shipped BPF program run by the module over a region buffer.
 *
 * Loads bpf/crc32c.bpf.c twice from its libbpf skeleton (crc32c.skel.h,
 * built by bpf/Makefile): once as a stamper, once as a verifier, chosen by
 * its `const volatile` setting crc_mode, which must be set between open and
 * load. Then:
 *
 *   1. attaches the stamper to a region (unio_bpf_attach()) and runs it
 *      with an UNIFIED_IO_OP_BPF descriptor over a buffer holding
 *      "123456789" and 4 spare bytes: the program writes the CRC32C of the
 *      nine digits into them, in place. It must be 0xe3069283, the check
 *      value of the standard;
 *   2. swaps the stamper for the verifier and runs it over the same bytes
 *      (passed: res is the length), then over them with one bit flipped
 *      (dropped: UNIFIED_IO_CQE_F_BPF_DROP, unio_cqe_bpf_dropped());
 *   3. prints the verifier's counters as the module keeps them (GET_INFO).
 *
 *   bpf [DEVICE]
 *
 * Needs CAP_BPF (or root) and a kernel with BTF. The programs are XDP
 * programs: the module gives them the buffer as [data, data_end). See
 * unio_bpf_attach(3), unio_prep_bpf(3), bpf/unified_io_progs.h.
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include <bpf/libbpf.h>
#include <unifiedio.h>

#include "unified_io_progs.h"	/* bpf/: the programs' modes and constants */
#include "crc32c.skel.h"	/* $(BUILD)/bpf: the program, embedded */

#define OWNER		1
#define DIGITS		"123456789"
#define LEN		(sizeof(DIGITS) - 1 + UNIO_CRC_TRAILER)

/* Open the program, set its read-only settings, load it into the kernel. */
static struct crc32c_bpf *load_crc32c(__u32 mode)
{
	struct crc32c_bpf *skel = crc32c_bpf__open();
	int ret;

	if (!skel) {
		fprintf(stderr, "bpf: crc32c_bpf__open: %s\n", strerror(errno));
		return NULL;
	}
	skel->rodata->crc_mode = mode;		/* const volatile: before load */
	ret = crc32c_bpf__load(skel);
	if (ret) {
		fprintf(stderr, "bpf: crc32c_bpf__load: %s\n", strerror(-ret));
		crc32c_bpf__destroy(skel);
		return NULL;
	}
	return skel;
}

/* Run the region's chain over the first LEN bytes of the buffer at @off. */
static int run_chain(struct unio_region *r, uint64_t off,
		     struct unified_io_cqe *cqe)
{
	struct unified_io_desc d = { 0 };
	int ret;

	unio_prep_bpf(&d, OWNER, off, LEN, 0);
	ret = unio_submit_and_wait(r, &d, cqe, 0);
	if (!ret && cqe->res < 0)
		ret = cqe->res;		/* e.g. ECANCELED: XDP_ABORTED */
	if (ret)
		fprintf(stderr, "bpf: UNIFIED_IO_OP_BPF: %s\n", strerror(-ret));
	return ret;
}

int main(int argc, char **argv)
{
	UNIO_OPTS(opts, .dev_path = argc > 1 ? argv[1] : NULL,
		  .buf_size = 4096, .data_size = 16 * 4096);
	struct unified_io_info info = { .size = sizeof(info) };
	struct crc32c_bpf *stamp = NULL, *verify = NULL;
	struct unio_region *r = NULL;
	struct unified_io_cqe cqe;
	uint32_t stamp_id, verify_id, crc;
	bool held = false;
	unsigned int idx;
	uint64_t off;
	uint8_t *p;
	int ret = -1;

	/* libbpf's warnings and the verifier's log go to stderr. */
	stamp = load_crc32c(UNIO_CRC_STAMP);
	verify = load_crc32c(UNIO_CRC_VERIFY);
	if (!stamp || !verify)
		goto out;

	ret = unio_region_create(&opts, &r);
	if (ret) {
		fprintf(stderr, "bpf: unio_region_create: %s\n", strerror(-ret));
		goto out;
	}
	ret = unio_buf_alloc(unio_region_queue(r), OWNER, &off);
	if (ret) {
		fprintf(stderr, "bpf: unio_buf_alloc: %s\n", strerror(-ret));
		goto out;
	}
	held = true;
	p = unio_data_ptr(unio_region_queue(r), off);
	memcpy(p, DIGITS, LEN - UNIO_CRC_TRAILER);

	/* 1. Stamp: the chain is this one program. */
	ret = unio_bpf_attach(r, bpf_program__fd(stamp->progs.unio_crc32c), &stamp_id);
	if (ret) {
		fprintf(stderr, "bpf: unio_bpf_attach: %s\n", strerror(-ret));
		goto out;
	}
	ret = run_chain(r, off, &cqe);
	if (ret)
		goto out;
	/* The trailer, little-endian, as the program wrote it into the buffer. */
	crc = p[9] | p[10] << 8 | p[11] << 16 | (uint32_t)p[12] << 24;
	printf("stamp (program %u): %d bytes, CRC32C of \"%s\" = %#010x (program's .bss: %#010x)\n",
	       stamp_id, cqe.res, DIGITS, crc, stamp->bss->last.crc);
	if (crc != UNIO_CRC32C_CHECK) {
		fprintf(stderr, "bpf: expected %#010x\n", UNIO_CRC32C_CHECK);
		ret = -EPROTO;
		goto out;
	}

	/* 2. Verify, with the stamper out of the chain. */
	ret = unio_bpf_detach(r, stamp_id);
	if (!ret)
		ret = unio_bpf_attach(r, bpf_program__fd(verify->progs.unio_crc32c),
				      &verify_id);
	if (ret) {
		fprintf(stderr, "bpf: swapping the programs: %s\n", strerror(-ret));
		goto out;
	}
	ret = run_chain(r, off, &cqe);
	if (ret)
		goto out;
	if (unio_cqe_bpf_dropped(&cqe, NULL)) {
		fprintf(stderr, "bpf: the verifier dropped an intact buffer\n");
		ret = -EPROTO;
		goto out;
	}
	printf("verify (program %u): intact buffer passed, %d bytes\n", verify_id, cqe.res);
	p[4] ^= 0x10;				/* '5' becomes '%' */
	ret = run_chain(r, off, &cqe);
	if (ret)
		goto out;
	if (!unio_cqe_bpf_dropped(&cqe, &idx)) {
		fprintf(stderr, "bpf: the verifier passed a corrupted buffer\n");
		ret = -EPROTO;
		goto out;
	}
	printf("verify (program %u): one bit flipped: dropped by program %u of the chain\n",
	       verify_id, idx);

	/* 3. The module's count of what the chain did. */
	ret = unio_region_get_info(r, &info);
	if (ret) {
		fprintf(stderr, "bpf: unio_region_get_info: %s\n", strerror(-ret));
		goto out;
	}
	for (unsigned int i = 0; i < info.nr_bpf_progs; i++) {
		const struct unified_io_bpf_prog_info *bp = &info.bpf_progs[i];

		printf("chain[%u]: program %u, %llu runs over %llu bytes, %llu passed, %llu dropped\n",
		       i, bp->prog_id, (unsigned long long)bp->runs,
		       (unsigned long long)bp->bytes, (unsigned long long)bp->pass,
		       (unsigned long long)bp->drop);
	}
out:
	/* Destroying the region also releases the programs it holds. */
	if (held)
		unio_buf_free(unio_region_queue(r), OWNER, off);
	unio_region_destroy(r);
	crc32c_bpf__destroy(verify);
	crc32c_bpf__destroy(stamp);
	return ret ? 1 : 0;
}
