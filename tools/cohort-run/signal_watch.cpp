// SPDX-License-Identifier: Apache-2.0
#include "signal_watch.hpp"

#include <signal.h>

#include <atomic>

namespace cohort_run {
namespace {

// SIGUSR2 from the destructor ends the watching thread.
constexpr int stop_signal = SIGUSR2;

sigset_t watched_set() {
  sigset_t set;
  sigemptyset(&set);
  sigaddset(&set, SIGINT);
  sigaddset(&set, SIGTERM);
  sigaddset(&set, SIGHUP);
  sigaddset(&set, stop_signal);
  return set;
}

// Set by the destructor before it signals; the watcher reads it after sigwait returns.
std::atomic<bool> stopping{false};

}  // namespace

signal_watch::signal_watch(std::function<void(int)> on_signal) : on_signal_(std::move(on_signal)) {
  ::signal(SIGPIPE, SIG_IGN);
  const sigset_t set = watched_set();
  pthread_sigmask(SIG_BLOCK, &set, nullptr);
  thread_ = std::thread([this, set] {
    for (;;) {
      int sig = 0;
      if (sigwait(&set, &sig) != 0) continue;
      // acquire: pairs with the destructor's release store, made before it signals.
      if (sig == stop_signal) {
        if (stopping.load(std::memory_order_acquire)) return;
        continue;
      }
      on_signal_(sig);
    }
  });
}

signal_watch::~signal_watch() {
  stopping.store(true, std::memory_order_release);
  pthread_kill(thread_.native_handle(), stop_signal);
  thread_.join();
}

}  // namespace cohort_run
