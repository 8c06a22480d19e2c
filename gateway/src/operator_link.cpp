#include "operator_link.hpp"

#include "eg/common/log_text.hpp"

#include <spdlog/spdlog.h>

#include <nlohmann/json.hpp>

#include "eg/dc09/contact_id.hpp"

namespace eg::gateway {

namespace {

OperatorLink::Kind kind_from(const std::string& name) {
  if (name == "restore") return OperatorLink::Kind::restore;
  if (name == "cancel") return OperatorLink::Kind::cancel;
  if (name == "test") return OperatorLink::Kind::test;
  return OperatorLink::Kind::alarm;
}

dc09::LinkSettings settings_from(const OperatorConfig& config) {
  dc09::LinkSettings settings;
  settings.account = config.account;
  settings.receiver = config.receiver;
  settings.line = config.line;
  if (!config.aes_key_hex.empty()) {
    auto key = dc09::parse_key_hex(config.aes_key_hex);
    if (!key) throw ConfigError("operator.aes_key: " + key.error().reason);
    settings.key = key.value();
  }
  for (const auto& path : config.paths)
    settings.paths.push_back(
        {path.host, path.port, path.transport == "udp" ? dc09::Transport::udp : dc09::Transport::tcp});
  settings.ack_timeout = std::chrono::milliseconds(config.ack_timeout_ms);
  settings.attempts_per_path = config.attempts_per_path;
  settings.retry_delay = std::chrono::milliseconds(config.retry_delay_ms);
  settings.retry_pause = std::chrono::seconds(config.retry_pause_s);
  settings.supervision_interval = std::chrono::seconds(config.supervision_interval_s);
  return settings;
}

}  // namespace

const char* OperatorLink::kind_name(Kind kind) {
  switch (kind) {
    case Kind::alarm:
      return "alarm";
    case Kind::restore:
      return "restore";
    case Kind::cancel:
      return "cancel";
    case Kind::test:
      return "test";
  }
  return "?";
}

OperatorLink::OperatorLink(boost::asio::io_context& io, const OperatorConfig& config, const Clock& clock,
                           Metrics& metrics, Hooks hooks)
    : config_(config), metrics_(metrics), hooks_(std::move(hooks)), test_timer_(io) {
  dc09::Transmitter::Observer observer;
  observer.on_outcome = [this](const dc09::LinkCore::Outcome& outcome) {
    auto found = in_queue_.find(outcome.id);
    if (found == in_queue_.end()) return;
    const Sent& sent = found->second;
    const auto& endpoint = transmitter_->settings().paths.at(outcome.path);
    const char* what = kind_name(sent.kind);
    switch (outcome.kind) {
      case dc09::LinkCore::Outcome::Kind::delivered:
        metrics_.add(std::string("operator_messages_delivered_total{kind=\"") + what + "\"}");
        spdlog::info("OPERATOR_DELIVERED kind={} alert={} code={} seq={:04} path={} ({}) attempts={}", what,
                     log_quoted(sent.alert.id()), sent.code.code, outcome.sequence, path_name(outcome.path),
                     endpoint.describe(), outcome.attempts);
        break;
      case dc09::LinkCore::Outcome::Kind::failed:
        metrics_.add(std::string("operator_messages_failed_total{kind=\"") + what + "\"}");
        spdlog::error("OPERATOR_UNDELIVERED kind={} alert={} seq={:04} attempts={} reason={} (still retrying)", what,
                      log_quoted(sent.alert.id()), outcome.sequence, outcome.attempts, log_quoted(outcome.detail));
        break;
      case dc09::LinkCore::Outcome::Kind::rejected:
        metrics_.add(std::string("operator_messages_rejected_total{kind=\"") + what + "\"}");
        spdlog::error("OPERATOR_REJECTED kind={} alert={} seq={:04} reason={}", what, log_quoted(sent.alert.id()),
                      outcome.sequence, log_quoted(outcome.detail));
        break;
    }
    if (hooks_.on_outcome) hooks_.on_outcome(sent, outcome, endpoint);
    if (outcome.kind != dc09::LinkCore::Outcome::Kind::failed) {
      if (sent.stored_row > 0 && hooks_.forget) hooks_.forget(sent.stored_row);
      in_queue_.erase(outcome.id);
    }
    metrics_.set("operator_queue", in_queue_.size());
  };
  observer.on_path_change = [this](const dc09::LinkCore::PathChange& change, const dc09::Endpoint& endpoint) {
    metrics_.set("operator_path_up{path=\"" + path_name(change.path) + "\"}", change.up ? 1 : 0);
    spdlog::log(change.up ? spdlog::level::info : spdlog::level::err, "OPERATOR_PATH_{} path={} ({}) reason={}",
                change.up ? "UP" : "DOWN", path_name(change.path), endpoint.describe(), log_quoted(change.reason));
    if (hooks_.on_path_change) hooks_.on_path_change(change.path, endpoint, change.up, change.reason);
  };
  observer.on_note = [](const std::string& note) { spdlog::warn("OPERATOR_LINK note={}", log_quoted(note)); };
  // The first sequence number is spread over the range so a restart does not
  // reuse the numbers the receiver saw last (it may drop repeats).
  auto seconds = std::chrono::duration_cast<std::chrono::seconds>(clock.wall_now().time_since_epoch()).count();
  transmitter_ = std::make_unique<dc09::Transmitter>(io, settings_from(config), clock, std::move(observer),
                                                     static_cast<unsigned>(seconds % 9999) + 1);
}

void OperatorLink::start(const std::vector<StoredOperatorMessage>& unacknowledged) {
  spdlog::info("OPERATOR_LINK_START format={} account={} encrypted={} paths={} supervision_s={} resending={}",
               config_.format, config_.account, !config_.aes_key_hex.empty(), config_.paths.size(),
               config_.supervision_interval_s, unacknowledged.size());
  for (std::size_t i = 0; i < config_.paths.size(); ++i)
    metrics_.set("operator_path_up{path=\"" + path_name(i) + "\"}", 1);
  for (const auto& stored : unacknowledged) {
    Sent sent;
    try {
      auto meta = nlohmann::json::parse(stored.meta);
      sent.kind = kind_from(meta.at("kind").get<std::string>());
      sent.step = meta.at("step").get<std::uint32_t>();
      sent.code.code = meta.at("code").get<int>();
      sent.code.zone = meta.at("zone").get<int>();
      sent.code.sia = meta.at("sia").get<std::string>();
      sent.code.sia_restore = meta.at("sia_restore").get<std::string>();
      sent.code.source = meta.value("source", "stored");
    } catch (const nlohmann::json::exception& error) {
      // Unreadable: keep it in the store for inspection, but do not send guesses.
      metrics_.add("operator_messages_unreadable_total");
      spdlog::error("OPERATOR_STORED_UNREADABLE id={} reason=\"{}\"", stored.id, error.what());
      continue;
    }
    sent.alert.ParseFromString(stored.alert);
    spdlog::warn("OPERATOR_RESEND kind={} alert={} (unacknowledged when the gateway last stopped)",
                 kind_name(sent.kind), log_quoted(sent.alert.id()));
    sent.stored_row = stored.id;
    transmit(std::move(sent));
  }
  transmitter_->start();
  schedule_test_report();
}

void OperatorLink::stop() {
  stopped_ = true;
  test_timer_.cancel();
  if (!in_queue_.empty())
    spdlog::warn("OPERATOR_LINK_STOP unacknowledged={} (kept in the store; re-sent at the next start)",
                 in_queue_.size());
  transmitter_->stop();
}

std::string OperatorLink::data_for(Kind kind, const OperatorCode& code) const {
  const bool restore = kind == Kind::restore;
  if (config_.format == "SIA-DCS") {
    std::string sia = kind == Kind::cancel ? sia_code_for(kCidCancel, false)
                      : kind == Kind::test ? sia_code_for(kCidPeriodicTest, false)
                      : restore            ? code.sia_restore
                                           : code.sia;
    return dc09::sia_dcs_data(config_.account, sia, config_.partition, code.zone);
  }
  dc09::ContactIdEvent event;
  event.qualifier = restore ? dc09::kRestore : dc09::kNewEvent;
  event.code = kind == Kind::cancel ? kCidCancel : kind == Kind::test ? kCidPeriodicTest : code.code;
  event.partition = config_.partition;
  event.zone = code.zone;
  return dc09::contact_id_data(config_.account, event);
}

void OperatorLink::send(Kind kind, const eldercare::v1::Alert& alert, std::uint32_t step, const OperatorCode& code) {
  Sent sent{kind, alert, step, code, 0};
  if (kind != Kind::test && hooks_.persist) {
    nlohmann::json meta = {{"kind", kind_name(kind)}, {"step", step},    {"code", code.code},
                           {"zone", code.zone},       {"sia", code.sia}, {"sia_restore", code.sia_restore},
                           {"source", code.source}};
    sent.stored_row = hooks_.persist(meta.dump(), alert.SerializeAsString());
  }
  transmit(std::move(sent));
}

void OperatorLink::transmit(Sent sent) {
  std::uint64_t id = ++next_id_;
  std::string data = data_for(sent.kind, sent.code);
  metrics_.add(std::string("operator_messages_total{kind=\"") + kind_name(sent.kind) + "\"}");
  spdlog::info("OPERATOR_SEND kind={} alert={} rule={} data=\"{}\" mapping=\"{}\"", kind_name(sent.kind),
               log_quoted(sent.alert.id()), sent.alert.rule_id(), data, sent.code.source);
  in_queue_[id] = std::move(sent);
  metrics_.set("operator_queue", in_queue_.size());
  transmitter_->send({id, config_.format, std::move(data)});
}

void OperatorLink::schedule_test_report() {
  if (stopped_ || config_.test_report_interval_s <= 0) return;
  test_timer_.expires_after(std::chrono::seconds(config_.test_report_interval_s));
  test_timer_.async_wait([this](boost::system::error_code ec) {
    if (ec || stopped_) return;
    OperatorCode test;
    test.code = kCidPeriodicTest;
    test.source = "periodic test";
    send(Kind::test, eldercare::v1::Alert{}, 0, test);
    schedule_test_report();
  });
}

}  // namespace eg::gateway
