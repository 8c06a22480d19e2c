// A value or an error, for boundaries where failure is ordinary (untrusted
// payloads, files). g++ 12 in C++20 mode has no std::expected; this is the one
// small stand-in used everywhere.
#pragma once

#include <string>
#include <utility>
#include <variant>

namespace eg {

// The default error: a human-readable reason, fit for a log line.
struct Error {
  std::string reason;
};

template <typename T, typename E = Error>
class Result {
 public:
  Result(T value) : v_(std::in_place_index<0>, std::move(value)) {}  // NOLINT: implicit by design
  Result(E error) : v_(std::in_place_index<1>, std::move(error)) {}  // NOLINT: implicit by design

  bool ok() const { return v_.index() == 0; }
  explicit operator bool() const { return ok(); }

  // Preconditions: ok() for value(), !ok() for error(); std::get throws otherwise.
  T& value() & { return std::get<0>(v_); }
  const T& value() const& { return std::get<0>(v_); }
  T&& value() && { return std::get<0>(std::move(v_)); }
  const E& error() const { return std::get<1>(v_); }

 private:
  std::variant<T, E> v_;
};

inline Error make_error(std::string reason) {
  return Error{std::move(reason)};
}

}  // namespace eg
