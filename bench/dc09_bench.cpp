// DC-09 transmitter figures, each with a baseline from the same run:
//  1. frame encoding per second, plain and AES-128/256, against formatting the
//     same text without CRC or cipher (snprintf of the frame body);
//  2. alarm round trip (enqueue -> frame on the wire -> receiver's ACK parsed
//     -> outcome) through eg::dc09::Transmitter over loopback TCP, against a
//     bare Asio ping-pong of the same bytes on one connection: the cost of the
//     link logic over the socket itself.
//   dc09_bench [SECONDS] [ROUND_TRIPS]
#include <utility>  // before Asio: Boost 1.74 Asio under C++20 needs it

#include <algorithm>
#include <atomic>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/read_until.hpp>
#include <boost/asio/streambuf.hpp>
#include <boost/asio/write.hpp>
#include <chrono>
#include <cstdio>
#include <string>
#include <thread>
#include <vector>

#include "eg/dc09/contact_id.hpp"
#include "eg/dc09/transmitter.hpp"

namespace asio = boost::asio;
using tcp = asio::ip::tcp;
using namespace std::chrono_literals;
using steady = std::chrono::steady_clock;

namespace {

template <typename Fn>
double per_second(double seconds, Fn&& fn) {
  std::size_t done = 0;
  auto start = steady::now();
  auto until = start + std::chrono::duration_cast<steady::duration>(std::chrono::duration<double>(seconds));
  while (steady::now() < until) {
    for (int i = 0; i < 256; ++i) fn(done + static_cast<std::size_t>(i));
    done += 256;
  }
  return static_cast<double>(done) / std::chrono::duration<double>(steady::now() - start).count();
}

std::string ack_for(const std::string& frame) {
  auto quote = frame.find('"', frame.find('"') + 1);
  std::string body = "\"ACK\"" + frame.substr(quote + 1, 4) + "R0L0#1234[]";
  char header[16];
  std::snprintf(header, sizeof header, "%04X%04X", eg::dc09::crc16_arc(body), static_cast<unsigned>(body.size()));
  return "\n" + std::string(header) + body + "\r";
}

// A receiver on its own thread: answers every frame with an ACK, at once.
class AckReceiver {
 public:
  AckReceiver() : acceptor_(io_, tcp::endpoint(asio::ip::make_address("127.0.0.1"), 0)) {
    thread_ = std::thread([this] {
      for (;;) {
        tcp::socket socket(io_);
        boost::system::error_code ec;
        acceptor_.accept(socket, ec);
        if (ec || stopping_) return;
        socket.set_option(tcp::no_delay(true));
        asio::streambuf buffer;
        while (true) {
          std::size_t n = asio::read_until(socket, buffer, '\r', ec);
          if (ec) break;
          std::string frame(asio::buffers_begin(buffer.data()), asio::buffers_begin(buffer.data()) + n);
          buffer.consume(n);
          asio::write(socket, asio::buffer(ack_for(frame.substr(frame.find('\n')))), ec);
          if (ec) break;
        }
      }
    });
  }
  ~AckReceiver() {
    // A blocking accept() is not woken by close() from another thread: stop,
    // then wake it with one last connection.
    stopping_ = true;
    boost::system::error_code ignored;
    tcp::socket wake(io_);
    wake.connect(tcp::endpoint(asio::ip::make_address("127.0.0.1"), port()), ignored);
    thread_.join();
  }
  std::uint16_t port() const { return acceptor_.local_endpoint().port(); }

 private:
  asio::io_context io_;
  tcp::acceptor acceptor_;
  std::atomic<bool> stopping_{false};
  std::thread thread_;
};

double percentile(std::vector<double> v, double p) {
  std::sort(v.begin(), v.end());
  return v[static_cast<std::size_t>(p * static_cast<double>(v.size() - 1))];
}

}  // namespace

