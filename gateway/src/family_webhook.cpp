#include "family_webhook.hpp"
#include "secret_file.hpp"

#include <spdlog/spdlog.h>

#include <google/protobuf/util/time_util.h>

#include <algorithm>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/ssl/host_name_verification.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <boost/beast/ssl.hpp>
#include <boost/beast/version.hpp>
#include <fstream>
#include <nlohmann/json.hpp>
#include <optional>
#include <sstream>

#include "eg/common/toml_reader.hpp"

namespace eg::gateway {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
namespace v1 = eldercare::v1;
using tcp = asio::ip::tcp;

WebhookUrl parse_webhook_url(const std::string& url) {
  WebhookUrl out;
  std::string_view rest = url;
  if (rest.starts_with("https://")) {
    out.tls = true;
    rest.remove_prefix(8);
  } else if (rest.starts_with("http://")) {
    rest.remove_prefix(7);
  } else {
    return out;
  }
  auto slash = rest.find('/');
  std::string_view authority = rest.substr(0, slash);
  out.target = slash == std::string_view::npos ? "/" : std::string(rest.substr(slash));
  if (authority.find('@') != std::string_view::npos) return out;  // credentials belong in token_file
  std::string_view port;
  if (authority.starts_with("[")) {  // [::1]:8080
    auto close = authority.find(']');
    if (close == std::string_view::npos) return out;
    out.host = std::string(authority.substr(1, close - 1));
    std::string_view after = authority.substr(close + 1);
    if (!after.empty()) {
      if (after.front() != ':') return out;
      port = after.substr(1);
    }
  } else {
    auto colon = authority.rfind(':');
    out.host = std::string(authority.substr(0, colon));
    if (colon != std::string_view::npos) port = authority.substr(colon + 1);
  }
  if (out.host.empty()) return out;
  if (port.empty()) {
    out.port = out.tls ? "443" : "80";
  } else {
    if (port.size() > 5 || !std::all_of(port.begin(), port.end(), [](char c) { return c >= '0' && c <= '9'; }))
      return out;
    int n = std::stoi(std::string(port));
    if (n < 1 || n > 65535) return out;
    out.port = std::string(port);
  }
  out.ok = true;
  return out;
}

std::string family_notice_json(const v1::Alert& alert, std::uint32_t step, const std::string& site) {
  using google::protobuf::util::TimeUtil;
  nlohmann::json body = {{"type", "eldercare.alert"},
                         {"site", site},
                         {"gateway_id", alert.gateway_id()},
                         {"alert_id", alert.id()},
                         {"episode", alert.episode()},
                         {"step", step},
                         {"rule", alert.rule_id()},
                         {"severity", v1::Severity_Name(alert.severity())},
                         {"state", v1::AlertState_Name(alert.state())},
                         {"summary", alert.summary()},
                         {"resident", alert.resident_id()},
                         {"room", alert.room()},
                         {"bed", alert.bed()},
                         {"device", alert.device_id()},
                         {"raised_time", TimeUtil::ToString(alert.raised_time())}};
  return body.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
}

// One alert to one webhook: attempts until a 2xx reply or max_attempts, each
// with a fresh connection and a deadline for the whole exchange.
class FamilyNotifier::Delivery : public std::enable_shared_from_this<Delivery> {
 public:
  Delivery(asio::io_context& io, std::shared_ptr<const Hook> hook, v1::Alert alert, std::uint32_t step,
           std::string body, std::shared_ptr<bool> stopped, std::function<void(const Outcome&)> finish)
      : io_(io),
        hook_(std::move(hook)),
        alert_(std::move(alert)),
        step_(step),
        body_(std::move(body)),
        stopped_(std::move(stopped)),
        finish_(std::move(finish)),
        resolver_(io),
        deadline_(io),
        retry_(io) {
    outcome_.url = hook_->config.url;
  }

  void start() { attempt(); }
  // Shutdown: nothing may keep the loop alive (a retry waits up to a minute).
  void cancel() {
    done_ = true;
    close();
    resolver_.cancel();
    retry_.cancel();
  }

