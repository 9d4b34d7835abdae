/* curseslib.h - ncurses loaded when `socklens top` first draws, not when socklens starts: see
 * dwlib.h, which does the same for elfutils. Include this instead of <curses.h>. */
#ifndef SL_CURSESLIB_H
#define SL_CURSESLIB_H

#include <curses.h>

#define SL_CURSES_FUNCS(X) \
	X(endwin) X(initscr) X(mvprintw) X(noecho) X(wattr_off) X(wattr_on) X(werase) X(wgetch) \
	X(wrefresh) X(cbreak) X(curs_set) X(keypad) X(stdscr) X(wtimeout)

#ifndef SL_LIB_MEMBER
#define SL_LIB_MEMBER(f) __typeof__(f) *f;
#endif
struct sl_curses_fns {
	SL_CURSES_FUNCS(SL_LIB_MEMBER)
};

extern struct sl_curses_fns sl_curses_fns;
extern int sl_curses_loaded;
void sl_curses_load(void); /* exits when the library cannot be loaded */

static inline const struct sl_curses_fns *sl_curses(void)
{
	if (__builtin_expect(!__atomic_load_n(&sl_curses_loaded, __ATOMIC_ACQUIRE), 0))
		sl_curses_load();
	return &sl_curses_fns;
}

#ifndef SL_LIBS_IMPL
#define endwin (sl_curses()->endwin)
#define initscr (sl_curses()->initscr)
#define mvprintw (sl_curses()->mvprintw)
#define noecho (sl_curses()->noecho)
#define wattr_off (sl_curses()->wattr_off)
#define wattr_on (sl_curses()->wattr_on)
#define werase (sl_curses()->werase)
#define wgetch (sl_curses()->wgetch)
#define wrefresh (sl_curses()->wrefresh)
#define cbreak (sl_curses()->cbreak)
#define curs_set (sl_curses()->curs_set)
#define keypad (sl_curses()->keypad)
#define stdscr (*sl_curses()->stdscr) /* a variable: its address is what dlsym finds */
#define wtimeout (sl_curses()->wtimeout)
#endif

#endif
