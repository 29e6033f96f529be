// SPDX-License-Identifier: Apache-2.0
#include "input.hpp"

#include <poll.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include <cerrno>
#include <cstdint>
#include <deque>
#include <system_error>

namespace cohort_run {
namespace {

class argument_product final : public input_source {
 public:
  explicit argument_product(std::vector<std::vector<std::string>> sources)
      : sources_(std::move(sources)), position_(sources_.size(), 0) {
    for (const auto& s : sources_)
      if (s.empty()) done_ = true;  // an empty source: no combination at all
  }
  bool next(std::vector<std::string>& args) override {
    if (done_) return false;
    args.resize(sources_.size());
    for (std::size_t i = 0; i < sources_.size(); ++i) args[i] = sources_[i][position_[i]];
    // Odometer: the last source turns fastest.
    std::size_t i = sources_.size();
    while (i > 0) {
      --i;
      if (++position_[i] < sources_[i].size()) return true;
      position_[i] = 0;
    }
    done_ = true;
    return true;
  }
  std::optional<std::size_t> total() const override {
    std::size_t n = 1;
    for (const auto& s : sources_) n *= s.size();
    return n;
  }
  std::size_t sources() const override { return sources_.size(); }

 private:
  std::vector<std::vector<std::string>> sources_;
  std::vector<std::size_t> position_;
  bool done_ = false;
};

class stream_lines final : public input_source {
 public:
  stream_lines(int fd, char delimiter, bool read_ahead)
      : fd_(fd), delimiter_(delimiter), wake_(::eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK)) {
    if (wake_ < 0) throw std::system_error(errno, std::generic_category(), "eventfd");
    if (read_ahead) {
      std::string line;
      while (read_one(line)) ahead_.push_back(std::move(line));
      total_ = ahead_.size();
    }
  }
  ~stream_lines() override { ::close(wake_); }
  bool next(std::vector<std::string>& args) override {
    args.resize(1);
    if (total_) {
      if (ahead_.empty()) return false;
      args[0] = std::move(ahead_.front());
      ahead_.pop_front();
      return true;
    }
    return read_one(args[0]);
  }
  std::optional<std::size_t> total() const override { return total_; }
  std::size_t sources() const override { return 1; }
  void interrupt() noexcept override {
    const std::uint64_t one = 1;
    [[maybe_unused]] const ssize_t w = ::write(wake_, &one, sizeof one);
  }

 private:
  // One record: up to the delimiter (dropped), or the unterminated rest at end of input.
  bool read_one(std::string& out) {
    for (;;) {
      const auto end = buffer_.find(delimiter_, start_);
      if (end != std::string::npos) {
        out.assign(buffer_, start_, end - start_);
        start_ = end + 1;
        return true;
      }
      if (eof_) {
        if (start_ >= buffer_.size()) return false;
        out.assign(buffer_, start_);
        start_ = buffer_.size();
        return true;
      }
      buffer_.erase(0, start_);
      start_ = 0;
      if (!fill()) eof_ = true;
    }
  }
  // Waits for input or interrupt(); false at end of input (or once interrupted).
  bool fill() {
    pollfd fds[2] = {{fd_, POLLIN, 0}, {wake_, POLLIN, 0}};
    for (;;) {
      const int rc = ::poll(fds, 2, -1);
      if (rc < 0 && errno == EINTR) continue;
      if (rc < 0 || fds[1].revents != 0) return false;
      char chunk[1 << 16];
      const ssize_t got = ::read(fd_, chunk, sizeof chunk);
      if (got < 0 && (errno == EINTR || errno == EAGAIN)) continue;
      if (got <= 0) return false;
      buffer_.append(chunk, static_cast<std::size_t>(got));
      return true;
    }
  }
  int fd_;
  char delimiter_;
  int wake_;
  std::string buffer_;
  std::size_t start_ = 0;
  bool eof_ = false;
  std::deque<std::string> ahead_;
  std::optional<std::size_t> total_;
};

}  // namespace

std::unique_ptr<input_source> make_input(std::vector<std::vector<std::string>> sources, int in_fd,
                                         bool null_separated, bool read_ahead) {
  if (!sources.empty()) return std::make_unique<argument_product>(std::move(sources));
  return std::make_unique<stream_lines>(in_fd, null_separated ? '\0' : '\n', read_ahead);
}

}  // namespace cohort_run
