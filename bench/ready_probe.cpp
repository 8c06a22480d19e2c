// ready_probe: how long the daemon takes until GET /health answers 200, for
// the scale benchmark's time-to-READY figure (scripts/bench). Polls
// 127.0.0.1:PORT every millisecond from its own start: a shell loop of
// /dev/tcp or curl costs tens of milliseconds a try, more than what it measures.
//
//   ready_probe --port P --since-ms T0 [--timeout S]
//
// T0 is the daemon's spawn time (ms since the Unix epoch); prints
// "health_ms=<first 200 minus T0>" and exits 0, or exits 1 after S seconds
// (default 120).
#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <cstring>
#include <string>
#include <thread>

namespace {

std::int64_t now_ms() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::system_clock::now().time_since_epoch())
      .count();
}

// One GET /health; true when the status line says 200.
bool healthy(int port) {
  int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  if (fd < 0) return false;
  timeval limit{1, 0};  // a daemon that accepted but is busy: try again, do not hang
  ::setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &limit, sizeof limit);
  sockaddr_in address{};
  address.sin_family = AF_INET;
  address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  address.sin_port = htons(static_cast<std::uint16_t>(port));
  bool ok = false;
  if (::connect(fd, reinterpret_cast<sockaddr*>(&address), sizeof address) == 0) {
    const char request[] = "GET /health HTTP/1.0\r\n\r\n";
    if (::send(fd, request, sizeof request - 1, MSG_NOSIGNAL) == static_cast<ssize_t>(sizeof request - 1)) {
      char reply[64] = {};
      ssize_t got = ::recv(fd, reply, sizeof reply - 1, MSG_WAITALL);
      ok = got >= 12 && std::strncmp(reply, "HTTP/1.", 7) == 0 && std::strncmp(reply + 8, " 200", 4) == 0;
    }
  }
  ::close(fd);
  return ok;
}

}  // namespace

int main(int argc, char** argv) {
  int port = 0;
  std::int64_t since = 0;
  double timeout_s = 120;
  for (int i = 1; i + 1 < argc; i += 2) {
    std::string arg = argv[i];
    if (arg == "--port")
      port = std::stoi(argv[i + 1]);
    else if (arg == "--since-ms")
      since = std::stoll(argv[i + 1]);
    else if (arg == "--timeout")
      timeout_s = std::stod(argv[i + 1]);
  }
  if (port <= 0 || since <= 0) {
    std::fprintf(stderr, "usage: ready_probe --port P --since-ms T0 [--timeout S]\n");
    return 2;
  }
  const auto give_up = std::chrono::steady_clock::now() + std::chrono::duration<double>(timeout_s);
  while (std::chrono::steady_clock::now() < give_up) {
    if (healthy(port)) {
      std::printf("health_ms=%lld\n", static_cast<long long>(now_ms() - since));
      return 0;
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(1));
  }
  return 1;
}
