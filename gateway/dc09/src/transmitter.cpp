#include "eg/dc09/transmitter.hpp"

#include <array>
#include <boost/asio/connect.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/ip/udp.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/write.hpp>
#include <optional>

namespace eg::dc09 {

namespace asio = boost::asio;
using tcp = asio::ip::tcp;
using udp = asio::ip::udp;

class Transmitter::Impl : public std::enable_shared_from_this<Transmitter::Impl> {
 public:
  Impl(asio::io_context& io, LinkSettings settings, const Clock& clock, Observer observer, unsigned first_sequence)
      : core_(std::move(settings), random_pad, first_sequence),
        clock_(clock),
        observer_(std::move(observer)),
        timer_(io) {
    for (std::size_t i = 0; i < core_.settings().paths.size(); ++i) paths_.push_back(std::make_unique<Path>(io, i));
  }

  void start() { run(core_.on_time(now())); }
  void send(Outgoing message) { run(core_.enqueue(std::move(message), now())); }
  void stop() {
    stopped_ = true;
    timer_.cancel();
    for (auto& path : paths_) close(*path);
  }
  const LinkCore& core() const { return core_; }

 private:
  struct Path {
    Path(asio::io_context& io, std::size_t i) : index(i), tcp_socket(io), udp_socket(io), resolver(io) {}
    std::size_t index;
    tcp::socket tcp_socket;
    udp::socket udp_socket;
    tcp::resolver resolver;
    bool open = false;                   // connected (TCP) or connected-UDP socket ready
    bool opening = false;                // resolve/connect under way
    std::optional<std::string> pending;  // frame waiting for the connection
    std::string stream;                  // bytes read, not yet a whole frame
    std::array<char, 2048> buffer{};
    unsigned generation = 0;  // bumped on close: older handlers are stale
    SteadyTime opened_at{};
    int replies = 0;  // replies read on this connection
  };

  Now now() const { return {clock_.wall_now(), clock_.steady_now()}; }
  const Endpoint& endpoint(const Path& path) const { return core_.settings().paths[path.index]; }
  bool is_tcp(const Path& path) const { return endpoint(path).transport == Transport::tcp; }

  void run(LinkCore::Actions actions) {
    if (stopped_) return;
    for (const auto& note : actions.notes)
      if (observer_.on_note) observer_.on_note(note);
    for (const auto& change : actions.path_changes)
      if (observer_.on_path_change) observer_.on_path_change(change, core_.settings().paths[change.path]);
    for (const auto& outcome : actions.outcomes)
      if (observer_.on_outcome) observer_.on_outcome(outcome);
    for (auto& transmit : actions.transmits) transmit_on(*paths_[transmit.path], std::move(transmit.frame));
    // A connect still under way for an attempt the core has given up on (timed
    // out, moved to the other path) is abandoned: it must not deliver a stale
    // frame minutes later.
    for (auto& path : paths_)
      if ((path->opening || path->pending) && !core_.busy(path->index)) close(*path);
    schedule();
  }

  void schedule() {
    if (stopped_) return;
    auto next = core_.next_wakeup();
    timer_.cancel();
    if (!next) return;
    auto delay = std::max(std::chrono::steady_clock::duration::zero(), *next - clock_.steady_now());
    timer_.expires_after(delay);
    timer_.async_wait([weak = weak_from_this()](boost::system::error_code ec) {
      auto self = weak.lock();
      if (ec || !self || self->stopped_) return;
      self->run(self->core_.on_time(self->now()));
    });
  }

  void transmit_on(Path& path, std::string frame) {
    if (path.open && is_tcp(path) && clock_.steady_now() - path.opened_at > core_.settings().tcp_reuse_for)
      close(path);  // old enough that the receiver may be closing it
    if (!path.open) {
      path.pending = std::move(frame);
      if (!path.opening) open(path);
      return;
    }
    write(path, std::move(frame));
  }

  void open(Path& path) {
    path.opening = true;
    const Endpoint& where = endpoint(path);
    unsigned generation = path.generation;
    path.resolver.async_resolve(
        where.host, std::to_string(where.port),
        [weak = weak_from_this(), &path, generation](boost::system::error_code ec, tcp::resolver::results_type found) {
          auto self = weak.lock();
          if (!self || self->stopped_ || generation != path.generation) return;
          if (ec) return self->failed(path, "resolve: " + ec.message());
          if (self->is_tcp(path)) {
            asio::async_connect(path.tcp_socket, found,
                                [weak, &path, generation](boost::system::error_code ec2, const tcp::endpoint&) {
                                  auto self2 = weak.lock();
                                  if (!self2 || self2->stopped_ || generation != path.generation) return;
                                  if (ec2) return self2->failed(path, "connect: " + ec2.message());
                                  boost::system::error_code ignored;
                                  // Alarm frames are small and rare: Nagle would only delay them.
                                  path.tcp_socket.set_option(tcp::no_delay(true), ignored);
                                  self2->opened(path);
                                });
          } else {
            udp::endpoint target(found.begin()->endpoint().address(), found.begin()->endpoint().port());
            boost::system::error_code error;
            path.udp_socket.open(target.protocol(), error);
            // A connected UDP socket hears only this receiver, and an ICMP
            // "port unreachable" comes back as a receive error at once.
            if (!error) path.udp_socket.connect(target, error);
            if (error) return self->failed(path, "udp: " + error.message());
            self->opened(path);
          }
        });
  }

