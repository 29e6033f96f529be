// SPDX-License-Identifier: Apache-2.0
#include "output.hpp"

#include <unistd.h>

#include <cerrno>
#include <stdexcept>
#include <vector>

namespace cohort_run {

void write_all(int fd, std::string_view data) {
  while (!data.empty()) {
    const ssize_t n = ::write(fd, data.data(), data.size());
    if (n < 0) {
      if (errno == EINTR) continue;
      return;  // EPIPE (reader gone) or another error: the output is lost, the run goes on
    }
    data.remove_prefix(static_cast<std::size_t>(n));
  }
}

output_writer::output_writer(bool keep_order, bool tag, std::size_t hold_budget)
    : keep_order_(keep_order), tag_(tag), hold_budget_(hold_budget) {}

output_writer::~output_writer() {
  if (spill_file_ != nullptr) std::fclose(spill_file_);
}

void output_writer::write_text(int fd, const std::string& tag, std::string_view text,
                               bool& at_line_start) {
  constexpr std::size_t flush_at = 1 << 16;
  if (!tag_) {
    if (buffer_.size() + text.size() > flush_at) {
      write_all(fd, buffer_);
      buffer_.clear();
      write_all(fd, text);
    } else {
      buffer_.append(text);
    }
    return;
  }
  while (!text.empty()) {
    if (at_line_start) {
      buffer_ += tag;
      buffer_ += '\t';
      at_line_start = false;
    }
    const auto nl = text.find('\n');
    const std::size_t take = nl == std::string_view::npos ? text.size() : nl + 1;
    buffer_.append(text.substr(0, take));
    if (nl != std::string_view::npos) at_line_start = true;
    text.remove_prefix(take);
    if (buffer_.size() > flush_at) {
      write_all(fd, buffer_);
      buffer_.clear();
    }
  }
}

void output_writer::write_now(const std::string& tag, const spool& out, const spool& err) {
  for (int fd : {1, 2}) {
    bool at_line_start = true;
    (fd == 1 ? out : err).for_each_piece([&](std::string_view piece) {
      write_text(fd, tag, piece, at_line_start);
    });
    write_all(fd, buffer_);
    buffer_.clear();
  }
}

void output_writer::write_held(held_output& h) {
  if (h.passed_over) return;
  if (h.in_memory) {
    write_now(h.tag, h.output.out, h.output.err);
    return;
  }
  std::fflush(spill_file_);
  std::vector<char> chunk(1 << 16);
  for (int fd : {1, 2}) {
    std::size_t left = fd == 1 ? h.out_bytes : h.err_bytes;
    const long at = fd == 1 ? h.offset : h.offset + static_cast<long>(h.out_bytes);
    std::fseek(spill_file_, at, SEEK_SET);
    bool at_line_start = true;
    while (left > 0) {
      const std::size_t got =
          std::fread(chunk.data(), 1, std::min(left, chunk.size()), spill_file_);
      if (got == 0) break;
      write_text(fd, h.tag, {chunk.data(), got}, at_line_start);
      left -= got;
    }
    write_all(fd, buffer_);
    buffer_.clear();
  }
  std::fseek(spill_file_, 0, SEEK_END);
}

void output_writer::release_ready() {
  for (auto it = held_.begin(); it != held_.end() && it->first == next_seq_; it = held_.erase(it)) {
    write_held(it->second);
    if (it->second.in_memory)
      held_bytes_ -=
          it->second.output.out.bytes_in_memory() + it->second.output.err.bytes_in_memory();
    ++next_seq_;
  }
}

void output_writer::finished(job_output output) {
  std::lock_guard lock(mutex_);
  if (!keep_order_) {
    write_now(output.tag, output.out, output.err);
    return;
  }
  if (output.seq == next_seq_) {
    write_now(output.tag, output.out, output.err);
    ++next_seq_;
    release_ready();
    return;
  }
  const std::size_t seq = output.seq;
  held_output h;
  h.tag = output.tag;
  const std::size_t bytes = output.out.bytes_in_memory() + output.err.bytes_in_memory();
  // A spool that already overflowed to its own file goes to the shared file too: held
  // outputs must not each keep a file descriptor open.
  const bool all_in_memory = bytes == output.out.size() + output.err.size();
  if (all_in_memory && held_bytes_ + bytes <= hold_budget_) {
    held_bytes_ += bytes;
    h.output = std::move(output);
  } else {
    // Past the budget: into the one shared file (not a file per job: -k may hold many).
    if (spill_file_ == nullptr && (spill_file_ = std::tmpfile()) == nullptr)
      throw std::runtime_error("cannot create a temporary file for -k output");
    std::fseek(spill_file_, 0, SEEK_END);
    h.in_memory = false;
    h.offset = std::ftell(spill_file_);
    h.out_bytes = output.out.size();
    h.err_bytes = output.err.size();
    for (const spool* s : {&output.out, &output.err})
      s->for_each_piece([&](std::string_view piece) {
        if (std::fwrite(piece.data(), 1, piece.size(), spill_file_) != piece.size())
          throw std::runtime_error("cannot write a temporary file for -k output");
      });
  }
  held_.emplace(seq, std::move(h));
}

void output_writer::passed_over(std::size_t seq) {
  if (!keep_order_) return;
  std::lock_guard lock(mutex_);
  if (seq == next_seq_) {
    ++next_seq_;
    release_ready();
    return;
  }
  held_output h;
  h.passed_over = true;
  held_.emplace(seq, std::move(h));
}

void output_writer::lines(const std::string& tag, std::string_view text, bool to_stderr) {
  std::lock_guard lock(mutex_);
  bool at_line_start = true;
  const int fd = to_stderr ? 2 : 1;
  write_text(fd, tag, text, at_line_start);
  write_all(fd, buffer_);
  buffer_.clear();
}

void output_writer::flush_held() {
  std::lock_guard lock(mutex_);
  for (auto& [seq, h] : held_) write_held(h);
  held_.clear();
  held_bytes_ = 0;
}

}  // namespace cohort_run
