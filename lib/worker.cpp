// SPDX-License-Identifier: Apache-2.0
#include "worker.hpp"

#include <pthread.h>
#include <unistd.h>

#include <algorithm>
#include <cstdio>
#include <exception>
#include <memory>
#include <optional>
#include <string>

#include "cancel_tree.hpp"
#include "pool.hpp"
#include "wait_on.hpp"

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

}  // namespace

worker::worker(pool& owner, std::size_t index)
    : pool_(&owner), index_(index), rng_(0x9E3779B97F4A7C15ull * (index + 1)) {}

worker::worker(pool& owner, std::size_t index, outside_slot_t) : worker(owner, index) {
  outside_ = true;
}

std::string worker::label() const {
  if (outside_) {
    const std::string k = std::to_string(index_ - pool_->capacity());
    return "outside thread " + k + " (" + pool_->name() + "-outside-" + k + ")";
  }
  const std::string i = std::to_string(index_);
  return "worker " + i + " (" + pool_->name() + "-" + i + ")";
}

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
  if (pthread_getcpuclockid(pthread_self(), &cpu_clock_) == 0)
    has_cpu_clock_.store(true, std::memory_order_release);  // pairs with cpu_time_ns()
#if defined(__linux__)
  os_tid_.store(static_cast<int>(::gettid()), std::memory_order_release);
#endif
  // A spare starts searching: the sleep module counted it so when it reserved it.
  searching_ = index_ >= pool_->size();
  main_loop();
  drop_presumed_block();
  current_worker = nullptr;
}

bool worker::cpu_time_ns(std::int64_t& out) const noexcept {
  if (!has_cpu_clock_.load(std::memory_order_acquire)) return false;
  timespec ts{};
  if (clock_gettime(cpu_clock_, &ts) != 0) return false;
  out = std::int64_t{ts.tv_sec} * 1'000'000'000 + ts.tv_nsec;
  return true;
}

bool worker::presume_blocked(std::uint64_t tasks_run) noexcept {
  sleep_module& s = pool_->sleep();
  // Counted first: the thread takes the count back only after it sees `presumed`, so its
  // decrement never comes before our increment (the packed fields must not borrow).
  s.block(false);
  std::uint8_t expected = block_none;
  // release: pairs with the acquire load in drop_presumed_block and the RMWs in
  // enter_blocked and unpresume_blocked: whoever sees `presumed` sees the count.
  if (!block_state.compare_exchange_strong(expected, block_presumed, std::memory_order_release,
                                           std::memory_order_relaxed)) {
    s.unblock();  // it blocked on its own meanwhile (and counted itself)
    return false;
  }
  // The blocker's barrier (sleep.hpp), which is also our half of the Dekker pair with
  // drop_presumed_block: after it, either we see below that the thread left the job we
  // looked at, or the thread, at its next step in main_loop, sees `presumed`.
  s.barrier_before_last_look();
  if (!activity.busy() || activity.parked.load(std::memory_order_relaxed) ||
      counters.tasks_run.load(std::memory_order_relaxed) != tasks_run) {
    unpresume_blocked();  // our look was stale: it had moved on
    return false;
  }
  counters.presumed_blocked.fetch_add(1, std::memory_order_relaxed);
  // The rest of the blocker's step: the last look, and a thread for the waiting work.
  s.compensate(pool_->work_visible());
  return true;
}

bool worker::unpresume_blocked() noexcept {
  std::uint8_t expected = block_presumed;
  // acq_rel: acquire pairs with the guard's release CAS (presume_blocked), so its count is
  // in before ours goes out; the guard and the thread may both try at once.
  if (!block_state.compare_exchange_strong(expected, block_none, std::memory_order_acq_rel,
                                           std::memory_order_relaxed))
    return false;
  pool_->sleep().unblock();
  return true;
}

