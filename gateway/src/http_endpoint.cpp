#include "http_endpoint.hpp"

#include <boost/asio/ip/address.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>

namespace eg::gateway {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
using tcp = asio::ip::tcp;

std::string prometheus_text(const Metrics& metrics) {
  std::string text;
  for (const auto& [name, value] : metrics.snapshot()) {
    text += "eldercare_";
    text += name;
    text += ' ';
    text += std::to_string(value);
    text += '\n';
  }
  return text;
}

namespace {

// One connection: read one request (at most 8 KiB, within 5 s), answer, close.
class Session : public std::enable_shared_from_this<Session> {
 public:
  Session(tcp::socket socket, const Metrics& metrics, std::function<HttpEndpoint::Health()> health,
          std::shared_ptr<std::size_t> open)
      : stream_(std::move(socket)), metrics_(metrics), health_(std::move(health)), open_(std::move(open)) {
    ++*open_;
  }
  ~Session() { --*open_; }
  Session(const Session&) = delete;
  Session& operator=(const Session&) = delete;

  void start() {
    parser_.body_limit(8 * 1024);
    parser_.header_limit(8 * 1024);
    stream_.expires_after(std::chrono::seconds(5));
    http::async_read(stream_, buffer_, parser_, [self = shared_from_this()](beast::error_code ec, std::size_t) {
      if (!ec) self->respond(self->parser_.get());
    });
  }

 private:
  void respond(const http::request<http::string_body>& request) {
    response_.version(request.version());
    response_.keep_alive(false);
    response_.set(http::field::server, "eldercare-gatewayd");
    std::string target(request.target());
    if (request.method() != http::verb::get && request.method() != http::verb::head) {
      response_.result(http::status::method_not_allowed);
      response_.set(http::field::allow, "GET, HEAD");
      response_.body() = "GET only\n";
    } else if (target == "/metrics") {
      response_.result(http::status::ok);
      response_.set(http::field::content_type, "text/plain; version=0.0.4");
      response_.body() = prometheus_text(metrics_);
    } else if (target == "/health") {
      auto health = health_();
      response_.result(health.ok ? http::status::ok : http::status::service_unavailable);
      response_.set(http::field::content_type, "application/json");
      response_.body() = health.json + "\n";
    } else {
      response_.result(http::status::not_found);
      response_.body() = "try /metrics or /health\n";
    }
    if (request.method() == http::verb::head) response_.body().clear();
    response_.prepare_payload();
    http::async_write(stream_, response_, [self = shared_from_this()](beast::error_code, std::size_t) {
      beast::error_code ignored;
      self->stream_.socket().shutdown(tcp::socket::shutdown_both, ignored);
    });
  }

  beast::tcp_stream stream_;
  beast::flat_buffer buffer_;
  http::request_parser<http::string_body> parser_;
  http::response<http::string_body> response_;
  const Metrics& metrics_;
  std::function<HttpEndpoint::Health()> health_;
  std::shared_ptr<std::size_t> open_;
};

}  // namespace

HttpEndpoint::HttpEndpoint(asio::io_context& io, std::uint16_t port, const Metrics& metrics,
                           std::function<Health()> health)
    : acceptor_(io, tcp::endpoint(asio::ip::make_address("127.0.0.1"), port)),
      metrics_(metrics),
      health_(std::move(health)) {
  accept();
}

HttpEndpoint::~HttpEndpoint() {
  stop();
}

std::uint16_t HttpEndpoint::port() const {
  return acceptor_.local_endpoint().port();
}

void HttpEndpoint::stop() {
  *alive_ = false;
  boost::system::error_code ignored;
  acceptor_.close(ignored);
}

void HttpEndpoint::accept() {
  acceptor_.async_accept([this, alive = alive_](boost::system::error_code ec, tcp::socket socket) {
    if (!*alive || ec == asio::error::operation_aborted) return;
    if (!ec && *open_ >= kMaxConnections) {
      ++refused_;  // a local client holding connections open: the socket closes here
    } else if (!ec) {
      std::make_shared<Session>(std::move(socket), metrics_, health_, open_)->start();
    }
    accept();
  });
}

}  // namespace eg::gateway
