// SPDX-License-Identifier: GPL-2.0-only
/* Helpers shared by unio-nvme-bench and unio-crc-bench (bench-common.h). */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "bench-common.h"

int bench_fail(const char *what, int err)
{
	fprintf(stderr, "%s: %s: %s\n", bench_name, what, strerror(err < 0 ? -err : err));
	return err < 0 ? err : -err;
}

void bench_clock_start(struct bench_clock *c)
{
	tool_cpu_ns(&c->usr0, &c->sys0);
	c->t0 = tool_now_ns();
}

void bench_clock_stop(const struct bench_clock *c, uint64_t *ns, uint64_t *usr_ns,
		      uint64_t *sys_ns)
{
	uint64_t usr, sys;

	*ns = tool_now_ns() - c->t0;
	tool_cpu_ns(&usr, &sys);
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
	ret = tool_store_file(path, j->buf, j->len);
	free(j->buf);
	return ret;
}
