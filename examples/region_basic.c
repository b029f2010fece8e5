// SPDX-License-Identifier: GPL-2.0
/*
 * region_basic.c - the raw ioctls, with no library: set up a region, map
 * it, allocate a buffer through the SQ, write into it, free it.
 *
 * Documentation/unified_io_region.rst shows it piece by piece (between the
 * "-begin" and "-end" comments); it is built and run with the project, so
 * the documentation cannot drift from the ABI. region.c does the same and
 * more through libunifiedio.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <unistd.h>
#include <linux/unified_io.h>

int main(void)
{
	/* setup-begin */
	struct unified_io_setup setup = {
		.size		= sizeof(setup),
		.flags		= UNIFIED_IO_SETUP_F_HUGE_PAGES,
		.sq_entries	= 64,
		.buf_size	= 64 * 1024,
		.data_size	= 16 * 1024 * 1024,
	};
	struct unified_io_region_layout *l = &setup.layout;
	int fd = open("/dev/unified_io_region", O_RDWR | O_CLOEXEC);

	if (fd < 0 || ioctl(fd, UNIFIED_IO_SETUP, &setup))
		return perror("unified_io setup"), 1;

	char *region = mmap(NULL, l->region_size, PROT_READ | PROT_WRITE,
			    MAP_SHARED, fd, 0);
	if (region == MAP_FAILED)
		return perror("mmap"), 1;
	/* setup-end */

	/* rings-begin */
	__u32 *sq_tail = (__u32 *)(region + l->sq.tail);
	__u32 *cq_head = (__u32 *)(region + l->cq.head);
	__u32 *cq_tail = (__u32 *)(region + l->cq.tail);
	struct unified_io_desc *sqes =
		(void *)(region + l->desc_off + l->sq.array);
	struct unified_io_cqe *cqes =
		(void *)(region + l->desc_off + l->cq.array);
	char *data = region + l->data_off;
	__u32 tail = *sq_tail, head;

	/* Fill one descriptor, then publish it with a store-release. */
	struct unified_io_desc *d = &sqes[tail & l->sq.ring_mask];

	memset(d, 0, sizeof(*d));
	d->opcode = UNIFIED_IO_OP_ALLOC;
	d->owner = 1;
	d->user_data = 42;
	__atomic_store_n(sq_tail, tail + 1, __ATOMIC_RELEASE);

	struct unified_io_submit submit = { .size = sizeof(submit), .to_submit = 1 };

	if (ioctl(fd, UNIFIED_IO_SUBMIT, &submit) != 1)
		return perror("submit"), 1;

	/* Reap: load-acquire the tail, read the entry, release the head. */
	head = *cq_head;
	if (__atomic_load_n(cq_tail, __ATOMIC_ACQUIRE) == head)
		return fprintf(stderr, "no completion\n"), 1;

	struct unified_io_cqe *cqe = &cqes[head & l->cq.ring_mask];

	if (cqe->user_data != 42 || cqe->res < 0)
		return fprintf(stderr, "alloc: %s\n", strerror(-cqe->res)), 1;
	__u64 buf = cqe->addr;

	__atomic_store_n(cq_head, head + 1, __ATOMIC_RELEASE);
	/* rings-end */

	/* use-begin */
	memcpy(data + buf, "hello, region", 14);

	struct unified_io_submit free_one = {
		.size	= sizeof(free_one),
		.flags	= UNIFIED_IO_SUBMIT_F_INLINE,
		.desc	= {
			.opcode	= UNIFIED_IO_OP_FREE,
			.owner	= 1,
			.addr	= buf,
		},
	};
	if (ioctl(fd, UNIFIED_IO_SUBMIT, &free_one) != 1)
		return perror("free"), 1;
	/* use-end */

	printf("region of %llu bytes, buffer at data offset %llu: %s\n",
	       (unsigned long long)l->region_size, (unsigned long long)buf,
	       data + buf);
	munmap(region, l->region_size);
	close(fd);
	return 0;
}
