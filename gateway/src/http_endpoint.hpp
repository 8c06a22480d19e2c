// The gateway's local HTTP endpoint, for installers and monitoring on the
// edge box itself: GET /metrics (Prometheus text) and GET /health (JSON;
// 200 when the gateway can do its job, 503 when not). Bound to 127.0.0.1
// only. Boost.Beast on the gateway's io_context: one request per connection,
// small requests only, a read deadline, so a stuck client costs nothing.
#pragma once

#include <utility>  // before Asio: Boost 1.74 Asio under C++20 needs it

#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <functional>
#include <memory>
#include <string>

#include "eg/gateway/metrics.hpp"

namespace eg::gateway {

class HttpEndpoint {
 public:
  struct Health {
    bool ok = false;
    std::string json;  // the body
  };
  // Throws boost::system::system_error when the port cannot be bound.
  HttpEndpoint(boost::asio::io_context& io, std::uint16_t port, const Metrics& metrics, std::function<Health()> health);
  ~HttpEndpoint();
  std::uint16_t port() const;
  void stop();
  // Connections open now, and those closed at once because kMaxConnections
  // were already open (each open one lives at most 5 s).
  std::size_t open_connections() const { return *open_; }
  std::uint64_t refused_connections() const { return refused_; }

  static constexpr std::size_t kMaxConnections = 32;

 private:
  void accept();

  boost::asio::ip::tcp::acceptor acceptor_;
  const Metrics& metrics_;
  std::function<Health()> health_;
  std::shared_ptr<bool> alive_ = std::make_shared<bool>(true);
  std::shared_ptr<std::size_t> open_ = std::make_shared<std::size_t>(0);  // shared with the sessions
  std::uint64_t refused_ = 0;
};

// Prometheus text exposition of every metric (labels are already in the names).
std::string prometheus_text(const Metrics& metrics);

}  // namespace eg::gateway
