#include "cancel.hpp"

#include <cohort/detail/stop.hpp>

#include <mutex>
#include <vector>

namespace cohort::detail {

std::atomic<std::uint64_t> cancel_epoch{0};
constinit thread_local cancel_node* current_node = nullptr;

namespace {

struct stop_registry {
  std::mutex mutex;
  stop_registration* head = nullptr;  // guarded by mutex
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

bool ancestors_cancelled_slow(const cancel_node* first) noexcept {
  for (const cancel_node* n = first; n != nullptr; n = n->parent)
    if (n->requested()) return true;
  return false;
}

bool cancel_node::request() noexcept {
  if (flag.exchange(1, std::memory_order_seq_cst) != 0) {
    // The winner may not have bumped the epoch yet; a check made after our call must not
    // trust a cache from before the flag. A spare bump only costs a cache refresh.
    cancel_epoch.fetch_add(1, std::memory_order_acq_rel);
    return false;
  }
  // acq_rel: see cancel_epoch's comment; the flag store above is released with it.
  cancel_epoch.fetch_add(1, std::memory_order_acq_rel);
  auto& r = registry();
  if (r.count.load(std::memory_order_seq_cst) == 0) return true;
  // request_stop runs user callbacks: collect the sources under the lock, fire outside.
  std::vector<std::stop_source> to_stop;
  {
    std::lock_guard lock(r.mutex);
    for (stop_registration* s = r.head; s != nullptr; s = s->next)
      if (s->node->cancelled()) to_stop.push_back(s->source);
  }
  for (auto& s : to_stop) s.request_stop();
  return true;
}

void register_stop_source(stop_registration& s) {
  auto& r = registry();
  {
    std::lock_guard lock(r.mutex);
    s.next = r.head;
    if (r.head) r.head->prev = &s;
    r.head = &s;
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
  if (s.prev)
    s.prev->next = s.next;
  else
    r.head = s.next;
  if (s.next) s.next->prev = s.prev;
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
