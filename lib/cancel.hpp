// The process-wide registry of stop sources of running children that take a
// std::stop_token. Cancellation itself is the flag chain in detail/cancel.hpp; this is
// only how a cancel reaches code that polls a token.
#pragma once

#include <cohort/detail/cancel.hpp>

#include <stop_token>

namespace cohort::detail {

struct stop_registration {
  const cancel_node* node;
  std::stop_source source;
  stop_registration* prev = nullptr;
  stop_registration* next = nullptr;
};

void register_stop_source(stop_registration& r);
void unregister_stop_source(stop_registration& r) noexcept;

}  // namespace cohort::detail
