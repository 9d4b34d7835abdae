/* render.c - what every renderer uses: JSON strings and frames, wall-clock times, wrapped text. */
#define _GNU_SOURCE
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include "report/report.h"

/* A JSON string of the first n bytes of s; bytes that are not valid UTF-8 become '?'. */
json_t *sl_jstrn(const char *s, size_t n)
{
	json_t *j = json_stringn(s, n);
	if (j)
		return j;
	char *copy = strndup(s, n);
	for (char *p = copy; p && *p; p++)
		if ((unsigned char)*p >= 0x80)
			*p = '?';
	j = json_string(copy ? copy : "");
	free(copy);
	return j;
}

json_t *sl_str_or_null(const char *s)
{
	return s && s[0] ? sl_jstrn(s, strlen(s)) : json_null();
}

static json_t *frame_json(const struct sl_frame *f)
{
	char addr[32];
	snprintf(addr, sizeof addr, "0x%llx", (unsigned long long)f->addr);
	json_t *o = json_pack("{s:o, s:o, s:o, s:o, s:s}", "function", sl_str_or_null(f->function), "file",
			      sl_str_or_null(f->file), "line", f->line ? json_integer(f->line) : json_null(), "module",
			      sl_str_or_null(f->module), "address", addr);
	if (f->line_is_start) /* JavaScript: the line where the function starts */
		json_object_set_new(o, "line_is_function_start", json_true());
	return o;
}

json_t *sl_frames_json(const struct sl_frame *f, size_t n)
{
	json_t *a = json_array();
	for (size_t i = 0; i < n; i++)
		json_array_append_new(a, frame_json(&f[i]));
	return a;
}

void sl_wall_time(const struct sl_log_header *h, uint64_t mono_ns, char *out, size_t len)
{
	int64_t delta = (int64_t)(mono_ns - h->start_mono_ns);
	sl_wall_format(h->start_real_ns + (uint64_t)delta, out, len);
}

void sl_wall_format(uint64_t real, char *out, size_t len)
{
	time_t sec = (time_t)(real / 1000000000ull);
	struct tm tm;
	char buf[32];
	if (!gmtime_r(&sec, &tm) || !strftime(buf, sizeof buf, "%Y-%m-%dT%H:%M:%S", &tm)) {
		snprintf(out, len, "%s", "?"); /* a corrupt timestamp */
		return;
	}
	snprintf(out, len, "%s.%03uZ", buf, (unsigned)(real / 1000000ull % 1000));
}

#define TEXT_WIDTH 100

/* Prints lead then text (escaped: it may hold names from the program), wrapped at TEXT_WIDTH
 * columns with continuation lines indented under it. */
void sl_text_wrapped(FILE *out, const char *lead, const char *text)
{
	size_t indent = strlen(lead), col = indent;
	text = sl_esc(text);
	fputs(lead, out);
	while (*text) {
		size_t word = strcspn(text, " ");
		if (col > indent && col + 1 + word > TEXT_WIDTH) {
			fprintf(out, "\n%*s", (int)indent, "");
			col = indent;
		} else if (col > indent) {
			fputc(' ', out);
			col++;
		}
		fwrite(text, 1, word, out);
		col += word;
		text += word;
		while (*text == ' ')
			text++;
	}
	fputc('\n', out);
}
