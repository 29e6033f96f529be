// SPDX-License-Identifier: Apache-2.0
// Durations on the command line: "500ms", "30s", "5m", "2h", "1d", or a plain number of
// seconds ("1.5"), as GNU parallel's --timeout.
#pragma once

#include <chrono>
#include <optional>
#include <string_view>

namespace cohort_run {

// nullopt when `text` is not a duration (or not positive).
std::optional<std::chrono::nanoseconds> parse_duration(std::string_view text);

}  // namespace cohort_run
