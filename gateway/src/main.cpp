// eldercare-gatewayd: parse the command line, load the config, run the loop.
// Errors at start-up are reported once here, with exit code 2 for bad
// configuration and 1 for a store or runtime failure.
#include <utility>  // before Asio: Boost 1.74 Asio under C++20 needs it

#include <spdlog/sinks/stdout_color_sinks.h>
#include <spdlog/spdlog.h>
#include <systemd/sd-daemon.h>

#include <CLI/CLI.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/signal_set.hpp>
#include <boost/asio/steady_timer.hpp>
#include <iostream>

#include "alerting.hpp"
#include "eg/common/log_text.hpp"
#include "eg/gateway/config.hpp"
#include "eg/gateway/gateway.hpp"
#include "eg/gateway/store.hpp"

namespace {

constexpr int kExitBadConfig = 2;
constexpr int kExitRuntime = 1;

int run(const eg::gateway::GatewayConfig& config, std::optional<eg::rules::RuleSet> rules,
        const std::string& config_path) {
  boost::asio::io_context io;
  eg::SystemClock clock;
  eg::gateway::Gateway gateway(io, config, clock, std::move(rules));
  // systemd's STATUS= line: what an installer sees in `systemctl status`.
  std::string last_status;
  auto update_status = [&] {
    const auto& m = gateway.metrics();
    std::string status = std::string("local broker ") + (m.get("local_connected") == 1 ? "subscribed" : "DOWN") +
                         ", uplink " + (m.get("upstream_connected") == 1 ? "connected" : "down") + ", active alerts " +
                         std::to_string(m.get("alerts_active")) +
                         (m.get("store_in_memory") == 1 ? ", store IN MEMORY (nothing survives a restart)" : "");
    if (status == last_status) return;
    last_status = status;
    sd_notify(0, ("STATUS=" + status).c_str());
  };
  try {
    gateway.start([&] { update_status(); });  // subscribed to the local broker
  } catch (const eg::gateway::StoreError& error) {
    spdlog::critical("STORE_OPEN_FAILED {}", error.what());
    return kExitRuntime;
  }
  // Ready once serving (store open, loop running), not once the local broker
  // answers: a broker that is down at boot must not make systemd kill and
  // restart us every start timeout, while alarms from the uplink side, the
  // operator link and the timers of restored alerts keep working. The broker
  // state is in STATUS= and /health.
  boost::asio::post(io, [&] {
    sd_notify(0, "READY=1");
    spdlog::info("GATEWAY_SERVING local_connected={}", gateway.metrics().get("local_connected") == 1);
    update_status();
  });
  boost::asio::steady_timer status_timer(io);
  std::function<void()> refresh_status = [&] {
    status_timer.expires_after(std::chrono::seconds(5));
    status_timer.async_wait([&](boost::system::error_code ec) {
      if (ec) return;
      update_status();
      refresh_status();
    });
  };
  refresh_status();

  // Signals only set work on the loop; the loop stops by finishing its work.
  boost::asio::signal_set signals(io, SIGINT, SIGTERM);
  signals.async_wait([&](boost::system::error_code ec, int signal) {
    if (ec) return;
    spdlog::info("GATEWAY_STOPPING signal={}", signal);
    sd_notify(0, "STOPPING=1");
    status_timer.cancel();
    gateway.stop([&] { io.stop(); });
  });

  // SIGHUP re-reads the file; a broken file keeps the running registry.
  boost::asio::signal_set hangup(io, SIGHUP);
  std::function<void()> wait_hangup = [&] {
    hangup.async_wait([&](boost::system::error_code ec, int) {
      if (ec) return;
      sd_notify(0, "RELOADING=1");
      try {
        gateway.reload_devices(eg::gateway::load_config(config_path).devices);
      } catch (const eg::gateway::ConfigError& error) {
        spdlog::error("CONFIG_RELOAD_REJECTED {} (keeping the running device registry)", error.what());
      }
      sd_notify(0, "READY=1");
      wait_hangup();
    });
  };
  wait_hangup();

  // systemd watchdog: pet it from the loop, so a stuck loop gets restarted.
  boost::asio::steady_timer watchdog(io);
  std::uint64_t watchdog_usec = 0;
  std::function<void()> pet;
  if (sd_watchdog_enabled(0, &watchdog_usec) > 0) {
    pet = [&] {
      sd_notify(0, "WATCHDOG=1");
      watchdog.expires_after(std::chrono::microseconds(watchdog_usec / 2));
      watchdog.async_wait([&](boost::system::error_code ec) {
        if (!ec) pet();
      });
    };
    pet();
  }

  io.run();
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  CLI::App app{"Eldercare Gateway: sensor alarms from the room to the street-level eldercare platform"};
  std::string config_path = "/etc/eldercare/gateway.toml";
  std::string check_config_path;
  std::string check_rules_path;
  app.add_option("-c,--config", config_path, "Configuration file (TOML)")->capture_default_str();
  app.add_option("--check-config", check_config_path, "Validate a configuration file and exit (0 ok, 2 bad)");
  app.add_option("--check-rules", check_rules_path, "Validate a rule file and exit (0 ok, 2 bad)");
  app.set_version_flag("--version", std::string("eldercare-gatewayd ") + EG_VERSION);
  CLI11_PARSE(app, argc, argv);

  // journald reads stderr line by line: every record stays one escaped line.
  auto stderr_sink = eg::one_line_per_record(std::make_shared<spdlog::sinks::stderr_color_sink_mt>());
  spdlog::set_default_logger(std::make_shared<spdlog::logger>("gateway", stderr_sink));
  spdlog::set_pattern("%Y-%m-%dT%H:%M:%S.%e%z %^%l%$ %v");

  if (!check_rules_path.empty()) {
    try {
      auto rules = eg::rules::load_rules(check_rules_path);
      std::cout << check_rules_path << ": ok (" << rules.rules.size() << " rules, " << rules.ladders.size()
                << " ladders)\n";
      return 0;
    } catch (const eg::ConfigError& error) {
      std::cerr << error.what() << "\n";
      return kExitBadConfig;
    }
  }

  const std::string& path = check_config_path.empty() ? config_path : check_config_path;
  eg::gateway::GatewayConfig config;
  std::optional<eg::rules::RuleSet> rules;
  try {
    config = eg::gateway::load_config(path);
    if (!config.rules_file.empty()) rules = eg::gateway::load_rule_set(config);
  } catch (const eg::ConfigError& error) {
    std::cerr << error.what() << "\n";
    return kExitBadConfig;
  }
  if (!check_config_path.empty()) {
    std::cout << path << ": ok (gateway " << config.gateway_id << ", " << config.drivers.size() << " driver routes, "
              << config.devices.size() << " devices, " << (rules ? rules->rules.size() : 0) << " rules)" << std::endl;
    // Valid, but some ladder rungs would reach nobody: warn, still exit 0
    // (a box without an operator contract is a legitimate deployment).
    if (rules)
      for (const auto& warning : eg::gateway::undeliverable_rungs(*rules, config))
        std::cerr << "warning: " << warning << "\n";
    return 0;
  }
  spdlog::set_level(spdlog::level::from_str(config.log_level));
  try {
    return run(config, std::move(rules), path);
  } catch (const std::exception& error) {
    spdlog::critical("GATEWAY_FAILED reason=\"{}\"", error.what());
    return kExitRuntime;
  }
}
