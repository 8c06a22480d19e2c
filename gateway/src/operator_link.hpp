// The gateway's side of the DC-09 link: turns alerts into Contact ID / SIA
// DCS messages for the eg::dc09 transmitter, remembers which alert each
// message belongs to, and reports outcomes and path changes back. Also sends
// the periodic test report. Loop thread only.
#pragma once

#include <utility>  // before Asio: Boost 1.74 Asio under C++20 needs it

#include <boost/asio/io_context.hpp>
#include <boost/asio/steady_timer.hpp>
#include <functional>
#include <map>
#include <memory>

#include "eg/common/clock.hpp"
#include "eg/dc09/transmitter.hpp"
#include "eg/gateway/config.hpp"
#include "eg/gateway/metrics.hpp"
#include "eg/gateway/store.hpp"
#include "eldercare/v1/alert.pb.h"
#include "operator_codes.hpp"

namespace eg::gateway {

class OperatorLink {
 public:
  enum class Kind { alarm, restore, cancel, test };
  struct Sent {  // what a DC-09 message was about
    Kind kind = Kind::alarm;
    eldercare::v1::Alert alert;  // as it was when sent; empty for a test report
    std::uint32_t step = 0;
    OperatorCode code;
    std::int64_t stored_row = 0;  // its row in the store's operator_outbox; 0: not stored
  };
  struct Hooks {
    std::function<void(const Sent&, const dc09::LinkCore::Outcome&, const dc09::Endpoint&)> on_outcome;
    // Path 0 is the primary receiver, 1 the backup.
    std::function<void(std::size_t path, const dc09::Endpoint&, bool up, const std::string& reason)> on_path_change;
    // Durability: each message is stored until a receiver ACKs it (or refuses
    // it for good); `persist` returns the stored row's id, 0 if it failed.
    std::function<std::int64_t(std::string_view meta, std::string_view alert)> persist;
    std::function<void(std::int64_t id)> forget;
  };

  // Throws ConfigError on a bad key (checked at load already).
  OperatorLink(boost::asio::io_context& io, const OperatorConfig& config, const Clock& clock, Metrics& metrics,
               Hooks hooks);
  // Re-sends what the last run left unacknowledged, in order, then goes live.
  void start(const std::vector<StoredOperatorMessage>& unacknowledged);
  void stop();
  void send(Kind kind, const eldercare::v1::Alert& alert, std::uint32_t step, const OperatorCode& code);

  static const char* kind_name(Kind kind);
  static std::string path_name(std::size_t path) { return path == 0 ? "primary" : "backup"; }

 private:
  std::string data_for(Kind kind, const OperatorCode& code) const;
  void transmit(Sent sent);
  void schedule_test_report();

  const OperatorConfig& config_;
  Metrics& metrics_;
  Hooks hooks_;
  std::map<std::uint64_t, Sent> in_queue_;
  // The link's own ids, not the store's row ids: a rolled-back commit can hand
  // out a row id twice, and two queued messages must never share an id.
  std::uint64_t next_id_ = 0;
  std::unique_ptr<dc09::Transmitter> transmitter_;
  boost::asio::steady_timer test_timer_;
  bool stopped_ = false;
};

}  // namespace eg::gateway