// Here, beside its callers, where the compiler inlines it: main_loop runs it at every step.
void worker::drop_presumed_block() noexcept {
  // The cheap half of a Dekker pair with presume_blocked's barrier and re-check: either
  // the guard sees that this thread left its job (activity), or we see `presumed` here.
  pool_->sleep().light_barrier();
  // acquire: pairs with the guard's release CAS (a hint; unpresume_blocked decides).
  if (block_state.load(std::memory_order_acquire) == block_presumed) [[unlikely]]
    unpresume_blocked();
}

void worker::push(job* j) {
  own().push(j);
  worker_counters::bump(counters.spawned);
  pool_->sleep().notify_local_job();
}

void worker::push_from_outside(job* j) {
  push(j);
  worker_counters::bump(counters.submitted_from_outside);
}

void worker::drop_leftovers() noexcept {
  // As a thief: the slot's holder may be another thread (idle: it cannot spawn into a
  // pool being destroyed), and nobody else steals any more (the workers are joined).
  const outside_slot_scope as_slot(this);  // a live job (there should be none) runs here
  job* j;
  for (;;) {
    const steal_result r = thief().steal(j);
    if (r == steal_result::empty) return;
    if (r == steal_result::stolen) execute(j);  // run inline already: drops the reference
  }
}

bool worker::run_if_descendant(job* x) noexcept {
  if (x->type->kind == job_kind::child) {
    auto* c = static_cast<child_base*>(x);
    // Claim it before looking at its ancestors: unclaimed, a waiter elsewhere could run
    // it inline, and its group could end while we walk.
    if (!child_claim(c)) {  // a waiter ran it already: only the queued reference is left
      child_release(c);
      return true;
    }
    if (may_run_inside(c, current_node)) {
      run_claimed(c);
      return true;
    }
    // release: a later claimer sees the child as we found it. Meanwhile a waiter that saw
    // it claimed waits for it like for a running child, which is only slower.
    c->started.store(false, std::memory_order_release);
    return false;
  }
  if (may_run_inside(x, current_node)) {  // a gather child: its frame waits for it
    run_claimed(x);
    return true;
  }
  return false;
}

worker::wait_pop worker::pop_in_wait(const job* target) {
  job* x;
  if (!own().pop_above(task_floor_, x)) return wait_pop::nothing;
  if (x == target) return wait_pop::target;
  if (run_if_descendant(x)) return wait_pop::ran;
  // Not ours to run here: back where it was (the pop made room, so this cannot grow the
  // deque or throw). A thief can take it from the other end.
  own().push(x);
  return wait_pop::blocked;
}

worker::wait_steal worker::steal_in_wait() {
  // Pool threads' deques only, never an outside slot's: a job this wait may not run is
  // handed on to the injection queue (and from there, in a batch, to some thread's
  // deque), and one taken from a slot would leave the slot for good. The slot's holder
  // runs its group's children from there when it joins, and may be the one thread that
  // will: it is never replaced by a spare when it blocks, and a child that blocks outside
  // cohort (uncounted, so no spare comes either) until a later sibling runs then waits
  // for ever (lib/README.md, "Outside slots"; the torture test's outside_waits shape hung
  // this way at 1 worker, seed 372). A pool thread's deque has the same exposure, not
  // closed here: lib/README.md says which releases a wait outside cohort may count on.
  const std::size_t threads = pool_->victims().threads;
  // A slot may steal from the pool's only thread; a worker needs a peer.
  if (threads < (outside_ ? 1u : 2u)) return wait_steal::nothing;
  // A stolen job this task may not run is handed on; its fallback is our own deque, so
  // steal only while a push there cannot grow it (and throw). Thieves only add room.
  if (own().size_hint() >= own().capacity()) return wait_steal::nothing;
  const std::size_t start = static_cast<std::size_t>(xorshift(rng_) % threads);
  for (std::size_t k = 0; k < threads; ++k) {
    const std::size_t v = (start + k) % threads;
    worker* victim = pool_->worker_if_started(v);
    if (victim == nullptr || victim == this) continue;
    job* j;
    steal_result r = victim->thief().steal(j);
    if (r == steal_result::lost_race) r = victim->thief().steal(j);  // retry once after a lost race
    if (r != steal_result::stolen) continue;
    worker_counters::bump(counters.stolen);
    if (pool_->trace().enabled()) pool_->trace().instant(index_, "steal", victim->index());
    if (run_if_descendant(j)) return wait_steal::ran;
    // Not ours: it goes where any idle thread looks (the injection queue), not on top of
    // our own deque, where it would hide our own jobs from this wait (pop_in_wait looks
    // only at the top). Out of memory there, our own deque takes it (room checked above).
    try {
      pool_->inject(j);
    } catch (...) {
      own().push(j);
      pool_->sleep().notify_local_job();
    }
    return wait_steal::foreign;
  }
  return wait_steal::nothing;
}

