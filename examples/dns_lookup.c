/* dns_lookup.c - bug (configuration): a service looks up the hosts in its configuration on every
 * request. A typo'd name fails (EAI_NONAME), and a resolver that drops queries makes each lookup
 * wait for its timeout. Usage: dns_lookup NAME... (tests/dns.sh runs it against a resolver of its
 * own in private namespaces). */
#include <netdb.h>
#include "common.h"

static int resolve(const char *name)
{
	struct addrinfo hints = {.ai_socktype = SOCK_STREAM}, *res;
	int rc = getaddrinfo(name, "5432", &hints, &res);
	if (rc != 0) {
		fprintf(stderr, "dns_lookup: %s: %s\n", name, gai_strerror(rc));
		return -1;
	}
	char ip[64] = "?";
	if (res->ai_family == AF_INET)
		inet_ntop(AF_INET, &((struct sockaddr_in *)res->ai_addr)->sin_addr, ip, sizeof ip);
	fprintf(stderr, "dns_lookup: %s is %s\n", name, ip);
	freeaddrinfo(res);
	return 0;
}

int main(int argc, char **argv)
{
	int failed = 0;
	for (int i = 1; i < argc; i++)
		failed |= resolve(argv[i]) < 0;
	return failed;
}
