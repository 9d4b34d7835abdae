/* hook_dns.c - name lookups: getaddrinfo and gethostbyname, timed, with failures and slow lookups
 * recorded (the name asked, the EAI code, the call site). glibc's resolver sockets themselves
 * never pass through the PLT, so the lookup is the level at which DNS can be seen. */
#define _GNU_SOURCE
#include <errno.h>
#include <netdb.h>
#include "real.h"
#include "record.h"

SL_EXPORT int getaddrinfo(const char *node, const char *service, const struct addrinfo *hints,
			  struct addrinfo **res)
{
	uint64_t t0 = __atomic_load_n(&sl_g.ready, __ATOMIC_ACQUIRE) ? sl_now() : 0;
	int r = t0 && __builtin_expect(sl_inject_on & SL_INJECT_DNS_FAULTS, 0) ? sl__inject_lookup(SL_CALL_GETADDRINFO, node) : 0;
	if (!r)
		r = REAL(getaddrinfo)(node, service, hints, res);
	/* AI_NUMERICHOST asks "is this an address?": a failure is an answer, not a lookup problem */
	if (t0 && !(hints && (hints->ai_flags & AI_NUMERICHOST) && r)) {
		int e = errno;
		sl__record_dns(SL_CALL_GETADDRINFO, node, r, sl_now() - t0);
		errno = e;
	}
	return r;
}

SL_EXPORT struct hostent *gethostbyname(const char *name)
{
	uint64_t t0 = __atomic_load_n(&sl_g.ready, __ATOMIC_ACQUIRE) ? sl_now() : 0;
	int inj = t0 && __builtin_expect(sl_inject_on & SL_INJECT_DNS_FAULTS, 0) ? sl__inject_lookup(SL_CALL_GETHOSTBYNAME, name) : 0;
	struct hostent *h = NULL;
	if (inj)
		h_errno = inj == EAI_NONAME ? HOST_NOT_FOUND : TRY_AGAIN;
	else
		h = REAL(gethostbyname)(name);
	if (t0) {
		int e = errno, herr = h_errno;
		/* h_errno's HOST_NOT_FOUND, TRY_AGAIN... as the EAI code of the same meaning */
		int code = h ? 0 : herr == HOST_NOT_FOUND ? EAI_NONAME : herr == TRY_AGAIN ? EAI_AGAIN
			       : herr == NO_DATA ? EAI_NODATA : EAI_FAIL;
		sl__record_dns(SL_CALL_GETHOSTBYNAME, name, code, sl_now() - t0);
		h_errno = herr;
		errno = e;
	}
	return h;
}