 private:
  void attempt() {
    if (*stopped_) return;
    ++outcome_.attempts;
    plain_.reset();
    secure_.reset();
    response_ = {};
    buffer_.clear();
    done_ = false;
    timed_out_ = false;
    // One deadline for resolve, connect, handshake, request and reply: the
    // resolver has none of its own.
    deadline_.expires_after(hook_->config.timeout);
    deadline_.async_wait([self = shared_from_this()](boost::system::error_code ec) {
      if (ec || self->done_) return;
      // The operation under way fails with "aborted"; failed() says why.
      self->timed_out_ = true;
      self->resolver_.cancel();
      self->close();
    });
    resolver_.async_resolve(hook_->url.host, hook_->url.port,
                            [self = shared_from_this()](beast::error_code ec, tcp::resolver::results_type results) {
                              if (ec) return self->failed("resolve " + self->hook_->url.host, ec);
                              self->connect(results);
                            });
  }

  void connect(const tcp::resolver::results_type& results) {
    auto on_connect = [self = shared_from_this()](beast::error_code ec, const tcp::endpoint&) {
      if (ec) return self->failed("connect", ec);
      if (self->secure_) return self->handshake();
      self->write();
    };
    if (hook_->tls) {
      secure_.emplace(io_, *hook_->tls);
      // SNI, and the certificate must name the host we asked for.
      if (!SSL_set_tlsext_host_name(secure_->native_handle(), hook_->url.host.c_str()))
        return failed("tls", beast::error_code(static_cast<int>(::ERR_get_error()), asio::error::get_ssl_category()));
      secure_->set_verify_mode(asio::ssl::verify_peer);
      secure_->set_verify_callback(asio::ssl::host_name_verification(hook_->url.host));
      beast::get_lowest_layer(*secure_).async_connect(results, on_connect);
    } else {
      plain_.emplace(io_);
      plain_->async_connect(results, on_connect);
    }
  }

  void handshake() {
    secure_->async_handshake(asio::ssl::stream_base::client, [self = shared_from_this()](beast::error_code ec) {
      if (ec) return self->failed("tls handshake", ec);
      self->write();
    });
  }

  void write() {
    request_ = {http::verb::post, hook_->url.target, 11};
    request_.set(http::field::host, hook_->url.host);
    request_.set(http::field::user_agent, "eldercare-gatewayd");
    request_.set(http::field::content_type, "application/json");
    // The same alert episode and step is the same notice: a receiver that
    // saw an attempt whose reply was lost can drop the retry.
    request_.set("Idempotency-Key", alert_.id() + "/" + std::to_string(alert_.episode()) + "/" + std::to_string(step_));
    if (!hook_->token.empty()) request_.set(http::field::authorization, "Bearer " + hook_->token);
    request_.body() = body_;
    request_.prepare_payload();
    auto on_write = [self = shared_from_this()](beast::error_code ec, std::size_t) {
      if (ec) return self->failed("send", ec);
      self->read();
    };
    if (secure_)
      http::async_write(*secure_, request_, on_write);
    else
      http::async_write(*plain_, request_, on_write);
  }

  void read() {
    // A receiver's reply is small; a large one is not ours to buffer.
    parser_.emplace();
    parser_->body_limit(64 * 1024);
    auto on_read = [self = shared_from_this()](beast::error_code ec, std::size_t) {
      if (ec) return self->failed("reply", ec);
      self->replied(self->parser_->get());
    };
    if (secure_)
      http::async_read(*secure_, buffer_, *parser_, on_read);
    else
      http::async_read(*plain_, buffer_, *parser_, on_read);
  }

  void replied(const http::response<http::string_body>& response) {
    done_ = true;
    outcome_.http_status = static_cast<int>(response.result_int());
    outcome_.detail = "HTTP " + std::to_string(outcome_.http_status);
    if (outcome_.http_status >= 200 && outcome_.http_status < 300) {
      outcome_.delivered = true;
      return finish();
    }
    retry_or_finish();
  }

  void failed(const std::string& what, const beast::error_code& ec) {
    if (done_) return;
    done_ = true;
    outcome_.detail = what + ": " + (timed_out_ ? "timed out" : ec.message());
    retry_or_finish();
  }

  void retry_or_finish() {
    close();
    if (*stopped_) return;
    if (outcome_.attempts >= hook_->config.max_attempts) return finish();
    // 1 s, 2 s, 4 s ... up to a minute between attempts.
    auto delay = hook_->config.first_retry * (1LL << std::min(outcome_.attempts - 1, 16));
    retry_.expires_after(std::min<std::chrono::milliseconds>(delay, std::chrono::minutes(1)));
    retry_.async_wait([self = shared_from_this()](boost::system::error_code ec) {
      if (!ec) self->attempt();
    });
  }

  void finish() {
    close();
    if (*stopped_) return;
    finish_(outcome_);
  }