bool worker::pop_until(job* j) {
  for (;;) {
    switch (pop_in_wait(j)) {
      case wait_pop::target:
        return true;
      case wait_pop::ran:  // pushed above j by the code in between and never joined
        continue;
      case wait_pop::nothing:
      case wait_pop::blocked:
        return false;
    }
  }
}

job* worker::find_work() {
  job* j;
  if (own().pop(j)) return j;

  job* batch[injection_batch];
  // No more than the deque holds without growing: a push that had to allocate could fail
  // (out of memory) with the batch already out of the injection queue. Batch[0] runs here.
  const std::size_t room = own().capacity() - own().size_hint();  // thieves only add room
  const std::size_t want = std::min(
      std::clamp<std::size_t>(pool_->injected().size_hint() / pool_->size(), 1, injection_batch),
      room + 1);
  if (const std::size_t n = pool_->injected().pop_batch(batch, want)) {
    worker_counters::bump(counters.injected_taken, n);
    for (std::size_t i = n - 1; i > 0; --i) own().push(batch[i]);
    if (n > 1) pool_->sleep().notify_local_job();
    return batch[0];
  }

  // The pool's other threads and the outside threads' slots (outside_slots.hpp).
  const pool::victim_set victims = pool_->victims();
  const std::size_t n = victims.size();
  if (n > 1) {
    const std::size_t start = static_cast<std::size_t>(xorshift(rng_) % n);
    for (std::size_t k = 0; k < n; ++k) {
      const std::size_t v = (start + k) % n;
      worker* victim = pool_->victim(victims, v);
      if (victim == nullptr || victim == this) continue;
      for (int attempt = 0; attempt < 2; ++attempt) {  // retry once after a lost race
        const steal_result r = victim->thief().steal(j);
        if (r == steal_result::stolen) {
          worker_counters::bump(counters.stolen);
          if (pool_->trace().enabled()) pool_->trace().instant(index_, "steal", victim->index());
          return j;
        }
        if (r == steal_result::empty) break;
      }
    }
    worker_counters::bump(counters.steal_failures);
  }
  return nullptr;
}

namespace {

// A job taken from a deque or queue is ours to run, unless it is a child that a waiter
// ran inline already: then only its queued reference is left, and we drop it.
bool claim_taken(job* j) noexcept {
  if (j->type->kind != job_kind::child) return true;
  auto* c = static_cast<child_base*>(j);
  if (child_claim_taken(c)) return true;
  child_release(c);
  return false;
}

}  // namespace

void worker::execute(job* j) noexcept {
  if (claim_taken(j)) run_claimed(j);
}

void worker::execute_on_credit(job* j, join_credit& credit) noexcept {
  if (!claim_taken(j)) return;
  if (j->type->kind != job_kind::child) {
    settle(credit);
    run_claimed(j);
    return;
  }
  group_core& g = static_cast<child_base*>(j)->group();  // alive: claimed, not ended
  if (&g != credit.group) {
    settle(credit);
    if (lib_access::creditable(g)) credit.group = &g;
  }
  current_join_credit = credit.group != nullptr ? &credit : nullptr;
  run_claimed(j);
  current_join_credit = nullptr;
  // Nothing counted (its end went elsewhere): forget the group, which may end any time.
  // Settled every so often too, so that dump()'s unfinished count lags behind by a
  // bounded number per thread while a long stream of one group's children runs here.
  if (credit.ended == 0) {
    credit.group = nullptr;
  } else if (credit.ended >= max_credit) [[unlikely]] {
    settle(credit);
  }
}

