// SPDX-License-Identifier: GPL-2.0-only
/* Helpers shared by unio-nvme-bench and unio-crc-bench (bench-common.h). */
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/resource.h>
#include <time.h>
#include <unistd.h>

#include "bench-common.h"

int bench_fail(const char *what, int err)
{
	fprintf(stderr, "%s: %s: %s\n", bench_name, what, strerror(err < 0 ? -err : err));
	return err < 0 ? err : -err;
}

uint64_t bench_now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ULL + ts.tv_nsec;
}

void bench_cpu_ns(uint64_t *usr, uint64_t *sys)
{
	struct rusage ru;

	getrusage(RUSAGE_SELF, &ru);
	*usr = ru.ru_utime.tv_sec * 1000000000ULL + ru.ru_utime.tv_usec * 1000ULL;
	*sys = ru.ru_stime.tv_sec * 1000000000ULL + ru.ru_stime.tv_usec * 1000ULL;
}

void bench_clock_start(struct bench_clock *c)
{
	bench_cpu_ns(&c->usr0, &c->sys0);
	c->t0 = bench_now_ns();
}

void bench_clock_stop(const struct bench_clock *c, uint64_t *ns, uint64_t *usr_ns,
		      uint64_t *sys_ns)
{
	uint64_t usr, sys;

	*ns = bench_now_ns() - c->t0;
	bench_cpu_ns(&usr, &sys);
	*usr_ns = usr - c->usr0;
	*sys_ns = sys - c->sys0;
}

unsigned int bench_lookup(const char *const *names, unsigned int n, const char *name)
{
	unsigned int i;

	for (i = 0; i < n; i++)
		if (names[i] && !strcmp(name, names[i]))
			break;
	return i;
}

int bench_parse_size(const char *s, uint64_t *out)
{
	char *end;
	uint64_t v = strtoull(s, &end, 0);

	switch (*end) {
	case 'K': case 'k': v <<= 10; end++; break;
	case 'M': case 'm': v <<= 20; end++; break;
	case 'G': case 'g': v <<= 30; end++; break;
	}
	if (end == s || *end)
		return -EINVAL;
	*out = v;
	return 0;
}

/* The JSON goes through a shared mapping: no write(), nothing copied. */
static int store_json(const char *path, const char *buf, size_t len)
{
	void *map;
	int fd;

	fd = open(path, O_RDWR | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
	if (fd < 0)
		return -errno;
	if (ftruncate(fd, len)) {
		close(fd);
		return -errno;
	}
	map = mmap(NULL, len, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
	if (map == MAP_FAILED) {
		close(fd);
		return -errno;
	}
	memcpy(map, buf, len);
	munmap(map, len);
	close(fd);
	return 0;
}

int bench_json_begin(struct bench_json *j)
{
	memset(j, 0, sizeof(*j));
	j->f = open_memstream(&j->buf, &j->len);
	if (!j->f)
		return -errno;
	j->w = jsonw_new(j->f);
	if (!j->w) {
		fclose(j->f);
		free(j->buf);
		return -ENOMEM;
	}
	jsonw_pretty(j->w, true);
	jsonw_start_object(j->w);
	jsonw_string_field(j->w, "benchmark", bench_name);
	return 0;
}

int bench_json_end(struct bench_json *j, const char *path)
{
	int ret;

	jsonw_end_object(j->w);
	jsonw_destroy(&j->w);
	fputc('\n', j->f);
	if (fclose(j->f)) {
		free(j->buf);
		return -errno;
	}
	ret = store_json(path, j->buf, j->len);
	free(j->buf);
	return ret;
}
