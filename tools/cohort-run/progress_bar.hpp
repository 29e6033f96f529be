// SPDX-License-Identifier: Apache-2.0
// --bar: one line on stderr, redrawn at most 10 times a second:
//   [=======>        ] 45% 450/1000 done, 3 failed, 8 running, ETA 0:12
// The total comes from the ::: sources, or from reading stdin ahead.
#pragma once

#include <chrono>
#include <cstddef>
#include <optional>

namespace cohort_run {

class progress_bar {
 public:
  explicit progress_bar(std::optional<std::size_t> total);
  // Redraws if the last draw is old enough (or `force`). Not thread-safe.
  void update(std::size_t done, std::size_t failed, std::size_t running, bool force = false);
  void finish(std::size_t done, std::size_t failed);  // last draw and a newline

 private:
  std::optional<std::size_t> total_;
  std::chrono::steady_clock::time_point started_, last_draw_{};
};

}  // namespace cohort_run
