// SPDX-License-Identifier: Apache-2.0
#include "duration.hpp"

#include <cmath>
#include <cstdlib>
#include <string>

namespace cohort_run {

std::optional<std::chrono::nanoseconds> parse_duration(std::string_view text) {
  const std::string s(text);
  if (s.empty()) return std::nullopt;
  char* end = nullptr;
  const double value = std::strtod(s.c_str(), &end);
  if (end == s.c_str() || !std::isfinite(value) || value <= 0) return std::nullopt;
  const std::string_view unit(end);
  double seconds_per_unit = 0;
  if (unit.empty() || unit == "s")
    seconds_per_unit = 1;
  else if (unit == "ms")
    seconds_per_unit = 1e-3;
  else if (unit == "us")
    seconds_per_unit = 1e-6;
  else if (unit == "m")
    seconds_per_unit = 60;
  else if (unit == "h")
    seconds_per_unit = 3600;
  else if (unit == "d")
    seconds_per_unit = 86400;
  else
    return std::nullopt;
  const double ns = value * seconds_per_unit * 1e9;
  if (ns < 1 || ns > 1e18) return std::nullopt;
  return std::chrono::nanoseconds(static_cast<long long>(ns));
}

}  // namespace cohort_run
