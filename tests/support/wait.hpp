// Waiting on a condition with a deadline: tests never sleep for a fixed time
// hoping something happened.
#pragma once

#include <chrono>
#include <thread>

namespace eg::test {

template <typename Predicate>
bool wait_until(Predicate&& done, std::chrono::milliseconds deadline = std::chrono::seconds(10)) {
  auto until = std::chrono::steady_clock::now() + deadline;
  while (!done()) {
    if (std::chrono::steady_clock::now() >= until) return false;
    std::this_thread::sleep_for(std::chrono::milliseconds(2));
  }
  return true;
}

}  // namespace eg::test
