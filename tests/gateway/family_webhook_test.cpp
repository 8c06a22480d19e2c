// The family rung against a real HTTP server on loopback: delivery counts on
// a 2xx reply only, failures are retried with backoff, then reported.
#include <utility>  // before Asio: Boost 1.74 Asio under C++20 needs it

#include <catch2/catch.hpp>

#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <deque>
#include <fstream>
#include <mutex>
#include <nlohmann/json.hpp>
#include <thread>

#include "family_webhook.hpp"
#include "http_server.hpp"
#include "mosquitto.hpp"
#include "temp_dir.hpp"

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
using eg::gateway::FamilyNotifier;
using namespace std::chrono_literals;

namespace {

using ScriptedServer = eg::test::ScriptedHttpServer;

eldercare::v1::Alert sample_alert(const std::string& resident = "r-301-a") {
  eldercare::v1::Alert alert;
  alert.set_id("fall:r-301-a:1767225600000");
  alert.set_gateway_id("gw-1");
  alert.set_rule_id("fall");
  alert.set_resident_id(resident);
  alert.set_room("301");
  alert.set_severity(eldercare::v1::SEVERITY_HIGH);
  alert.set_state(eldercare::v1::ALERT_STATE_ESCALATING);
  alert.set_summary("Fall detected in room 301");
  alert.set_episode(2);
  return alert;
}

eg::gateway::FamilyWebhookConfig hook_to(std::uint16_t port, int max_attempts = 3) {
  eg::gateway::FamilyWebhookConfig hook;
  hook.url = "http://127.0.0.1:" + std::to_string(port) + "/notify?site=xh";
  hook.max_attempts = max_attempts;
  hook.first_retry = 20ms;
  hook.timeout = 2s;
  return hook;
}

struct Result {
  std::vector<FamilyNotifier::Outcome> outcomes;
};

// Runs the loop until `count` outcomes arrived (or 10 s passed: a failure).
Result deliver(const eg::gateway::FamilyConfig& config, const eldercare::v1::Alert& alert, std::size_t count = 1) {
  asio::io_context io;
  eg::gateway::Metrics metrics;
  Result result;
  FamilyNotifier notifier(io, config, "xuhui", metrics,
                          [&](const eldercare::v1::Alert&, std::uint32_t, const FamilyNotifier::Outcome& outcome) {
                            result.outcomes.push_back(outcome);
                            if (result.outcomes.size() >= count) io.stop();
                          });
  notifier.send(alert, 3);
  io.run_for(10s);
  return result;
}

}  // namespace

TEST_CASE("family webhook: a 2xx after a 503 is delivery, on the second attempt, with the alert as JSON",
          "[gateway][family]") {
  ScriptedServer server({503, 200});
  eg::test::TempDir dir;
  eg::gateway::FamilyConfig config;
  config.webhooks.push_back(hook_to(server.port()));
  config.webhooks[0].token_file = dir.secret_file("token", "s3cret\n");
  auto result = deliver(config, sample_alert());
  REQUIRE(result.outcomes.size() == 1);
  CHECK(result.outcomes[0].delivered);
  CHECK(result.outcomes[0].attempts == 2);
  CHECK(result.outcomes[0].http_status == 200);

  auto requests = server.requests();
  REQUIRE(requests.size() == 2);
  const auto& request = requests[1];
  CHECK(request.method() == http::verb::post);
  CHECK(request.target() == "/notify?site=xh");
  CHECK(request[http::field::content_type] == "application/json");
  CHECK(request[http::field::authorization] == "Bearer s3cret");
  CHECK(request["Idempotency-Key"] == "fall:r-301-a:1767225600000/2/3");
  auto body = nlohmann::json::parse(request.body());
  CHECK(body["alert_id"] == "fall:r-301-a:1767225600000");
  CHECK(body["resident"] == "r-301-a");
  CHECK(body["room"] == "301");
  CHECK(body["severity"] == "SEVERITY_HIGH");
  CHECK(body["step"] == 3);
  CHECK(body["episode"] == 2);
  CHECK(body["site"] == "xuhui");
  CHECK(body["summary"] == "Fall detected in room 301");
}