  void close() {
    deadline_.cancel();
    beast::error_code ignored;
    if (plain_) plain_->socket().close(ignored);
    if (secure_) beast::get_lowest_layer(*secure_).socket().close(ignored);
  }

  asio::io_context& io_;
  std::shared_ptr<const Hook> hook_;
  v1::Alert alert_;
  std::uint32_t step_;
  std::string body_;
  std::shared_ptr<bool> stopped_;
  std::function<void(const Outcome&)> finish_;
  tcp::resolver resolver_;
  asio::steady_timer deadline_, retry_;
  std::optional<beast::tcp_stream> plain_;
  std::optional<beast::ssl_stream<beast::tcp_stream>> secure_;
  http::request<http::string_body> request_;
  http::response<http::string_body> response_;
  std::optional<http::response_parser<http::string_body>> parser_;
  beast::flat_buffer buffer_;
  Outcome outcome_;
  bool done_ = false;       // this attempt has ended (reply, failure or cancel)
  bool timed_out_ = false;  // ...because its deadline passed
};

namespace {

std::string read_token(const FamilyWebhookConfig& hook, const std::string& source_file) {
  std::string token;
  try {
    token = read_secret_file(resolve_secret_path(hook.token_file, source_file));
  } catch (const SecretFileError& error) {
    throw ConfigError(source_file + ":" + std::to_string(hook.line) + ": family.webhook.token_file: " + error.what());
  }
  while (!token.empty() && (token.back() == '\n' || token.back() == '\r' || token.back() == ' ')) token.pop_back();
  return token;
}

}  // namespace

FamilyNotifier::FamilyNotifier(asio::io_context& io, const FamilyConfig& config, std::string site, Metrics& metrics,
                               Done done)
    : io_(io), site_(std::move(site)), metrics_(metrics), done_(std::move(done)) {
  for (const auto& entry : config.webhooks) {
    auto hook = std::make_shared<Hook>();
    hook->config = entry;
    hook->url = parse_webhook_url(entry.url);
    if (!hook->url.ok)
      throw ConfigError("family.webhook line " + std::to_string(entry.line) + ": unusable url \"" + entry.url + "\"");
    if (!entry.token_file.empty()) hook->token = read_token(entry, "family.webhook");
    if (hook->url.tls) {
      hook->tls = std::make_shared<asio::ssl::context>(asio::ssl::context::tls_client);
      if (entry.ca_file.empty())
        hook->tls->set_default_verify_paths();
      else
        hook->tls->load_verify_file(entry.ca_file);
    }
    hooks_.push_back(std::move(hook));
  }
}

FamilyNotifier::~FamilyNotifier() {
  stop();
}

bool FamilyNotifier::serves(const std::string& resident) const {
  return std::any_of(hooks_.begin(), hooks_.end(), [&](const auto& hook) {
    const auto& residents = hook->config.residents;
    return residents.empty() || std::find(residents.begin(), residents.end(), resident) != residents.end();
  });
}

std::size_t FamilyNotifier::pending() const {
  return *pending_;
}

void FamilyNotifier::send(const v1::Alert& alert, std::uint32_t step) {
  if (*stopped_) return;
  std::string body = family_notice_json(alert, step, site_);
  for (const auto& hook : hooks_) {
    const auto& residents = hook->config.residents;
    if (!residents.empty() && std::find(residents.begin(), residents.end(), alert.resident_id()) == residents.end())
      continue;
    if (*pending_ >= kMaxPending) {
      // A receiver that never answers must not grow us without bound.
      metrics_.add("family_webhook_overflow_total");
      done_(alert, step, Outcome{false, 0, 0, hook->config.url, "too many deliveries pending"});
      continue;
    }
    ++*pending_;
    metrics_.add("family_webhook_attempts_started_total");
    auto delivery = std::make_shared<Delivery>(
        io_, hook, alert, step, body, stopped_, [this, pending = pending_, alert, step](const Outcome& outcome) {
          --*pending;
          metrics_.add(outcome.delivered ? "family_webhook_delivered_total" : "family_webhook_failed_total");
          done_(alert, step, outcome);
        });
    delivery->start();
    std::erase_if(live_, [](const auto& weak) { return weak.expired(); });
    live_.push_back(delivery);
  }
}

void FamilyNotifier::stop() {
  *stopped_ = true;
  for (const auto& weak : live_)
    if (auto delivery = weak.lock()) delivery->cancel();
  live_.clear();
}

}  // namespace eg::gateway
