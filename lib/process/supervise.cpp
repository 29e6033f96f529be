// SPDX-License-Identifier: Apache-2.0
#include "process/supervise.hpp"

#include <poll.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <array>
#include <cerrno>
#include <system_error>
#include <vector>

namespace cohort::detail {
namespace {

using clock = std::chrono::steady_clock;
using std::chrono::milliseconds;

// After the child ended, how long its output pipes may stay open: a process that left
// the group (setsid) can hold them; we stop reading rather than wait for it.
constexpr milliseconds orphan_pipe_wait{500};

// Without a pidfd, poll() cannot see the exit: check waitid every so often, backing off.
constexpr milliseconds fallback_first_check{1};
constexpr milliseconds fallback_max_check{20};

// True once the child has exited (it stays a zombie: not reaped, so its pid, and the
// process group id that equals it, cannot be reused while we still signal the group).
bool exited_not_reaped(pid_t pid) {
  siginfo_t info{};
  return ::waitid(P_PID, static_cast<id_t>(pid), &info, WEXITED | WNOHANG | WNOWAIT) == 0 &&
         info.si_pid == pid;
}

class watcher {
 public:
  watcher(spawned_child& child, const supervise_request& request)
      : child_(child), request_(request) {}

  supervise_outcome run() {
    while (!(leader_exited_ && pipes_closed())) {
      wait_for_events();
      if (!leader_exited_ && (child_.pidfd.valid() ? pidfd_ready_ : exited_not_reaped(child_.pid)))
        on_leader_exit();
      if (leader_exited_ && clock::now() >= pipes_give_up_) break;
    }
    return reap();
  }

  // On an exception: nothing of the child may outlive the call.
  void kill_and_reap() noexcept {
    if (!leader_exited_ || !reaped_) ::kill(-child_.pid, SIGKILL);
    if (!reaped_) {
      int status = 0;
      while (::waitpid(child_.pid, &status, 0) < 0 && errno == EINTR) {
      }
      reaped_ = true;
    }
  }

 private:
  bool pipes_closed() const {
    return !child_.stdout_reader.valid() && !child_.stderr_reader.valid();
  }

  void start_kill(kill_reason why) {
    if (outcome_.killed != kill_reason::none || leader_exited_) return;
    outcome_.killed = why;
    ::kill(-child_.pid, SIGTERM);
    sigkill_at_ = clock::now() + request_.term_grace;
    sigkill_pending_ = true;
  }

  void on_leader_exit() {
    leader_exited_ = true;
    // The leader is a zombie, so its pgid is still ours: kill what it left in the group
    // (background jobs, grandchildren holding our pipes) so nothing outlives the call.
    ::kill(-child_.pid, SIGKILL);
    pipes_give_up_ = clock::now() + orphan_pipe_wait;
    child_.stdin_writer.reset();
  }

  // The earliest moment something must happen without an fd event.
  int poll_timeout_ms(clock::time_point now) {
    std::optional<clock::time_point> next;
    auto consider = [&](clock::time_point t) { next = next ? std::min(*next, t) : t; };
    if (request_.deadline && outcome_.killed == kill_reason::none) consider(*request_.deadline);
    if (sigkill_pending_) consider(sigkill_at_);
    if (leader_exited_) consider(pipes_give_up_);
    if (!leader_exited_ && !child_.pidfd.valid()) {
      consider(now + fallback_check_);
      fallback_check_ = std::min(fallback_check_ * 2, fallback_max_check);
    }
    if (!next) return -1;
    if (*next <= now) return 0;
    // Round up so we never wake a hair early and spin.
    const auto ms = std::chrono::ceil<milliseconds>(*next - now).count();
    return static_cast<int>(std::min<long long>(ms, 1 << 30));
  }