TEST_CASE("family webhook: a receiver that keeps failing is reported failed after max_attempts", "[gateway][family]") {
  ScriptedServer server({500});
  eg::gateway::FamilyConfig config;
  config.webhooks.push_back(hook_to(server.port(), 3));
  auto result = deliver(config, sample_alert());
  REQUIRE(result.outcomes.size() == 1);
  CHECK_FALSE(result.outcomes[0].delivered);
  CHECK(result.outcomes[0].attempts == 3);
  CHECK(result.outcomes[0].detail == "HTTP 500");
  CHECK(server.requests().size() == 3);
}

TEST_CASE("family webhook: a refused connection and a silent receiver are failures, not deliveries",
          "[gateway][family]") {
  std::uint16_t closed_port = 0;
  {
    ScriptedServer gone({200});
    closed_port = gone.port();
  }
  eg::gateway::FamilyConfig refused;
  refused.webhooks.push_back(hook_to(closed_port, 2));
  auto result = deliver(refused, sample_alert());
  REQUIRE(result.outcomes.size() == 1);
  CHECK_FALSE(result.outcomes[0].delivered);
  CHECK_THAT(result.outcomes[0].detail, Catch::Contains("connect"));

  ScriptedServer silent({-1});
  eg::gateway::FamilyConfig slow;
  slow.webhooks.push_back(hook_to(silent.port(), 1));
  slow.webhooks[0].timeout = 300ms;
  auto timed_out = deliver(slow, sample_alert());
  REQUIRE(timed_out.outcomes.size() == 1);
  CHECK_FALSE(timed_out.outcomes[0].delivered);
  CHECK_THAT(timed_out.outcomes[0].detail, Catch::Contains("timed out"));
}

TEST_CASE("family webhook: only the residents a webhook serves are sent to it", "[gateway][family]") {
  ScriptedServer server({200});
  eg::gateway::FamilyConfig config;
  config.webhooks.push_back(hook_to(server.port()));
  config.webhooks[0].residents = {"r-301-a"};
  asio::io_context io;
  eg::gateway::Metrics metrics;
  FamilyNotifier notifier(io, config, "xuhui", metrics, [](auto&&...) {});
  CHECK(notifier.serves("r-301-a"));
  CHECK_FALSE(notifier.serves("r-302-b"));
}

TEST_CASE("family webhook: URLs are taken apart strictly", "[gateway][family]") {
  auto url = eg::gateway::parse_webhook_url("https://[::1]:8443/hook");
  CHECK(url.ok);
  CHECK(url.tls);
  CHECK(url.host == "::1");
  CHECK(url.port == "8443");
  CHECK(url.target == "/hook");
  auto plain = eg::gateway::parse_webhook_url("http://sms.example");
  CHECK(plain.ok);
  CHECK(plain.port == "80");
  CHECK(plain.target == "/");
  CHECK_FALSE(eg::gateway::parse_webhook_url("http://user:pw@sms.example/").ok);
  CHECK_FALSE(eg::gateway::parse_webhook_url("http://sms.example:99999/").ok);
  CHECK_FALSE(eg::gateway::parse_webhook_url("http://:80/").ok);
  CHECK_FALSE(eg::gateway::parse_webhook_url("ftp://sms.example/").ok);
}

TEST_CASE("family webhook over https: delivered to a server our CA signed, refused (nothing sent) to one it did not",
          "[gateway][family][tls]") {
  eg::test::TempDir pki_dir;
  eg::test::TestPki pki(pki_dir);
  ScriptedServer server({200}, eg::test::ServerCertificate{pki.server_cert, pki.server_key});
  auto https_hook = [&](const std::string& ca) {
    eg::gateway::FamilyConfig config;
    config.webhooks.push_back(hook_to(server.port(), 1));
    config.webhooks[0].url = "https://127.0.0.1:" + std::to_string(server.port()) + "/notify";
    config.webhooks[0].ca_file = ca;
    return config;
  };

  auto untrusted = deliver(https_hook(pki.other_ca_cert), sample_alert());
  REQUIRE(untrusted.outcomes.size() == 1);
  CHECK_FALSE(untrusted.outcomes[0].delivered);
  CHECK(server.requests().empty());  // the alert never left over an unverified connection

  auto trusted = deliver(https_hook(pki.ca_cert), sample_alert());
  REQUIRE(trusted.outcomes.size() == 1);
  CHECK(trusted.outcomes[0].delivered);
  CHECK(trusted.outcomes[0].http_status == 200);
  REQUIRE(server.requests().size() == 1);
  CHECK(nlohmann::json::parse(server.requests()[0].body())["alert_id"] == "fall:r-301-a:1767225600000");
}
