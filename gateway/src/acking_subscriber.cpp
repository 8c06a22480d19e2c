#include "eg/gateway/acking_subscriber.hpp"

#include <spdlog/spdlog.h>

#include <array>
#include <boost/asio/connect.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/write.hpp>
#include <deque>
#include <random>

#include "random_seed.hpp"

namespace eg::gateway {

namespace asio = boost::asio;
using tcp = asio::ip::tcp;
using Bytes = std::vector<std::uint8_t>;

namespace {

// MQTT 3.1.1 control packet types (high nibble of the first byte).
enum : std::uint8_t {
  kConnect = 1,
  kConnack = 2,
  kPublish = 3,
  kPuback = 4,
  kSubscribe = 8,
  kSuback = 9,
  kPingreq = 12,
  kPingresp = 13,
  kDisconnect = 14,
};

void put_u16(Bytes& out, std::uint16_t v) {
  out.push_back(static_cast<std::uint8_t>(v >> 8));
  out.push_back(static_cast<std::uint8_t>(v & 0xff));
}
void put_string(Bytes& out, const std::string& s) {
  put_u16(out, static_cast<std::uint16_t>(s.size()));
  out.insert(out.end(), s.begin(), s.end());
}
Bytes packet(std::uint8_t first_byte, const Bytes& body) {
  Bytes out{first_byte};
  std::size_t length = body.size();
  do {  // remaining length: 7 bits a byte, high bit = more
    std::uint8_t digit = length % 128;
    length /= 128;
    out.push_back(length > 0 ? digit | 0x80 : digit);
  } while (length > 0);
  out.insert(out.end(), body.begin(), body.end());
  return out;
}

}  // namespace

struct AckingSubscriber::Impl : std::enable_shared_from_this<Impl> {
  Impl(asio::io_context& io_context, Options opts)
      : io(io_context),
        options(std::move(opts)),
        socket(io_context),
        reconnect_timer(io_context),
        ping_timer(io_context),
        handshake_timer(io_context),
        resolver(io_context),
        jitter(kernel_seeded_engine()) {}

  void connect() {
    if (stopped) return;
    auto self = shared_from_this();
    // The whole handshake (resolve, TCP, CONNACK, SUBACK) has a deadline: a
    // broker that accepts and then says nothing must not leave us waiting
    // for ever, unsubscribed and looking healthy.
    handshake_timer.expires_after(options.handshake_timeout);
    handshake_timer.async_wait([self, gen = generation](boost::system::error_code ec) {
      if (ec || gen != self->generation || self->subscribed || self->stopped) return;
      self->fail(std::string(self->session_up ? "no SUBACK" : "no CONNACK") + " within " +
                 std::to_string(self->options.handshake_timeout.count()) + " ms");
    });
    boost::system::error_code ec;
    auto address = asio::ip::make_address(options.host, ec);
    if (!ec) return connect_to(tcp::endpoint(address, options.port));
    // A host name: resolved off the loop's critical path (a slow DNS must
    // not stall alarms), within the handshake deadline.
    resolver.async_resolve(
        options.host, std::to_string(options.port),
        [self, gen = generation](boost::system::error_code error, tcp::resolver::results_type results) {
          if (gen != self->generation || self->stopped) return;
          if (error || results.empty()) return self->fail("cannot resolve " + self->options.host);
          self->connect_to(*results.begin());
        });
  }

  void connect_to(const tcp::endpoint& endpoint) {
    auto self = shared_from_this();
    socket = tcp::socket(io);
    socket.async_connect(endpoint, [this, self](boost::system::error_code error) {
      if (error) return fail("connect: " + error.message());
      socket.set_option(tcp::no_delay(true));  // sparse alarms must not wait for Nagle
      Bytes body;
      put_string(body, "MQTT");
      body.push_back(4);  // protocol level 3.1.1
      // Clean session off (durable ingest): the broker keeps our queue.
      std::uint8_t flags = options.clean_session ? 0x02 : 0x00;
      if (!options.username.empty()) flags |= 0x80;
      if (!options.password.empty()) flags |= 0x40;
      body.push_back(flags);
      put_u16(body, static_cast<std::uint16_t>(options.keep_alive_s));
      put_string(body, options.client_id);
      if (!options.username.empty()) put_string(body, options.username);
      if (!options.password.empty()) put_string(body, options.password);
      send(packet(kConnect << 4, body));
      read();
    });
  }

