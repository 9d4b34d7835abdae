// cpp_client.cpp - a C++ client whose refused connect is made in a method of a class in a namespace,
// called from a lambda through std::function: its frames must read as the code does.
#include <arpa/inet.h>
#include <sys/socket.h>
#include <unistd.h>
#include <cstdio>
#include <functional>

namespace shop {
namespace net {
class Client {
public:
	int fetch(int port)
	{
		int fd = socket(AF_INET, SOCK_STREAM, 0);
		sockaddr_in a{};
		a.sin_family = AF_INET;
		a.sin_port = htons(port);
		a.sin_addr.s_addr = htonl(0x7f000001);
		int r = connect(fd, (sockaddr *)&a, sizeof a);
		close(fd);
		return r;
	}
};
} // namespace net
} // namespace shop

int main()
{
	shop::net::Client c;
	auto retry = [&](int port) { return c.fetch(port); };
	std::function<int(int)> f = retry;
	std::printf("cpp_client: %d\n", f(9));
	return 0;
}
