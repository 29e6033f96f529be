// SPDX-License-Identifier: Apache-2.0
// A job's captured stdout or stderr: kept in memory up to a limit, then in an anonymous
// temporary file, so a job writing gigabytes costs disk, not memory.
#pragma once

#include <cstddef>
#include <cstdio>
#include <functional>
#include <string>
#include <string_view>

namespace cohort_run {

class spool {
 public:
  explicit spool(std::size_t memory_limit = 8u << 20) : limit_(memory_limit) {}
  ~spool();
  spool(spool&& other) noexcept;
  spool& operator=(spool&& other) noexcept;
  spool(const spool&) = delete;
  spool& operator=(const spool&) = delete;

  void append(std::string_view data);
  std::size_t size() const noexcept { return size_; }
  std::size_t bytes_in_memory() const noexcept { return memory_.size(); }
  // Moves what is in memory to the temporary file (for output held back by -k).
  void spill();
  // Calls sink with the content, in order, in pieces.
  void for_each_piece(const std::function<void(std::string_view)>& sink) const;

 private:
  std::size_t limit_;
  std::size_t size_ = 0;
  std::string memory_;
  std::FILE* file_ = nullptr;  // tmpfile(): deleted when closed
};

}  // namespace cohort_run