void worker::execute_claimed(child_base* c) noexcept {
  run_claimed(c);
}

namespace {

// Says what the running job waits on (for dump() and the watchdog), on its own frame of
// the worker's activity stack: jobs this wait runs get frames of their own above it.
struct waiting_scope {
  worker_activity& a;
  waiting_scope(worker_activity& act, const void* key, std::size_t keys,
                std::int64_t since) noexcept
      : a(act) {
    a.set_waiting(key, keys, since);
  }
  waiting_scope(worker_activity& act, const wait_target& t, std::int64_t since) noexcept
      : waiting_scope(act, t.key(0), t.key_count(), since) {}
  ~waiting_scope() { a.clear_waiting(); }
};

}  // namespace

void worker::run_children_on_top(const group_core& g, const join_credit* credit) noexcept {
  // The record says what the joining task waits on while its children run on top of it,
  // as in wait() (dump() shows the join; the watchdog sees a wait).
  const waiting_scope waiting(activity, g.join_key(), 1, pool_->timing() ? steady_now_ns() : 0);
  job* x;
  // Children this join ran on its credit (join_credit.hpp) still count as unfinished.
  // relaxed: only a hint to stop early; the join's own acquire load decides.
  while (g.unfinished() > (credit != nullptr ? credit->ended : 0) &&
         own().pop_above(task_floor_, x)) {
    if (x->type->kind != job_kind::child || &static_cast<child_base*>(x)->group() != &g) {
      own().push(x);  // not ours: back where it was (the pop made room: cannot throw)
      break;
    }
    execute(x);  // claims it first: a waiter on its handle may have run it already
  }
}

void worker::run_children_from_outside(const group_core& g, const join_credit* credit) noexcept {
  const outside_slot_scope as_slot(this);
  activity.enter(nullptr, nullptr, 0, job_kind::pool_entry, pool_->timing() ? steady_now_ns() : 0,
                 {});
  run_children_on_top(g, credit);
  activity.leave();
}

void worker::announce_own_jobs() noexcept {
  // A job popped and put back (not ours to run here: run_children_on_top, pop_in_wait)
  // was out of sight while it was off the deque: a sleeper's or a blocker's last look in
  // that moment missed it, and the push back published it without the publisher's half
  // of the barrier. A pool thread redoes that look itself when it blocks
  // (block_and_compensate); a slot is about to block without one, so it announces what
  // its deque holds: the barrier, then the look at the sleepers (sleep.hpp). Called
  // when it blocks inside a job and when its thread leaves it (~outside_slot_scope).
  if (!own().looks_empty()) pool_->sleep().notify_local_job();
}

namespace {

// Out of line: its label buffer would otherwise cost every child's run a bigger frame.
[[gnu::noinline]] void enter_non_child(worker_activity& activity, job* j,
                                       std::int64_t since) noexcept {
  // A loop piece names itself ("name[lo,hi)") for dump(); others are named by kind.
  char label[worker_activity::name_capacity];
  const std::size_t length = j->type->describe ? j->type->describe(j, label, sizeof label) : 0;
  activity.enter(nullptr, nullptr, 0, j->type->kind, since, std::string_view(label, length));
}

}  // namespace

void worker::run_claimed(job* j) noexcept {
  const std::int64_t since = pool_->timing() ? steady_now_ns() : 0;
  const job_kind kind = j->type->kind;
  if (kind == job_kind::child) {
    auto* c = static_cast<child_base*>(j);
    activity.enter(&c->group(), &c->status, c->index, kind, since,
                   c->name ? std::string_view(*c->name) : std::string_view());
  } else {
    enter_non_child(activity, j, since);
  }
  worker_counters::bump(counters.tasks_run);
  const std::int64_t outer_floor = task_floor_;
  task_floor_ = own().bottom();
  tracer& trace = pool_->trace();
  const bool traced = trace.enabled() && trace.begin(index_, j);
  j->execute();  // j may be gone after this
  if (traced) trace.end(index_);
  task_floor_ = outer_floor;
  activity.leave();
}