  void fail(const std::string& why) {
    bool was_connected = subscribed;
    subscribed = false;
    session_up = false;
    ++generation;  // tokens of the old connection are void
    boost::system::error_code ignored;
    socket.close(ignored);
    ping_timer.cancel();
    handshake_timer.cancel();
    resolver.cancel();
    outgoing.clear();
    writing = false;
    input.clear();
    discard = 0;
    if (stopped) return;
    if (was_connected) {
      spdlog::warn("MQTT_CONNECTION_LOST link=local-acking uri={}:{} cause=\"{}\"", options.host, options.port, why);
      if (connection_handler) connection_handler(false);
    } else if (attempt % 10 == 0) {
      spdlog::warn("MQTT_CONNECT_FAILED link=local-acking uri={}:{} reason=\"{}\" attempt={}", options.host,
                   options.port, why, attempt + 1);
    }
    auto base = std::min(options.backoff_max, options.backoff_min * (1 << std::min(attempt, 16)));
    ++attempt;
    std::uniform_int_distribution<long long> pick(base.count() / 2, base.count());
    reconnect_timer.expires_after(std::chrono::milliseconds(pick(jitter)));
    reconnect_timer.async_wait([self = shared_from_this()](boost::system::error_code ec) {
      if (!ec) self->connect();
    });
  }

  void send(Bytes bytes) {
    outgoing.push_back(std::move(bytes));
    if (!writing) write_next();
  }

  void write_next() {
    if (outgoing.empty()) {
      writing = false;
      if (closing) finish_close();  // the PUBACKs and the DISCONNECT are out
      return;
    }
    writing = true;
    auto self = shared_from_this();
    std::uint64_t gen = generation;
    asio::async_write(socket, asio::buffer(outgoing.front()),
                      [this, self, gen](boost::system::error_code error, std::size_t) {
                        if (gen != generation) return;  // a newer connection owns the queue now
                        if (error) return fail("write: " + error.message());
                        outgoing.pop_front();
                        write_next();
                      });
  }

  void read() {
    auto self = shared_from_this();
    std::uint64_t gen = generation;
    socket.async_read_some(asio::buffer(chunk), [this, self, gen](boost::system::error_code error, std::size_t n) {
      if (gen != generation) return;
      if (error) return fail("read: " + error.message());
      last_heard = std::chrono::steady_clock::now();
      std::size_t skip = std::min(discard, n);  // the tail of an oversize packet
      discard -= skip;
      input.insert(input.end(), chunk.begin() + static_cast<long>(skip), chunk.begin() + static_cast<long>(n));
      if (!parse()) return;
      read();
    });
  }

  // Consumes every complete packet in `input`; false after a protocol error.
  bool parse() {
    std::size_t offset = 0;
    while (true) {
      if (input.size() - offset < 2) break;
      std::size_t length = 0, multiplier = 1, i = offset + 1;
      bool complete = false;
      for (int digits = 0; digits < 4 && i < input.size(); ++digits, ++i) {
        length += (input[i] & 0x7f) * multiplier;
        multiplier *= 128;
        if ((input[i] & 0x80) == 0) {
          complete = true;
          ++i;
          break;
        }
      }
      if (!complete) {
        if (i - offset > 4) return fail("malformed remaining length"), false;
        break;
      }
      if (length > options.max_packet_bytes) {
        auto dropped = drop_oversize(input[offset], i, length);
        if (dropped == Oversize::kFailed) return false;
        if (dropped == Oversize::kNeedMore) break;  // the bytes that name it have not arrived
        std::size_t buffered = std::min(length, input.size() - i);
        discard = length - buffered;
        offset = i + buffered;
        if (discard > 0) break;
        continue;
      }
      if (input.size() - i < length) break;
      if (stopped) return false;  // stopped by a handler of this very batch: deliver nothing more
      if (!handle(input[offset], input.data() + i, length)) return false;
      offset = i + length;
    }
    input.erase(input.begin(), input.begin() + static_cast<long>(offset));
    return true;
  }

  // An oversize packet (only a PUBLISH can be one): read its topic and
  // packet id, acknowledge it so the broker does not send it again, report it.
  enum class Oversize { kNeedMore, kDropped, kFailed };
  Oversize drop_oversize(std::uint8_t first, std::size_t body_at, std::size_t length) {
    const std::size_t have = input.size() - body_at;
    const std::uint8_t* body = input.data() + body_at;
    if ((first >> 4) != kPublish)
      return fail("oversize packet of type " + std::to_string(first >> 4)), Oversize::kFailed;
    if (have < 2) return Oversize::kNeedMore;
    std::size_t topic_length = (body[0] << 8) | body[1];
    int qos = (first >> 1) & 0x03;
    std::size_t header = 2 + topic_length + (qos > 0 ? 2 : 0);
    if (header > length) return fail("malformed PUBLISH"), Oversize::kFailed;
    if (have < header) return Oversize::kNeedMore;
    std::string topic(reinterpret_cast<const char*>(body + 2), topic_length);
    if (qos > 0) {
      Bytes ack_body;
      ack_body.push_back(body[2 + topic_length]);
      ack_body.push_back(body[3 + topic_length]);
      send(packet(kPuback << 4, ack_body));
    }
    if (oversize_handler) oversize_handler(topic, length);
    return Oversize::kDropped;
  }

