// The test harness's independent SIA DC-09 receiver (npm iobroker.sia, see
// tests/support/sia_receiver.hpp) works: hand-built frames over plain TCP and
// UDP sockets are ACKed and show up, parsed, in its messages.
#include <utility>  // before Asio: Boost 1.74 Asio under C++20 needs it

#include <boost/asio/buffer.hpp>
#include <boost/asio/connect.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/ip/udp.hpp>
#include <boost/asio/read_until.hpp>
#include <boost/asio/write.hpp>
#include <catch2/catch.hpp>
#include <chrono>
#include <cstdio>
#include <string>

#include "eg/dc09/frame.hpp"
#include "sia_receiver.hpp"

namespace asio = boost::asio;
using namespace std::chrono_literals;

namespace {

// <LF><CRC4hex><LEN4hex>"ADM-CID"<seq>R0L0#<acct>[<data>]_<timestamp><CR>, by hand.
std::string adm_cid_frame(unsigned sequence, const std::string& account, const std::string& data) {
  char seq[8];
  std::snprintf(seq, sizeof seq, "%04u", sequence);
  std::string body = "\"ADM-CID\"" + std::string(seq) + "R0L0#" + account + "[" + data + "]_" +
                     eg::dc09::format_timestamp(std::chrono::system_clock::now());
  char head[16];
  std::snprintf(head, sizeof head, "%04X%04X", static_cast<unsigned>(eg::dc09::crc16_arc(body)),
                static_cast<unsigned>(body.size()));
  return "\n" + std::string(head) + body + "\r";
}

asio::ip::address loopback() {
  return asio::ip::make_address("127.0.0.1");
}

// Sends one frame on a fresh TCP connection; returns the reply frame (empty if none within 5 s).
std::string exchange_tcp(std::uint16_t port, const std::string& frame) {
  asio::io_context io;
  asio::ip::tcp::socket socket(io);
  socket.connect({loopback(), port});
  asio::write(socket, asio::buffer(frame));
  std::string reply;
  asio::async_read_until(socket, asio::dynamic_buffer(reply), '\r', [](boost::system::error_code, std::size_t) {});
  io.run_for(5s);
  return reply;
}

std::string exchange_udp(std::uint16_t port, const std::string& frame) {
  asio::io_context io;
  asio::ip::udp::socket socket(io, asio::ip::udp::endpoint(loopback(), 0));
  socket.send_to(asio::buffer(frame), asio::ip::udp::endpoint(loopback(), port));
  std::string reply(1024, '\0');
  asio::ip::udp::endpoint from;
  std::size_t received = 0;
  socket.async_receive_from(asio::buffer(reply), from, [&](boost::system::error_code error, std::size_t n) {
    if (!error) received = n;
  });
  io.run_for(5s);
  reply.resize(received);
  return reply;
}

void check_ack(const std::string& reply, unsigned sequence) {
  INFO("reply: " << reply);
  auto parsed = eg::dc09::parse_reply(reply, {});
  REQUIRE(parsed.ok());
  CHECK(parsed.value().kind == eg::dc09::Reply::Kind::ack);
  CHECK(parsed.value().sequence == sequence);
  CHECK(parsed.value().account == "1234");
}

void check_received(eg::test::SiaReceiver& receiver, const std::string& seq) {
  bool arrived = receiver.wait_for(
      [&](const std::vector<eg::test::SiaMessage>& messages) {
        for (const auto& m : messages)
          if (m.seq == seq) return true;
        return false;
      },
      5s);
  INFO("receiver log:\n" << receiver.log());
  REQUIRE(arrived);
  for (const auto& m : receiver.messages()) {
    if (m.seq != seq) continue;
    CHECK(m.error.empty());
    CHECK(m.id == "ADM-CID");
    CHECK(m.rpref == "0");
    CHECK(m.lpref == "0");
    CHECK(m.act == "1234");
    CHECK(m.data_message == "#1234|1101 01 002");
    CHECK(m.data_extended.empty());
    CHECK(eg::dc09::parse_timestamp(m.ts).has_value());
  }
}

}  // namespace

TEST_CASE("The independent SIA receiver ACKs and reports hand-built ADM-CID frames over TCP and UDP", "[dc09]") {
  eg::test::SiaReceiver receiver(eg::test::free_port_tcp_and_udp(), "1234");

  SECTION("TCP") {
    check_ack(exchange_tcp(receiver.port(), adm_cid_frame(1, "1234", "#1234|1101 01 002")), 1);
    check_received(receiver, "0001");
  }
  SECTION("UDP") {
    check_ack(exchange_udp(receiver.port(), adm_cid_frame(1, "1234", "#1234|1101 01 002")), 1);
    check_received(receiver, "0001");
  }
  SECTION("a frame with a wrong CRC is NAKed and reported as an error") {
    std::string frame = adm_cid_frame(7, "1234", "#1234|1101 01 002");
    frame[1] = frame[1] == '0' ? '1' : '0';
    auto reply = eg::dc09::parse_reply(exchange_udp(receiver.port(), frame), {});
    REQUIRE(reply.ok());
    CHECK(reply.value().kind == eg::dc09::Reply::Kind::nak);
    REQUIRE(receiver.wait_for([](const auto& messages) { return !messages.empty(); }, 5s));
    CHECK(receiver.messages().front().error.find("CRC") != std::string::npos);
  }
  receiver.stop();
  CHECK_FALSE(receiver.running());
}

TEST_CASE("The SIA receiver restarts on the same port after a kill -9", "[dc09]") {
  auto port = eg::test::free_port_tcp_and_udp();
  {
    eg::test::SiaReceiver first(port, "1234");
    check_ack(exchange_tcp(port, adm_cid_frame(1, "1234", "#1234|1101 01 002")), 1);
    first.kill();
    CHECK_FALSE(first.running());
  }
  eg::test::SiaReceiver second(port, "1234");
  check_ack(exchange_tcp(port, adm_cid_frame(2, "1234", "#1234|1101 01 002")), 2);
  REQUIRE(second.wait_for([](const auto& messages) { return messages.size() == 1; }, 5s));
  CHECK(second.messages().front().seq == "0002");
}