void worker::main_loop() {
  sleep_module& s = pool_->sleep();
  unsigned idle = 0;
  // The ends of the children of one group taken in a row (join_credit.hpp), settled
  // before anything else: another group's job, a search that finds nothing, the exit.
  join_credit credit;
  for (;;) {
    drop_presumed_block();
    if (job* j = find_work()) {
      if (searching_) {
        searching_ = false;
        woke_without_work_ = false;
        s.end_search();
      }
      idle = 0;
      execute_on_credit(j, credit);
      continue;
    }
    settle(credit);
    if (pool_->stopping()) break;
    // A thread over the pool's limit (a blocked worker came back while its spare ran)
    // parks at once instead of spinning.
    const bool park_now = ++idle >= spin_rounds || s.over_limit();
    // Counted as searching from the second empty round on (and always before parking:
    // park needs the count): a thief that keeps pace with a spawning thread finds nothing
    // for a moment after each child, and flipping the shared counters word each time
    // would cost the spawner a cache miss per push (its notify_local_job reads that word).
    // Uncounted, we are still active, so a push does not wake anybody on our account
    // unless a thread sleeps.
    if (!searching_ && (idle > 1 || park_now)) {
      searching_ = true;
      s.begin_search();
    }
    if (!park_now) {
      if (idle < yield_after) {
        for (int i = 0; i < 32; ++i) cpu_relax();
      } else {
        std::this_thread::yield();
      }
      continue;
    }
    idle = 0;
    park_idle();
  }
  if (searching_) {
    searching_ = false;
    s.end_search();
  }
}

void worker::park_idle() {
  // The protocol's steps are sleep_module::park; here only what a worker records.
  pool_->sleep().park(
      index_, [this] { return pool_->work_visible() || pool_->stopping(); },
      [this](auto&& sleep_now) {
        worker_counters::bump(counters.parks);
        // Back to sleep without having run a job since the last wake-up: whoever woke us
        // had nothing for us (or a peer took it first).
        if (woke_without_work_) worker_counters::bump(counters.futile_wakeups);
        activity.parked.store(true, std::memory_order_relaxed);
        const bool traced = pool_->trace().enabled() && pool_->trace().begin(index_, "parked");
        const auto t0 = clock::now();
        sleep_now();
        woke_without_work_ = true;
        worker_counters::bump(counters.parked_ns,
                              static_cast<std::uint64_t>((clock::now() - t0).count()));
        if (traced) pool_->trace().end(index_);
        activity.parked.store(false, std::memory_order_relaxed);
      });
  searching_ = true;
}

namespace {

// How long a wait spins on its target before it blocks: the awaited task is often about
// to finish on another thread, and blocking costs a futex round trip (~5-50 µs) plus,
// possibly, waking a thread to take our place.
constexpr auto wait_spin = std::chrono::microseconds(20);

}  // namespace

bool worker::help_while_waiting(wait_target& target) {
  // Stolen jobs that were not ours cost a steal, a claim, a walk and a hand-off each; a
  // victim whose oldest job is foreign likely holds more of them (an outer level of the
  // tree), so a wait stops stealing after a few.
  unsigned foreign_left = 2;
  for (;;) {
    while (!target.done() && pop_in_wait(nullptr) == wait_pop::ran) {
    }
    if (target.done()) return true;
    // Nothing of our own: watch the target, and now and then try to steal a descendant.
    // Nothing can appear on our own deque meanwhile (only we push to it, when we run).
    const auto spin_end = clock::now() + wait_spin;
    for (unsigned k = 0;; ++k) {
      if (target.done()) return true;
      if ((k & 7) == 0 && foreign_left != 0) {
        const wait_steal r = steal_in_wait();
        if (r == wait_steal::ran) break;  // it may have left jobs on our deque
        if (r == wait_steal::foreign) --foreign_left;
      }
      if ((k & 15) == 15 && clock::now() >= spin_end) return false;
      cpu_relax();
    }
  }
}