  bool handle(std::uint8_t first, const std::uint8_t* body, std::size_t length) {
    switch (first >> 4) {
      case kConnack: {
        if (length < 2 || body[1] != 0)
          return fail("connection refused, code " + std::to_string(length < 2 ? -1 : body[1])), false;
        attempt = 0;
        session_up = true;
        Bytes sub;
        put_u16(sub, next_packet_id());
        for (const auto& filter : options.filters) {
          put_string(sub, filter);
          sub.push_back(1);  // QoS 1
        }
        send(packet((kSubscribe << 4) | 0x02, sub));
        schedule_ping();
        return true;
      }
      case kSuback: {
        // A refused filter (0x80: an ACL, a bad filter) means sensors we are
        // configured to watch are not heard: not healthy. Reported, retried
        // with backoff, and the connection is never announced as up.
        for (std::size_t k = 2; k < length; ++k)
          if (body[k] == 0x80) {
            const std::size_t index = k - 2;
            const std::string filter = index < options.filters.size() ? options.filters[index] : "?";
            spdlog::error(
                "MQTT_SUBSCRIBE_FAILED link=local-acking uri={}:{} filter=\"{}\" reason=\"refused by the "
                "broker (SUBACK 0x80): check its ACL for this user\"",
                options.host, options.port, filter);
            ++subscribe_refusals;
            return fail("subscription to " + filter + " refused"), false;
          }
        handshake_timer.cancel();
        subscribed = true;
        spdlog::info("MQTT_CONNECTED link=local-acking uri={}:{} acks=after-commit", options.host, options.port);
        if (connection_handler) connection_handler(true);
        return true;
      }
      case kPublish: {
        if (closing) return true;  // not delivered, not acknowledged: the broker keeps it for our next start
        int qos = (first >> 1) & 0x03;
        if (length < 2) return fail("short PUBLISH"), false;
        std::size_t topic_length = (body[0] << 8) | body[1];
        std::size_t header = 2 + topic_length + (qos > 0 ? 2 : 0);
        if (header > length) return fail("malformed PUBLISH"), false;
        InboundMessage message;
        message.topic.assign(reinterpret_cast<const char*>(body + 2), topic_length);
        message.payload.assign(reinterpret_cast<const char*>(body + header), length - header);
        message.retained = (first & 0x01) != 0;
        message.dup = (first & 0x08) != 0;
        message.qos = qos;
        std::uint64_t token = 0;
        if (qos > 0) {
          std::uint16_t id = static_cast<std::uint16_t>((body[2 + topic_length] << 8) | body[3 + topic_length]);
          message.packet_id = id;
          token = (generation << 16) | id;
          ++unacked;
        }
        if (message_handler) message_handler(std::move(message), token);
        return true;
      }
      case kPingresp:
      case kPuback:
        return true;
      default:
        return fail("unexpected packet type " + std::to_string(first >> 4)), false;
    }
  }

  std::uint16_t next_packet_id() {
    if (++packet_id == 0) packet_id = 1;
    return packet_id;
  }

  void schedule_ping() {
    ping_timer.expires_after(std::chrono::seconds(std::max(1, options.keep_alive_s / 2)));
    ping_timer.async_wait([self = shared_from_this(), gen = generation](boost::system::error_code ec) {
      if (ec || gen != self->generation) return;
      auto silent = std::chrono::steady_clock::now() - self->last_heard;
      if (silent > std::chrono::seconds(self->options.keep_alive_s) * 3 / 2) return self->fail("keep-alive timeout");
      self->send({kPingreq << 4, 0});
      self->schedule_ping();
    });
  }

  // A clean stop: the acknowledgements already queued go out before the
  // DISCONNECT (each one not sent is a message the broker would send again),
  // within `timeout`.
  void close_gracefully(std::chrono::milliseconds timeout, std::function<void()> done) {
    closed_handler = std::move(done);
    if (!session_up || stopped) return finish_close();
    closing = true;
    send({kDisconnect << 4, 0});
    reconnect_timer.cancel();
    reconnect_timer.expires_after(timeout);
    reconnect_timer.async_wait([self = shared_from_this()](boost::system::error_code ec) {
      if (!ec) self->finish_close();
    });
  }

  void finish_close() {
    stopped = true;
    subscribed = false;
    session_up = false;
    closing = false;
    ++generation;
    boost::system::error_code ignored;
    reconnect_timer.cancel();
    ping_timer.cancel();
    handshake_timer.cancel();
    resolver.cancel();
    socket.close(ignored);
    if (closed_handler) std::exchange(closed_handler, nullptr)();
  }

