#include "wait.hpp"

#include <cohort/detail/completion.hpp>

#include "futex.hpp"
#include "parking_lot.hpp"

namespace cohort::detail {
namespace {

// A thread outside the pool sleeps on its own word, woken by the completer.
struct thread_park_record : park_record {
  std::atomic<std::uint32_t> woken{0};
  static void wake_thread(park_record* r) noexcept {
    auto* self = static_cast<thread_park_record*>(r);
    self->woken.store(1, std::memory_order_release);
    futex_wake_one(self->woken);
  }
};

bool block_on(wait_target& target, worker::clock::time_point deadline) {
  while (!target.done()) {
    thread_park_record record;
    record.wake = &thread_park_record::wake_thread;
    if (!parking_lot::enter(target.key(), record, [&] { return target.announce(); })) return true;
    while (record.woken.load(std::memory_order_acquire) == 0) {
      std::chrono::nanoseconds timeout(-1);
      if (deadline != worker::clock::time_point::max()) {
        timeout = deadline - worker::clock::now();
        if (timeout.count() <= 0) break;
      }
      futex_wait(record.woken, 0, timeout);
    }
    // Unlinks the record if no waker did; either way, no waker touches it after this.
    parking_lot::leave(record);
    if (record.woken.load(std::memory_order_acquire) == 0 && !target.done()) return false;
  }
  return true;
}

class completion_target final : public wait_target {
 public:
  explicit completion_target(completion_word& w) noexcept : word_(w) {}
  bool done() const noexcept override { return is_complete(word_); }
  bool announce() noexcept override {
    // seq_cst RMW under the bucket lock; the completer's exchange either sees the bit (and
    // takes the bucket lock to wake us) or precedes it (and we see done_bit here).
    return (word_.fetch_or(waiters_bit, std::memory_order_seq_cst) & done_bit) == 0;
  }
  const void* key() const noexcept override { return &word_; }

 private:
  completion_word& word_;
};

}  // namespace

bool wait_on(wait_target& target, worker::clock::time_point deadline) {
  if (target.done()) return true;
  if (worker* w = current_worker) return w->run_until(&target, deadline);
  return block_on(target, deadline);
}

void wait_complete(completion_word& word) {
  if (is_complete(word)) return;
  completion_target t(word);
  wait_on(t);
}

bool wait_complete_for(completion_word& word, std::chrono::nanoseconds timeout) {
  if (is_complete(word)) return true;
  completion_target t(word);
  return wait_on(t, worker::clock::now() + timeout);
}

}  // namespace cohort::detail
