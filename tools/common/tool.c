// SPDX-License-Identifier: GPL-2.0-only
/* Helpers every unified_io tool shares: see tool.h. */
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/resource.h>
#include <time.h>
#include <unistd.h>

#include <unifiedio.h>

#include "tool.h"

const char *tool_name = "unified-io";

void tool_err(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	fprintf(stderr, "%s: ", tool_name);
	vfprintf(stderr, fmt, ap);
	fputc('\n', stderr);
	va_end(ap);
}

void tool_info(bool quiet, const char *fmt, ...)
{
	va_list ap;

	if (quiet)
		return;
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	fputc('\n', stderr);
	va_end(ap);
}

uint64_t tool_now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ULL + ts.tv_nsec;
}

void tool_cpu_ns(uint64_t *usr, uint64_t *sys)
{
	struct rusage ru;

	getrusage(RUSAGE_SELF, &ru);
	*usr = ru.ru_utime.tv_sec * 1000000000ULL + ru.ru_utime.tv_usec * 1000ULL;
	*sys = ru.ru_stime.tv_sec * 1000000000ULL + ru.ru_stime.tv_usec * 1000ULL;
}

int tool_parse_size(const char *s, uint64_t *out)
{
	unsigned long long v;
	unsigned int shift = 0;
	char *end;

	errno = 0;
	v = strtoull(s, &end, 0);
	if (errno || end == s || s[0] == '-')
		return -EINVAL;
	switch (*end) {
	case 'k': case 'K': shift = 10; end++; break;
	case 'm': case 'M': shift = 20; end++; break;
	case 'g': case 'G': shift = 30; end++; break;
	case 't': case 'T': shift = 40; end++; break;
	}
	if (shift && *end == 'i')
		end++;
	if (*end == 'B' || *end == 'b')
		end++;
	if (*end)
		return -EINVAL;
	if (shift && v > UINT64_MAX >> shift)
		return -ERANGE;
	*out = (uint64_t)v << shift;
	return 0;
}

int tool_parse_uint(const char *s, uint64_t max, uint64_t *out)
{
	unsigned long long v;
	char *end;

	errno = 0;
	v = strtoull(s, &end, 0);
	if (errno || end == s || *end || s[0] == '-' || v > max)
		return -EINVAL;
	*out = v;
	return 0;
}

const char *tool_size_str(uint64_t v, char *buf, size_t len)
{
	static const char *const units[] = { "bytes", "KiB", "MiB", "GiB", "TiB",
					     "PiB", "EiB" };
	unsigned int u = 0;

	while (u < 6 && v && !(v & 1023)) {
		v >>= 10;
		u++;
	}
	snprintf(buf, len, "%llu %s", (unsigned long long)v, units[u]);
	return buf;
}

int tool_check_pow2(char *msg, size_t len, const char *opt, uint64_t v,
		    uint64_t min, uint64_t max)
{
	char b0[32], b1[32], b2[32];

	if (v >= min && v <= max && !(v & (v - 1)))
		return 0;
	snprintf(msg, len, "%s %s: must be a power of two from %s to %s", opt,
		 tool_size_str(v, b0, sizeof(b0)), tool_size_str(min, b1, sizeof(b1)),
		 tool_size_str(max, b2, sizeof(b2)));
	return -EINVAL;
}

int tool_check_region(char *msg, size_t len, const char *data_opt,
		      uint64_t data_size, const char *buf_opt, uint64_t buf_size)
{
	uint64_t page = sysconf(_SC_PAGESIZE), min = UNIFIED_IO_MIN_BUF_SIZE;
	char b0[32], b1[32];
	int ret;

	if (min < page)
		min = page;
	ret = tool_check_pow2(msg, len, buf_opt, buf_size, min,
			      UNIFIED_IO_MAX_BUF_SIZE);
	if (ret)
		return ret;
	if (!data_size || data_size % buf_size) {
		snprintf(msg, len, "%s %s: must be a non-zero multiple of %s (%s)",
			 data_opt, tool_size_str(data_size, b0, sizeof(b0)), buf_opt,
			 tool_size_str(buf_size, b1, sizeof(b1)));
		return -EINVAL;
	}
	if (data_size > UNIFIED_IO_MAX_DATA_SIZE) {
		snprintf(msg, len, "%s %s: above the 1 GiB cap of a region's data "
			 "area (UNIFIED_IO_MAX_DATA_SIZE: one io_uring fixed buffer "
			 "covers at most 1 GiB)", data_opt,
			 tool_size_str(data_size, b0, sizeof(b0)));
		return -EINVAL;
	}
	if (data_size / buf_size > UNIFIED_IO_MAX_BUFS) {
		snprintf(msg, len, "%s %s in %s buffers: %llu buffers, above the "
			 "limit of %u (UNIFIED_IO_MAX_BUFS); use a larger %s",
			 data_opt, tool_size_str(data_size, b0, sizeof(b0)),
			 tool_size_str(buf_size, b1, sizeof(b1)),
			 (unsigned long long)(data_size / buf_size),
			 UNIFIED_IO_MAX_BUFS, buf_opt);
		return -EINVAL;
	}
	return 0;
}

const char *tool_explain(unsigned int call, int err,
			 const struct unio_region_opts *opts)
{
	static char buf[512];

	if (unio_explain(call, err, opts, buf, sizeof(buf)) < 0)
		snprintf(buf, sizeof(buf), "%s", strerror(err < 0 ? -err : err));
	return buf;
}

int tool_store_file(const char *path, const void *buf, size_t len)
{
	void *map;
	int fd, ret = 0;

	fd = open(path, O_RDWR | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
	if (fd < 0)
		return -errno;
	if (ftruncate(fd, len)) {
		ret = -errno;
		goto out;
	}
	/* An empty file has nothing to map. */
	if (!len)
		goto out;
	map = mmap(NULL, len, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
	if (map == MAP_FAILED) {
		ret = -errno;
		goto out;
	}
	memcpy(map, buf, len);
	munmap(map, len);
out:
	close(fd);
	return ret;
}