  void wait_for_events() {
    std::array<pollfd, 5> fds{};
    int n = 0;
    int out_i = -1, err_i = -1, in_i = -1, pid_i = -1, stop_i = -1;
    auto add = [&](int fd, short events, int& index) {
      if (fd < 0) return;
      fds[n] = pollfd{fd, events, 0};
      index = n++;
    };
    add(child_.stdout_reader.get(), POLLIN, out_i);
    add(child_.stderr_reader.get(), POLLIN, err_i);
    if (!leader_exited_) {
      add(child_.stdin_writer.get(), POLLOUT, in_i);
      add(child_.pidfd.get(), POLLIN, pid_i);
      if (outcome_.killed == kill_reason::none) add(request_.stop_fd, POLLIN, stop_i);
    }
    const int timeout = poll_timeout_ms(clock::now());
    const int rc = ::poll(fds.data(), static_cast<nfds_t>(n), timeout);
    if (rc < 0 && errno != EINTR) throw std::system_error(errno, std::generic_category(), "poll");
    auto fired = [&](int index) { return index >= 0 && rc > 0 && fds[index].revents != 0; };
    if (fired(out_i)) drain(child_.stdout_reader, false);
    if (fired(err_i)) drain(child_.stderr_reader, true);
    if (fired(in_i)) feed_stdin();
    if (fired(pid_i)) pidfd_ready_ = true;
    if (fired(stop_i)) start_kill(kill_reason::cancelled);
    const auto now = clock::now();
    if (request_.deadline && now >= *request_.deadline) start_kill(kill_reason::timed_out);
    if (sigkill_pending_ && now >= sigkill_at_ && !leader_exited_) {
      ::kill(-child_.pid, SIGKILL);
      sigkill_pending_ = false;
    }
  }

  // Reads what is there now (bounded, so one chatty stream cannot starve the other or the
  // exit check); EOF closes our end.
  void drain(unique_fd& fd, bool from_stderr) {
    if (buffer_.empty()) buffer_.resize(64 * 1024);
    for (int round = 0; round < 16; ++round) {
      const ssize_t got = ::read(fd.get(), buffer_.data(), buffer_.size());
      if (got > 0) {
        const std::string_view chunk(buffer_.data(), static_cast<std::size_t>(got));
        if (request_.on_output != nullptr && *request_.on_output)
          (*request_.on_output)(chunk, from_stderr);
        else if (std::string* sink = from_stderr ? request_.err : request_.out)
          sink->append(chunk);
        if (static_cast<std::size_t>(got) < buffer_.size()) return;
        continue;
      }
      if (got < 0 && (errno == EAGAIN || errno == EINTR)) return;
      fd.reset();  // EOF, or an error we cannot do anything about
      return;
    }
  }

  void feed_stdin() {
    while (input_sent_ < request_.input.size()) {
      const ssize_t sent = ::send(child_.stdin_writer.get(), request_.input.data() + input_sent_,
                                  request_.input.size() - input_sent_, MSG_NOSIGNAL);
      if (sent > 0) {
        input_sent_ += static_cast<std::size_t>(sent);
        continue;
      }
      if (sent < 0 && (errno == EAGAIN || errno == EINTR)) return;
      break;  // the child closed its stdin (EPIPE): it does not want the rest
    }
    child_.stdin_writer.reset();
  }

  supervise_outcome reap() {
    int status = 0;
    struct rusage usage {};
    pid_t got;
    while ((got = ::wait4(child_.pid, &status, 0, &usage)) < 0 && errno == EINTR) {
    }
    reaped_ = true;
    if (got < 0) throw std::system_error(errno, std::generic_category(), "wait4");
    outcome_.wait_status = status;
    outcome_.usage = usage;
    child_.stdout_reader.reset();
    child_.stderr_reader.reset();
    return outcome_;
  }

  spawned_child& child_;
  const supervise_request& request_;
  supervise_outcome outcome_;
  clock::time_point sigkill_at_{};
  bool sigkill_pending_ = false;  // SIGTERM sent; SIGKILL due at sigkill_at_
  clock::time_point pipes_give_up_{};
  milliseconds fallback_check_ = fallback_first_check;
  std::size_t input_sent_ = 0;
  bool pidfd_ready_ = false;
  bool leader_exited_ = false;
  bool reaped_ = false;
  std::vector<char> buffer_;  // 64 KiB, allocated on the first read
};

}  // namespace

supervise_outcome supervise(spawned_child& child, const supervise_request& request) {
  watcher w(child, request);
  try {
    return w.run();
  } catch (...) {
    w.kill_and_reap();
    throw;
  }
}

}  // namespace cohort::detail
