// The DC-09 transmitter: LinkCore driven by real sockets (TCP or UDP per
// path) and a steady_timer on the caller's io_context. Loop thread only:
// send() and every observer callback run there. Destroying it (or stop())
// closes the sockets; pending handlers find it gone and do nothing.
#pragma once

#include <utility>  // before Asio: Boost 1.74 Asio under C++20 needs it

#include <boost/asio/io_context.hpp>
#include <functional>
#include <memory>
#include <string>

#include "eg/common/clock.hpp"
#include "eg/dc09/link_core.hpp"

namespace eg::dc09 {

class Transmitter {
 public:
  struct Observer {
    std::function<void(const LinkCore::Outcome&)> on_outcome;
    std::function<void(const LinkCore::PathChange&, const Endpoint&)> on_path_change;
    std::function<void(const std::string&)> on_note;  // odd replies, failed attempts: for the log
  };

  Transmitter(boost::asio::io_context& io, LinkSettings settings, const Clock& clock, Observer observer,
              unsigned first_sequence = 1);
  ~Transmitter();
  Transmitter(const Transmitter&) = delete;
  Transmitter& operator=(const Transmitter&) = delete;

  // Starts supervision (a first NULL on each path at once, if configured).
  void start();
  void send(Outgoing message);
  void stop();

  std::size_t queued() const;
  bool path_up(std::size_t path) const;
  const LinkSettings& settings() const;

 private:
  class Impl;
  std::shared_ptr<Impl> impl_;
};

}  // namespace eg::dc09
