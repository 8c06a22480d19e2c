// Issue 13 #7: the local HTTP endpoint against requests no browser sends:
// oversized headers and bodies, broken framing, bytes that are not text, and
// clients that connect and say nothing. Each is closed without harm, and the
// next honest GET /health is answered.
#include <utility>  // before Asio: Boost 1.74 Asio under C++20 needs it

#include <boost/asio/connect.hpp>
#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/read.hpp>
#include <boost/asio/write.hpp>
#include <catch2/catch.hpp>
#include <future>
#include <thread>

#include "http_endpoint.hpp"
#include "http_get.hpp"
#include "wait.hpp"

namespace asio = boost::asio;
using namespace std::chrono_literals;
using eg::gateway::HttpEndpoint;

namespace {

// The endpoint on its own loop thread.
class RunningEndpoint {
 public:
  RunningEndpoint() : work_(io_.get_executor()) {
    endpoint_ = std::make_unique<HttpEndpoint>(io_, 0, metrics_, [] { return HttpEndpoint::Health{true, "{}"}; });
    port_ = endpoint_->port();
    thread_ = std::thread([this] { io_.run(); });
  }
  ~RunningEndpoint() {
    asio::post(io_, [this] { endpoint_.reset(); });
    work_.reset();
    io_.stop();
    thread_.join();
  }
  std::uint16_t port() const { return port_; }
  // Reads the endpoint's counters on its own thread.
  template <typename Fn>
  auto on_loop(Fn fn) {
    std::packaged_task<decltype(fn(*endpoint_))()> task([&] { return fn(*endpoint_); });
    auto result = task.get_future();
    asio::post(io_, [&] { task(); });
    return result.get();
  }

 private:
  asio::io_context io_;
  asio::executor_work_guard<asio::io_context::executor_type> work_;
  eg::gateway::Metrics metrics_;
  std::unique_ptr<HttpEndpoint> endpoint_;
  std::uint16_t port_ = 0;
  std::thread thread_;
};

// Sends raw bytes and reads what comes back until the server closes; write
// errors (the server hung up first) are an answer too: nothing.
std::string exchange(std::uint16_t port, const std::string& bytes) {
  asio::io_context io;
  asio::ip::tcp::socket socket(io);
  socket.connect({asio::ip::make_address("127.0.0.1"), port});
  boost::system::error_code ec;
  asio::write(socket, asio::buffer(bytes), ec);
  std::string response;
  asio::read(socket, asio::dynamic_buffer(response), ec);
  return response;
}

}  // namespace

TEST_CASE("malformed HTTP requests are closed without an answer, and the endpoint keeps serving",
          "[integration][http][hostile]") {
  RunningEndpoint server;
  const auto port = server.port();
  REQUIRE(eg::test::http_get(port, "/health").starts_with("HTTP/1.1 200 OK"));

  const std::vector<std::pair<const char*, std::string>> hostile = {
      {"a 20 KiB header", "GET /health HTTP/1.1\r\nX-Pad: " + std::string(20 * 1024, 'a') + "\r\n\r\n"},
      {"a 1 MB request line", "GET /" + std::string(1 << 20, 'a')},
      {"a body announced at 100 MB", "POST /health HTTP/1.1\r\nContent-Length: 100000000\r\n\r\nabc"},
      {"a 64 KiB body", "POST /health HTTP/1.1\r\nContent-Length: 65536\r\n\r\n" + std::string(65536, 'b')},
      {"broken chunked framing", "POST /health HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\nxx\r\n"},
      {"two Content-Lengths", "POST /health HTTP/1.1\r\nContent-Length: 1\r\nContent-Length: 5\r\n\r\nhello"},
      {"NUL and non-UTF-8 bytes", std::string("GET /\xff\x00\xfe HTTP/1.1\r\n\r\n", 21)},
      {"not HTTP", "\x16\x03\x01\x02\x00\x01\x00\x01\xfc\x03\x03"},  // a TLS ClientHello
      {"a header without a colon", "GET /health HTTP/1.1\r\nHost 127.0.0.1\r\n\r\n"},
      {"a bad version", "GET /health HTTP/9.9\r\n\r\n"},
  };
  for (const auto& [what, bytes] : hostile) {
    INFO(what);
    std::string answer = exchange(port, bytes);
    CHECK((answer.empty() || answer.starts_with("HTTP/1.1 4")));
    CHECK(eg::test::http_get(port, "/health").starts_with("HTTP/1.1 200 OK"));
  }
  // Pipelined requests get one answer: one request per connection.
  std::string two = exchange(port, "GET /health HTTP/1.1\r\n\r\nGET /metrics HTTP/1.1\r\n\r\n");
  CHECK(two.starts_with("HTTP/1.1 200 OK"));
  CHECK(two.find("HTTP/1.1", 8) == std::string::npos);
}

TEST_CASE("clients that connect and say nothing cannot take more than the connection cap",
          "[integration][http][hostile][bounds]") {
  RunningEndpoint server;
  asio::io_context io;
  std::vector<asio::ip::tcp::socket> idle;
  const std::size_t over = HttpEndpoint::kMaxConnections + 10;
  for (std::size_t i = 0; i < over; ++i) {
    idle.emplace_back(io);
    idle.back().connect({asio::ip::make_address("127.0.0.1"), server.port()});
  }
  REQUIRE(eg::test::wait_until(
      [&] { return server.on_loop([](HttpEndpoint& e) { return e.refused_connections(); }) == 10; }));
  CHECK(server.on_loop([](HttpEndpoint& e) { return e.open_connections(); }) == HttpEndpoint::kMaxConnections);
  idle.clear();  // the idle clients leave
  REQUIRE(
      eg::test::wait_until([&] { return server.on_loop([](HttpEndpoint& e) { return e.open_connections(); }) == 0; }));
  CHECK(eg::test::http_get(server.port(), "/health").starts_with("HTTP/1.1 200 OK"));
}