  void ack(std::uint64_t token) {
    // Valid from CONNACK on: a persistent session re-sends its unacknowledged
    // messages before our SUBACK arrives, and dropping those acks would leave
    // the broker's in-flight window full for good.
    if (token == 0 || (token >> 16) != generation || !session_up) return;
    --unacked;
    Bytes body;
    put_u16(body, static_cast<std::uint16_t>(token & 0xffff));
    send(packet(kPuback << 4, body));
  }

  asio::io_context& io;
  Options options;
  tcp::socket socket;
  asio::steady_timer reconnect_timer;
  asio::steady_timer ping_timer;
  asio::steady_timer handshake_timer;
  tcp::resolver resolver;
  std::uint64_t subscribe_refusals = 0;
  std::mt19937_64 jitter;
  std::array<std::uint8_t, 64 * 1024> chunk{};
  Bytes input;
  std::deque<Bytes> outgoing;
  bool writing = false;
  bool subscribed = false;
  bool session_up = false;  // CONNACK received on the current connection
  bool stopped = false;
  bool closing = false;  // close_gracefully(): sending what is queued, then DISCONNECT
  std::function<void()> closed_handler;
  int attempt = 0;
  std::uint64_t generation = 1;
  std::uint16_t packet_id = 0;
  std::size_t unacked = 0;
  std::size_t discard = 0;  // bytes of an oversize packet still to skip
  std::chrono::steady_clock::time_point last_heard{};
  MessageHandler message_handler;
  ConnectionHandler connection_handler;
  OversizeHandler oversize_handler;
};

AckingSubscriber::AckingSubscriber(asio::io_context& io, Options options)
    : impl_(std::make_shared<Impl>(io, std::move(options))) {}

AckingSubscriber::~AckingSubscriber() {
  impl_->stopped = true;
  ++impl_->generation;  // a read already completed must not deliver into a gone owner
  boost::system::error_code ignored;
  impl_->reconnect_timer.cancel();
  impl_->ping_timer.cancel();
  impl_->socket.close(ignored);
}

void AckingSubscriber::on_message(MessageHandler handler) {
  impl_->message_handler = std::move(handler);
}
void AckingSubscriber::on_oversize(OversizeHandler handler) {
  impl_->oversize_handler = std::move(handler);
}
void AckingSubscriber::on_connection(ConnectionHandler handler) {
  impl_->connection_handler = std::move(handler);
}
void AckingSubscriber::start() {
  impl_->connect();
}
void AckingSubscriber::ack(std::uint64_t token) {
  impl_->ack(token);
}
bool AckingSubscriber::connected() const {
  return impl_->subscribed;
}

void AckingSubscriber::close_gracefully(std::chrono::milliseconds timeout, std::function<void()> done) {
  impl_->close_gracefully(timeout, std::move(done));
}

void AckingSubscriber::stop() {
  if (impl_->subscribed) {
    // Best effort: the socket is closed right after; unacknowledged messages
    // stay queued at the broker either way.
    boost::system::error_code ignored;
    std::array<std::uint8_t, 2> disconnect{kDisconnect << 4, 0};
    asio::write(impl_->socket, asio::buffer(disconnect), ignored);
  }
  impl_->stopped = true;
  impl_->subscribed = false;
  // A read that completed in this same loop turn still runs its handler:
  // with a new generation it delivers nothing (the soak found a crash here,
  // the memory-only subscriber's messages arriving after it was reset).
  ++impl_->generation;
  impl_->reconnect_timer.cancel();
  impl_->ping_timer.cancel();
  impl_->handshake_timer.cancel();
  impl_->resolver.cancel();
  boost::system::error_code ignored;
  impl_->socket.close(ignored);
}

std::uint64_t AckingSubscriber::subscribe_refusals() const {
  return impl_->subscribe_refusals;
}

bool AckingSubscriber::parse_uri(const std::string& uri, std::string& host, std::uint16_t& port) {
  std::string rest;
  if (uri.starts_with("tcp://"))
    rest = uri.substr(6);
  else if (uri.starts_with("mqtt://"))
    rest = uri.substr(7);
  else
    return false;
  auto colon = rest.rfind(':');
  if (colon == std::string::npos) {
    host = rest;
    port = 1883;
    return !host.empty();
  }
  host = rest.substr(0, colon);
  if (host.starts_with('[') && host.ends_with(']')) host = host.substr(1, host.size() - 2);  // [::1]
  try {
    int p = std::stoi(rest.substr(colon + 1));
    if (p <= 0 || p > 65535) return false;
    port = static_cast<std::uint16_t>(p);
  } catch (const std::exception&) {
    return false;
  }
  return !host.empty();
}

}  // namespace eg::gateway
