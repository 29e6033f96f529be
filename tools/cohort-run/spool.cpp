// SPDX-License-Identifier: Apache-2.0
#include "spool.hpp"

#include <stdexcept>
#include <utility>
#include <vector>

namespace cohort_run {

spool::~spool() {
  if (file_ != nullptr) std::fclose(file_);
}

spool::spool(spool&& other) noexcept
    : limit_(other.limit_),
      size_(std::exchange(other.size_, 0)),
      memory_(std::move(other.memory_)),
      file_(std::exchange(other.file_, nullptr)) {}

spool& spool::operator=(spool&& other) noexcept {
  if (this != &other) {
    if (file_ != nullptr) std::fclose(file_);
    limit_ = other.limit_;
    size_ = std::exchange(other.size_, 0);
    memory_ = std::move(other.memory_);
    file_ = std::exchange(other.file_, nullptr);
  }
  return *this;
}

void spool::append(std::string_view data) {
  size_ += data.size();
  if (file_ == nullptr && memory_.size() + data.size() <= limit_) {
    memory_.append(data);
    return;
  }
  spill();
  if (std::fwrite(data.data(), 1, data.size(), file_) != data.size())
    throw std::runtime_error("cannot write a temporary file for job output");
}

void spool::spill() {
  if (file_ == nullptr) {
    file_ = std::tmpfile();
    if (file_ == nullptr) throw std::runtime_error("cannot create a temporary file for job output");
  }
  if (!memory_.empty()) {
    if (std::fwrite(memory_.data(), 1, memory_.size(), file_) != memory_.size())
      throw std::runtime_error("cannot write a temporary file for job output");
    std::string().swap(memory_);
  }
}

void spool::for_each_piece(const std::function<void(std::string_view)>& sink) const {
  if (file_ == nullptr) {
    if (!memory_.empty()) sink(memory_);
    return;
  }
  std::fflush(file_);
  std::rewind(file_);
  std::vector<char> buffer(1 << 16);
  std::size_t got;
  while ((got = std::fread(buffer.data(), 1, buffer.size(), file_)) > 0) sink({buffer.data(), got});
  std::fseek(file_, 0, SEEK_END);
}

}  // namespace cohort_run