  void opened(Path& path) {
    path.opening = false;
    path.open = true;
    path.opened_at = clock_.steady_now();
    path.replies = 0;
    read(path);
    if (path.pending) {
      std::string frame = std::move(*path.pending);
      path.pending.reset();
      write(path, std::move(frame));
    }
  }

  void write(Path& path, std::string frame) {
    auto bytes = std::make_shared<std::string>(std::move(frame));
    unsigned generation = path.generation;
    auto done = [weak = weak_from_this(), &path, generation, bytes](boost::system::error_code ec, std::size_t) {
      auto self = weak.lock();
      if (!self || self->stopped_ || generation != path.generation) return;
      if (ec) self->failed(path, "send: " + ec.message(), self->is_tcp(path) && path.replies > 0);
    };
    if (is_tcp(path)) {
      asio::async_write(path.tcp_socket, asio::buffer(*bytes), done);
    } else {
      path.udp_socket.async_send(asio::buffer(*bytes), done);
    }
  }

  void read(Path& path) {
    unsigned generation = path.generation;
    auto got = [weak = weak_from_this(), &path, generation](boost::system::error_code ec, std::size_t n) {
      auto self = weak.lock();
      if (!self || self->stopped_ || generation != path.generation) return;
      if (ec) {
        if (!self->is_tcp(path) && ec == asio::error::connection_refused) {
          // UDP: the receiver's port is closed; the socket itself is fine.
          self->run(self->core_.on_transport_error(path.index, "receiver port unreachable", self->now()));
          return self->read(path);
        }
        return self->failed(path, ec == asio::error::eof ? "connection closed by the receiver" : ec.message(),
                            self->is_tcp(path) && path.replies > 0);
      }
      self->received(path, std::string_view(path.buffer.data(), n));
    };
    if (is_tcp(path)) {
      path.tcp_socket.async_read_some(asio::buffer(path.buffer), got);
    } else {
      path.udp_socket.async_receive(asio::buffer(path.buffer), got);
    }
  }

  void received(Path& path, std::string_view bytes) {
    path.stream.append(bytes);
    if (path.stream.size() > 64 * 1024) path.stream.clear();  // a babbling peer: resynchronise on the next LF
    unsigned generation = path.generation;
    for (const std::string& frame : take_frames(path.stream)) {
      auto reply = parse_reply(frame, core_.settings().key);
      ++path.replies;
      // Some receivers send a NAK twice and hang up; the retry goes on a new
      // connection so the second copy cannot be mistaken for its answer.
      bool drop_connection = reply && reply.value().kind == Reply::Kind::nak && is_tcp(path);
      if (drop_connection) close(path);
      run(core_.on_reply(path.index, reply, now()));
      if (stopped_ || drop_connection || generation != path.generation) return;
    }
    read(path);
  }

  // `reused`: the connection had carried an exchange before; the receiver
  // may simply have closed it as idle.
  void failed(Path& path, const std::string& reason, bool reused = false) {
    close(path);
    run(core_.on_transport_error(path.index, reason, now(), reused));
  }

  void close(Path& path) {
    ++path.generation;
    boost::system::error_code ignored;
    path.resolver.cancel();
    if (path.tcp_socket.is_open()) {
      path.tcp_socket.shutdown(tcp::socket::shutdown_both, ignored);
      path.tcp_socket.close(ignored);
    }
    if (path.udp_socket.is_open()) path.udp_socket.close(ignored);
    path.open = false;
    path.opening = false;
    path.pending.reset();
    path.stream.clear();
  }

  LinkCore core_;
  const Clock& clock_;
  Observer observer_;
  asio::steady_timer timer_;
  std::vector<std::unique_ptr<Path>> paths_;
  bool stopped_ = false;
};

Transmitter::Transmitter(asio::io_context& io, LinkSettings settings, const Clock& clock, Observer observer,
                         unsigned first_sequence)
    : impl_(std::make_shared<Impl>(io, std::move(settings), clock, std::move(observer), first_sequence)) {}

Transmitter::~Transmitter() {
  impl_->stop();
}

void Transmitter::start() {
  impl_->start();
}
void Transmitter::send(Outgoing message) {
  impl_->send(std::move(message));
}
void Transmitter::stop() {
  impl_->stop();
}
std::size_t Transmitter::queued() const {
  return impl_->core().queued();
}
bool Transmitter::path_up(std::size_t path) const {
  return impl_->core().path_up(path);
}
const LinkSettings& Transmitter::settings() const {
  return impl_->core().settings();
}

}  // namespace eg::dc09
