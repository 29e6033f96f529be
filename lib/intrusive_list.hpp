// SPDX-License-Identifier: Apache-2.0
// A doubly linked intrusive list: the records live elsewhere (in a group, on a waiting
// thread's stack, in a running task's block) and carry their own two link fields, which
// the list names by member pointers. Used by the three registries that link such records:
// the live-group lists (worker.hpp), the parking lot's buckets (parking_lot.hpp) and the
// stop-source registry (cancel_tree.cpp).
//
// Push at the front, unlink in O(1), walk from the front. Everything inlines to the loads
// and stores of a hand-written list (the member pointers are template arguments, so they
// are constants), and the list is one head pointer. Not thread-safe: each user guards its
// list with a lock and says which.
#pragma once

namespace cohort::detail {

template <class T, T* T::*Prev, T* T::*Next>
class intrusive_list {
 public:
  T* front() const noexcept { return head_; }
  static T* next(const T& x) noexcept { return x.*Next; }

  void push_front(T& x) noexcept {
    x.*Prev = nullptr;
    x.*Next = head_;
    if (head_) head_->*Prev = &x;
    head_ = &x;
  }
  // `x` must be on this list.
  void erase(T& x) noexcept {
    if (x.*Prev)
      (x.*Prev)->*Next = x.*Next;
    else
      head_ = x.*Next;
    if (x.*Next) (x.*Next)->*Prev = x.*Prev;
  }

 private:
  T* head_ = nullptr;
};

}  // namespace cohort::detail
