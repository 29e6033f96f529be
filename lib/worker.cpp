#include "worker.hpp"

#include <pthread.h>

#include <algorithm>
#include <cstdio>
#include <exception>
#include <memory>
#include <optional>
#include <string>

#include "parking_lot.hpp"
#include "pool.hpp"

namespace cohort::detail {

constinit thread_local worker* current_worker = nullptr;

namespace {

// How many empty rounds a worker spins (each one looks everywhere) before it parks.
// A round costs a few hundred ns to a few µs; parking and waking costs ~5-50 µs.
constexpr unsigned spin_rounds = 64;
constexpr unsigned yield_after = 16;
constexpr std::size_t injection_batch = 32;

inline void cpu_relax() noexcept {
#if defined(__x86_64__) || defined(__i386__)
  __builtin_ia32_pause();
#elif defined(__aarch64__)
  asm volatile("yield");
#endif
}

std::uint64_t xorshift(std::uint64_t& s) noexcept {
  s ^= s << 13;
  s ^= s >> 7;
  s ^= s << 17;
  return s;
}

// The parking-lot record of a worker that sleeps while waiting on a target.
struct worker_park_record : park_record {
  sleep_module* sleep;
  std::size_t index;
  static void wake_worker(park_record* r) noexcept {
    auto* self = static_cast<worker_park_record*>(r);
    self->sleep->wake(self->index);
  }
};

}  // namespace

worker::worker(pool& owner, std::size_t index)
    : pool_(&owner), index_(index), rng_(0x9E3779B97F4A7C15ull * (index + 1)) {}

void worker::start() {
  thread_ = std::thread([this] { main(); });
}

void worker::join_thread() {
  if (thread_.joinable()) thread_.join();
}

void worker::main() {
  current_worker = this;
#if defined(__linux__)
  // Linux limits thread names to 15 characters; keep the index visible.
  std::string name = pool_->name() + "-" + std::to_string(index_);
  if (name.size() > 15)
    name = name.substr(0, 15 - std::to_string(index_).size() - 1) + "-" + std::to_string(index_);
  pthread_setname_np(pthread_self(), name.c_str());
#endif
  run_until(nullptr);
  current_worker = nullptr;
}

void worker::push(job* j) {
  deque_.push(j);
  worker_counters::bump(counters.spawned);
  pool_->sleep().notify_local_job();
}

bool worker::pop_until(job* j) {
  job* x;
  while (deque_.pop(x)) {
    if (x == j) return true;
    execute(x);  // pushed above j and never joined (e.g. detached): ours to run anyway
  }
  return false;
}

job* worker::find_work(std::int64_t own_floor) {
  job* j;
  if (deque_.pop_above(own_floor, j)) return j;

  job* batch[injection_batch];
  // No more than the deque holds without growing: a push that had to allocate could fail
  // (out of memory) with the batch already out of the injection queue. Batch[0] runs here.
  const std::size_t room = deque_.capacity() - deque_.size_hint();  // thieves only add room
  const std::size_t want = std::min(
      std::clamp<std::size_t>(pool_->injected().size_hint() / pool_->size(), 1, injection_batch),
      room + 1);
  if (const std::size_t n = pool_->injected().pop_batch(batch, want)) {
    worker_counters::bump(counters.injected_taken, n);
    for (std::size_t i = n - 1; i > 0; --i) deque_.push(batch[i]);
    if (n > 1) pool_->sleep().notify_local_job();
    return batch[0];
  }

  const std::size_t n = pool_->size();
  if (n > 1) {
    const std::size_t start = static_cast<std::size_t>(xorshift(rng_) % n);
    for (std::size_t k = 0; k < n; ++k) {
      const std::size_t v = (start + k) % n;
      if (v == index_) continue;
      worker& victim = pool_->worker_at(v);
      for (int attempt = 0; attempt < 2; ++attempt) {  // retry once after a lost race
        const steal_result r = victim.steal_from(j);
        if (r == steal_result::stolen) {
          worker_counters::bump(counters.stolen);
          if (pool_->trace().enabled())
            pool_->trace().instant(index_, "steal from " + std::to_string(v));
          return j;
        }
        if (r == steal_result::empty) break;
      }
    }
    worker_counters::bump(counters.steal_failures);
  }
  return nullptr;
}

void worker::execute(job* j) noexcept {
  if (j->type->kind == job_kind::child) {
    auto* c = static_cast<child_base*>(j);
    if (!child_claim(c)) {  // a waiter ran it inline already: drop the queued reference
      child_release(c);
      return;
    }
  }
  run_claimed(j);
}

void worker::execute_claimed(child_base* c) noexcept {
  run_claimed(c);
}

void worker::run_claimed(job* j) noexcept {
  const std::int64_t since = pool_->timing() ? steady_now_ns() : 0;
  const job_kind kind = j->type->kind;
  if (kind == job_kind::child) {
    auto* c = static_cast<child_base*>(j);
    activity.enter(&c->group(), &c->status, c->index, kind, since,
                   c->name ? std::string_view(*c->name) : std::string_view());
  } else {
    activity.enter(nullptr, nullptr, 0, kind, since, {});
  }
  worker_counters::bump(counters.tasks_run);
  const std::int64_t outer_floor = task_floor_;
  task_floor_ = deque_.owner_bottom();
  tracer& trace = pool_->trace();
  const bool traced = trace.enabled();
  if (traced) trace.begin(index_, describe_job(j), job_group_name(j));
  j->execute();  // j may be gone after this
  if (traced) trace.end(index_);
  task_floor_ = outer_floor;
  activity.leave();
}

bool worker::run_until(wait_target* target, clock::time_point deadline, std::int64_t own_floor) {
  // Say what this worker waits on (for dump()), restoring the outer wait on the way out.
  // relaxed throughout: dump() reads these as a snapshot that may be stale, never to
  // synchronize.
  struct waiting_scope {
    worker_activity& a;
    const void* outer_key;
    std::int64_t outer_since;
    std::size_t outer_keys;
    waiting_scope(worker_activity& act, const wait_target& t, std::int64_t since)
        : a(act),
          outer_key(act.waiting_on.load(std::memory_order_relaxed)),
          outer_since(act.waiting_since_ns.load(std::memory_order_relaxed)),
          outer_keys(act.waiting_keys.load(std::memory_order_relaxed)) {
      a.waiting_on.store(t.key(0), std::memory_order_relaxed);
      a.waiting_since_ns.store(since, std::memory_order_relaxed);
      a.waiting_keys.store(t.key_count(), std::memory_order_relaxed);
    }
    ~waiting_scope() {
      a.waiting_on.store(outer_key, std::memory_order_relaxed);
      a.waiting_since_ns.store(outer_since, std::memory_order_relaxed);
      a.waiting_keys.store(outer_keys, std::memory_order_relaxed);
    }
  };
  std::optional<waiting_scope> waiting;
  if (target != nullptr) {
    waiting.emplace(activity, *target, pool_->timing() ? steady_now_ns() : 0);
    // Fast path: the awaited work is usually on top of our own deque.
    job* mine;
    while (!target->done() && deque_.pop_above(own_floor, mine)) execute(mine);
    if (target->done()) return true;
  }
  unsigned idle = 0;
  for (;;) {
    if (target != nullptr && target->done()) break;
    if (job* j = find_work(own_floor)) {
      if (searching_) {
        searching_ = false;
        pool_->sleep().end_search();
      }
      idle = 0;
      execute(j);
      continue;
    }
    if (target == nullptr && pool_->stopping()) break;
    if (deadline != clock::time_point::max() && clock::now() >= deadline) {
      if (searching_) {
        searching_ = false;
        pool_->sleep().end_search();
      }
      return false;
    }
    if (!searching_) {
      searching_ = true;
      pool_->sleep().begin_search();
    }
    if (++idle < spin_rounds) {
      if (idle < yield_after) {
        for (int i = 0; i < 32; ++i) cpu_relax();
      } else {
        std::this_thread::yield();
      }
      continue;
    }
    idle = 0;
    park(target, deadline);
  }
  if (searching_) {
    searching_ = false;
    pool_->sleep().end_search();
  }
  return true;
}

void worker::park(wait_target* target, clock::time_point deadline) {
  sleep_module& s = pool_->sleep();
  const std::uint32_t generation = s.announce_sleep(index_);  // searching -> sleeping
  park_records<worker_park_record> set(target != nullptr ? target->key_count() : 1);
  for (worker_park_record& r : set) {
    r.sleep = &s;
    r.index = index_;
    r.wake = &worker_park_record::wake_worker;
  }
  worker_park_record* const records = set.data();
  bool parked_on_target = false;
  bool go_to_sleep = true;
  if (target != nullptr) {
    parked_on_target = parking_lot::enter_all(*target, records);
    go_to_sleep = parked_on_target;
  }
  // Jobs below this task's floor stay put while we wait: somebody else must take them.
  const bool stranded = target != nullptr && !deque_.looks_empty();
  if (go_to_sleep && stranded) s.notify_stranded_jobs();
  // The sleeper's last look (sleep.hpp): after the announcement, before the futex. Our own
  // stranded jobs do not count: we could not run them anyway.
  if (go_to_sleep &&
      (pool_->work_visible(stranded ? this : nullptr) || (target == nullptr && pool_->stopping())))
    go_to_sleep = false;
  if (go_to_sleep) {
    std::chrono::nanoseconds timeout(-1);
    if (deadline != clock::time_point::max())
      timeout = std::max(std::chrono::nanoseconds(0), deadline - clock::now());
    worker_counters::bump(counters.parks);
    activity.parked.store(true, std::memory_order_relaxed);
    const bool traced = pool_->trace().enabled();
    if (traced) pool_->trace().begin(index_, "parked", {});
    const auto t0 = clock::now();
    s.sleep(index_, generation, timeout);
    worker_counters::bump(counters.parked_ns,
                          static_cast<std::uint64_t>((clock::now() - t0).count()));
    if (traced) pool_->trace().end(index_);
    activity.parked.store(false, std::memory_order_relaxed);
  }
  s.after_sleep(index_);  // sleeping -> searching
  searching_ = true;
  if (parked_on_target) parking_lot::leave_all(*target, records);
}

std::string describe_job(const job* j) {
  switch (j->type->kind) {
    case job_kind::child: {
      auto* c = static_cast<const child_base*>(j);
      return c->name ? *c->name : "task #" + std::to_string(c->index);
    }
    case job_kind::gather_child:
      return "gather child";
    case job_kind::range_part:
      return "gather(range) part";
    case job_kind::pool_entry:
      return "call from outside the pool";
  }
  return "job";
}

std::string job_group_name(const job* j) {
  if (j->type->kind != job_kind::child) return {};
  return static_cast<const child_base*>(j)->group().name();
}

// ---- the runtime interface used by the templates (detail/runtime.hpp) ----------------

bool on_pool(const pool& p) noexcept {
  return current_worker != nullptr && &current_worker->owner() == &p;
}

void submit(pool& p, job* j) {
  if (worker* w = current_worker; w != nullptr && &w->owner() == &p) {
    w->push(j);
  } else {
    p.inject(j);
  }
}

void push_local(job* j) {
  current_worker->push(j);
}
bool pop_local_until(job* j) {
  return current_worker->pop_until(j);
}

// Compensation is not built yet: these only mark the interface (see runtime.hpp).
void* begin_blocking() noexcept {
  return current_worker;
}
void end_blocking(void*) noexcept {}

}  // namespace cohort::detail
