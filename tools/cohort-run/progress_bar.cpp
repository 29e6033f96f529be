// SPDX-License-Identifier: Apache-2.0
#include "progress_bar.hpp"

#include <cstdio>
#include <string>

#include "output.hpp"

namespace cohort_run {

using clock = std::chrono::steady_clock;

progress_bar::progress_bar(std::optional<std::size_t> total)
    : total_(total), started_(clock::now()) {}

void progress_bar::update(std::size_t done, std::size_t failed, std::size_t running, bool force) {
  const auto now = clock::now();
  if (!force && now - last_draw_ < std::chrono::milliseconds(100)) return;
  last_draw_ = now;
  char line[256];
  const double elapsed = std::chrono::duration<double>(now - started_).count();
  if (total_ && *total_ > 0) {
    constexpr int width = 30;
    const double fraction = static_cast<double>(done) / static_cast<double>(*total_);
    std::string bar(width, ' ');
    const int filled = static_cast<int>(fraction * width);
    for (int i = 0; i < filled && i < width; ++i) bar[i] = '=';
    if (filled < width) bar[filled] = '>';
    const double eta =
        done > 0 ? elapsed / static_cast<double>(done) * static_cast<double>(*total_ - done) : 0;
    std::snprintf(line, sizeof line,
                  "\r[%s] %3d%% %zu/%zu done, %zu failed, %zu running, ETA %d:%02d\033[K",
                  bar.c_str(), static_cast<int>(fraction * 100), done, *total_, failed, running,
                  static_cast<int>(eta) / 60, static_cast<int>(eta) % 60);
  } else {
    std::snprintf(line, sizeof line, "\r%zu done, %zu failed, %zu running, %.0fs\033[K", done,
                  failed, running, elapsed);
  }
  write_all(2, line);
}

void progress_bar::finish(std::size_t done, std::size_t failed) {
  update(done, failed, 0, true);
  write_all(2, "\n");
}

}  // namespace cohort_run
