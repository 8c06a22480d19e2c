// The "family" rung of the ladders: an alert POSTed as JSON to the HTTP(S)
// webhook of a notification service (SMS, WeChat, voice call) that reaches a
// resident's family carers. Delivery counts only on a 2xx reply; anything
// else is retried with doubling delays, then reported failed. Loop thread only.
#pragma once

#include <utility>  // before Asio: Boost 1.74 Asio under C++20 needs it

#include <boost/asio/io_context.hpp>
#include <boost/asio/ssl/context.hpp>
#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "eg/gateway/config.hpp"
#include "eg/gateway/metrics.hpp"
#include "eldercare/v1/alert.pb.h"

namespace eg::gateway {

// An http(s) URL taken apart; nullopt-like `ok == false` on anything else.
struct WebhookUrl {
  bool ok = false;
  bool tls = false;
  std::string host;  // without brackets for IPv6 literals
  std::string port;
  std::string target;  // path and query, "/" at least
};
WebhookUrl parse_webhook_url(const std::string& url);

// The JSON body a webhook receives for one alert at one escalation step.
std::string family_notice_json(const eldercare::v1::Alert& alert, std::uint32_t step, const std::string& site);

class FamilyNotifier {
 public:
  struct Outcome {
    bool delivered = false;
    int attempts = 0;
    int http_status = 0;  // last reply's status; 0: none
    std::string url;
    std::string detail;  // the last error, or the reply status line
  };
  using Done = std::function<void(const eldercare::v1::Alert& alert, std::uint32_t step, const Outcome& outcome)>;

  // Throws ConfigError when a token file cannot be read.
  FamilyNotifier(boost::asio::io_context& io, const FamilyConfig& config, std::string site, Metrics& metrics,
                 Done done);
  ~FamilyNotifier();
  FamilyNotifier(const FamilyNotifier&) = delete;
  FamilyNotifier& operator=(const FamilyNotifier&) = delete;

  // Whether some webhook takes this resident's alerts.
  bool serves(const std::string& resident) const;
  // Starts a delivery to every webhook that serves the alert's resident.
  void send(const eldercare::v1::Alert& alert, std::uint32_t step);
  void stop();

  // Deliveries under way (bounded: beyond kMaxPending new ones fail at once).
  std::size_t pending() const;
  static constexpr std::size_t kMaxPending = 256;

 private:
  struct Hook {
    FamilyWebhookConfig config;
    WebhookUrl url;
    std::string token;
    std::shared_ptr<boost::asio::ssl::context> tls;  // https only
  };
  class Delivery;

  boost::asio::io_context& io_;
  std::vector<std::shared_ptr<const Hook>> hooks_;
  std::string site_;
  Metrics& metrics_;
  Done done_;
  std::shared_ptr<std::size_t> pending_ = std::make_shared<std::size_t>(0);
  std::shared_ptr<bool> stopped_ = std::make_shared<bool>(false);
  std::vector<std::weak_ptr<Delivery>> live_;  // for stop(); pruned as they end
};

}  // namespace eg::gateway
