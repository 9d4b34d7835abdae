/* strbuf.h - bounded string building without stdio or malloc (async-signal-safe). */
#ifndef SL_STRBUF_H
#define SL_STRBUF_H

#include <stddef.h>
#include <stdint.h>

struct sl_strbuf {
	char buf[512];
	size_t len;
	int overflow;
};

static inline void sl_sb_init(struct sl_strbuf *b)
{
	b->len = 0;
	b->overflow = 0;
	b->buf[0] = 0;
}

static inline void sl_sb_str(struct sl_strbuf *b, const char *s)
{
	while (*s) {
		if (b->len + 1 >= sizeof b->buf) {
			b->overflow = 1;
			return;
		}
		b->buf[b->len++] = *s++;
	}
	b->buf[b->len] = 0;
}

static inline void sl_sb_u64(struct sl_strbuf *b, uint64_t v)
{
	char tmp[21];
	int i = 20;
	tmp[i] = 0;
	do {
		tmp[--i] = (char)('0' + v % 10);
		v /= 10;
	} while (v);
	sl_sb_str(b, tmp + i);
}

#endif
