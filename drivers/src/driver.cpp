#include "eg/drivers/driver.hpp"

namespace eg::drivers {

std::string_view to_string(DecodeError::Code code) {
  switch (code) {
    case DecodeError::Code::kMalformed:
      return "malformed";
    case DecodeError::Code::kWrongType:
      return "wrong_type";
    case DecodeError::Code::kOutOfRange:
      return "out_of_range";
    case DecodeError::Code::kTooLarge:
      return "too_large";
    case DecodeError::Code::kUnsupported:
      return "unsupported";
    case DecodeError::Code::kReservedId:
      return "reserved_id";
  }
  return "unknown";
}

}  // namespace eg::drivers