int main(int argc, char** argv) {
  double seconds = argc > 1 ? std::atof(argv[1]) : 1.0;
  int trips = argc > 2 ? std::atoi(argv[2]) : 2000;

  eg::dc09::Message message;
  message.token = "ADM-CID";
  message.account = "1234";
  message.data = eg::dc09::contact_id_data("1234", {eg::dc09::kNewEvent, 101, 1, 2});
  message.time = std::chrono::system_clock::now();
  auto key128 = eg::dc09::parse_key_hex("00112233445566778899AABBCCDDEEFF").value();
  auto key256 = eg::dc09::parse_key_hex("00112233445566778899AABBCCDDEEFF00112233445566778899AABBCCDDEEFF").value();
  std::size_t sink = 0;
  double baseline = per_second(seconds, [&](std::size_t i) {
    char body[128];
    int n = std::snprintf(body, sizeof body, "\"ADM-CID\"%04zuR0L0#1234[%s]_22:30:00,11-24-2026", i % 9999 + 1,
                          message.data.c_str());
    sink += static_cast<std::size_t>(n);
  });
  auto encode_rate = [&](const eg::dc09::Key& key) {
    return per_second(seconds, [&](std::size_t i) {
      message.sequence = static_cast<unsigned>(i % 9999 + 1);
      sink += eg::dc09::encode(message, key).size();
    });
  };
  double plain = encode_rate({}), aes128 = encode_rate(key128), aes256 = encode_rate(key256);
  std::printf("dc09_bench: frame encoding (baseline: snprintf of the same body)\n");
  std::printf("  baseline        %10.0f frames/s\n", baseline);
  std::printf("  plain           %10.0f frames/s  ratio %.2f\n", plain, plain / baseline);
  std::printf("  AES-128         %10.0f frames/s  ratio %.2f\n", aes128, aes128 / baseline);
  std::printf("  AES-256         %10.0f frames/s  ratio %.2f\n", aes256, aes256 / baseline);

  // Baseline: the same frame and ACK bytes ping-ponged on one TCP connection.
  std::vector<double> raw_us, link_us;
  {
    AckReceiver receiver;
    asio::io_context io;
    tcp::socket socket(io);
    socket.connect(tcp::endpoint(asio::ip::make_address("127.0.0.1"), receiver.port()));
    socket.set_option(tcp::no_delay(true));
    asio::streambuf buffer;
    std::string frame = eg::dc09::encode(message, {});
    for (int i = 0; i < trips; ++i) {
      auto start = steady::now();
      asio::write(socket, asio::buffer(frame));
      std::size_t n = asio::read_until(socket, buffer, '\r');
      buffer.consume(n);
      raw_us.push_back(std::chrono::duration<double, std::micro>(steady::now() - start).count());
    }
  }
  {
    AckReceiver receiver;
    asio::io_context io;
    eg::SystemClock clock;
    eg::dc09::LinkSettings settings;
    settings.account = "1234";
    settings.paths.push_back({"127.0.0.1", receiver.port(), eg::dc09::Transport::tcp});
    steady::time_point started;
    int done = 0;
    std::unique_ptr<eg::dc09::Transmitter> transmitter;
    auto send_next = [&] {
      started = steady::now();
      transmitter->send({static_cast<std::uint64_t>(done + 1), "ADM-CID", message.data});
    };
    transmitter = std::make_unique<eg::dc09::Transmitter>(
        io, settings, clock,
        eg::dc09::Transmitter::Observer{
            [&](const eg::dc09::LinkCore::Outcome&) {
              link_us.push_back(std::chrono::duration<double, std::micro>(steady::now() - started).count());
              if (++done < trips) send_next();
            },
            {},
            {}});
    send_next();
    while (done < trips) io.run_for(100ms);
  }
  double raw_p50 = percentile(raw_us, 0.5), link_p50 = percentile(link_us, 0.5);
  std::printf("dc09_bench: alarm round trip over loopback TCP, %d trips (baseline: bare ping-pong of the same bytes)\n",
              trips);
  std::printf("  baseline        p50 %7.1f us  p99 %7.1f us\n", raw_p50, percentile(raw_us, 0.99));
  std::printf("  transmitter     p50 %7.1f us  p99 %7.1f us  ratio(p50) %.2f  (first, with connect: %.1f us)\n",
              link_p50, percentile(link_us, 0.99), link_p50 / raw_p50, link_us.front());
  std::printf("  (sink %zu)\n", sink % 10);
  return 0;
}
