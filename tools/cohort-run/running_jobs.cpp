// SPDX-License-Identifier: Apache-2.0
#include "running_jobs.hpp"

namespace cohort_run {

running_jobs::running_jobs(std::size_t slots) : slots_(slots + 1) {
  for (std::size_t s = slots; s >= 1; --s) free_.push_back(s);
}

std::size_t running_jobs::acquire() {
  std::unique_lock lock(mutex_);
  freed_.wait(lock, [&] { return closed_ || !free_.empty(); });
  if (closed_) return 0;
  const std::size_t slot = free_.back();
  free_.pop_back();
  slots_[slot].busy = true;
  ++running_;
  return slot;
}

void running_jobs::release(std::size_t slot) {
  {
    std::lock_guard lock(mutex_);
    slots_[slot] = slot_state{};
    free_.push_back(slot);
    --running_;
  }
  freed_.notify_one();
}

void running_jobs::close() {
  {
    std::lock_guard lock(mutex_);
    closed_ = true;
  }
  freed_.notify_all();
}

bool running_jobs::closed() const {
  std::lock_guard lock(mutex_);
  return closed_;
}

std::size_t running_jobs::running() const {
  std::lock_guard lock(mutex_);
  return running_;
}

void running_jobs::started(std::size_t slot, std::size_t seq, const std::string& command) {
  std::lock_guard lock(mutex_);
  auto& s = slots_[slot];
  s.seq = seq;
  s.command = command;
  s.since = std::chrono::steady_clock::now();
}

void running_jobs::set_pid(std::size_t slot, int pid) {
  std::lock_guard lock(mutex_);
  slots_[slot].pid = pid;
}

void running_jobs::saw_output(std::size_t slot, std::string_view chunk) {
  constexpr std::size_t keep = 200;
  std::lock_guard lock(mutex_);
  auto& s = slots_[slot];
  const auto nl = chunk.find_last_of('\n');
  if (nl == std::string_view::npos) {
    if (s.partial_line.size() < keep)
      s.partial_line.append(chunk.substr(0, keep - s.partial_line.size()));
    return;
  }
  const auto before = chunk.substr(0, nl);
  const auto prev_nl = before.find_last_of('\n');
  std::string line = prev_nl == std::string_view::npos ? s.partial_line + std::string(before)
                                                       : std::string(before.substr(prev_nl + 1));
  if (!line.empty()) s.last_line = line.substr(0, keep);
  s.partial_line.assign(chunk.substr(nl + 1, keep));
}

std::vector<running_jobs::running_job> running_jobs::snapshot() const {
  std::lock_guard lock(mutex_);
  std::vector<running_job> out;
  const auto now = std::chrono::steady_clock::now();
  for (std::size_t i = 1; i < slots_.size(); ++i) {
    const auto& s = slots_[i];
    if (!s.busy || s.seq == 0) continue;
    out.push_back({i, s.seq, s.command, s.pid, now - s.since,
                   s.partial_line.empty() ? s.last_line : s.partial_line});
  }
  return out;
}

}  // namespace cohort_run
