// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/*
 * Minimal streaming JSON writer, modelled on bpftool's json_writer.c.
 *
 * Each nesting level remembers whether it holds an element yet, to place
 * the separating commas; jsonw_name() writes a key and the next value call
 * completes the pair.
 */
#include <inttypes.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "json_writer.h"

#define JSONW_MAX_DEPTH 32

struct json_writer {
	FILE *out;
	unsigned int depth;
	bool pretty;
	bool after_name;		/* a key was written, value pending */
	bool error_member;		/* the top-level object has "error" */
	bool has_elem[JSONW_MAX_DEPTH];	/* per level: an element was written */
};

json_writer_t *jsonw_new(FILE *f)
{
	json_writer_t *self = calloc(1, sizeof(*self));

	if (self)
		self->out = f;
	return self;
}

void jsonw_destroy(json_writer_t **self_p)
{
	json_writer_t *self = *self_p;

	if (!self)
		return;
	fputc('\n', self->out);
	fflush(self->out);
	free(self);
	*self_p = NULL;
}

bool jsonw_has_error(const json_writer_t *self)
{
	return self->error_member;
}

void jsonw_pretty(json_writer_t *self, bool on)
{
	self->pretty = on;
}

static void jsonw_indent(json_writer_t *self)
{
	unsigned int i;

	if (!self->pretty)
		return;
	fputc('\n', self->out);
	for (i = 0; i < self->depth; i++)
		fputs("    ", self->out);
}

/* Separator and indentation before an element (a value or a key). */
static void jsonw_eor(json_writer_t *self)
{
	if (self->after_name) {
		self->after_name = false;
		return;
	}
	if (self->depth && self->has_elem[self->depth - 1])
		fputc(',', self->out);
	if (self->depth) {
		self->has_elem[self->depth - 1] = true;
		jsonw_indent(self);
	}
}

static void jsonw_puts(json_writer_t *self, const char *s)
{
	const unsigned char *p = (const unsigned char *)s;

	fputc('"', self->out);
	for (; *p; p++) {
		switch (*p) {
		case '"':  fputs("\\\"", self->out); break;
		case '\\': fputs("\\\\", self->out); break;
		case '\n': fputs("\\n", self->out); break;
		case '\t': fputs("\\t", self->out); break;
		case '\r': fputs("\\r", self->out); break;
		default:
			if (*p < 0x20)
				fprintf(self->out, "\\u%04x", *p);
			else
				fputc(*p, self->out);
		}
	}
	fputc('"', self->out);
}

void jsonw_name(json_writer_t *self, const char *name)
{
	if (self->depth == 1 && !strcmp(name, "error"))
		self->error_member = true;
	jsonw_eor(self);
	jsonw_puts(self, name);
	fputs(self->pretty ? ": " : ":", self->out);
	self->after_name = true;
}

static void jsonw_begin(json_writer_t *self, char c)
{
	jsonw_eor(self);
	fputc(c, self->out);
	if (self->depth < JSONW_MAX_DEPTH)
		self->has_elem[self->depth] = false;
	self->depth++;
}

static void jsonw_end(json_writer_t *self, char c)
{
	bool had = self->depth <= JSONW_MAX_DEPTH && self->has_elem[self->depth - 1];

	self->depth--;
	if (had)
		jsonw_indent(self);
	fputc(c, self->out);
}

void jsonw_start_object(json_writer_t *self) { jsonw_begin(self, '{'); }
void jsonw_end_object(json_writer_t *self) { jsonw_end(self, '}'); }
void jsonw_start_array(json_writer_t *self) { jsonw_begin(self, '['); }
void jsonw_end_array(json_writer_t *self) { jsonw_end(self, ']'); }

void jsonw_string(json_writer_t *self, const char *value)
{
	jsonw_eor(self);
	jsonw_puts(self, value);
}

void jsonw_uint(json_writer_t *self, uint64_t value)
{
	jsonw_eor(self);
	fprintf(self->out, "%" PRIu64, value);
}

void jsonw_int(json_writer_t *self, int64_t value)
{
	jsonw_eor(self);
	fprintf(self->out, "%" PRId64, value);
}

void jsonw_float(json_writer_t *self, double value)
{
	jsonw_eor(self);
	if (isfinite(value))
		fprintf(self->out, "%.10g", value);
	else
		fputs("null", self->out);
}

void jsonw_bool(json_writer_t *self, bool value)
{
	jsonw_eor(self);
	fputs(value ? "true" : "false", self->out);
}

void jsonw_null(json_writer_t *self)
{
	jsonw_eor(self);
	fputs("null", self->out);
}

void jsonw_string_field(json_writer_t *self, const char *name, const char *value)
{
	jsonw_name(self, name);
	jsonw_string(self, value);
}

void jsonw_uint_field(json_writer_t *self, const char *name, uint64_t value)
{
	jsonw_name(self, name);
	jsonw_uint(self, value);
}

void jsonw_int_field(json_writer_t *self, const char *name, int64_t value)
{
	jsonw_name(self, name);
	jsonw_int(self, value);
}

void jsonw_float_field(json_writer_t *self, const char *name, double value)
{
	jsonw_name(self, name);
	jsonw_float(self, value);
}

void jsonw_bool_field(json_writer_t *self, const char *name, bool value)
{
	jsonw_name(self, name);
	jsonw_bool(self, value);
}
