// The Asio shell over real loopback sockets, against small in-test receivers
// that reproduce what real ones do: a NAK written twice before hanging up
// (iobroker.sia), a closed UDP port. The real receiver is in the integration
// tests; these pin down the socket handling.
#include <utility>  // before Asio: Boost 1.74 Asio under C++20 needs it

#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/ip/udp.hpp>
#include <boost/asio/read_until.hpp>
#include <boost/asio/streambuf.hpp>
#include <boost/asio/write.hpp>
#include <catch2/catch.hpp>
#include <cstdio>

#include "eg/dc09/transmitter.hpp"

using namespace eg;
using namespace eg::dc09;
using namespace std::chrono_literals;
namespace asio = boost::asio;
using tcp = asio::ip::tcp;

namespace {

std::string reply_frame(const std::string& body) {
  char header[16];
  std::snprintf(header, sizeof header, "%04X%04X", crc16_arc(body), static_cast<unsigned>(body.size()));
  return "\n" + std::string(header) + body + "\r";
}

// Accepts connections; answers the first frame on the first connection with
// a NAK written twice and a hang-up, every later frame with an ACK.
class NakTwiceReceiver {
 public:
  explicit NakTwiceReceiver(asio::io_context& io)
      : acceptor_(io, tcp::endpoint(asio::ip::make_address("127.0.0.1"), 0)) {
    accept();
  }
  std::uint16_t port() const { return acceptor_.local_endpoint().port(); }
  std::vector<std::string> frames;
  int connections = 0;

 private:
  void accept() {
    acceptor_.async_accept([this](boost::system::error_code ec, tcp::socket socket) {
      if (ec) return;
      ++connections;
      serve(std::make_shared<tcp::socket>(std::move(socket)), std::make_shared<asio::streambuf>());
      accept();
    });
  }
  void serve(std::shared_ptr<tcp::socket> socket, std::shared_ptr<asio::streambuf> buffer) {
    asio::async_read_until(*socket, *buffer, '\r', [this, socket, buffer](boost::system::error_code ec, std::size_t n) {
      if (ec) return;
      std::string frame(asio::buffers_begin(buffer->data()), asio::buffers_begin(buffer->data()) + n);
      buffer->consume(n);
      frames.push_back(frame);
      auto quote = frame.find('"', frame.find('"') + 1);
      std::string sequence = frame.substr(quote + 1, 4);
      boost::system::error_code ignored;
      if (frames.size() == 1) {
        std::string nak = reply_frame("\"NAK\"0000R0L0A0[]_22:30:00,11-24-2026");
        asio::write(*socket, asio::buffer(nak + nak), ignored);
        socket->close(ignored);
        return;
      }
      asio::write(*socket, asio::buffer(reply_frame("\"ACK\"" + sequence + "R0L0#1234[]")), ignored);
      serve(socket, buffer);
    });
  }
  tcp::acceptor acceptor_;
};

template <typename Predicate>
bool run_until(asio::io_context& io, Predicate done, std::chrono::milliseconds deadline = 5000ms) {
  auto end = std::chrono::steady_clock::now() + deadline;
  while (!done() && std::chrono::steady_clock::now() < end) {
    io.run_for(10ms);
    if (io.stopped()) io.restart();
  }
  return done();
}

std::uint16_t closed_udp_port(asio::io_context& io) {
  asio::ip::udp::socket socket(io, asio::ip::udp::endpoint(asio::ip::make_address("127.0.0.1"), 0));
  return socket.local_endpoint().port();  // closed again when `socket` goes
}

}  // namespace

TEST_CASE("dc09 transmitter: a NAK written twice costs one retry on a new connection, same sequence", "[dc09]") {
  asio::io_context io;
  NakTwiceReceiver receiver(io);
  SystemClock clock;
  LinkSettings settings;
  settings.account = "1234";
  settings.paths.push_back({"127.0.0.1", receiver.port(), Transport::tcp});
  settings.ack_timeout = 2000ms;
  std::vector<LinkCore::Outcome> outcomes;
  Transmitter transmitter(io, settings, clock, {[&](const LinkCore::Outcome& o) { outcomes.push_back(o); }, {}, {}});
  transmitter.start();
  transmitter.send({1, "ADM-CID", "#1234|1101 01 002"});
  transmitter.send({2, "ADM-CID", "#1234|3101 01 002"});
  REQUIRE(run_until(io, [&] { return outcomes.size() == 2; }));
  CHECK(outcomes[0].kind == LinkCore::Outcome::Kind::delivered);
  CHECK(outcomes[0].attempts == 2);  // the NAK, then the ACK; the second NAK did not count
  CHECK(outcomes[1].attempts == 1);
  REQUIRE(receiver.frames.size() == 3);
  CHECK(receiver.frames[0].find("\"ADM-CID\"0001") != std::string::npos);
  CHECK(receiver.frames[1].find("\"ADM-CID\"0001") != std::string::npos);
  // The retry carries the receiver's clock (its NAK said 22:30:00), not ours.
  auto stamp = parse_timestamp(receiver.frames[1].substr(receiver.frames[1].size() - 20, 19));
  REQUIRE(stamp);
  auto nak_time = std::chrono::sys_days{std::chrono::year{2026} / 11 / 24} + std::chrono::hours{22} + 30min;
  CHECK(std::chrono::abs(*stamp - nak_time) <= 2s);
  CHECK(receiver.frames[2].find("\"ADM-CID\"0002") != std::string::npos);
  CHECK(receiver.connections == 2);
}

TEST_CASE("dc09 transmitter: a closed UDP primary fails over to the TCP backup at once", "[dc09]") {
  asio::io_context io;
  NakTwiceReceiver receiver(io);
  SystemClock clock;
  LinkSettings settings;
  settings.account = "1234";
  settings.paths.push_back({"127.0.0.1", closed_udp_port(io), Transport::udp});
  settings.paths.push_back({"127.0.0.1", receiver.port(), Transport::tcp});
  settings.attempts_per_path = 2;
  settings.retry_delay = 10ms;
  settings.ack_timeout = 3000ms;
  std::vector<LinkCore::Outcome> outcomes;
  std::vector<std::pair<std::size_t, bool>> changes;
  Transmitter transmitter(io, settings, clock,
                          {[&](const LinkCore::Outcome& o) { outcomes.push_back(o); },
                           [&](const LinkCore::PathChange& c, const Endpoint&) { changes.emplace_back(c.path, c.up); },
                           {}});
  transmitter.send({1, "ADM-CID", "#1234|1101 01 002"});
  auto started = std::chrono::steady_clock::now();
  REQUIRE(run_until(io, [&] { return outcomes.size() == 1; }));
  CHECK(std::chrono::steady_clock::now() - started < 2500ms);  // no ack timeout was waited for
  CHECK(outcomes[0].kind == LinkCore::Outcome::Kind::delivered);
  CHECK(outcomes[0].path == 1);
  CHECK(changes == std::vector<std::pair<std::size_t, bool>>{{0, false}});
}
