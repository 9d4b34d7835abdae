/* escape.c - text that came from the program or the network (host names, program and file names,
 * function names, paths, peers) made safe for a terminal before it is printed: control characters
 * (C0, DEL, the C1 ones a UTF-8 terminal obeys too), bytes that are not UTF-8, and the Unicode
 * controls that reorder or break lines (bidi overrides, line and paragraph separators) are shown
 * as escapes (\x1b, \u202e). Without it a host name could retitle the window, clear the screen or
 * draw a fake "no findings" line. The JSON report needs none of this: its encoder escapes them. */
#define _GNU_SOURCE
#include <string.h>
#include "base/base.h"

/* Length of the UTF-8 sequence at s (at most n bytes) and its code point; 0 if it is not one. */
static size_t utf8(const unsigned char *s, size_t n, unsigned *cp)
{
	size_t len = s[0] >= 0xf0 && s[0] <= 0xf4 ? 4 : s[0] >= 0xe0 ? 3 : s[0] >= 0xc2 && s[0] < 0xe0 ? 2 : 0;
	if (!len || len > n)
		return 0;
	unsigned v = s[0] & (0x7f >> len);
	for (size_t i = 1; i < len; i++) {
		if ((s[i] & 0xc0) != 0x80)
			return 0;
		v = v << 6 | (s[i] & 0x3f);
	}
	/* overlong forms, surrogates and values past Unicode are not UTF-8 */
	if ((len == 3 && v < 0x800) || (len == 4 && (v < 0x10000 || v > 0x10ffff)) || (v >= 0xd800 && v <= 0xdfff))
		return 0;
	*cp = v;
	return len;
}

/* Code points a terminal acts on instead of showing. */
static int unsafe(unsigned cp)
{
	return cp < 0x20 || cp == 0x7f || (cp >= 0x80 && cp < 0xa0) || cp == 0x2028 || cp == 0x2029 ||
	       (cp >= 0x202a && cp <= 0x202e) || (cp >= 0x2066 && cp <= 0x2069) || cp == 0x200e || cp == 0x200f ||
	       cp == 0x061c;
}

size_t sl_escape(char *out, size_t len, const char *in, size_t n)
{
	size_t o = 0;
	const unsigned char *s = (const unsigned char *)in;
	if (!len)
		return 0;
	for (size_t i = 0; i < n && s[i] && o + 1 < len;) {
		unsigned cp = s[i];
		size_t k = s[i] < 0x80 ? 1 : utf8(s + i, n - i, &cp);
		char esc[16];
		int w = 0;
		if (!k) /* not UTF-8: the byte itself, escaped */
			w = snprintf(esc, sizeof esc, "\\x%02x", s[i]);
		else if (unsafe(cp))
			w = cp < 0x100 ? snprintf(esc, sizeof esc, "\\x%02x", cp) : snprintf(esc, sizeof esc, "\\u%04x", cp);
		if (!w && o + k < len) {
			memcpy(out + o, s + i, k);
			o += k;
		} else if (w && o + (size_t)w < len) {
			memcpy(out + o, esc, (size_t)w);
			o += (size_t)w;
		} else {
			break; /* no room for the whole of it */
		}
		i += k ? k : 1;
	}
	out[o] = 0;
	return o;
}

#define ESC_BUFS 8
#define ESC_LEN 4096

const char *sl_esc(const char *s)
{
	static char bufs[ESC_BUFS][ESC_LEN];
	static unsigned next;
	char *b = bufs[next++ % ESC_BUFS];
	sl_escape(b, ESC_LEN, s ? s : "", s ? strlen(s) : 0);
	return b;
}
