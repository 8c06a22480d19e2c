// A loopback HTTP(S) server for tests: answers each request with the next
// scripted status (the last one repeats); -1 means "read the request, never
// answer". With a certificate it speaks HTTPS. Requests are kept for checks.
#pragma once

#include <utility>  // before Asio: Boost 1.74 Asio under C++20 needs it

#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/ssl.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <boost/beast/ssl.hpp>
#include <deque>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <vector>

namespace eg::test {

struct ServerCertificate {
  std::string cert_file, key_file;
};

class ScriptedHttpServer {
 public:
  using Request = boost::beast::http::request<boost::beast::http::string_body>;

  explicit ScriptedHttpServer(std::deque<int> statuses, std::optional<ServerCertificate> tls = std::nullopt)
      : statuses_(std::move(statuses)), acceptor_(io_) {
    namespace asio = boost::asio;
    if (tls) {
      ssl_.emplace(asio::ssl::context::tls_server);
      ssl_->use_certificate_chain_file(tls->cert_file);
      ssl_->use_private_key_file(tls->key_file, asio::ssl::context::pem);
    }
    asio::ip::tcp::endpoint endpoint(asio::ip::make_address("127.0.0.1"), 0);
    acceptor_.open(endpoint.protocol());
    acceptor_.bind(endpoint);
    acceptor_.listen();
    port_ = acceptor_.local_endpoint().port();
    accept();
    thread_ = std::thread([this] { io_.run(); });
  }
  ~ScriptedHttpServer() {
    io_.stop();
    thread_.join();
  }
  ScriptedHttpServer(const ScriptedHttpServer&) = delete;
  ScriptedHttpServer& operator=(const ScriptedHttpServer&) = delete;

  std::uint16_t port() const { return port_; }
  std::vector<Request> requests() const {
    std::lock_guard lock(mu_);
    return requests_;
  }

 private:
  // Serves one connection, synchronously on the server's own thread (a test
  // server sees a handful of requests). False: left unanswered, keep it open.
  template <typename Stream>
  bool serve(Stream& stream) {
    namespace http = boost::beast::http;
    boost::beast::flat_buffer buffer;
    Request request;
    boost::beast::error_code read_error;
    http::read(stream, buffer, request, read_error);
    int status = 0;
    {
      std::lock_guard lock(mu_);
      if (!read_error) requests_.push_back(request);
      status = statuses_.size() > 1 ? statuses_.front() : statuses_.back();
      if (statuses_.size() > 1) statuses_.pop_front();
    }
    if (status < 0) return false;
    http::response<http::string_body> response{static_cast<http::status>(status), 11};
    response.body() = "{}";
    response.prepare_payload();
    boost::beast::error_code ignored;
    http::write(stream, response, ignored);
    return true;
  }

  void accept() {
    acceptor_.async_accept([this](boost::beast::error_code ec, boost::asio::ip::tcp::socket socket) {
      if (ec) return;
      if (ssl_) {
        auto secure =
            std::make_shared<boost::beast::ssl_stream<boost::asio::ip::tcp::socket>>(std::move(socket), *ssl_);
        boost::beast::error_code handshake_error;
        secure->handshake(boost::asio::ssl::stream_base::server, handshake_error);
        if (!handshake_error && !serve(*secure)) held_tls_.push_back(secure);
      } else if (!serve(socket)) {
        held_.push_back(std::move(socket));
      }
      accept();
    });
  }

  mutable std::mutex mu_;
  std::deque<int> statuses_;
  std::vector<Request> requests_;
  boost::asio::io_context io_;
  std::optional<boost::asio::ssl::context> ssl_;
  boost::asio::ip::tcp::acceptor acceptor_;
  std::vector<boost::asio::ip::tcp::socket> held_;
  std::vector<std::shared_ptr<boost::beast::ssl_stream<boost::asio::ip::tcp::socket>>> held_tls_;
  std::uint16_t port_ = 0;
  std::thread thread_;
};

}  // namespace eg::test
