// The acking subscriber's handshake against real peers: a broker whose ACL
// refuses a subscription (SUBACK 0x80) is not a healthy connection; a peer
// that accepts TCP and never answers CONNACK is given up on and retried; a
// host name is resolved without blocking the loop (issue 12 #8).
#include <utility>  // before Asio: Boost 1.74 Asio under C++20 needs it

#include <array>
#include <atomic>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/write.hpp>
#include <catch2/catch.hpp>
#include <thread>

#include "eg/gateway/acking_subscriber.hpp"
#include "mosquitto.hpp"
#include "temp_dir.hpp"
#include "wait.hpp"

namespace asio = boost::asio;
using eg::gateway::AckingSubscriber;
using namespace std::chrono_literals;

namespace {

// A subscriber on its own loop thread; connection changes are counted.
struct Running {
  explicit Running(AckingSubscriber::Options options) : subscriber(io, std::move(options)) {
    subscriber.on_message([](eg::gateway::InboundMessage, std::uint64_t) {});
    subscriber.on_connection([this](bool up) {
      if (up) ++ups;
    });
    subscriber.start();
    thread = std::thread([this] { io.run_for(30s); });
  }
  ~Running() {
    asio::post(io, [this] { subscriber.stop(); });
    io.stop();
    thread.join();
  }
  asio::io_context io;
  AckingSubscriber subscriber;
  std::atomic<int> ups{0};
  std::thread thread;
};

AckingSubscriber::Options options_for(int port, std::vector<std::string> filters) {
  AckingSubscriber::Options options;
  options.port = static_cast<std::uint16_t>(port);
  options.client_id = "acking-test";
  options.filters = std::move(filters);
  options.backoff_min = 50ms;
  options.backoff_max = 200ms;
  return options;
}

}  // namespace

// mosquitto 2.0.11 grants a subscription its ACL denies (SUBACK 0x00, then
// delivers nothing: checked by hand on 2026-12-05 with `topic deny` lines), so
// no real broker here answers 0x80. A scripted peer plays the broker that
// does (a plugin ACL, other brokers): CONNACK, then SUBACK refusing filter 2.
TEST_CASE("a SUBACK that refuses a filter is a failed connection, retried, never reported up",
          "[integration][acking]") {
  asio::io_context server_io;
  asio::ip::tcp::acceptor acceptor(server_io, {asio::ip::make_address("127.0.0.1"), 0});
  std::atomic<int> refused{0};
  std::thread server([&] {
    for (int i = 0; i < 2; ++i) {  // two refusals show the retry
      boost::system::error_code ec;
      asio::ip::tcp::socket socket(server_io);
      acceptor.accept(socket, ec);
      if (ec) return;
      std::array<std::uint8_t, 512> in{};
      std::size_t n = socket.read_some(asio::buffer(in), ec);  // CONNECT
      if (ec || n == 0 || in[0] != 0x10) return;
      const std::uint8_t connack[] = {0x20, 0x02, 0x00, 0x00};
      asio::write(socket, asio::buffer(connack), ec);
      n = socket.read_some(asio::buffer(in), ec);  // SUBSCRIBE, short enough for a one-byte length
      if (ec || n < 4 || in[0] != 0x82) return;
      const std::uint8_t suback[] = {0x90, 0x04, in[2], in[3], 0x01, 0x80};
      asio::write(socket, asio::buffer(suback), ec);
      ++refused;
      socket.read_some(asio::buffer(in), ec);  // until the client hangs up
    }
  });
  {
    Running running(options_for(acceptor.local_endpoint().port(), {"sensors/#", "secret/#"}));
    CHECK(eg::test::wait_until([&] { return running.subscriber.subscribe_refusals() >= 2; }, 10s));
    CHECK(refused >= 2);
    CHECK(running.ups == 0);  // before: the refusal was logged and the link counted healthy
  }
  acceptor.close();
  server.join();
}

TEST_CASE("a peer that accepts TCP but never sends CONNACK is given up on after the handshake timeout",
          "[integration][acking]") {
  asio::io_context server_io;
  asio::ip::tcp::acceptor acceptor(server_io, {asio::ip::make_address("127.0.0.1"), 0});
  std::atomic<int> accepted{0};
  std::vector<asio::ip::tcp::socket> held;
  std::function<void()> accept = [&] {
    acceptor.async_accept([&](boost::system::error_code ec, asio::ip::tcp::socket socket) {
      if (ec) return;
      ++accepted;
      held.push_back(std::move(socket));  // open and silent
      accept();
    });
  };
  accept();
  std::thread server([&] { server_io.run_for(20s); });

  auto options = options_for(acceptor.local_endpoint().port(), {"sensors/#"});
  options.handshake_timeout = 300ms;
  {
    Running running(options);
    // Before: one connection, waiting for ever. Now: given up and retried.
    CHECK(eg::test::wait_until([&] { return accepted >= 3; }, 10s));
    CHECK(running.ups == 0);
  }
  server_io.stop();
  server.join();
}

TEST_CASE("a broker given by host name is resolved asynchronously and subscribed", "[integration][acking]") {
  eg::test::MosquittoBroker broker;
  auto options = options_for(broker.port(), {"sensors/#"});
  options.host = "localhost";
  Running running(options);
  CHECK(eg::test::wait_until([&] { return running.ups >= 1; }, 10s));
}
