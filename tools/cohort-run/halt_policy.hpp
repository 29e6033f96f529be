// SPDX-License-Identifier: Apache-2.0
// GNU parallel's --halt: when to stop, and whether running jobs are killed (now) or
// allowed to finish (soon).
//   never | now,fail=N | soon,fail=N | now,success=N | soon,success=N | now,done=N
//   N may be a percentage of the jobs ("fail=10%"); the legacy forms 0, 1, 2 mean never,
//   soon,fail=1 and now,fail=1.
#pragma once

#include <cstddef>
#include <optional>
#include <string>
#include <string_view>

namespace cohort_run {

struct halt_policy {
  enum class when { never, soon, now };
  enum class on { fail, success, done };
  when timing = when::never;
  on trigger = on::fail;
  double threshold = 1;  // a count, or a percentage when `percent`
  bool percent = false;

  // True when `count` jobs of the trigger's kind (out of `finished`, with `total` known
  // or 0) reach the threshold.
  bool reached(std::size_t count, std::size_t finished, std::size_t total) const;
};

// nullopt with `error` set when `text` is not a halt specification.
std::optional<halt_policy> parse_halt(std::string_view text, std::string& error);

}  // namespace cohort_run
