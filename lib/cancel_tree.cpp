// SPDX-License-Identifier: Apache-2.0
#include "cancel_tree.hpp"

#include "intrusive_list.hpp"

#include <cohort/detail/job.hpp>
#include <cohort/detail/stop.hpp>

#include <mutex>
#include <thread>
#include <vector>

namespace cohort::detail {

std::atomic<std::uint64_t> cancel_epoch{0};
constinit thread_local cancel_node* current_node = nullptr;

namespace {

struct stop_registry {
  std::mutex mutex;
  intrusive_list<stop_registration, &stop_registration::prev, &stop_registration::next>
      sources;  // guarded by mutex
  // Lets a cancel skip the lock when no running task takes a token. seq_cst with the
  // flag set in request(): either the registering task sees the flag (and stops itself)
  // or the cancel sees the registration.
  std::atomic<std::size_t> count{0};
};

stop_registry& registry() {
  static stop_registry r;
  return r;
}

}  // namespace

// ---- walks past a group's link, and the cut that waits them out --------------------------

namespace {
// Walks in progress that may pass a group's link (see cancel_node::up()).
std::atomic<std::uint64_t> walkers{0};
}  // namespace

walk_guard::walk_guard() noexcept {
  walkers.fetch_add(1, std::memory_order_seq_cst);
  // StoreLoad: our count before the loads of the walk. Partner: the cutter's seq_cst
  // store of null and its seq_cst load of `walkers` (wait_out_walkers). Either the cutter
  // sees us and waits, or our walk sees null.
  std::atomic_thread_fence(std::memory_order_seq_cst);
}

walk_guard::~walk_guard() {
  // release: the cutter that sees the count drop sees our reads done.
  walkers.fetch_sub(1, std::memory_order_release);
}

void wait_out_walkers() noexcept {
  std::atomic_thread_fence(std::memory_order_seq_cst);  // the cuts before the count load
  // Walks are short (a chain of pointers); new ones cannot reach what was cut.
  while (walkers.load(std::memory_order_seq_cst) != 0) std::this_thread::yield();
}

bool descends_from(const cancel_node* descendant, const cancel_node* ancestor) noexcept {
  if (ancestor == nullptr || descendant == nullptr) return false;
  // The job's own node and its parent are alive (a child's group waits for it; a gather
  // frame's parent is the task running the gather), so reading their links needs no
  // guard, and comparing the grandparent's address dereferences nothing: the usual
  // answers (a gather half of the waiter, a child of a group the waiter made) come
  // without touching the walkers' count, which every worker would share.
  if (descendant == ancestor) return true;
  const cancel_node* p = descendant->up();
  if (p == nullptr) return false;
  if (p == ancestor) return true;
  const cancel_node* gp = p->up();
  if (gp == nullptr) return false;
  if (gp == ancestor) return true;
  walk_guard guard;
  // Re-read from p (alive): the guard must be in place before we load a link we follow.
  gp = p->up();
  for (const cancel_node* n = gp; n != nullptr; n = n->up())
    if (n == ancestor) return true;
  return false;
}

bool may_run_inside(const job* j, const cancel_node* waiting) noexcept {
  return j->type->node != nullptr && descends_from(j->type->node(j), waiting);
}

bool ancestors_cancelled_slow(const cancel_node* scope) noexcept {
  walk_guard guard;
  for (const cancel_node* n = scope->up(); n != nullptr; n = n->up())
    if (n->requested()) return true;
  return false;
}

bool cancel_node::request() noexcept {
  if (flag.exchange(1, std::memory_order_seq_cst) != 0) {
    // The winner may not have bumped the epoch yet; a check made after our call must not
    // trust a cache from before the flag. A spare bump only costs a cache refresh.
    cancel_epoch.fetch_add(1, std::memory_order_seq_cst);
    return false;
  }
  // seq_cst, not just acq_rel (which publishes the flag with the epoch, see its comment):
  // the bump and the registry count load below are the canceller's half of a Dekker pair
  // with register_stop_source (count increment, fence, then a check that reads the
  // epoch). With the bump outside the single total order, the registrar could read the
  // old epoch, trust a stale "not cancelled" cache, and the canceller skip its source.
  cancel_epoch.fetch_add(1, std::memory_order_seq_cst);
  auto& r = registry();
  if (r.count.load(std::memory_order_seq_cst) == 0) return true;
  // request_stop runs user callbacks: collect the sources under the lock, fire outside.
  std::vector<std::stop_source> to_stop;
  {
    std::lock_guard lock(r.mutex);
    for (stop_registration* s = r.sources.front(); s != nullptr; s = s->next)
      if (s->node->cancelled()) to_stop.push_back(s->source);
  }
  for (auto& s : to_stop) s.request_stop();
  return true;
}

void register_stop_source(stop_registration& s) {
  auto& r = registry();
  {
    std::lock_guard lock(r.mutex);
    r.sources.push_front(s);
    r.count.fetch_add(1, std::memory_order_seq_cst);
  }
  // A cancel that set its flag before our count increment may have skipped the list.
  // seq_cst fence: the Dekker half against request()'s flag exchange and count load.
  std::atomic_thread_fence(std::memory_order_seq_cst);
  if (s.node->cancelled()) s.source.request_stop();
}

void unregister_stop_source(stop_registration& s) noexcept {
  auto& r = registry();
  std::lock_guard lock(r.mutex);
  r.sources.erase(s);
  r.count.fetch_sub(1, std::memory_order_relaxed);
}

// Out-of-line entry for templates (detail/stop.hpp).
stop_scope::stop_scope(const cancel_node* node) : reg_(new stop_registration{node, {}}) {
  register_stop_source(*reg_);
}
stop_scope::~stop_scope() {
  unregister_stop_source(*reg_);
  delete reg_;
}
std::stop_token stop_scope::token() const noexcept {
  return reg_->source.get_token();
}

}  // namespace cohort::detail
