// SPDX-License-Identifier: Apache-2.0
// Where the jobs' arguments come from: the ::: / :::: sources (their cartesian product,
// the last source varying fastest, as GNU parallel), or stdin read as jobs start, so an
// endless or huge input runs in bounded memory.
#pragma once

#include <cstddef>
#include <memory>
#include <optional>
#include <string>
#include <vector>

namespace cohort_run {

class input_source {
 public:
  virtual ~input_source() = default;
  // The next job's arguments, one per source; false at the end.
  virtual bool next(std::vector<std::string>& args) = 0;
  // The number of jobs, when known without reading ahead.
  virtual std::optional<std::size_t> total() const = 0;
  // How many values each job has ({1}..{N} are valid).
  virtual std::size_t sources() const = 0;
  // From another thread: a next() waiting for input returns false now, and so does every
  // later call (a halt must not wait for a slow producer's next line).
  virtual void interrupt() noexcept {}
};

// `sources` non-empty: their product. Else stdin, split at '\n' (or NUL); with
// `read_ahead` all of stdin is read first so total() is known (for --bar).
std::unique_ptr<input_source> make_input(std::vector<std::vector<std::string>> sources, int in_fd,
                                         bool null_separated, bool read_ahead);

}  // namespace cohort_run
