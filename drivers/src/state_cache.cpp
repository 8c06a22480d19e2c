#include "state_cache.hpp"

namespace eg::drivers {

bool StateCache::changed(std::string_view device, std::string_view aspect, std::string signature) {
  if (aspect != "availability") note_heard(device);
  std::string key;
  key.reserve(device.size() + aspect.size() + 1);
  key.append(device).push_back('\0');
  key.append(aspect);
  // Bounded: a publisher inventing device ids must not grow the cache without
  // limit. Starting afresh costs one repeated report per aspect, nothing more.
  if (values_.size() >= kMaxEntries && !values_.contains(key)) values_.clear();
  auto [it, inserted] = values_.try_emplace(std::move(key), signature);
  if (inserted) return true;
  if (it->second == signature) return false;
  it->second = std::move(signature);
  return true;
}

void StateCache::note_heard(std::string_view device) {
  // Bounded by the devices of one message; the gateway takes it after each.
  if (heard_.size() < 64 && (heard_.empty() || heard_.back() != device)) heard_.emplace_back(device);
}

void StateCache::forget_device(std::string_view device) {
  std::string prefix(device);
  prefix.push_back('\0');
  std::erase_if(values_, [&](const auto& kv) { return kv.first.starts_with(prefix); });
}

}  // namespace eg::drivers