bool worker::wait(wait_target& target, clock::time_point deadline) {
  const bool timed = deadline != clock::time_point::max();
  waiting_scope waiting(activity, target, pool_->timing() ? steady_now_ns() : 0);
  if (!timed) {
    // The common join: its children are on top of our own deque (checked here first, as
    // the full helping loop below costs a tenth of a spawn+join).
    while (!target.done() && pop_in_wait(nullptr) == wait_pop::ran) {
    }
    if (target.done() || help_while_waiting(target)) return true;
  } else {
    // A timed wait runs nothing: spin a little on the target, then block.
    const auto spin_end = std::min(deadline, clock::now() + wait_spin);
    for (unsigned k = 0;; ++k) {
      if (target.done()) return true;
      if ((k & 15) == 15 && clock::now() >= spin_end) break;
      cpu_relax();
    }
    if (clock::now() >= deadline) return target.done();
  }
  enter_blocked();
  activity.parked.store(true, std::memory_order_relaxed);
  bool done;
  try {
    done = block_on(target, deadline);
  } catch (...) {  // block_on allocates only for a wait on several keys
    activity.parked.store(false, std::memory_order_relaxed);
    leave_blocked();
    throw;
  }
  activity.parked.store(false, std::memory_order_relaxed);
  leave_blocked();
  return done;
}

void worker::enter_blocked() noexcept {
  // An outside slot is not one of the threads the sleep module counts: nobody takes its
  // place, and what it leaves on its deque is visible to every thief (work_visible).
  if (outside_) {
    announce_own_jobs();
    return;
  }
  // Our own deque counts in the last look: the jobs under our task's floor (or not ours
  // to run) are stranded here until a thief takes them.
  // The outermost level also takes the count from the silent-block guard if it holds it.
  // acq_rel: acquire pairs with the guard's release CAS (presume_blocked), as in
  // drop_presumed_block; after this the guard leaves us alone until leave_blocked.
  const bool counted_by_guard =
      blocked_depth_++ == 0 &&
      block_state.exchange(block_own, std::memory_order_acq_rel) == block_presumed;
  pool_->sleep().block_and_compensate([this] { return pool_->work_visible(); }, counted_by_guard);
}

void worker::leave_blocked() noexcept {
  if (outside_) return;
  // The guard never moves `own`: a plain store is ours to make.
  if (--blocked_depth_ == 0) block_state.store(block_none, std::memory_order_relaxed);
  pool_->sleep().unblock();
}

std::string describe_job(const job* j) {
  switch (j->type->kind) {
    case job_kind::child: {
      auto* c = static_cast<const child_base*>(j);
      return c->name ? *c->name : "task #" + std::to_string(c->index);
    }
    case job_kind::gather_child:
      return "gather child";
    case job_kind::range_part: {
      char label[128];  // a loop piece names itself: "name[lo,hi)"
      const std::size_t length = j->type->describe ? j->type->describe(j, label, sizeof label) : 0;
      return length != 0 ? std::string(label, length) : "gather(range) part";
    }
    case job_kind::pool_entry:
      return "call from outside the pool";
  }
  return "job";
}

std::string job_group_name(const job* j) {
  if (j->type->kind != job_kind::child) return {};
  return static_cast<const child_base*>(j)->group().name();
}

// ---- the fork-join fast path of detail/runtime.hpp (the rest is in runtime.cpp): here,
// beside worker::push and pop_until, so that both inline into them.

void push_local(job* j) {
  current_worker->push(j);
}
bool pop_local_until(job* j) {
  return current_worker->pop_until(j);
}

}  // namespace cohort::detail
