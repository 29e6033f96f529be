// SPDX-License-Identifier: Apache-2.0
#include "halt_policy.hpp"

#include <cstdlib>

namespace cohort_run {

bool halt_policy::reached(std::size_t count, std::size_t finished, std::size_t total) const {
  if (timing == when::never || count == 0) return false;
  if (!percent) return static_cast<double>(count) >= threshold;
  // GNU: a percentage of all jobs; with an unknown total, of the jobs finished so far
  // (needs at least 3 done so one early failure is not "100%").
  const std::size_t base = total != 0 ? total : finished;
  if (total == 0 && finished < 3) return false;
  return 100.0 * static_cast<double>(count) >= threshold * static_cast<double>(base);
}

std::optional<halt_policy> parse_halt(std::string_view text, std::string& error) {
  halt_policy p;
  if (text == "never" || text == "0") return p;
  if (text == "1" || text == "2") {
    p.timing = text == "1" ? halt_policy::when::soon : halt_policy::when::now;
    return p;
  }
  const auto comma = text.find(',');
  const std::string_view timing = text.substr(0, comma);
  if (timing == "now")
    p.timing = halt_policy::when::now;
  else if (timing == "soon")
    p.timing = halt_policy::when::soon;
  else {
    error = "expected never, now,fail=N, soon,fail=N, now,success=N or soon,success=N";
    return std::nullopt;
  }
  if (comma == std::string_view::npos) {
    error = "missing the condition after '" + std::string(timing) + "' (e.g. " +
            std::string(timing) + ",fail=1)";
    return std::nullopt;
  }
  std::string_view cond = text.substr(comma + 1);
  const auto eq = cond.find('=');
  const std::string_view kind = cond.substr(0, eq);
  if (kind == "fail")
    p.trigger = halt_policy::on::fail;
  else if (kind == "success")
    p.trigger = halt_policy::on::success;
  else if (kind == "done")
    p.trigger = halt_policy::on::done;
  else {
    error = "unknown condition '" + std::string(kind) + "' (fail, success or done)";
    return std::nullopt;
  }
  std::string number(eq == std::string_view::npos ? std::string_view{} : cond.substr(eq + 1));
  if (!number.empty() && number.back() == '%') {
    p.percent = true;
    number.pop_back();
  }
  char* end = nullptr;
  const double v = std::strtod(number.c_str(), &end);
  if (number.empty() || *end != '\0' || v <= 0 || (p.percent && v > 100)) {
    error = "'" + std::string(cond) + "': expected " + std::string(kind) + "=N or " +
            std::string(kind) + "=N%";
    return std::nullopt;
  }
  p.threshold = v;
  return p;
}

}  // namespace cohort_run
